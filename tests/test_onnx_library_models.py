"""Real exports of library models nobody here wrote (scripts/onnx_model_truth.py and scripts/hybrid_truth.py, torch
2.14, torchvision 0.29, timm 1.0): costcalc's FLOPs equal torch's own multiply-adds (`FlopCounterMode` halved,
fused attention off) for every file it reads. The files it cannot read yet are listed with the reason, as strict
expected failures: a fix turns them into failures of this list, to be struck off."""

import gzip
import json
import os
import shutil

import pytest

pytest.importorskip("onnx")

from costcalc.analysis import analyse  # noqa: E402
from costcalc.graph import load  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_YET = {  # (model, export) -> why costcalc refuses it today
    ("swin_v2_s", "ts17"): "a MatMul on a constant (Swin V2's continuous position bias MLP) is not costed",
    ("swin_v2_t", "ts17"): "a MatMul on a constant (Swin V2's continuous position bias MLP) is not costed",
    ("timm/edgenext_x_small", "ts17"): "a Conv of a constant computed in the graph (EdgeNeXt's positional encoding)",
    ("timm/edgenext_xx_small", "ts17"): "a Conv of a constant computed in the graph (EdgeNeXt's positional encoding)",
    ("edgenext_xx_small", "ts17"): "a Conv of a constant computed in the graph (EdgeNeXt's positional encoding)",
    **{("edgenext_xx_small", kind): "a Conv of a constant computed in the graph (EdgeNeXt's positional encoding)"
       for kind in ("dyn18", "ts17_nofold", "ts17_trained", "dyn18_trained")},
    ("timm/efficientvit_m0", "ts17"): "a Conv of a tensor whose batch the importer has moved (cascaded group attention)",
}


def _cases():
    cases = []
    for name in ("onnx_model_truth.json", "hybrid_truth.json"):
        with open(os.path.join(ROOT, "tests", "data", name)) as f:
            for key, truth in json.load(f).items():
                for kind, export in sorted((truth.get("exports") or {}).items() if not key.startswith("_") else []):
                    if export and export.get("status") == "ok":
                        marks = [pytest.mark.xfail(strict=True, reason=NOT_YET[key, kind])] if (key, kind) in NOT_YET \
                            else []
                        cases.append(pytest.param(export["file"], truth["macs"], id=f"{key}-{kind}", marks=marks))
    return cases


CASES = _cases()


def test_the_recorded_exports_are_many():
    assert len(CASES) >= 100


@pytest.mark.parametrize("path, macs", CASES)
def test_flops_equal_torchs(path, macs, tmp_path):
    onnx_path = tmp_path / os.path.basename(path)[:-3]
    with gzip.open(os.path.join(ROOT, path)) as src, open(onnx_path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert analyse(load(str(onnx_path))).totals.flops == macs
