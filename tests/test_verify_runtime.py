"""`costcalc verify --against onnxruntime`: the numpy reference and onnxruntime run the same exported network (the
reference's own seeded weights, the same input) and agree within float32 tolerance, on every shipped spec at a
reduced resolution; the deep ones also at fewer repeats, through their own variables, so every kind of layer they
have is still there (weights dominate the time, and a resolution does not shrink them)."""

import numpy as np
import pytest

from costcalc.errors import SpecError
from costcalc.graph import load
from tests.test_export import ALL_SPECS, BUILDERS

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from costcalc.analysis.verify_runtime import agree, verify_against_onnxruntime  # noqa: E402

SIZES = (32, 64, 96, 128, 160, 224)
RESNETS = {"depths": "[1, 2, 2, 1]"}
FEWER = {"resnet50": RESNETS, "resnet101": RESNETS, "resnet152": RESNETS, "resnext50_32x4d": RESNETS,
         "resnext101_32x4d": RESNETS, "resnext101_32x8d": RESNETS, "resnext101_64x4d": RESNETS,
         "densenet121": {"block_config": "[2, 2, 2, 2]"}, "densenet161": {"block_config": "[2, 2, 2, 2]"},
         "densenet169": {"block_config": "[2, 2, 2, 2]"}, "densenet201": {"block_config": "[2, 2, 2, 2]"},
         "inception_resnet_v2": {"repeats": "[1, 1, 1]"}, "xception": {"middle_blocks": "1"},
         "condensenet": {"stages": "[1, 2, 1, 1, 1]"}, "preact_resnet_cifar": {"depth": "20"},
         "resnet18": RESNETS, "resnet34": RESNETS, "resnet50_v1": RESNETS, "convnext_tiny": {"depths": "[1, 1, 1, 1]"},
         "vgg16": {"widths": "[8, 16, 32, 64, 64]", "depths": "[1, 1, 1, 1, 1]"}}


def smallest(spec: str):
    """The spec at the smallest input of SIZES it accepts (its own input when it is not an image), with FEWER."""
    graph = load(spec)
    sets = {k: v for k, v in FEWER.get(graph.name, {}).items() if k in graph.variables}
    if graph.input_shape[0] != 3:
        return load(spec, sets, input_shape=(graph.input_shape[0], 8, 8))
    for size in SIZES:
        try:
            return load(spec, sets, input_shape=(3, size, size))
        except SpecError:
            continue
    return graph


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_reference_agrees_with_onnxruntime(spec):
    graph = smallest(spec)
    unmapped = sorted({node.op for node in graph.nodes} - set(BUILDERS))
    if unmapped:  # issue 13's ops (ConvNeXt's, VGG's adaptive pool) reach the exporter's table after the zoo does
        pytest.xfail(f"the exporter has no ONNX form for {', '.join(unmapped)} yet")
    result = verify_against_onnxruntime(graph)
    assert result.passed, (result.max_abs_diff, result.max_abs_reference, result.worst_excess)
    assert result.max_abs_reference > 0  # a network of non-trivial values, not zeros compared with zeros


def test_the_check_can_fail():
    reference = np.linspace(-3, 3, 1000, dtype=np.float32)
    assert agree(reference, reference + 1e-7)[2] < 1
    worse = reference.copy()
    worse[10] *= 1.01  # one element 1% off
    assert agree(reference, worse)[2] > 1


def test_cli(run):
    result = run("verify", "specs/shufflenet_v1.yaml", "--input", "3x32x32", "--against", "onnxruntime")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "agree: the two forward passes agree within float32 tolerance"
