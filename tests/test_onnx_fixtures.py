"""Real exports: torchvision and timm models exported by torch 2.14 (TorchScript at opsets 9-17, dynamo at 18,
external data, dynamic axes, fp16, export_params=False, torch.jit.script), committed graph-only (weights' data
stripped, dims kept) by scripts/make_onnx_fixtures.py with the figures torch itself gives: its parameter count
(less the batchnorms the exporter folded) and the multiply-adds of every Conv2d and Linear from forward hooks."""

import json
import os

import pytest

pytest.importorskip("onnx")

from costcalc.analysis import analyse  # noqa: E402
from costcalc.analysis.compare import compare  # noqa: E402
from costcalc.errors import SpecError  # noqa: E402
from costcalc.graph import load  # noqa: E402

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "fixtures", "onnx")
SPECS = os.path.join(HERE, "..", "specs")
with open(os.path.join(FIXTURES, "expected.json")) as f:
    ALL = json.load(f)
# models whose exports need ONNX op types the importer does not map yet: until it does they must be refused, located
NEEDS_OPS = {"convnext_tiny": ("LayerNormalization",)}


def _supported(e) -> bool:
    from costcalc.importers.onnx.mapping import DATA_OPS

    return all(op in DATA_OPS for op in NEEDS_OPS.get(e["model"], ()))


EXPECTED = {k: e for k, e in ALL.items() if _supported(e)}
REFUSED = sorted(k for k in ALL if k not in EXPECTED)


def fixture(key: str) -> str:
    return os.path.join(FIXTURES, key + ".onnx")


def load_fixture(key: str, path: str | None = None):
    e = EXPECTED[key]
    return load(path or fixture(key), input_shape=tuple(e["input"]) if e["dynamic"] else None)


def test_the_fixtures_cover_the_export_styles():
    styles = {e["style"] for e in EXPECTED.values()}
    opsets = {e["opset"] for e in EXPECTED.values()}
    assert len({e["model"] for e in EXPECTED.values()}) >= 10
    assert {9, 11, 13, 15, 17, 18} <= opsets
    assert any(s.startswith("dyn") for s in styles) and any(s.startswith("ts") for s in styles)
    assert {"ts17_external", "ts17_dynamic", "dyn18_dynamic", "ts17_fp16", "ts17_noparams", "ts17_script"} <= styles
    assert any(e["external"] for e in EXPECTED.values())
    assert {"resnet50", "mobilenet_v2", "densenet121", "tf_efficientnet_b0"} <= {e["model"] for e in EXPECTED.values()}
    size = sum(os.path.getsize(os.path.join(FIXTURES, f)) for f in os.listdir(FIXTURES))
    assert size < 4 * 2**20  # graph-only: the weights' data are not in the repository


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_params_and_flops_are_torchs(key):
    e = EXPECTED[key]
    totals = analyse(load_fixture(key)).totals
    assert (totals.params, totals.flops) == (e["params"], e["flops"])


@pytest.mark.parametrize("key", sorted(k for k, e in EXPECTED.items() if e["published"] and not e["dynamic"]))
def test_flops_are_torchvisions_published_gflops(key):
    """torchvision's GFLOPS (3 decimals) are the same multiply-adds, rounded."""
    totals = analyse(load_fixture(key)).totals
    assert round(totals.flops / 1e9, 3) == EXPECTED[key]["published"]["gflops"]
    if not EXPECTED[key]["folded_batchnorms"]:
        assert totals.params == EXPECTED[key]["published"]["params"]


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_the_report_says_when_batchnorm_was_folded(key):
    name = load_fixture(key).name
    folded = EXPECTED[key]["folded_batchnorms"]
    assert ("batchnorm folded" in name) == bool(folded)
    if folded:
        assert f"batchnorm folded into {folded} convs" in name


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_the_imported_spec_gives_the_same_counts(key, tmp_path):
    from costcalc.importers.onnx import to_yaml

    e = EXPECTED[key]
    path = tmp_path / "imported.yaml"
    path.write_text(to_yaml(fixture(key), tuple(e["input"]) if e["dynamic"] else None))
    imported = load(str(path))
    assert [(n.name, n.counts) for n in imported.nodes] == [(n.name, n.counts) for n in load_fixture(key).nodes]


RESNET50 = [k for k, e in EXPECTED.items() if e["model"] == "resnet50"]


@pytest.mark.parametrize("key", sorted(RESNET50))
@pytest.mark.parametrize("depth", [1, 2])
def test_resnet50_has_the_specs_stages_and_blocks(key, depth):
    """`--depth 1` and `--depth 2` on an imported resnet50 show specs/resnet50.yaml's stages and blocks, paired by
    name by compare with every FLOPs delta zero (params too where batchnorm was not folded)."""
    spec = analyse(load(os.path.join(SPECS, "resnet50.yaml")))
    imported = analyse(load_fixture(key))
    result = compare(spec, imported, depth=depth)
    folded = EXPECTED[key]["folded_batchnorms"]
    for row in result.rows:
        if row.status != "both":  # only the stem's batchnorm, folded into conv1
            assert folded and row.a.name == "bn1" and row.b is None
            continue
        assert row.matched_by == "name"
        assert row.delta.flops == 0
        if not folded:
            assert row.delta.params == 0 and row.delta.memory_access == 0
    names = [row.b.name for row in result.rows if row.b]
    assert names[:3] == (["conv1", "relu", "maxpool"] if folded else ["conv1", "bn1", "relu", "maxpool"])[:3]
    blocks = {1: ["layer1", "layer2", "layer3", "layer4"],
              2: [f"layer{s}.{b}" for s, n in enumerate([3, 4, 6, 3], 1) for b in range(n)]}[depth]
    assert [n for n in names if n.startswith("layer")] == blocks


def test_import_writes_resnet50_as_blocks_with_repeat():
    from costcalc.importers.onnx import to_yaml

    text = to_yaml(fixture("resnet50_ts17_nofold"))
    for stage, n in enumerate([3, 4, 6, 3], 1):
        assert f"  - {{name: layer{stage}, block: layer{stage}_block, repeat: {n}" in text
    assert "if: with_downsample" in text
    assert text.count("op: conv") == 1 + 4 * 4  # the stem, and four blocks of three convs and a downsample


def test_a_dynamic_export_needs_an_input_size():
    key = next(k for k, e in EXPECTED.items() if e["dynamic"])
    with pytest.raises(SpecError, match="give it with --input"):
        load(fixture(key))


@pytest.mark.parametrize("key", REFUSED)
def test_what_costcalc_cannot_cost_yet_is_a_located_error(key, run):
    result = run("report", fixture(key))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{fixture(key)}:") and ": error: node '" in result.stderr
    assert "Traceback" not in result.stderr


CONVNEXT = sorted(k for k, e in EXPECTED.items() if e["model"] == "convnext_tiny")


@pytest.mark.parametrize("key", CONVNEXT)
def test_convnext_pairs_with_the_spec_by_name(key):
    """specs/convnext_tiny.yaml is grouped as torchvision's modules are: at `--depth 2` compare pairs the stem, the
    stages, the downsamplings, the pool and the classifier by name, every FLOPs and params delta zero. The dynamo
    export's average pool ends with an as_strided Gather (a select moving 768 elements), a row of its own."""
    spec = analyse(load(os.path.join(SPECS, "convnext_tiny.yaml")))
    result = compare(spec, analyse(load_fixture(key)), depth=2)
    paired = [row for row in result.rows if row.status == "both"]
    assert [row.a.name for row in paired] == [f"features.features_{k}" for k in range(8)] + [
        "avgpool", "classifier.classifier_0", "classifier.classifier_1", "classifier.classifier_2"]
    assert all(row.matched_by == "name" and row.delta.flops == 0 and row.delta.params == 0 for row in paired)
    rest = [row.b for row in result.rows if row.status != "both"]
    assert [(r.name, r.op, r.counts.flops) for r in rest] == ([("avgpool_2", "select", 0)] if "dyn" in key else [])


@pytest.mark.parametrize("key, blocks", [
    ("resnet50_dyn18", ["Bottleneck", "Bottleneck_2", "Bottleneck_3", "Bottleneck_4"]),
    ("resnet18_dyn18", ["BasicBlock", "BasicBlock_2", "BasicBlock_3", "BasicBlock_4"]),
    ("convnext_tiny_dyn18", ["CNBlock", "CNBlock_2", "CNBlock_3", "CNBlock_4"]),
    ("convnext_tiny_ts17", ["features_1_block", "features_3_block", "features_5_block", "features_7_block"]),
])
def test_import_names_repeated_blocks_after_their_module_class(key, blocks):
    """The dynamo exporter records each module's class beside its path (pkg.torch.onnx.class_hierarchy): a
    repeated block is named after it, one block per stage (their widths differ); TorchScript's files do not say,
    and the block is named after the stage."""
    from costcalc.importers.onnx import to_yaml

    text = to_yaml(fixture(key))
    assert [line.strip()[:-1] for line in text.splitlines() if line.startswith("  ") and line.endswith(":")
            and not line.startswith("   ")] == blocks


@pytest.mark.parametrize("key", ["efficientnet_b0_ts17", "convnext_tiny_ts17", "mobilenet_v2_ts17"])
def test_numbered_children_with_little_in_common_are_not_one_block(key):
    """torchvision's `features` holds a stem, stages and a head: merging them into one block would switch almost
    every layer on and off by `if:`; a repeat switches at most two (a first unit's downsample or residual)."""
    from costcalc.importers.onnx import to_yaml

    text = to_yaml(fixture(key))
    assert "if: with_n" not in text and "with_features" not in text
