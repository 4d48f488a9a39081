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


DYNAMO_ONLY = ("nearest_exact", "uneven_pooling")


def test_each_handwritten_module_has_both_exporters_and_the_same_figures_in_every_style():
    modules = {}
    for k in KEYS:
        e = EXPECTED[k]
        modules.setdefault(e["module"], []).append(e)
    assert len(modules) >= 12
    for name, entries in modules.items():
        exporters = {e["style"][:2] for e in entries}
        assert exporters == ({"dy"} if name in DYNAMO_ONLY else {"ts", "dy"}), name
        assert len({(e["params"], e["macs"], json.dumps(e["outputs"])) for e in entries}) == 1, name
    # what the exporters refused is recorded, not dropped: TorchScript has no nearest-exact resize, and no adaptive
    # pooling to a size that does not divide the input
    assert {f"{name}_ts{o}" for name in DYNAMO_ONLY for o in (13, 17, 20)} <= set(EXPECTED["_refused"])


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


MODELS = json.loads((ROOT / "tests" / "data" / "onnx_model_truth.json").read_text())
HYBRIDS = json.loads((ROOT / "tests" / "data" / "hybrid_truth.json").read_text())
# torchvision publishes inception_v3's parameters with its auxiliary head (a training-only branch, 3,326,696
# parameters the model in eval mode never runs and no export holds); its multiply-adds are without it
PUBLISHED_WITH_AUX = {"inception_v3": 27161264 - 23834568}


def test_every_torchvision_model_is_measured_and_gives_its_published_figures():
    """torch's counts (FlopCounterMode halved, fused attention off) equal torchvision's `num_params` and `_ops` for
    every classification and segmentation model: 80 + 6 in torchvision 0.29."""
    torchvision = {k: v for k, v in MODELS.items() if v.get("source", "").startswith("torchvision")}
    assert len(torchvision) == 86
    for name, e in torchvision.items():
        published = e["published"]
        assert e["params"] + PUBLISHED_WITH_AUX.get(name, 0) == published["params"], name
        assert round(e["macs"] / 1e9, 3) == published["gmacs"], name


def test_timm_models_across_families_are_measured():
    timm = {k: v for k, v in MODELS.items() if k.startswith("timm/") and "error" not in v}
    assert len(timm) >= 60
    # a model torch could not count is recorded with its error, not dropped: FlopCounterMode's module tracker fails
    # on PiT's forward
    assert MODELS["timm/pit_ti_224"]["error"].startswith("AssertionError")
    assert all(e["macs"] > 0 and e["params"] > 0 and e["macs_by_module"][""] == e["macs"] for e in timm.values())


def test_exported_graph_only_copies_are_committed_and_small():
    files = []
    for truth in (MODELS, HYBRIDS):
        for key, e in truth.items():
            for style, export in e.get("exports", {}).items():
                assert export["status"] in ("ok", "failed", "skipped"), (key, style)
                if export["status"] == "ok":
                    path = ROOT / export["file"]
                    assert path.stat().st_size == export["bytes_gz"], path
                    files.append(path)
                else:
                    assert export["error"], (key, style)
    assert len(files) >= 50
    assert sum(p.stat().st_size for p in files) < 40 * 2**20
    assert len(gzip.decompress(files[0].read_bytes())) == next(
        x["bytes_stripped"] for t in (MODELS, HYBRIDS) for e in t.values() for x in e.get("exports", {}).values()
        if x.get("file") == str(files[0].relative_to(ROOT)))


def test_hybrid_zoo_truth_counts_attention_and_gives_torchvisions_published_figures():
    names = {"mobilevit_xxs", "mobilevit_xs", "mobilevit_s", "efficientvit_b0", "levit_128s",
             "mobilenetv4_conv_small", "mobilenetv4_conv_medium", "mobilenetv4_hybrid_medium", "edgenext_xx_small",
             "fastvit_t8", "swin_t", "vit_b_16", "maxvit_t"}
    assert set(HYBRIDS) - {"_about"} == names
    # 17.56, 4.49 and 5.56 GFLOPs as torchvision publishes them (multiply-adds, attention's products included)
    assert {n: round(HYBRIDS[n]["macs"] / 1e9, 2) for n in ("vit_b_16", "swin_t", "maxvit_t")} == {
        "vit_b_16": 17.56, "swin_t": 4.49, "maxvit_t": 5.56}
    assert all(HYBRIDS[n]["published"]["published_equal"] for n in ("vit_b_16", "swin_t", "maxvit_t"))
    # vit_b_16's attention: 12 layers of 12 heads, 197 tokens of 64: q k^T and a v, 197 x 197 x 64 each
    assert HYBRIDS["vit_b_16"]["macs_by_op"]["aten.bmm"] == 12 * 12 * 2 * 197 * 197 * 64
    # products of two activations in every model with attention (the conv-only MobileNetV4s and FastViT-T8, whose
    # token mixer is RepMixer, have none)
    for name in names - {"mobilenetv4_conv_small", "mobilenetv4_conv_medium", "fastvit_t8"}:
        assert HYBRIDS[name]["macs_by_op"].get("aten.bmm", 0) > 0, name
    for name in names:
        e = HYBRIDS[name]
        assert e["macs_by_module"][""] == e["macs"] and e["params_by_module"][""] == e["params"]
        assert {style: x["status"] for style, x in e["exports"].items()} == {  # scripts/hybrid_truth.py --styles
            style: "ok" for style in ("ts17", "dyn18", "ts17_nofold", "ts17_trained", "dyn18_trained",
                                      "dyn18_noopt")}, name
