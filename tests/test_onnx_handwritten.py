"""Real ONNX exports of modules written by hand the ways people write them (scripts/make_onnx_handwritten_fixtures.py,
torch 2.14, both exporters, opsets 13, 17 and 20): each file's parameters and torch's own multiply-adds
(`FlopCounterMode`, halved, fused attention off), as the script recorded them; and the spec `import` writes
gives the same totals as the file."""

import json
import os

import pytest

pytest.importorskip("onnx")

from costcalc.analysis import analyse  # noqa: E402
from costcalc.graph import load  # noqa: E402

HANDWRITTEN = os.path.join(os.path.dirname(__file__), "fixtures", "onnx", "handwritten")
with open(os.path.join(HANDWRITTEN, "expected.json")) as f:
    EXPECTED = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
FILES = sorted(k for k in EXPECTED if os.path.exists(os.path.join(HANDWRITTEN, f"{k}.onnx")))
# where costcalc's count differs from torch's, by how much and why (costcalc.importers.onnx.shared)
TWICE = ("a LayerNorm, a PReLU and a position embedding each used at two places: in a TorchScript file every norm, "
         "slope or table read twice counts twice, since TorchScript also stores equal tensors of different "
         "modules once (32 + 16 + 1,024); in a dynamo file the PReLU's slope is folded into a new tensor, so its "
         "module's parameter list is incomplete there and the PReLU counts twice (16)")
KNOWN = {**{f"shared_norms_{style}": (1072, TWICE) for style in ("ts13", "ts17", "ts20")},
         **{f"shared_norms_{style}": (16, TWICE) for style in ("dyn18", "dyn20")}}


def test_every_recorded_file_is_here():
    assert len(FILES) == len(EXPECTED) >= 80
    assert set(KNOWN) <= set(FILES)


def test_adaptive_pooling_to_uneven_bins_counts_as_torch():
    """the dynamo exporter stores the bins' sizes as an initializer: no parameter"""
    keys = [k for k in FILES if k.startswith("uneven_pooling_dyn")]
    assert len(keys) == 2
    for key in keys:
        totals = analyse(load(os.path.join(HANDWRITTEN, f"{key}.onnx"))).totals
        assert (totals.params, totals.flops) == (EXPECTED[key]["params"], EXPECTED[key]["macs"])


@pytest.mark.parametrize("key", FILES)
def test_hand_written_modules_read_as_torch_counts_them(key, tmp_path):
    e = EXPECTED[key]
    path = os.path.join(HANDWRITTEN, f"{key}.onnx")
    totals = analyse(load(path)).totals
    assert totals.flops == e["macs"]
    more, _why = KNOWN.get(key, (0, ""))
    assert totals.params == e.get("params_in_file", e["params"]) + more
    from costcalc.importers.onnx import to_yaml

    spec = tmp_path / "imported.yaml"
    spec.write_text(to_yaml(path))
    assert analyse(load(str(spec))).totals == totals
