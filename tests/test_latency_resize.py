"""The resize class (costcalc.latency.plan): onnxruntime's Resize costs its interpolation's FLOPs besides its bytes;
a profile written before the class reads, costing it as data movement (as it was); the calibration's resize units."""

from dataclasses import replace

import numpy as np
import pytest

from costcalc.latency.model import kernel_time, plan
from costcalc.latency.networks import _spec, build, families
from costcalc.latency.profile import OP_CLASSES, OPTIONAL_CLASSES, load, save, uniform, with_class
from costcalc.ops.shape import BILINEAR_FLOPS

F32 = 4


@pytest.mark.parametrize("mode, per_element", [("nearest", 0), ("bilinear", BILINEAR_FLOPS)])
def test_a_resize_is_its_own_class_with_its_interpolations_flops(mode, per_element):
    graph = build(_spec("t", (21, 65, 65), [], tail=[f"{{name: r, op: resize, scale: 8, mode: {mode}}}"]))
    (kernel,) = [k for k in plan(graph, uniform(1e10, 1e10, 1e-6)) if k.layer == "r"]
    out = 21 * 520 * 520
    assert kernel.op_class == "resize" and kernel.flops == per_element * out and kernel.launches == 1
    assert kernel.bytes == (21 * 65 * 65 + out) * F32 and kernel.rows == 0
    p = with_class(uniform(1e10, 1e10, 1e-6, combine="sum"), "resize", throughput=2e9, bandwidth=3e10, overhead_s=2e-6)
    assert kernel_time(kernel, p) == pytest.approx(kernel.flops / 2e9 + kernel.bytes / 3e10 + 2e-6, rel=1e-12)


def test_a_profile_without_the_resize_class_costs_it_as_data_movement(tmp_path):
    assert "resize" in OP_CLASSES and OPTIONAL_CLASSES["resize"] == "data_movement"
    p = with_class(uniform(1e10, 1e10, 1e-6), "data_movement", throughput=1e15, bandwidth=5e10, row_s=6e-9)
    path = tmp_path / "p.yaml"
    save(p, str(path))
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("resize:")]
    path.write_text("\n".join(lines) + "\n")
    assert load(str(path))["resize"] == replace(p["data_movement"], row_s=0.0)


def test_the_calibration_measures_resizes_of_every_scale_and_mode():
    units = families(np.random.default_rng(0))["resize"]
    names = {n.name for n in units}
    for scale in (2, 4, 8):
        for mode in ("nearest", "bilinear"):
            assert any(name.startswith(f"resize_{mode}{scale}_") for name in names)
    for network in units:
        graph = build(network.text, f"{network.name}.yaml")
        assert [k.op_class for k in plan(graph, uniform(1e10, 1e10, 1e-6)) if k.op_class == "resize"] == ["resize"]
        assert graph.tensors[graph.output][0] * graph.tensors[graph.output][1] ** 2 <= 6_000_000
