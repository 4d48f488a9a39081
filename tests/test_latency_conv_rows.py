"""A conv's rows (costcalc.latency.convs): the input values an NCHWc conv loads, each into at most four blocks of
output channels of its group, and the im2col matrix a plain k x k conv writes element by element; by hand, in the
formula, and recovered by the fit from a stand-in device that pays them."""

from dataclasses import replace

import pytest

from costcalc.latency.convs import FILTER_BLOCKS, conv_kernel, filter_blocks
from costcalc.latency.fit import Sample, fit
from costcalc.latency.model import kernel_time, plan
from costcalc.latency.networks import _spec, build
from costcalc.latency.profile import uniform, with_class

B16 = replace(uniform(1e11, 1e11, 1e-6), layout_block=16)


def _conv(c, hw, out, k, groups=1, device=B16, batch=1):
    layer = f"{{name: c, op: conv, out: {out}, k: {k}, pad: {k // 2}, groups: {groups}}}"
    graph = build(_spec("t", (c, hw, hw), [], tail=[layer]), batch=batch)
    (kernel,) = [k for k in plan(graph, device) if k.layer == "c" and k.members]
    return kernel


@pytest.mark.parametrize("out, groups, blocks", [(16, 1, 1), (8, 1, 1), (24, 1, 2), (32, 1, 2), (48, 1, 3),
                                                 (64, 1, 4), (512, 1, 4), (128, 8, 1), (128, 4, 2), (128, 2, 4)])
def test_filter_blocks_are_the_groups_output_blocks_at_most_four(out, groups, blocks):
    assert filter_blocks(out, groups, 16) == blocks
    assert FILTER_BLOCKS == 4


@pytest.mark.parametrize("c, out, k, groups, fb", [(32, 16, 1, 1, 1), (32, 64, 1, 1, 4), (32, 256, 1, 1, 4),
                                                   (64, 32, 3, 1, 2), (128, 128, 3, 8, 1), (128, 128, 3, 4, 2),
                                                   (128, 128, 1, 2, 4)])
def test_a_blocked_conv_loads_each_input_value_for_its_filter_blocks(c, out, k, groups, fb):
    kernel = _conv(c, 28, out, k, groups)
    assert kernel.op_class == ("pointwise_conv" if k == 1 and groups == 1 else
                               "dense_conv" if groups == 1 else "grouped_conv")
    macs = (c // groups) * k * k * out * 28 * 28  # channels are multiples of 16: nothing padded
    assert kernel.flops == macs and kernel.rows == macs // (16 * fb)


def test_the_first_conv_reads_the_image_unpadded_and_pads_its_outputs():
    kernel = _conv(3, 224, 24, 3)  # 24 outputs padded to 32: two blocks
    macs = 3 * 9 * 32 * 224 * 224
    assert kernel.op_class == "dense_conv" and kernel.flops == macs and kernel.rows == macs // (16 * 2)


def test_a_plain_grouped_conv_writes_its_im2col_matrix_element_by_element():
    kernel = _conv(128, 28, 128, 3, groups=16, batch=2)  # 8 channels a group: plain at block 16
    expanded = 128 * 9 * 28 * 28 * 2
    assert kernel.op_class == "grouped_conv_plain" and kernel.rows == expanded
    # its bytes: input and output read and written once, the weights, and the expanded input written and read
    weights = 128 * 8 * 9
    assert kernel.bytes == 4 * (2 * 128 * 28 * 28 * 2 + weights + 2 * expanded)
    assert kernel.launches == 16


@pytest.mark.parametrize("c, out, k, groups", [(128, 128, 1, 16), (64, 64, 3, 64), (64, 64, 5, 64)])
def test_depthwise_and_plain_1x1_convs_take_no_rows(c, out, k, groups):
    assert _conv(c, 28, out, k, groups).rows == 0


def test_without_a_block_every_conv_is_plain_and_only_im2col_takes_rows():
    flat = replace(uniform(1e11, 1e11, 1e-6), layout_block=0)
    assert _conv(32, 28, 64, 1, device=flat).rows == 0
    assert _conv(32, 28, 64, 3, device=flat).rows == 32 * 9 * 28 * 28
    assert conv_kernel(32, 64, (3, 3), 1, (64, 28, 28), 32 * 9 * 64 * 784, 1, False, 0) == (
        "dense_conv_plain", 32 * 9 * 64 * 784, 2 * 32 * 9 * 784, 32 * 9 * 784)


def test_each_row_costs_its_classs_row_time():
    device = with_class(B16, "grouped_conv", row_s=2e-11)
    kernel = _conv(128, 28, 128, 3, groups=8, device=device)
    without = kernel_time(replace(kernel, rows=0), device)
    assert kernel_time(kernel, device) == pytest.approx(without + kernel.rows * 2e-11, rel=1e-12)


def test_the_fit_recovers_a_known_row_time_from_convs_of_one_to_four_filter_blocks():
    truth = with_class(B16, "pointwise_conv", throughput=1.3e11, bandwidth=8e10, overhead_s=5e-7, row_s=4e-11)
    samples = []
    for c, out, hw in ((32, 16, 56), (32, 32, 56), (32, 64, 56), (64, 16, 28), (64, 48, 28), (64, 128, 28),
                       (16, 16, 112), (128, 256, 14)):
        graph = build(_spec(f"p{c}_{out}_{hw}", (c, hw, hw), [], tail=[f"{{op: conv, out: {out}, k: 1}}"]))
        kernels = tuple(plan(graph, truth))
        samples.append(Sample(graph.name, kernels, sum(kernel_time(k, truth) for k in kernels) + truth.run_overhead_s))
    profile, _ = fit(samples, replace(truth, run_overhead_s=0.0), combine="sum")
    fitted = profile["pointwise_conv"]
    assert fitted.row_s == pytest.approx(4e-11, rel=0.02)
    assert fitted.throughput == pytest.approx(1.3e11, rel=0.02)


@pytest.mark.parametrize("c, out, k, groups, hw", [(32, 64, 1, 1, 28), (64, 64, 3, 64, 14), (16, 24, 1, 1, 56)])
def test_a_hardswish_inside_a_blocked_conv_costs_one_more_pass_over_its_padded_output(c, out, k, groups, hw):
    def kernel(act):
        layers = [f"{{name: c, op: conv, out: {out}, k: {k}, pad: {k // 2}, groups: {groups}}}", "{op: bn}",
                  f"{{op: {act}}}"]
        graph = build(_spec(f"t_{act}", (c, hw, hw), [], tail=layers))
        (found,) = [k for k in plan(graph, B16) if k.layer == "c" and k.members]
        return found

    swish, relu = kernel("hardswish"), kernel("relu")
    assert len(swish.members) == 3 and swish.launches == relu.launches == 1  # fused: no kernel of its own
    padded_out = -(-out // 16) * 16
    assert swish.bytes - relu.bytes == 4 * 2 * padded_out * hw * hw  # read and written once more, float32
    assert (swish.op_class, swish.flops, swish.rows) == (relu.op_class, relu.flops, relu.rows)


def test_a_hardswish_after_a_plain_conv_is_its_own_kernel_and_adds_no_pass_to_the_conv():
    layers = ["{name: c, op: conv, out: 64, k: 3, pad: 1, groups: 8}", "{name: a, op: hardswish}"]  # 4 a group
    kernels = plan(build(_spec("t", (32, 14, 14), [], tail=layers)), B16)
    conv = next(k for k in kernels if k.layer == "c" and k.members)
    assert conv.op_class == "grouped_conv_plain" and conv.members == ("c",)
    assert any(k.layer == "a" and k.op_class == "elementwise_exp" for k in kernels)
