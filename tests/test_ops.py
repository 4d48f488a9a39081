"""Each op's formula against an independent count: output sizes by enumerating window positions, FLOPs by counting
the multiply-adds of a naive loop nest, memory access as inputs + outputs + weights."""

from math import prod

import pytest

from costcalc.ops import OPS, OpError, account


def positions(size, k, stride, pad, dilation):
    """Window starts (in padded coordinates) whose whole window fits in the padded input: counted one by one."""
    span = dilation * (k - 1) + 1
    return sum(1 for start in range(0, size + 2 * pad, stride) if start + span <= size + 2 * pad)


def naive_conv_macs(c, h, w, out, k, stride, pad, dilation, groups):
    """Multiply-adds of the textbook loop nest, one by one (padding taps included, as dense convs compute them)."""
    ho, wo = positions(h, k, stride, pad, dilation), positions(w, k, stride, pad, dilation)
    macs = 0
    for _ in range(out):
        for _ in range(ho * wo):
            for _ in range(c // groups):
                macs += k * k
    return macs


CONV_CASES = [
    # c, h, w, out, k, stride, pad, dilation, groups
    (3, 9, 9, 4, 3, 1, 0, 1, 1),
    (3, 9, 7, 4, 3, 2, 1, 1, 1),
    (4, 10, 10, 8, 3, 1, 2, 2, 2),
    (8, 11, 11, 8, 3, 2, 1, 1, 8),  # depthwise
    (6, 8, 8, 12, 1, 1, 0, 1, 3),  # pointwise group conv
    (4, 7, 7, 4, 5, 3, 2, 1, 4),
    (2, 12, 12, 6, 3, 3, 0, 3, 2),
    (16, 5, 5, 32, 5, 1, 0, 1, 1),  # kernel equal to the input
]


@pytest.mark.parametrize("c, h, w, out, k, stride, pad, dilation, groups", CONV_CASES)
@pytest.mark.parametrize("bias", [False, True])
def test_conv_closed_form(c, h, w, out, k, stride, pad, dilation, groups, bias):
    result = OPS["conv"].fn((c, h, w), out=out, k=(k, k), stride=(stride, stride), pad=(pad, pad),
                            dilation=(dilation, dilation), groups=groups, bias=bias)
    ho, wo = positions(h, k, stride, pad, dilation), positions(w, k, stride, pad, dilation)
    assert result.outputs == ((out, ho, wo),)
    assert result.flops == naive_conv_macs(c, h, w, out, k, stride, pad, dilation, groups)
    weights = k * k * (c // groups) * out
    assert result.params == weights + (out if bias else 0)
    assert result.elementwise_flops == (out * ho * wo if bias else 0)
    counts = account(result, [(c, h, w)], batch=3)
    assert counts.memory_access == 3 * (c * h * w + out * ho * wo) + result.params
    assert counts.flops == 3 * result.flops and counts.params == result.params


@pytest.mark.parametrize("h, c1, c2, g", [(56, 64, 64, 1), (28, 116, 232, 1), (14, 240, 960, 3), (7, 64, 256, 8)])
def test_pointwise_conv_memory_access_is_the_papers_formula(h, c1, c2, g):
    """ShuffleNet V2: a 1x1 conv has MAC = hw(c1 + c2) + c1*c2/g."""
    result = OPS["conv"].fn((c1, h, h), out=c2, k=(1, 1), groups=g)
    assert account(result, [(c1, h, h)], 1).memory_access == h * h * (c1 + c2) + c1 * c2 // g


def test_conv_rejects_groups_that_do_not_divide():
    with pytest.raises(OpError, match="groups=32 does not divide in_channels=48") as e:
        OPS["conv"].fn((48, 8, 8), out=64, k=(3, 3), groups=32)
    assert e.value.key == "groups"
    with pytest.raises(OpError, match="does not divide out=10"):
        OPS["conv"].fn((8, 8, 8), out=10, k=(3, 3), groups=4)


def test_conv_rejects_a_kernel_larger_than_its_padded_input():
    with pytest.raises(OpError, match="larger than the padded input height 6"):
        OPS["conv"].fn((3, 4, 9), out=8, k=(7, 3), pad=(1, 1))


def test_asymmetric_kernel_stride_and_padding():
    result = OPS["conv"].fn((8, 20, 30), out=4, k=(1, 7), stride=(1, 2), pad=(0, 3))
    assert result.outputs == ((4, 20, positions(30, 7, 2, 3, 1)),)
    assert result.flops == 4 * 20 * 15 * 7 * 8


@pytest.mark.parametrize("h, k, stride, pad, ceil_mode, expected", [
    (112, 3, 2, 1, False, 56),  # ResNet's stem pool
    (111, 3, 2, 0, True, 55),  # SqueezeNet's pools (torchvision, ceil_mode=True)
    (55, 3, 2, 0, True, 27),
    (27, 3, 2, 0, True, 13),
    (8, 3, 2, 0, False, 3),
    (8, 3, 2, 0, True, 4),  # a last partial window is kept
    (4, 2, 3, 1, True, 2),  # ... unless it would start in the right padding: torch drops it
])
def test_pool_output_sizes(h, k, stride, pad, ceil_mode, expected):
    result = OPS["maxpool"].fn((16, h, h), k=(k, k), stride=(stride, stride), pad=(pad, pad), ceil_mode=ceil_mode)
    assert result.outputs == ((16, expected, expected),)
    assert result.elementwise_flops == 16 * expected * expected * k * k


def test_pool_stride_defaults_to_kernel():
    assert OPS["avgpool"].fn((4, 14, 14), k=(2, 2)).outputs == ((4, 7, 7),)


def test_fc_and_batchnorm_and_gap():
    fc = OPS["fc"].fn((2048,), out=1000, bias=True)
    assert (fc.flops, fc.params, fc.elementwise_flops) == (2048 * 1000, 2048 * 1000 + 1000, 1000)
    assert account(fc, [(2048,)], 1).memory_access == 2048 + 1000 + 2048 * 1000 + 1000
    bn = OPS["bn"].fn((64, 7, 7))
    assert (bn.params, bn.elementwise_flops, bn.flops) == (128, 2 * 64 * 49, 0)
    for op in ("gap", "mean"):  # mean: x.mean([2, 3]), torchvision ShuffleNetV2's pool; the same cost
        gap = OPS[op].fn((2048, 7, 7))
        assert gap.outputs == ((2048, 1, 1),) and gap.elementwise_flops == 2048 * 49
    tokens = OPS["fc"].fn((49, 64), out=10)  # nn.Linear on tokens L x C: over the last axis at each position
    assert tokens.outputs == ((49, 10),) and (tokens.flops, tokens.params) == (49 * 64 * 10, 64 * 10 + 10)


@pytest.mark.parametrize("op, per_element", [("relu", 1), ("relu6", 2), ("sigmoid", 3), ("swish", 4),
                                             ("hardsigmoid", 4), ("hardswish", 5), ("leaky_relu", 2), ("tanh", 1)])
def test_activations(op, per_element):
    result = OPS[op].fn((32, 14, 14))
    assert result.outputs == ((32, 14, 14),) and result.elementwise_flops == per_element * 32 * 14 * 14
    assert account(result, [(32, 14, 14)], 2).memory_access == 2 * 2 * 32 * 14 * 14


def test_add_mul_concat_split_shuffle():
    x = (8, 5, 5)
    add = OPS["add"].fn(x, x, x)
    assert add.elementwise_flops == 2 * 200 and account(add, [x, x, x], 1).memory_access == 4 * 200
    with pytest.raises(OpError, match="add of shapes 8x5x5 and 8x4x5: they do not broadcast"):
        OPS["add"].fn(x, (8, 4, 5))
    mul = OPS["mul"].fn((8, 1, 1), x)  # squeeze-and-excitation broadcast, either order
    assert mul.outputs == (x,) and mul.elementwise_flops == 200
    concat = OPS["concat"].fn(x, (4, 5, 5))
    assert concat.outputs == ((12, 5, 5),) and account(concat, [x, (4, 5, 5)], 1).memory_access == 2 * 300
    with pytest.raises(OpError, match="equal H and W"):
        OPS["concat"].fn(x, (4, 4, 5))
    split = OPS["split"].fn((12, 5, 5), sizes=[4, 8])
    assert split.outputs == ((4, 5, 5), (8, 5, 5)) and account(split, [(12, 5, 5)], 1).memory_access == 2 * 300
    assert OPS["split"].fn((12, 5, 5), parts=3).outputs == ((4, 5, 5),) * 3
    with pytest.raises(OpError, match=r"sizes \[4, 4\] sum to 8, not in_channels=12"):
        OPS["split"].fn((12, 5, 5), sizes=[4, 4])
    shuffle = OPS["shuffle"].fn((12, 5, 5), groups=3)
    assert shuffle.outputs == ((12, 5, 5),) and account(shuffle, [(12, 5, 5)], 1).memory_access == 600
    with pytest.raises(OpError, match="groups=5 does not divide"):
        OPS["shuffle"].fn((12, 5, 5), groups=5)


@pytest.mark.parametrize("op", ["flatten", "dropout", "identity"])
def test_free_ops_move_nothing(op):
    result = OPS[op].fn((8, 5, 5))
    assert prod(result.outputs[0]) == 200
    assert account(result, [(8, 5, 5)], 4) == account(result, [(8, 5, 5)], 1)
    assert account(result, [(8, 5, 5)], 4).memory_access == 0


def test_every_op_has_a_test_here():
    tested = {"conv", "fc", "bn", "gap", "maxpool", "avgpool", "add", "mul", "concat", "split", "shuffle", "flatten",
              "dropout", "identity", "relu", "relu6", "sigmoid", "swish", "hardsigmoid", "hardswish", "leaky_relu",
              "tanh", "scale", "select", "mean", "conv_transpose", "layernorm", "groupnorm", "layer_scale", "gelu",
              "mish", "hardtanh", "softmax", "adaptive_avgpool", "adaptive_maxpool", "resize", "pad", "slice"}
    from test_ops_tensor import TESTED  # the generic tensor layer's ops
    from test_col2im import TESTED as FOLD  # col2im
    from test_more_ops import TESTED as MORE  # cumsum, hardmax, trilu, ..., topk
    from test_recurrent import TESTED as RECURRENT  # lstm, gru, rnn

    assert set(OPS) <= tested | TESTED | RECURRENT | FOLD | MORE


def test_scale():
    result = OPS["scale"].fn((8, 5, 5), factor=0.17)
    assert result.elementwise_flops == 200 and result.params == 0


def test_select_gathers_channels():
    result = OPS["select"].fn((8, 5, 5), out=6)
    assert result.outputs == ((6, 5, 5),) and (result.flops, result.elementwise_flops, result.params) == (0, 0, 0)
    assert account(result, [(8, 5, 5)], 2).memory_access == 2 * (8 * 25 + 6 * 25)


# ---- the later ops ------------------------------------------------------------------------------------------------

def transposed_positions(size, k, stride, pad, output_padding, dilation):
    """Output length of a transposed conv by scattering: the last tap lands at (size-1)*stride + dilation*(k-1);
    the output spans 0 .. that + output_padding, less `pad` on each side."""
    last = max(i * stride + j * dilation for i in range(size) for j in range(k))
    return last + 1 + output_padding - 2 * pad


@pytest.mark.parametrize("c, h, out, k, stride, pad, output_padding, dilation, groups", [
    (8, 7, 4, 2, 2, 0, 0, 1, 1),     # a U-Net up-convolution
    (6, 5, 6, 3, 2, 1, 1, 1, 3),     # 3x3/2, pad 1, output_padding 1: exactly doubles
    (4, 6, 8, 4, 2, 1, 0, 1, 4),     # DCGAN's 4x4/2 doubling, depthwise-like groups
    (2, 5, 3, 3, 1, 0, 0, 2, 1),     # dilated
])
@pytest.mark.parametrize("bias", [False, True])
def test_conv_transpose_closed_form(c, h, out, k, stride, pad, output_padding, dilation, groups, bias):
    result = OPS["conv_transpose"].fn((c, h, h), out=out, k=(k, k), stride=(stride, stride), pad=(pad, pad),
                                      output_padding=(output_padding, output_padding), dilation=(dilation, dilation),
                                      groups=groups, bias=bias)
    ho = transposed_positions(h, k, stride, pad, output_padding, dilation)
    assert result.outputs == ((out, ho, ho),)
    macs = 0
    for _ in range(c * h * h):  # each input element is multiplied by the k*k*out/groups weights of its group
        macs += k * k * (out // groups)
    assert result.flops == macs
    assert result.params == c * (out // groups) * k * k + (out if bias else 0)
    assert result.elementwise_flops == (out * ho * ho if bias else 0)


def test_conv_transpose_refuses_an_output_padding_as_large_as_the_stride():
    with pytest.raises(OpError, match="output_padding 2 must be smaller") as e:
        OPS["conv_transpose"].fn((4, 5, 5), out=4, k=(3, 3), stride=(2, 2), output_padding=(2, 2))
    assert e.value.key == "output_padding"


@pytest.mark.parametrize("op, args, per_element, params", [
    ("layernorm", {}, 7, 2 * 12), ("layernorm", {"affine": False}, 5, 0), ("layernorm", {"bias": False}, 6, 12),
    ("groupnorm", {"groups": 3}, 7, 2 * 12),
    ("groupnorm", {"groups": 4, "affine": False}, 5, 0), ("layer_scale", {}, 1, 12),
])
def test_norms_and_layer_scale(op, args, per_element, params):
    """(x - mean) / sqrt(var + eps): sum, subtract, square, sum, divide = 5 per element; gamma, beta: 2 more (gamma
    alone, nn.LayerNorm(bias=False): 1 more, C parameters)."""
    result = OPS[op].fn((12, 5, 5), **args)
    assert result.outputs == ((12, 5, 5),) and result.elementwise_flops == per_element * 300
    assert result.params == params and result.flops == 0
    assert account(result, [(12, 5, 5)], 2).memory_access == 2 * 600 + params


def test_groupnorm_groups_must_divide_the_channels():
    with pytest.raises(OpError, match="groups=5 does not divide in_channels=12"):
        OPS["groupnorm"].fn((12, 5, 5), groups=5)


@pytest.mark.parametrize("op, args, per_element", [
    ("gelu", {"approximate": "none"}, 5), ("gelu", {"approximate": "tanh"}, 9), ("mish", {}, 5),
    ("hardtanh", {"min_val": -2.0, "max_val": 2.0}, 2),
])
def test_modern_activations(op, args, per_element):
    result = OPS[op].fn((6, 4, 4), **args)
    assert result.outputs == ((6, 4, 4),) and result.elementwise_flops == per_element * 96 and result.params == 0


def test_softmax_over_channels():
    """Per position: C exps, C - 1 adds, C divides."""
    assert OPS["softmax"].fn((10, 3, 4)).elementwise_flops == 12 * (10 + 9 + 10)
    assert OPS["softmax"].fn((1000,)).elementwise_flops == 1000 + 999 + 1000


def torch_windows(size, out):
    """torch's adaptive windows written out: start = floor(i * size / out), end = ceil((i + 1) * size / out)."""
    import math
    return [(math.floor(i * size / out), math.ceil((i + 1) * size / out)) for i in range(out)]


@pytest.mark.parametrize("h, w, out", [(7, 7, (7, 7)), (8, 8, (7, 7)), (14, 10, (7, 7)), (5, 9, (3, 4)),
                                       (6, 6, (1, 1)), (3, 3, (6, 6))])
@pytest.mark.parametrize("op", ["adaptive_avgpool", "adaptive_maxpool"])
def test_adaptive_pools(op, h, w, out):
    result = OPS[op].fn((4, h, w), out=out)
    assert result.outputs == ((4, *out),)
    areas = sum((r1 - r0) * (c1 - c0) for r0, r1 in torch_windows(h, out[0]) for c0, c1 in torch_windows(w, out[1]))
    assert result.elementwise_flops == 4 * areas


def test_adaptive_avgpool_to_one_is_gap():
    assert OPS["adaptive_avgpool"].fn((64, 7, 9), out=(1, 1)) == OPS["gap"].fn((64, 7, 9))


def test_vgg_adaptive_pool_at_256():
    """VGG at 256: the features end at 8x8; torch's 7x7 windows are 2x2 (overlapping by one row and column)."""
    result = OPS["adaptive_avgpool"].fn((512, 8, 8), out=(7, 7))
    assert result.outputs == ((512, 7, 7),) and result.elementwise_flops == 512 * 49 * 4


@pytest.mark.parametrize("args, out, per_element", [
    ({"scale": 2}, (3, 10, 14), 0), ({"scale": 2, "mode": "bilinear"}, (3, 10, 14), 7),
    ({"scale": 0.5}, (3, 2, 3), 0), ({"scale": 1.5}, (3, 7, 10), 0), ({"size": (9, 4), "mode": "bilinear"}, (3, 9, 4), 7),
])
def test_resize(args, out, per_element):
    result = OPS["resize"].fn((3, 5, 7), **args)
    assert result.outputs == (out,) and result.elementwise_flops == per_element * prod(out)
    assert account(result, [(3, 5, 7)], 1).memory_access == 105 + prod(out)


def test_resize_takes_a_size_or_a_scale():
    with pytest.raises(OpError, match="either 'size'"):
        OPS["resize"].fn((3, 5, 7))
    with pytest.raises(OpError, match="either 'size'"):
        OPS["resize"].fn((3, 5, 7), size=(2, 2), scale=2)
    with pytest.raises(OpError, match="leaves no output"):
        OPS["resize"].fn((3, 5, 7), scale=0.1)


def test_pad_and_slice():
    padded = OPS["pad"].fn((3, 5, 7), pad=(1, 2))
    assert padded.outputs == ((3, 7, 11),) and account(padded, [(3, 5, 7)], 1).memory_access == 105 + 231
    assert OPS["pad"].fn((3, 5, 7), pad=(0, 0), pad_end=(1, 1)).outputs == ((3, 6, 8),)  # TF-style "same"
    view = OPS["slice"].fn((10, 4, 4), out=6)
    assert view.outputs == ((6, 4, 4),) and account(view, [(10, 4, 4)], 3).memory_access == 0
    assert OPS["slice"].fn((10, 4, 4), out=4, start=6).outputs == ((4, 4, 4),)
    with pytest.raises(OpError, match="beyond in_channels=10"):
        OPS["slice"].fn((10, 4, 4), out=5, start=6)
