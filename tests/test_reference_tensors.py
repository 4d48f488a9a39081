"""The numpy reference of the generic tensor layer (costcalc/reference/tensors.py): its values against numpy's
and the 2-D reference's, its tallies against counts made by hand, and `costcalc verify` on a spec that uses every
op of the layer."""

from math import prod

import numpy as np
import pytest

import costcalc.reference as F
from conftest import ROOT
from costcalc.ops import OPS
from costcalc.reference import counting
from costcalc.reference.tensor_runners import TENSOR_RUNNERS

SPEC = ROOT / "tests" / "data" / "tensor_ops.yaml"
RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape, dtype=np.float32)


def test_conv_nd_in_2d_is_conv2d_and_counts_the_same():
    x, w, b = _x(2, 6, 7, 9), _x(4, 3, 3, 2), _x(4)
    with counting() as general:
        y = F.conv_nd(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    with counting() as two_d:
        expected = F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    assert np.allclose(y, expected, atol=1e-5)
    assert (general.mult_adds, general.read, general.written, general.params_read) == \
        (two_d.mult_adds, two_d.read, two_d.written, two_d.params_read)


def test_conv1d_is_a_conv2d_of_height_one():
    x, w = _x(2, 4, 11), _x(6, 4, 3)
    y = F.conv_nd(x, w, stride=2, padding=1)
    assert np.allclose(y, F.conv2d(x[:, :, None], w[:, :, None], stride=(1, 2), padding=(0, 1))[:, :, 0], atol=1e-5)


def test_conv3d_against_a_loop_over_depth():
    """A 3-D conv with kernel depth kd sums kd 2-D convs of shifted depth slices."""
    x, w = _x(1, 3, 4, 5, 5), _x(2, 3, 2, 3, 3)
    with counting() as tally:
        y = F.conv_nd(x, w, padding=(0, 1, 1))
    for d in range(3):
        expected = sum(F.conv2d(x[:, :, d + i], w[:, :, i], padding=1) for i in range(2))
        assert np.allclose(y[:, :, d], expected, atol=1e-5)
    assert tally.mult_adds == 2 * 3 * 5 * 5 * 3 * 2 * 3 * 3


@pytest.mark.parametrize("shape, k, stride, pad, output_padding", [((2, 4, 7), (3,), (2,), (1,), (1,)),
                                                                    ((1, 4, 3, 3), (2, 3), (2, 1), (0, 1), (0, 0))])
def test_conv_transpose_nd_matches_the_2d_reference(shape, k, stride, pad, output_padding):
    x, w = _x(*shape), _x(4, 2, *k)
    lift = len(k) == 1  # 1-D: the 2-D reference on a height of one
    expected = F.conv_transpose2d(x[:, :, None] if lift else x, w[:, :, None] if lift else w,
                                  stride=(1, *stride) if lift else stride, padding=(0, *pad) if lift else pad,
                                  output_padding=(0, *output_padding) if lift else output_padding, groups=2)
    y = F.conv_transpose_nd(x, w, stride=stride, padding=pad, output_padding=output_padding, groups=2)
    assert np.allclose(y, expected[:, :, 0] if lift else expected, atol=1e-5)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_nd_in_2d_is_the_2d_reference(kind):
    x = _x(2, 3, 9, 8)
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    assert np.allclose(F.pool_nd(x, kind, 3, 2, 1, ceil_mode=True), fn(x, 3, 2, 1, ceil_mode=True), atol=1e-6)


def test_views_move_nothing_and_copies_move_their_elements():
    x = _x(2, 8, 6, 6)
    with counting() as tally:
        F.reshape(x, (8, 36))
        F.permute(x.reshape(2, 8, 1, 36), (0, 2, 1, 3))  # only an axis of size 1 moves
        F.slice_axis(x, 1, 2, 4)  # a block of channels of each sample
    assert (tally.read, tally.written) == (0, 0)
    with counting() as tally:
        F.permute(x, (0, 2, 3, 1))
        F.slice_axis(x, 3, 1, 2, step=2)
    taken = 2 * 8 * 6 * 2  # the strided slice reads only the elements it takes
    assert (tally.read, tally.written) == (x.size + taken, x.size + taken)


def test_matmul_and_einsum_count_their_multiply_adds():
    q, k = _x(2, 3, 5, 4), _x(2, 3, 4, 6)
    with counting() as tally:
        s = F.bmm(q, k)
        e = F.einsum("bhnd,bhdm->bhnm", q, k)
    assert np.allclose(s, e, atol=1e-5) and tally.mult_adds == 2 * (2 * 3 * 5 * 6 * 4)
    assert (tally.read, tally.written) == (2 * (q.size + k.size), 2 * s.size)


def test_reductions_and_elementwise_against_numpy():
    x, bias = _x(2, 4, 3, 3), _x(4, 1, 1)
    with counting() as tally:
        total = F.reduce(x, "sum", (2, 3), keepdims=True)
        l2 = F.reduce(x, "l2", (-1,))
        arg = F.reduce(x, "argmax", (2, 3))
        shifted = F.elementwise(np.add, x, bias, params=(bias,))
    assert np.allclose(total, x.sum(axis=(2, 3), keepdims=True), atol=1e-5)
    assert np.allclose(l2, np.sqrt((x * x).sum(axis=-1)), atol=1e-5)
    assert (arg == x.reshape(2, 4, 9).argmax(-1)).all() and np.allclose(shifted, x + bias)
    assert tally.params_read == bias.size and tally.read == 4 * x.size


def test_rearrangements_against_numpy():
    x = _x(2, 8, 4, 6)
    assert np.array_equal(F.expand(x[:, :, :1], (8, 4, 6)), np.broadcast_to(x[:, :, :1], x.shape))
    assert np.array_equal(F.tile(x, (1, 2, 1)), np.tile(x, (1, 1, 2, 1)))
    assert np.array_equal(F.gather(x, 3, np.array([5, 0])), x[:, :, :, [5, 0]])
    assert np.array_equal(F.space_to_depth(F.depth_to_space(x, 2), 2), x)
    assert F.depth_to_space(x, 2).shape == (2, 2, 8, 12)


def test_every_op_of_the_tensor_layer_has_a_runner():
    assert set(TENSOR_RUNNERS) <= set(OPS)


def test_a_spec_of_every_tensor_op_verifies():
    """`costcalc verify` (the reference run against the analytic counts, layer by layer) on 1-D, 3-D and token
    tensors, every op of the generic layer, at batch 2."""
    from costcalc.analysis.verify import verify
    from costcalc.graph import load

    graph = load(SPEC, batch=2)
    assert set(TENSOR_RUNNERS) <= {node.op for node in graph.nodes}
    result = verify(graph, seed=1)
    assert result.passed, [(layer.name, layer.mismatches) for layer in result.failures]
    assert len(result.layers) == len(graph.nodes) and sum(prod(s) for s in result.layers[-1].output) > 0
