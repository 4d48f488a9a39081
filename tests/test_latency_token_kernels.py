"""The kernels LeViT's and EfficientViT's token mixers run that the classes of one element-wise kernel per layer
missed (costcalc.latency.plan, costcalc.latency.rows), each by hand on a small graph: a batchnorm as onnxruntime's
BatchNormalization (its class, its sample x channel spans, the Reshapes around it on tokens), a number broadcast
over an innermost axis of 1 (a span per value), a token GEMM's weights from memory once the network evicts them;
the profile's optional class; a calibration network rebuilt with the repeat it was measured with."""

from dataclasses import replace

import numpy as np
import pytest

from costcalc.latency.model import estimate, evicts, kernel_time, plan
from costcalc.latency.networks import _spec, build, interleaved, repeat_of, with_repeat
from costcalc.latency.profile import OP_CLASSES, OPTIONAL_CLASSES, load, save, uniform, with_class
from costcalc.latency.rows import bn_kernel, broadcast_rows

FLAT = uniform(1e10, 1e10, 1e-6)
F32 = 4


def _kernels(shape, layers, batch=1, profile=FLAT) -> dict:
    graph = build(_spec("t", shape, [], tail=layers), batch=batch)
    return {k.layer: k for k in plan(graph, profile) if k.members}


def test_a_batchnorm_on_tokens_is_reshape_batchnormalization_reshape_with_a_span_per_value():
    k = _kernels((196, 256), ["{name: bn, op: bn, axis: -1}"], batch=2)["bn"]
    elements = 2 * 196 * 256
    assert (k.op_class, k.launches, k.rows) == ("batchnorm", 3, elements)  # (N L) x C: spans of one element
    assert k.bytes == (2 * elements + 2 * 256) * F32  # read, written, and its scale and shift (folded stats)


def test_a_batchnorm_over_a_maps_channels_in_the_plain_layout_spans_each_channel():
    k = _kernels((58, 28, 28), ["{name: bn, op: bn}"], batch=3)["bn"]  # the input reads plain
    assert (k.op_class, k.launches, k.rows) == ("batchnorm", 1, 3 * 58)
    assert k.bytes == (2 * 3 * 58 * 28 * 28 + 2 * 58) * F32
    k = _kernels((12, 16, 24), ["{name: bn, op: bn, axis: 2}"])["bn"]  # channels moved to axis 1 and back
    assert (k.launches, k.rows) == (3, 16) and k.bytes == (2 * 12 * 16 * 24 + 2 * 16 + 4 * 12 * 16 * 24) * F32
    assert bn_kernel((12, 16, 24), 2, 1) == (16, 3, 2) and bn_kernel((58, 28, 28), None, 2) == (116, 1, 0)


def test_a_batchnorm_in_the_blocked_layout_stays_an_element_wise_per_channel_conv():
    k = _kernels((16, 28, 28), ["{op: conv, out: 16, k: 1}", "relu", "{name: bn, op: bn}"])
    assert k["bn"].op_class == "elementwise" and k["bn"].rows == 0  # after a blocked conv and its relu


def test_hardswish_outside_a_conv_stays_one_element_wise_kernel():
    """onnxruntime runs HardSigmoid, then Mul (LeViT's profile), but two launches and five passes fitted worse than
    one kernel of two passes (docs/latency.md): the planner keeps one."""
    k = _kernels((196, 64), ["{name: h, op: hardswish}"])["h"]
    assert (k.op_class, k.launches, k.bytes) == ("elementwise_exp", 1, 2 * 196 * 64 * F32)
    fused = _kernels((16, 28, 28), ["{name: c, op: conv, out: 16, k: 1}", "{name: h, op: hardswish}"])
    assert fused["c"].members == ("c", "h") and fused["c"].launches == 1  # inside a blocked conv


@pytest.mark.parametrize("out, operands, rows", [
    ((1, 4, 392, 1), [(1, 4, 392, 1), (1,)], 4 * 392),  # EfficientViT's eps: a span per value
    ((1, 4, 392), [(1, 4, 392), (1,)], 0),  # a number over an innermost axis of 392: one span
    ((1, 4, 392, 2), [(1, 4, 392, 2), (1,)], 0),
    ((1, 1, 1), [(1, 1, 1), (1,)], 0),  # one value
    ((1, 4, 392, 1), [(1, 4, 392, 1), (4, 1, 1)], 4),  # a tensor, not a number: spans of 392
    ((1, 1024, 48), [(1, 1024, 48), (48,)], 1024),
])
def test_broadcast_spans_of_a_number_over_an_innermost_axis_of_one(out, operands, rows):
    assert broadcast_rows(out, operands) == rows


def test_a_constant_number_or_scale_over_n_by_1_counts_a_span_per_value():
    k = _kernels((4, 392, 1), ["{name: eps, op: add, value: 0.001}", "{name: s, op: scale, factor: 0.5}",
                               "{name: r, op: relu}"], batch=2)
    assert k["eps"].rows == 2 * 4 * 392 and k["s"].rows == 2 * 4 * 392 and k["r"].rows == 0
    k = _kernels((4, 392, 16), ["{name: eps, op: add, value: 0.001}"])
    assert k["eps"].rows == 0


def test_a_token_gemms_weights_are_read_from_memory_once_the_network_evicts_them():
    """LeViT's GEMMs of 16 to 196 rows read each weight once a run, as a classifier does: from the DRAM once the
    network moves more than the cache."""
    layers = ["{name: qkv, op: fc, out: 768, bias: false}", "{op: relu}", "{name: proj, op: fc, out: 384}"]
    graph = build(_spec("t", (16, 384), [], tail=layers))
    p = replace(uniform(1e11, 4e10, 0.0, combine="sum"), llc_bytes=2 ** 20, dram_bandwidth=1e10)
    kernels = plan(graph, p)
    qkv = next(k for k in kernels if k.layer == "qkv")
    weights = 384 * 768 * F32
    assert qkv.op_class == "gemm" and qkv.weight_bytes == weights and qkv.bytes == weights + (16 * 384 + 16 * 768) * F32
    assert evicts(sum(k.bytes for k in kernels), p)  # 2.4 MB of weights: more than the 1 MB cache
    expected = qkv.flops / 1e11 + (qkv.bytes - weights) / 4e10 + weights / 1e10
    assert kernel_time(qkv, p, True) == pytest.approx(expected, rel=1e-12)
    assert estimate(graph, p).by_layer()["qkv"] == pytest.approx(expected, rel=1e-12)
    roomy = replace(p, llc_bytes=64 * 2 ** 20)
    assert estimate(graph, roomy).by_layer()["qkv"] == pytest.approx(qkv.flops / 1e11 + qkv.bytes / 4e10, rel=1e-12)


def test_the_batchnorm_class_in_a_profile_file(tmp_path):
    assert "batchnorm" in OP_CLASSES and OPTIONAL_CLASSES["batchnorm"] == "elementwise"
    p = with_class(with_class(uniform(1e10, 1e10, 1e-6), "batchnorm", bandwidth=2e10, row_s=3e-10),
                   "elementwise", row_s=7e-9)
    path = tmp_path / "p.yaml"
    save(p, str(path))
    assert load(str(path)) == p
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("batchnorm:")]
    path.write_text("\n".join(lines) + "\n")  # a profile written before the class: elementwise's parameters
    assert load(str(path))["batchnorm"] == replace(p["elementwise"], row_s=0.0)  # its throughput, bandwidth,
    # overhead; no per-row time: the profile costed a batchnorm as one element-wise kernel, rows uncounted


def test_a_calibration_network_rebuilt_with_the_repeat_it_was_measured_with():
    network = next(n for n in interleaved(np.random.default_rng(0)) if n.name.startswith("bntok_"))
    repeat = repeat_of(network.text)
    assert repeat >= 1 and repeat_of(with_repeat(network.text, repeat + 3)) == repeat + 3
    assert with_repeat(network.text, repeat) == network.text
    assert repeat_of(_spec("t", (8, 8, 8), [], tail=["relu"])) == 1  # no unit
