"""The generic tensor layer's formulas (costcalc/ops/tensor.py, tensor_math.py and the rank-generic conv, pool,
fc, softmax, layernorm, concat and split) against counts made independently: output shapes from numpy on empty
arrays, views and copies from numpy's own contiguity flags, multiply-adds by enumerating every index combination
of a naive loop nest, element-wise FLOPs from the per-element costs docs/ops.md states."""

from itertools import product
from math import prod

import numpy as np
import pytest

from costcalc.ops import OPS, Counts, OpError, account
from conftest import ROOT  # noqa: F401 - the tests' root on sys.path

N = 2  # a batch, for the memory access checks


def test_reshape_is_a_view_of_every_element():
    for x, shape, out in [((8, 4, 4), (2, -1), (2, 64)), ((196, 64), (14, 14, 64), (14, 14, 64)),
                          ((64,), (64, 1, 1), (64, 1, 1)), ((3, 8, 8), (-1,), (192,))]:
        result = OPS["reshape"].fn(x, shape=shape)
        assert result.outputs == (out,) and np.empty(x).reshape(shape).shape == out
        assert account(result, [x], N).memory_access == 0
    with pytest.raises(OpError, match="more than one -1"):
        OPS["reshape"].fn((8, 4), shape=(-1, -1))


@pytest.mark.parametrize("x, perm", [((8, 4, 5), (0, 2, 3, 1)), ((8, 4, 5), (0, 1, 3, 2)), ((8, 1, 1), (0, 2, 3, 1)),
                                     ((4, 3, 2, 5), (0, 3, 1, 4, 2)), ((1, 6, 5), (0, 2, 1, 3)), ((6, 5), (0, 1, 2))])
def test_permute_copies_unless_the_elements_keep_their_order(x, perm):
    """A view exactly when numpy's transposed array of one sample is still C-contiguous (size-1 axes move freely)."""
    result = OPS["permute"].fn(x, perm=perm)
    sample = np.empty((1, *x)).transpose(perm)[0]
    assert result.outputs == (sample.shape,)
    view = sample.flags.c_contiguous
    assert account(result, [x], N).memory_access == (0 if view else N * 2 * prod(x))


@pytest.mark.parametrize("x, shape", [((8, 1, 1), (8, 5, 5)), ((1, 4), (3, 4)), ((6, 1), (6, 7))])
def test_expand_writes_every_output_element(x, shape):
    result = OPS["expand"].fn(x, shape=shape)
    assert result.outputs == (np.broadcast_shapes(x, shape),)
    assert account(result, [x], N).memory_access == N * (prod(x) + prod(shape))


@pytest.mark.parametrize("x, repeats", [((3, 4), (2, 1)), ((2, 3, 4), (1, 2, 3))])
def test_tile(x, repeats):
    result = OPS["tile"].fn(x, repeats=repeats)
    assert result.outputs == (np.tile(np.empty(x), repeats).shape,)
    assert account(result, [x], N).memory_access == N * (prod(x) + prod(x) * prod(repeats))


@pytest.mark.parametrize("x, axis, index", [((8, 5, 6), 1, ()), ((8, 5, 6), -1, (3,)), ((10, 16), 2, (2, 3))])
def test_gather_puts_the_index_shape_in_place_of_the_axis(x, axis, index):
    result = OPS["gather"].fn(x, axis=axis, index=index)
    expected = np.take(np.empty((1, *x)), np.zeros(index, int), axis=axis).shape[1:]
    assert result.outputs == (expected,) and result.flops == result.elementwise_flops == result.params == 0


@pytest.mark.parametrize("x, out, start, axis, step", [
    ((10, 4, 4), 6, 0, 1, 1), ((10, 4, 4), 2, 2, 2, 1), ((10, 4, 1), 1, 3, 1, 5), ((1, 8, 4), 4, 2, 2, 1), ((10, 4, 4), 3, 1, 1, 3),
    ((16, 6), 3, 0, -1, 2), ((4, 9), 9, 0, 2, 1)])
def test_slice_is_a_view_when_each_sample_keeps_one_block(x, out, start, axis, step):
    sample = np.empty(x)
    a = axis % (len(x) + 1) - 1
    index = tuple(slice(start, start + out * step, step) if i == a else slice(None) for i in range(len(x)))
    taken = sample[index]
    result = OPS["slice"].fn(x, out=out, start=start, axis=axis, step=step)
    assert result.outputs == (taken.shape,)
    view = taken.flags.c_contiguous
    assert account(result, [x], N).memory_access == (0 if view else N * 2 * taken.size)  # reads what it takes


def test_slice_refuses_to_go_beyond_the_axis():
    with pytest.raises(OpError, match="goes beyond size 4 of axis 2"):
        OPS["slice"].fn((10, 4, 4), out=2, start=1, axis=2, step=3)


@pytest.mark.parametrize("b", [2, 3])
def test_depth_to_space_and_back(b):
    x = (b * b * 4, 5, 6)
    up = OPS["depth_to_space"].fn(x, blocksize=b)
    assert up.outputs == ((4, 5 * b, 6 * b),)
    assert OPS["space_to_depth"].fn(up.outputs[0], blocksize=b).outputs == (x,)
    assert account(up, [x], N).memory_access == N * 2 * prod(x)


UNARY = {"exp": 1, "log": 1, "sqrt": 1, "reciprocal": 1, "abs": 1, "neg": 1, "erf": 1, "round": 1, "sin": 1,
         "softplus": 3, "elu": 3, "cast": 0}


@pytest.mark.parametrize("op, per_element", UNARY.items())
@pytest.mark.parametrize("x", [(6, 4, 4), (49, 32), (10,)])
def test_unary_ops_at_any_rank(op, per_element, x):
    result = OPS[op].fn(x)
    assert result.outputs == (x,) and result.elementwise_flops == per_element * prod(x) and result.params == 0
    assert account(result, [x], N).memory_access == N * 2 * prod(x)


BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "compare"]


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("a, b", [((8, 5, 5), (8, 5, 5)), ((8, 1, 1), (8, 5, 5)), ((8, 5, 5), (1, 5, 1)),
                                  ((49, 32), (1, 32)), ((1, 7), (6, 1))])
def test_binary_ops_broadcast_like_numpy(op, a, b):
    result = OPS[op].fn(a, b)
    out = np.broadcast_shapes((N, *a), (N, *b))[1:]
    assert result.outputs == (out,) and result.elementwise_flops == prod(out) and result.params == 0
    assert account(result, [a, b], N).memory_access == N * (prod(a) + prod(b) + prod(out))


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("x, param", [((8, 5, 5), (8, 1, 1)), ((196, 64), (196, 64)), ((49, 32), (32,)),
                                      ((8, 5, 5), ())])
def test_binary_ops_with_a_learned_or_a_constant_operand(op, x, param):
    """A learned operand (a bias, a position embedding) holds prod(param) parameters, read once per batch; a
    constant `value` holds none."""
    learned = OPS[op].fn(x, param=param)
    assert learned.outputs == (np.broadcast_shapes(x, param),) and learned.params == prod(param)
    assert learned.elementwise_flops == prod(x)
    assert account(learned, [x], N).memory_access == N * 2 * prod(x) + prod(param)
    constant = OPS[op].fn(x, value=3.0)
    assert constant.outputs == (x,) and constant.params == 0 and constant.elementwise_flops == prod(x)


def test_binary_ops_take_exactly_one_second_operand():
    for args in [{}, {"value": 1.0, "param": (4,)}]:
        with pytest.raises(OpError, match="takes two tensors"):
            OPS["mul"].fn((4, 4), **args)
    with pytest.raises(OpError, match="differ in rank"):
        OPS["add"].fn((8,), (8, 4, 4))
    with pytest.raises(OpError, match="more axes"):
        OPS["add"].fn((8,), param=(2, 8))


def test_an_n_ary_sum_adds_once_per_extra_operand():
    x = (4, 3, 3)
    assert OPS["add"].fn(x, x, x, x).elementwise_flops == 3 * 36


@pytest.mark.parametrize("xs, shape, out", [([(8, 5, 5), (8, 5, 5), (8, 5, 5)], None, (8, 5, 5)),
                                            ([(1, 5, 5)], (8, 1, 1), (8, 5, 5)), ([(6, 1), (1, 7)], None, (6, 7))])
def test_where_selects_once_per_output_element(xs, shape, out):
    result = OPS["where"].fn(*xs, shape=shape)
    assert result.outputs == (out,) and result.elementwise_flops == prod(out)


REDUCE = {"sum": (1, 0), "mean": (1, 1), "max": (1, 0), "min": (1, 0), "prod": (1, 0), "l1": (2, 0), "l2": (2, 1),
          "sum_square": (2, 0), "log_sum_exp": (2, 1), "log_sum": (1, 1), "argmax": (1, 0), "argmin": (1, 0)}


@pytest.mark.parametrize("kind", REDUCE)
@pytest.mark.parametrize("x, axes, keepdims", [((8, 5, 6), (2, 3), True), ((8, 5, 6), (-1,), False),
                                               ((49, 32), (1,), False), ((4, 3), None, False)])
def test_reductions_over_any_axes(kind, x, axes, keepdims):
    """One operation per input element (an add, a compare; a square or an abs more for l2, l1), one per output
    element for what finishes it (mean's divide, l2's square root, the logs)."""
    per_input, per_output = REDUCE[kind]
    result = OPS[f"reduce_{kind}"].fn(x, axes=axes, keepdims=keepdims)
    numpy_axes = tuple(range(1, len(x) + 1)) if axes is None else axes
    out = np.empty((N, *x)).sum(axis=numpy_axes, keepdims=keepdims).shape[1:]
    assert result.outputs == (out,)
    assert result.elementwise_flops == per_input * prod(x) + per_output * prod(out)


def naive_matmul_macs(a, b):
    """One multiply-add per (leading index, row, column, k) of the textbook loop nest."""
    lead = np.broadcast_shapes(a[:-2], b[:-2])
    return sum(1 for _ in product(*map(range, (*lead, a[-2], b[-1], a[-1]))))


@pytest.mark.parametrize("a, b", [((4, 3), (3, 5)), ((2, 6, 4), (2, 4, 6)), ((2, 6, 4), (1, 4, 3)),
                                  ((2, 3, 5, 4), (2, 3, 4, 5))])
def test_matmul_counts_every_product_of_two_activations(a, b):
    result = OPS["matmul"].fn(a, b)
    assert result.outputs == (np.matmul(np.empty((N, *a)), np.empty((N, *b))).shape[1:],)
    assert result.flops == naive_matmul_macs(a, b) and result.params == 0
    assert account(result, [a, b], N).memory_access == N * (prod(a) + prod(b) + prod(result.outputs[0]))


def test_matmul_refuses_what_numpy_would_misalign():
    with pytest.raises(OpError, match="3 columns against 4 rows"):
        OPS["matmul"].fn((2, 3), (4, 5))
    with pytest.raises(OpError, match="same rank"):
        OPS["matmul"].fn((2, 6, 4), (4, 3))


def naive_einsum_macs(equation, shapes):
    """Every combination of the letters' values is one product of the operands: counted one by one."""
    left, _ = equation.split("->")
    sizes = {}
    for term, shape in zip(left.split(","), shapes):
        sizes.update(zip(term, shape))
    return sum(1 for _ in product(*(range(s) for s in sizes.values())))


@pytest.mark.parametrize("equation, shapes", [
    ("bhnd,bhmd->bhnm", [(2, 5, 3), (2, 4, 3)]),  # attention's q k^T, 2 heads
    ("bhnm,bhmd->bhnd", [(2, 5, 4), (2, 4, 3)]),  # attn v
    ("bcn,bdn->bcd", [(3, 6), (4, 6)]),  # a channel attention's Gram matrix
])
def test_einsum_of_two_activations(equation, shapes):
    result = OPS["einsum"].fn(*shapes, equation=equation)
    per_sample = [s for s in shapes]
    expected = np.einsum(equation, *(np.empty((N, *s)) for s in per_sample)).shape[1:]
    assert result.outputs == (expected,)
    assert result.flops == naive_einsum_macs(equation.replace("b", ""), shapes)


def test_einsum_with_a_learned_operand_and_of_one_operand():
    learned = OPS["einsum"].fn((7, 6), equation="bnc,cd->bnd", param=(6, 5))
    assert learned.outputs == ((7, 5),) and learned.flops == 7 * 6 * 5 and learned.params == 30
    moved = OPS["einsum"].fn((7, 6), equation="bnc->bcn")  # a transpose: a copy, no arithmetic
    assert moved.outputs == ((6, 7),) and moved.flops == moved.elementwise_flops == 0
    summed = OPS["einsum"].fn((7, 6), equation="bnc->bc")  # a sum over n: one add per input element
    assert summed.outputs == ((6,),) and summed.elementwise_flops == 42
    with pytest.raises(OpError, match="batch letter"):
        OPS["einsum"].fn((7, 6), (6, 5), equation="nc,cd->nd")


def positions(size, k, stride, pad, dilation):
    span = dilation * (k - 1) + 1
    return sum(1 for start in range(0, size + 2 * pad, stride) if start + span <= size + 2 * pad)


@pytest.mark.parametrize("sizes, k, stride, pad, dilation, groups", [
    ((16,), (3,), (1,), (1,), (1,), 1), ((17,), (5,), (2,), (2,), (1,), 4), ((9,), (3,), (1,), (0,), (2,), 1),
    ((4, 6, 6), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), 1), ((5, 7, 6), (1, 3, 3), (1, 2, 2), (0, 1, 1),
                                                                (1, 1, 1), 2),
])
def test_conv_of_rank_1_and_3(sizes, k, stride, pad, dilation, groups):
    """Conv1d (ECA's across channels, C x L) and Conv3d (C x D x H x W): output positions counted one by one along
    each axis, multiply-adds by the loop nest's size."""
    c, out = 4, 8
    result = OPS["conv"].fn((c, *sizes), out=out, k=k, stride=stride, pad=pad, dilation=dilation, groups=groups)
    spatial = tuple(positions(*args) for args in zip(sizes, k, stride, pad, dilation))
    assert result.outputs == ((out, *spatial),)
    assert result.flops == sum(1 for _ in product(range(out), *map(range, spatial), range(c // groups),
                                                  *map(range, k)))
    assert result.params == prod(k) * (c // groups) * out


def test_one_number_is_every_axis_and_a_list_must_fit_the_rank():
    from costcalc.ops import Uniform

    assert OPS["conv"].fn((4, 16), out=8, k=Uniform((3, 3))).outputs == ((8, 14),)
    assert OPS["conv"].fn((4, 6, 6, 6), out=8, k=Uniform((3, 3))).outputs == ((8, 4, 4, 4),)
    with pytest.raises(OpError, match=r"k \[3, 3\] has 2 values for 1 spatial axis"):
        OPS["conv"].fn((4, 16), out=8, k=(3, 3))
    with pytest.raises(OpError, match=r"k \[3, 3, 3\] has 3 values for 2 spatial axes"):
        OPS["conv"].fn((4, 6, 6), out=8, k=(3, 3, 3))


def test_conv_transpose_of_rank_1_and_3():
    one = OPS["conv_transpose"].fn((4, 10), out=6, k=(4,), stride=(2,), pad=(1,))
    assert one.outputs == ((6, 20),) and one.flops == 10 * 4 * 6 * 4
    three = OPS["conv_transpose"].fn((4, 3, 5, 5), out=2, k=(2, 2, 2), stride=(2, 2, 2))
    assert three.outputs == ((2, 6, 10, 10),) and three.flops == 75 * 4 * 2 * 8


@pytest.mark.parametrize("op", ["maxpool", "avgpool"])
@pytest.mark.parametrize("sizes, k, stride", [((16,), (3,), (2,)), ((6, 8, 8), (2, 2, 2), (2, 2, 2))])
def test_pools_of_rank_1_and_3(op, sizes, k, stride):
    result = OPS[op].fn((5, *sizes), k=k, stride=stride, pad=(0,) * len(k))
    spatial = tuple(positions(s, kk, st, 0, 1) for s, kk, st in zip(sizes, k, stride))
    assert result.outputs == ((5, *spatial),) and result.elementwise_flops == 5 * prod(spatial) * prod(k)
    assert OPS["gap"].fn((5, *sizes)).outputs == ((5, *(1,) * len(sizes)),)


def test_softmax_and_layernorm_on_an_axis():
    """Attention's softmax over the keys (-1) of N x heads x L x L: per row L exps, L - 1 adds, L divides;
    nn.LayerNorm(C) on tokens L x C: 5 per element + 2 affine, gamma and beta of C each."""
    assert OPS["softmax"].fn((4, 49, 49), axis=-1).elementwise_flops == 4 * 49 * (3 * 49 - 1)
    assert OPS["softmax"].fn((4, 49, 49), axis=2).elementwise_flops == 4 * 49 * (3 * 49 - 1)
    norm = OPS["layernorm"].fn((49, 96), axis=-1)
    assert norm.outputs == ((49, 96),) and norm.elementwise_flops == 7 * 49 * 96 and norm.params == 2 * 96
    assert OPS["layernorm"].fn((8, 4, 4), axis=1).params == 2 * 8 * 4 * 4  # ONNX's axis: every axis from it on
    scale_only = OPS["layernorm"].fn((49, 96), axis=-1, bias=False)  # nn.LayerNorm(96, bias=False): gamma alone
    assert scale_only.elementwise_flops == 6 * 49 * 96 and scale_only.params == 96


def test_a_learned_number_is_a_param_of_one_value():
    """HGNetV2's learnable affine block, `scale * x + bias` with nn.Parameter of one value each: `param: [1]`, one
    parameter and one operation per element, where `value` is a number of the forward and no parameter."""
    learned, number = OPS["mul"].fn((8, 4, 4), param=(1,)), OPS["mul"].fn((8, 4, 4), value=2.0)
    assert learned.outputs == number.outputs == ((8, 4, 4),)
    assert learned.elementwise_flops == number.elementwise_flops == 8 * 4 * 4
    assert (learned.params, number.params) == (1, 0)


def test_concat_and_split_on_an_axis():
    cat = OPS["concat"].fn((49, 32), (49, 16), axis=-1)
    assert cat.outputs == ((49, 48),) and account(cat, [(49, 32), (49, 16)], N).memory_access == N * 2 * 49 * 48
    parts = OPS["split"].fn((49, 96), parts=3, axis=-1)
    assert parts.outputs == ((49, 32),) * 3
    with pytest.raises(OpError, match="does not divide the size of axis -1=96"):
        OPS["split"].fn((49, 96), parts=5, axis=-1)


TESTED = {"constant", "reshape", "permute", "expand", "tile", "gather", "slice", "depth_to_space", "space_to_depth", *UNARY,
          *BINARY, "where", *(f"reduce_{k}" for k in REDUCE), "matmul", "einsum"}


def test_a_conv_of_windows_counts_each_window_as_an_image():
    """EfficientViT-M's cascaded group attention: a depthwise 5x5 conv on 4 windows of 16 x 7 x 7 (torch folds
    them into the batch); `k` as a list names the spatial axes, the axes before C are windows."""
    from costcalc.analysis.conventions import CONVENTIONS
    from costcalc.analysis.conventions.rules import Site

    args = {"out": 16, "k": (5, 5), "pad": (2, 2), "groups": 16, "bias": True}
    one, windows = OPS["conv"].fn((16, 7, 7), **args), OPS["conv"].fn((4, 16, 7, 7), **args)
    assert windows.outputs == ((4, 16, 7, 7),) and windows.params == one.params == 16 * 25 + 16
    assert windows.flops == 4 * one.flops == 4 * 16 * 49 * 25 and windows.elementwise_flops == 4 * 16 * 49
    site = Site("conv", ((4, 16, 7, 7),), windows.outputs, args)
    assert CONVENTIONS["fvcore"].rules["conv"].count(site) == windows.flops


def test_a_constant_is_free_and_has_its_own_shape():
    result = OPS["constant"].fn((3, 224, 224), shape=(15, 15, 2))
    assert result.outputs == ((15, 15, 2),)
    assert account(result, [(3, 224, 224)], 4) == Counts()


def test_einsum_and_reductions_refuse_what_they_cannot_mean():
    with pytest.raises(OpError, match="subscripts 'bnb' do not fit"):  # the batch letter once, first
        OPS["einsum"].fn((3, 3), (3, 3), equation="bnb,bmc->bnm")
    with pytest.raises(OpError, match="subscripts 'bcd' do not fit"):  # a learned operand has no batch letter
        OPS["einsum"].fn((3, 4), equation="bnc,bcd->bnd", param=(4, 5))
    with pytest.raises(OpError, match="axes \\[\\] names no axis"):  # ONNX would reduce every axis, numpy none
        OPS["reduce_sum"].fn((3, 4), axes=())
