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
PRELU_TWICE = ("one nn.PReLU(16) applied after two convs: TorchScript folds its reshaped slope at each use and joins "
               "the two copies by Identity, which is also how it stores two equal tensors once, so the file cannot "
               "say it is one module")
KNOWN = {f"shared_norms_{style}": (16, PRELU_TWICE) for style in ("ts13", "ts17", "ts20")}


def test_every_recorded_file_is_here():
    assert len(FILES) == len(EXPECTED) >= 80
    assert set(KNOWN) <= set(FILES)


@pytest.mark.parametrize("module", ["shared_norms", "uneven_pooling"])
def test_the_dynamo_files_of_shared_norms_and_uneven_pooling_count_as_torch(module):
    """a LayerNorm, a PReLU and a position embedding each used twice count once; adaptive pooling's bin sizes,
    which the dynamo exporter stores as an initializer, are no parameter"""
    keys = [k for k in FILES if k.startswith(module + "_dyn")]
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
