"""The resize classes (costcalc.latency.plan): onnxruntime's NCHWc Upsample (a blocked map by integer scales, nearest
or bilinear, on its padded channels) and its Resize (any other, plain), each costing its interpolation's FLOPs
besides its bytes; a profile written before them reads, costing them as data movement (as it was); the
calibration's resize units cover both."""

from dataclasses import replace

import numpy as np
import pytest

from costcalc.latency.model import kernel_time, plan
from costcalc.latency.networks import _spec, build, families
from costcalc.latency.profile import OP_CLASSES, OPTIONAL_CLASSES, load, save, uniform, with_class
from costcalc.ops.shape import BILINEAR_FLOPS

F32 = 4
B16 = replace(uniform(1e10, 1e10, 1e-6), layout_block=16)


@pytest.mark.parametrize("mode, per_element", [("nearest", 0), ("bilinear", BILINEAR_FLOPS)])
def test_a_resize_of_a_plain_map_is_resize_plain_with_its_interpolations_flops(mode, per_element):
    graph = build(_spec("t", (21, 65, 65), [], tail=[f"{{name: r, op: resize, scale: 8, mode: {mode}}}"]))
    (kernel,) = [k for k in plan(graph, B16) if k.layer == "r"]  # the network's input: plain
    out = 21 * 520 * 520
    assert kernel.op_class == "resize_plain" and kernel.flops == per_element * out and kernel.launches == 1
    assert kernel.bytes == (21 * 65 * 65 + out) * F32 and kernel.rows == 0
    p = with_class(uniform(1e10, 1e10, 1e-6, combine="sum"), "resize_plain", throughput=2e9, bandwidth=3e10,
                   overhead_s=2e-6)
    assert kernel_time(kernel, p) == pytest.approx(kernel.flops / 2e9 + kernel.bytes / 3e10 + 2e-6, rel=1e-12)


@pytest.mark.parametrize("c", [32, 24, 8])
def test_a_resize_by_an_integer_scale_of_a_blocked_map_runs_blocked_on_the_padded_channels(c):
    graph = build(_spec("t", (c, 14, 14), [], tail=[f"{{op: conv, out: {c}, k: 1}}",
                                                    "{name: r, op: resize, scale: 4, mode: bilinear}"]))
    kernels = plan(graph, B16)
    (kernel,) = [k for k in kernels if k.layer == "r" and k.members]
    padded = -(-c // 16) * 16
    assert kernel.op_class == "resize" and kernel.flops == BILINEAR_FLOPS * padded * 56 * 56
    assert kernel.bytes == padded * (14 * 14 + 56 * 56) * F32
    assert kernels[-1].op_class == "data_movement" and not kernels[-1].members  # the output reordered back


@pytest.mark.parametrize("tail", ["{name: r, op: resize, size: [27, 27], mode: bilinear}",  # 14 -> 27: no integer
                                  "{name: r, op: resize, scale: 2, mode: bicubic}"])
def test_other_resizes_of_a_blocked_map_run_plain(tail):
    graph = build(_spec("t", (32, 14, 14), [], tail=["{op: conv, out: 32, k: 1}", tail]))
    kernels = plan(graph, B16)
    (kernel,) = [k for k in kernels if k.layer == "r" and k.members]
    assert kernel.op_class == "resize_plain"
    assert any(k.layer == "r" and not k.members and k.op_class == "data_movement" for k in kernels)  # reordered


def test_resizes_without_a_layout_block_are_plain():
    graph = build(_spec("t", (32, 14, 14), [], tail=["{op: conv, out: 32, k: 1}", "{name: r, op: resize, scale: 2}"]))
    flat = replace(uniform(1e10, 1e10, 1e-6), layout_block=0)
    assert [k.op_class for k in plan(graph, flat) if k.layer == "r"] == ["resize_plain"]


def test_a_profile_without_the_resize_classes_costs_them_as_data_movement(tmp_path):
    assert OPTIONAL_CLASSES["resize"] == OPTIONAL_CLASSES["resize_plain"] == "data_movement"
    assert {"resize", "resize_plain"} <= set(OP_CLASSES)
    p = with_class(uniform(1e10, 1e10, 1e-6), "data_movement", throughput=1e15, bandwidth=5e10, row_s=6e-9)
    path = tmp_path / "p.yaml"
    save(p, str(path))
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("resize")]
    path.write_text("\n".join(lines) + "\n")
    profile = load(str(path))
    assert profile["resize"] == profile["resize_plain"] == replace(p["data_movement"], row_s=0.0)


def test_the_calibration_measures_resizes_of_every_scale_and_mode():
    units = families(np.random.default_rng(0))["resize"]
    names = {n.name for n in units}
    for scale in (2, 4, 8):
        for mode in ("nearest", "bilinear"):
            assert any(name.startswith(f"resize_{mode}{scale}_") for name in names)
    for network in units:
        graph = build(network.text, f"{network.name}.yaml")
        classes = [k.op_class for k in plan(graph, B16) if k.op_class.startswith("resize")]
        assert classes == ["resize_plain" if "_c21_" in network.name else "resize"]  # 21 channels: a plain conv
        assert graph.tensors[graph.output][0] * graph.tensors[graph.output][1] ** 2 <= 6_000_000
