"""Real exports of library models nobody here wrote (scripts/onnx_model_truth.py and scripts/hybrid_truth.py, torch
2.14, torchvision 0.29, timm 1.0): costcalc's FLOPs equal torch's own multiply-adds (`FlopCounterMode` halved,
fused attention off) for every file it reads, and its parameters equal what the file holds: torch's
`sum(p.numel())` less the batchnorms the exporter folded (`params_in_file`, recorded where the file's
BatchNormalization nodes tell it). The files it cannot read yet are listed with the reason, as strict expected
failures; the files whose parameters differ from the model's for an exporter's reason (a folded bias table, dropped
zero biases, a buffer stored as a weight) are listed with the reason and the count, which the tests check."""

import gzip
import json
import os
import shutil
from functools import lru_cache

import pytest

pytest.importorskip("onnx")

from costcalc.analysis import analyse  # noqa: E402
from costcalc.graph import load  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_YET = {}  # (model, export) -> why costcalc refuses it today


def _bias_tables(window: int, heads_by_block: list) -> int:
    """What a folded relative-position bias adds: each block's table of (2w - 1)^2 offsets per head becomes one value
    per head and pair of the w^2 positions of a window."""
    return sum(heads_by_block) * (window ** 4 - (2 * window - 1) ** 2)


_SWIN_T = [3] * 2 + [6] * 2 + [12] * 6 + [24] * 2  # heads of each block: torchvision's and timm's Swin-T
_SWIN_S = [3] * 2 + [6] * 2 + [12] * 18 + [24] * 2
_SWIN_B = [4] * 2 + [8] * 2 + [16] * 18 + [32] * 2
_BIAS_TABLE = ("the exporter folded the relative-position bias gathered from its table into an initializer of one "
               "value per head and pair of positions: the file holds heads x (49 x 49 - 13 x 13) values per block")
_MASKS = ("; the dynamo exporter also stores the pieces it computes the shifted windows' masks from (torch.zeros "
          "regions, bounds) as float initializers (`val_N`), which no rule tells from a learned table its optimiser "
          "stored transposed (LeViT's `val_79`): 4,125 values")
_ZERO_BIAS = ("the dynamo exporter's optimiser dropped the biases that are zero in an untrained model: the file holds "
              "fewer parameters than the model (its export with random biases, `dyn18_trained`, holds them all)")
# (model, export) -> (costcalc's params less params_in_file, why): each an exporter's fact about the file, its
# arithmetic checked below (docs/onnx.md, *Parameters*). The files whose count the script could not record (a
# batchnorm called twice: maxvit, coatnet, nf_resnet) are not compared.
PARAMS_DIFFER = {
    ("swin_t", "ts17"): (_bias_tables(7, _SWIN_T), _BIAS_TABLE),
    ("timm/swin_tiny_patch4_window7_224", "ts17"): (_bias_tables(7, _SWIN_T), _BIAS_TABLE),
    ("swin_s", "ts17"): (_bias_tables(7, _SWIN_S), _BIAS_TABLE),
    ("swin_b", "ts17"): (_bias_tables(7, _SWIN_B), _BIAS_TABLE),
    ("swin_t", "ts17_trained"): (_bias_tables(7, _SWIN_T), _BIAS_TABLE),
    ("swin_t", "dyn18_trained"): (_bias_tables(7, _SWIN_T) + 4_125, _BIAS_TABLE + _MASKS),
    ("swin_t", "dyn18"): (_bias_tables(7, _SWIN_T) + 4_125 - 1_000, _BIAS_TABLE + _MASKS + "; and " + _ZERO_BIAS
                          + ": the classifier's 1,000"),
    # Swin-T, dynamo without its optimiser: torch.export lifts the 9 region numbers of torchvision's mask loop to
    # float initializers (`lifted_tensor_0` to `_8`) in each of the 5 shifted blocks of stages 1 to 3
    ("swin_t", "dyn18_noopt"): (5 * 9, "torch.export stores the region numbers of each shifted block's mask (9) as "
                                "float initializers, which no rule tells from learned values"),
    # LeViT-128S with random biases, dynamo: the optimiser folded the gathered bias of the blocks of stages 2 and 3
    # (6 heads, 7 x 7 positions; 8 heads, 4 x 4) and of the second subsampling attention (16 heads, 4 x 4 queries
    # over 7 x 7 keys), not the larger ones of stage 1 and the first subsampling (4 x 196 x 196, 8 x 49 x 196)
    ("levit_128s", "dyn18_trained"): (3 * 6 * (49 * 49 - 49) + 4 * 8 * (16 * 16 - 16) + 16 * (16 * 49 - 49),
                                      "the dynamo exporter folded the attention biases gathered from the tables of "
                                      "stages 2 and 3 and the second subsampling into initializers of one value per "
                                      "head, query and key"),
    ("vit_b_16", "dyn18"): (-(1_000 + 768 + 12 * 768), _ZERO_BIAS + ": the head's, conv_proj's and the 12 attention "
                                                       "output projections'"),
    ("edgenext_xx_small", "dyn18"): (-(1_000 + 24 + 704 + 304 + 96 + 114 + 48), _ZERO_BIAS + ": the head's and the "
                                     "convs' (stem 24, depthwise 704, downsampling 304, SDTA 96 + 114, position 48)"),
    **{(name, "dyn18"): (-1_000, _ZERO_BIAS + ": the classifier's 1,000")
       for name in ("mobilenetv4_conv_small", "mobilenetv4_conv_medium", "mobilenetv4_hybrid_medium", "mobilevit_xxs",
                    "mobilevit_xs", "mobilevit_s")},
    ("timm/tresnet_m", "ts17"): (9 * (128 + 256 + 512), "anti-aliasing's fixed 3 x 3 blur filter is a buffer in "
                                 "torch and a depthwise Conv's weight in the file (9 C values for each of the 3 "
                                 "downsamplings: 128, 256 and 512 channels)"),
}


def _cases():
    cases = []
    for name in ("onnx_model_truth.json", "hybrid_truth.json"):
        with open(os.path.join(ROOT, "tests", "data", name)) as f:
            for key, truth in json.load(f).items():
                for kind, export in sorted((truth.get("exports") or {}).items() if not key.startswith("_") else []):
                    if export and export.get("status") == "ok":
                        cases.append((key, kind, export, truth))
    return cases


CASES = _cases()


def _param(key, kind, *values):
    """One file's case; its tests share one worker under `pytest -n auto --dist loadgroup` (as CI runs them), so that
    the file is read once (_read) for all of them."""
    marks = [pytest.mark.xdist_group(f"{key}-{kind}")]
    marks += [pytest.mark.xfail(strict=True, reason=NOT_YET[key, kind])] if (key, kind) in NOT_YET else []
    return pytest.param(key, kind, *values, id=f"{key}-{kind}", marks=marks)


FLOPS = [_param(key, kind, truth["macs"]) for key, kind, export, truth in CASES]
PARAMS = [_param(key, kind, export["params_in_file"]) for key, kind, export, truth in CASES
          if export.get("params_in_file") is not None and (key, kind) not in PARAMS_DIFFER]
DIFFER = [_param(key, kind, export["params_in_file"]) for key, kind, export, truth in CASES
          if (key, kind) in PARAMS_DIFFER]
FILES = {(key, kind): export["file"] for key, kind, export, truth in CASES}


@lru_cache(maxsize=None)  # each file is read once for all the tests
def _read(key, kind) -> tuple:
    """(the file's totals, the totals of the spec `import` writes for it)."""
    from costcalc.importers.onnx import to_yaml

    path = os.path.join(ROOT, FILES[key, kind])
    folder = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"costcalc-library-{os.getpid()}")
    os.makedirs(folder, exist_ok=True)
    onnx_path = os.path.join(folder, os.path.basename(path)[:-3])
    spec_path = onnx_path[:-len(".onnx")] + ".yaml"
    with gzip.open(path) as src, open(onnx_path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    try:
        totals = analyse(load(onnx_path)).totals
        with open(spec_path, "w") as f:
            f.write(to_yaml(onnx_path))
        return totals, analyse(load(spec_path)).totals
    finally:
        os.remove(onnx_path)
        if os.path.exists(spec_path):
            os.remove(spec_path)


def _totals(key, kind):
    return _read(key, kind)[0]


NOT_EXPORTED = {  # model -> why scripts/onnx_model_truth.py holds no export of it (recorded in the JSON)
    "timm/halonet26t": "TorchScript's exporter cannot export its Unfold (an input size it cannot read)",
    "timm/pit_ti_224": "torch's FlopCounterMode cannot measure it: no truth to test against",
}


def test_every_torchvision_model_and_timm_across_families_are_exported():
    """Issue 29: every torchvision classification and segmentation model and at least 60 timm models, CNNs and
    hybrids, exported (TorchScript, opset 17) and tested above."""
    with open(os.path.join(ROOT, "tests", "data", "onnx_model_truth.json")) as f:
        truth = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    exported = {key for key, kind, export, _ in CASES if kind == "ts17" and key in truth}
    torchvision = {k for k, v in truth.items() if v["source"].startswith("torchvision")}
    timm = {k for k, v in truth.items() if v["source"] == "timm"}
    assert len(torchvision) == 86 and torchvision - exported == {k for k in NOT_EXPORTED if k in torchvision}
    assert len(timm & exported) >= 90 and timm - exported == {k for k in NOT_EXPORTED if k in timm}


@pytest.mark.parametrize("key, kind, macs", FLOPS)
def test_flops_equal_torchs(key, kind, macs):
    assert _totals(key, kind).flops == macs


@pytest.mark.parametrize("key, kind", [_param(key, kind) for key, kind in sorted(FILES)])
def test_import_then_report_gives_the_files_totals(key, kind):
    """Issue 29: the spec `costcalc import` writes for each library file gives the totals `report` gives the file."""
    totals, written = _read(key, kind)
    assert written == totals


@pytest.mark.parametrize("key, kind, params", PARAMS)
def test_params_equal_the_files(key, kind, params):
    assert _totals(key, kind).params == params


@pytest.mark.parametrize("key, kind, params", DIFFER)
def test_params_differ_from_the_files_by_the_stated_count(key, kind, params):
    """The files whose parameters differ from the model's for an exporter's reason: by exactly the stated count."""
    assert _totals(key, kind).params - params == PARAMS_DIFFER[key, kind][0]


@pytest.mark.parametrize("key", sorted(key for key, kind in PARAMS_DIFFER if kind == "dyn18"))
def test_dropped_zero_biases_are_what_the_trained_export_holds(key):
    """The dynamo exports of untrained models lack exactly the biases the same export with random biases holds."""
    dropped = _totals(key, "dyn18_trained").params - _totals(key, "dyn18").params
    assert dropped == PARAMS_DIFFER.get((key, "dyn18_trained"), (0,))[0] - PARAMS_DIFFER[key, "dyn18"][0] > 0


def test_every_difference_is_a_case_with_a_recorded_count():
    assert set(PARAMS_DIFFER) <= {(key, kind) for key, kind, export, _ in CASES if export.get("params_in_file")}
