"""Issue 28: torchvision's segmentation models (FCN-ResNet50, DeepLabV3-ResNet50, LR-ASPP-MobileNetV3-Large) and
MobileNetV3-Large as zoo specs, exact against torchvision: the published num_params and _ops (GFLOPs, rounded to
three decimals), and, to the unit, what torch counts on the built models (tests/data/segmentation_torchvision.json,
written by scripts/segmentation_torchvision.py: parameters, multiply-adds of conv and matmul, output shapes).

Written in the spec language without workarounds: the heads resize back to `input_height` x `input_width`, ASPP's
atrous branches are one parallel repeat, LR-ASPP's head is a block of two inputs, the auxiliary head an inline
sequence reading layer3."""

import json

import pytest

from conftest import ROOT, SPECS
from costcalc.analysis import analyse
from costcalc.graph import load

TRUTH = json.loads((ROOT / "tests" / "data" / "segmentation_torchvision.json").read_text())["models"]
NAMES = sorted(TRUTH)


@pytest.mark.parametrize("name", NAMES)
def test_the_counts_of_torch_to_the_unit(name):
    truth = TRUTH[name]
    graph = load(str(SPECS / f"{name}.yaml"))
    totals = analyse(graph).totals
    assert graph.tensors[0] == tuple(truth["input"])
    assert (totals.params, totals.flops) == (truth["params"], truth["multiply_adds"])
    assert graph.tensors[graph.output] == tuple(truth["outputs"]["out"][1:])


@pytest.mark.parametrize("name", NAMES)
def test_the_published_figures(name):
    truth = TRUTH[name]
    totals = analyse(load(str(SPECS / f"{name}.yaml"))).totals
    assert totals.params == truth["published_params"]
    assert round(totals.flops / 1e9, 3) == truth["published_gflops"]


def test_the_auxiliary_head_is_the_difference():
    """Without aux_loss the FCN loses its FCNHead on layer3: 1024 -> 256 (3x3) -> 21 (1x1, bias) on 65 x 65."""
    full = analyse(load(str(SPECS / "fcn_resnet50.yaml"))).totals
    bare = analyse(load(str(SPECS / "fcn_resnet50.yaml"), {"aux_loss": "False"})).totals
    assert full.params - bare.params == 1024 * 256 * 9 + 2 * 256 + 256 * 21 + 21
    assert full.flops - bare.flops == 65 * 65 * (256 * 1024 * 9 + 21 * 256)


def test_any_input_size_resizes_back_to_it():
    for name in ("fcn_resnet50", "deeplabv3_resnet50", "lraspp_mobilenet_v3_large"):
        graph = load(str(SPECS / f"{name}.yaml"), input_shape=(3, 256, 320))
        assert graph.tensors[graph.output] == (21, 256, 320)


def test_aspp_is_one_parallel_repeat():
    graph = load(str(SPECS / "deeplabv3_resnet50.yaml"))
    convs = [node for node in graph.nodes if node.name.startswith("classifier.aspp.atrous.") and node.op == "conv"]
    assert [node.args["dilation"] for node in convs] == [(12, 12), (24, 24), (36, 36)]
    concat = next(node for node in graph.nodes if node.name == "classifier.aspp.concat")
    assert graph.tensors[concat.outputs[0]] == (5 * 256, 65, 65)


def test_totals_across_settings_equal_fresh_reports():
    """Model.totals (parts remembered across settings, replays over inputs) on the head of two inputs and the input
    size read in blocks."""
    import costcalc

    path = str(SPECS / "lraspp_mobilenet_v3_large.yaml")
    model = costcalc.load(path)
    for width, size in ((1.0, 256), (0.75, 240), (1.0, 248), (0.75, 256), (1.0, 256)):
        want = analyse(load(path, {"width": str(width)}, input_shape=(3, size, size))).totals
        assert model.totals(set={"width": width}, input=(3, size, size)) == want
        assert model.totals(set={"width": width}, input=(3, size, size), more=True) == want
