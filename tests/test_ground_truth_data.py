"""The ground truth recorded by scripts/make_onnx_handwritten_fixtures.py, scripts/onnx_model_truth.py and
scripts/hybrid_truth.py (torch's own figures, docs/ground-truth.md) is what it says it is: every fixture it names is
committed and is the file it describes, and torch's counts agree with closed forms derived by hand here and with
torchvision's published figures. What costcalc makes of these files is tested elsewhere."""

import gzip
import json

import pytest

from conftest import ROOT

HANDWRITTEN = ROOT / "tests" / "fixtures" / "onnx" / "handwritten"
with open(HANDWRITTEN / "expected.json") as f:
    EXPECTED = json.load(f)
KEYS = sorted(k for k in EXPECTED if not k.startswith("_"))


def test_every_handwritten_fixture_is_described_and_every_description_has_its_file():
    files = {p.name[: -len(".onnx")] for p in HANDWRITTEN.glob("*.onnx")}
    assert files == set(KEYS)
    assert all(EXPECTED[k]["onnxruntime_equal"] for k in KEYS)


def test_each_handwritten_module_has_both_exporters_and_the_same_figures_in_every_style():
    modules = {}
    for k in KEYS:
        e = EXPECTED[k]
        modules.setdefault(e["module"], []).append(e)
    assert len(modules) >= 12
    for name, entries in modules.items():
        exporters = {e["style"][:2] for e in entries}
        assert exporters == ({"dy"} if name == "nearest_exact" else {"ts", "dy"}), name
        assert len({(e["params"], e["macs"], json.dumps(e["outputs"])) for e in entries}) == 1, name
    # what the exporters refused is recorded, not dropped: TorchScript has no nearest-exact resize
    assert {f"nearest_exact_ts{o}" for o in (13, 17, 20)} <= set(EXPECTED["_refused"])


@pytest.mark.parametrize("key", KEYS)
def test_handwritten_fixture_is_the_file_described(key):
    onnx = pytest.importorskip("onnx")
    model = onnx.load(HANDWRITTEN / f"{key}.onnx", load_external_data=False)
    e = EXPECTED[key]
    assert next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) == e["opset"]
    counts = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    assert counts == e["op_types"]


def test_torchs_counts_of_attention_are_the_closed_forms():
    """FlopCounterMode (halved) counts the products of two activations: the multiply-adds derived by hand."""
    # einsum_attention, 3 x 32 x 32: a 4x4/4 conv to 32 x 8 x 8 (64 tokens), qkv Linear 32 -> 96, q k^T and a v
    # (64 x 64 x 32 each), an einsum across the 32 channels at 64 positions
    conv, qkv, products, mix = 32 * 64 * 3 * 16, 64 * 32 * 96, 2 * 64 * 64 * 32, 64 * 32 * 32
    e = EXPECTED["einsum_attention_ts17"]
    assert e["macs"] == conv + qkv + products + mix
    assert e["macs_by_op"]["aten.bmm"] == products + mix
    # mhsa, 3 x 32 x 32: an 8x8/8 conv to 48 x 4 x 4, 17 tokens with the class token, q, k, v and the projection
    # (48 x 48 each), MLP 48 -> 96 -> 48, head 48 -> 10, 4 heads of 12: q k^T and a v 17 x 17 x 12 each
    e = EXPECTED["mhsa_ts17"]
    assert e["macs_by_op"] == {"aten.convolution": 48 * 16 * 3 * 64,
                               "aten.addmm": 17 * (4 * 48 * 48 + 2 * 48 * 96) + 48 * 10,
                               "aten.bmm": 4 * 2 * 17 * 17 * 12}
    # channel_shuffle: each folded batchnorm of 12 channels takes 2 x 12 parameters away, its conv gains 12 biases
    e = EXPECTED["channel_shuffle_ts17"]
    assert e["params"] - e["params_in_file"] == 6 * 12
