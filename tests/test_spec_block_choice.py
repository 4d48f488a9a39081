"""A block chosen by an expression (`block: "basic if expansion == 1 else bottleneck"`), and the ResNet table
built on it: resnet18/34/50/101/152 and ResNet v1 are one layout, each depth a few variables."""

import pytest
import yaml

from costcalc.analysis import analyse
from costcalc.graph import load
from tests.conftest import ROOT

TWO_BLOCKS = """
input: [8, 6, 6]
vars: {wide: false}
blocks:
  thin:
    args: {out: ~}
    layers: [{name: conv, op: conv, out: out, k: 1}]
  thick:
    args: {out: ~, k: 3}
    layers: [{name: conv, op: conv, out: 2 * out, k: k, pad: 1}, {name: act, op: relu}]
layers:
  - {name: a, block: "thick if wide else thin", args: {out: 4}}
  - {block: "thin if wide else thick", args: {out: 4}, repeat: 2}
"""


def test_a_block_chosen_by_an_expression(write_spec):
    path = write_spec(TWO_BLOCKS)
    graph = load(path)
    assert [n.name for n in graph.nodes] == ["a.conv", "layer_1.0.conv", "layer_1.0.act",
                                             "layer_1.1.conv", "layer_1.1.act"]
    # thin: 1x1 conv 8 -> 4 on 6x6; thick: 3x3 conv 4 -> 8, then 8 -> 8, pad 1 keeps 6x6
    assert analyse(graph).totals.flops == 36 * (8 * 4 + 9 * 4 * 8 + 9 * 8 * 8)
    flipped = load(path, {"wide": "True"})
    assert [n.name for n in flipped.nodes] == ["a.conv", "a.act", "layer_1.0.conv", "layer_1.1.conv"]
    assert analyse(flipped).totals.flops == 36 * (9 * 8 * 8 + 8 * 4 + 4 * 4)


@pytest.mark.parametrize("layer, where, message", [
    ('{name: a, block: "thick if wide else 3", args: {out: 4}}', "12:22",
     "layer 'a': 'block': 'thick if wide else 3' gives 3, not a block"),
    ('{name: a, block: "thin if wide else relu", args: {out: 4}}', "12:40",
     "layer 'a': 'block': unknown variable 'relu'"),
    ('{name: a, block: "wide if wide else wide", args: {out: 4}}', "12:22",
     "layer 'a': 'block' expression 'wide if wide else wide' names no block (the blocks: thin, thick)"),
    ('{name: a, block: "thick if wide else thin", args: {out: 4, kk: 1}}', "12:68",
     "layer 'a': none of the blocks thick, thin takes argument 'kk' (did you mean 'k'?)"),
    ('{name: a, block: "thick if narrow else thin", args: {out: 4}}', "12:31",
     "layer 'a': 'block': unknown variable 'narrow'"),
    ('{name: a, block: "thick if wide else thin", args: {k: 1}}', "12:59",
     "layer 'a': block 'thin' has no argument 'k' (it takes: out)"),
])
def test_block_expression_errors_are_located(run, write_spec, layer, where, message):
    text = TWO_BLOCKS.split("layers:\n  - {name: a")[0] + "layers:\n  - " + layer + "\n"
    path = write_spec(text)
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:{where}: error: {message}"), result.stderr


def test_a_variable_read_only_by_a_block_expression_is_used(tmp_path):
    (tmp_path / "base.yaml").write_text(TWO_BLOCKS.replace("vars: {wide: false}\n", ""))
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nvars: {wide: true}\n")
    assert [n.name for n in load(str(tmp_path / "child.yaml")).nodes][:2] == ["a.conv", "a.act"]


# ---- the ResNet table ------------------------------------------------------------------------------------------

FAMILY = ["resnet18", "resnet34", "resnet101", "resnet152", "resnet50_v1"]


@pytest.mark.parametrize("name", FAMILY)
def test_each_resnet_depth_is_a_few_variables(name):
    """No child copies a block or the layer list: it extends resnet50.yaml (directly or through resnet18.yaml)
    and sets at most two variables."""
    doc = yaml.safe_load((ROOT / "specs" / f"{name}.yaml").read_text())
    assert doc["extends"] in ("resnet50.yaml", "resnet18.yaml")
    assert set(doc) <= {"name", "description", "source", "extends", "vars", "published", "budget"}
    assert len(doc["vars"]) <= 2


@pytest.mark.parametrize("overrides, params", [
    ({"expansion": "1", "depths": "[2, 2, 2, 2]"}, 11_689_512),   # torchvision resnet18
    ({"expansion": "1", "depths": "[3, 4, 6, 3]"}, 21_797_672),   # torchvision resnet34
    ({"depths": "[3, 4, 23, 3]"}, 44_549_160),                    # torchvision resnet101
])
def test_resnet50_becomes_every_depth_by_its_variables(overrides, params):
    assert analyse(load(str(ROOT / "specs" / "resnet50.yaml"), overrides)).totals.params == params


def test_the_basic_block_has_torchvision_layout():
    """resnet18's first block of a stage that halves: conv1 carries the stride, the 1x1 projection shortcut."""
    graph = load(str(ROOT / "specs" / "resnet18.yaml"))
    names = [n.name for n in graph.nodes if n.name.startswith("layer2.0.")]
    assert names == ["layer2.0.conv1", "layer2.0.bn1", "layer2.0.relu1", "layer2.0.conv2", "layer2.0.bn2",
                     "layer2.0.downsample.conv", "layer2.0.downsample.bn", "layer2.0.add", "layer2.0.relu2"]
    conv1 = next(n for n in graph.nodes if n.name == "layer2.0.conv1")
    # 3x3 conv 64 -> 128, stride 2: 28 x 28 outputs, 9 * 64 * 128 multiply-adds each
    assert conv1.counts.flops == 28 * 28 * 9 * 64 * 128 and conv1.counts.params == 9 * 64 * 128


def test_the_located_resnet50_message_docs_quote_is_the_printed_one(run):
    """docs/report.md quotes the message `--set groups=0` gives on resnet50.yaml, line and column included."""
    result = run("report", "specs/resnet50.yaml", "--set", "groups=0")
    assert result.exit_code == 2
    assert f"`{result.stderr.strip()}`" in (ROOT / "docs" / "report.md").read_text()
