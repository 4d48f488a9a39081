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


def test_every_recorded_file_is_here():
    assert len(FILES) == len(EXPECTED) >= 80


@pytest.mark.parametrize("key", FILES)
def test_hand_written_modules_read_as_torch_counts_them(key, tmp_path):
    e = EXPECTED[key]
    path = os.path.join(HANDWRITTEN, f"{key}.onnx")
    totals = analyse(load(path)).totals
    assert totals.flops == e["macs"]
    assert totals.params == e.get("params_in_file", e["params"])
    from costcalc.importers.onnx import to_yaml

    spec = tmp_path / "imported.yaml"
    spec.write_text(to_yaml(path))
    assert analyse(load(str(spec))).totals == totals
