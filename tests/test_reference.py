"""The numpy reference ops: values against direct definitions written with plain loops (and against torch when it
happens to be installed), and the counts each op measures against hand-derived closed forms."""

import itertools

import numpy as np
import pytest

import costcalc.reference as F
from costcalc.ops import OPS
from costcalc.reference import counting
from costcalc.reference.network import RUNNERS

RNG = np.random.default_rng(1234)


def randn(*shape):
    return RNG.standard_normal(shape, dtype=np.float32)


def naive_conv2d(x, w, bias, stride, padding, dilation, groups):
    """The definition of a convolution, one output element at a time (float64)."""
    n, c, h, wd = x.shape
    out_c, c_group, k_h, k_w = w.shape
    (s_h, s_w), (p_h, p_w), (d_h, d_w) = stride, padding, dilation
    h_out = (h + 2 * p_h - d_h * (k_h - 1) - 1) // s_h + 1
    w_out = (wd + 2 * p_w - d_w * (k_w - 1) - 1) // s_w + 1
    out = np.zeros((n, out_c, h_out, w_out))
    per_group = out_c // groups
    for b, o, i, j in itertools.product(range(n), range(out_c), range(h_out), range(w_out)):
        g = o // per_group
        total = 0.0 if bias is None else float(bias[o])
        for ci, ki, kj in itertools.product(range(c_group), range(k_h), range(k_w)):
            y, z = i * s_h - p_h + ki * d_h, j * s_w - p_w + kj * d_w
            if 0 <= y < h and 0 <= z < wd:
                total += float(x[b, g * c_group + ci, y, z]) * float(w[o, ci, ki, kj])
        out[b, o, i, j] = total
    return out


CONV_CASES = [
    # (n, c, h, w, out, k, stride, padding, dilation, groups, bias)
    (1, 4, 7, 7, 6, (3, 3), (1, 1), (1, 1), (1, 1), 1, False),
    (2, 4, 8, 7, 6, (3, 3), (2, 2), (1, 1), (1, 1), 2, True),
    (1, 6, 9, 9, 6, (3, 3), (1, 1), (2, 2), (2, 2), 6, False),  # depthwise, dilated
    (1, 4, 9, 8, 8, (3, 3), (2, 1), (1, 0), (1, 1), 4, False),  # depthwise multiplier 2, unequal strides
    (1, 3, 11, 11, 5, (5, 3), (2, 3), (2, 1), (1, 2), 1, True),
    (1, 8, 5, 5, 16, (1, 1), (1, 1), (0, 0), (1, 1), 4, False),  # grouped 1x1 (ShuffleNet)
    (1, 3, 12, 12, 4, (7, 7), (2, 2), (3, 3), (1, 1), 1, False),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "-".join(map(str, c)))
def test_conv2d_values_and_counts(case):
    n, c, h, w, out, k, stride, padding, dilation, groups, has_bias = case
    x, weight = randn(n, c, h, w), randn(out, c // groups, *k)
    bias = randn(out) if has_bias else None
    with counting() as tally:
        y = F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    want = naive_conv2d(x, weight, bias, stride, padding, dilation, groups)
    assert y.dtype == np.float32 and y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    h_out, w_out = want.shape[2:]
    # hand-derived: every output element is a sum over k_h * k_w * c/groups products
    assert tally.mult_adds == n * out * h_out * w_out * k[0] * k[1] * (c // groups)
    assert tally.read == x.size and tally.written == y.size
    assert tally.params_read == out * (c // groups) * k[0] * k[1] + (out if has_bias else 0)
    assert tally.matmuls == 1  # one batched matmul per conv


def test_conv2d_against_torch():
    torch = pytest.importorskip("torch")
    for n, c, h, w, out, k, stride, padding, dilation, groups, has_bias in CONV_CASES:
        x, weight, bias = randn(n, c, h, w), randn(out, c // groups, *k), randn(out) if has_bias else None
        want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weight),
                                          None if bias is None else torch.from_numpy(bias),
                                          stride, padding, dilation, groups).numpy()
        np.testing.assert_allclose(F.conv2d(x, weight, bias, stride, padding, dilation, groups), want,
                                   rtol=1e-4, atol=1e-4)


def test_linear():
    x, w, b = randn(3, 10), randn(4, 10), randn(4)
    with counting() as tally:
        y = F.linear(x, w, b)
    np.testing.assert_allclose(y, x.astype(float) @ w.T.astype(float) + b, rtol=1e-5, atol=1e-5)
    assert (tally.mult_adds, tally.read, tally.params_read, tally.written) == (3 * 10 * 4, 30, 44, 12)


def test_batch_norm_inference():
    x, mean, var, weight, bias = randn(2, 3, 4, 4), randn(3), RNG.uniform(0.5, 2, 3).astype(np.float32), randn(3), randn(3)
    with counting() as tally:
        y = F.batch_norm(x, mean, var, weight, bias, eps=1e-5)
    c = (slice(None), None, None)
    want = (x - mean[c]) / np.sqrt(var[c] + 1e-5) * weight[c] + bias[c]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    # the convention counts the learnable scale and shift; running statistics are buffers, kept apart
    assert (tally.read, tally.params_read, tally.buffers_read, tally.written) == (96, 6, 6, 96)
    assert tally.mult_adds == 0


def naive_pool(x, k, s, p, d, ceil_mode, kind, count_include_pad=True):
    n, c, h, w = x.shape
    outs = []
    for size, kk, ss, pp, dd in zip((h, w), k, s, p, d):
        span = size + 2 * pp - dd * (kk - 1) - 1
        o = -(-span // ss) + 1 if ceil_mode else span // ss + 1
        if ceil_mode and (o - 1) * ss >= size + pp:
            o -= 1
        outs.append(o)
    out = np.zeros((n, c, *outs))
    for b, ch, i, j in itertools.product(range(n), range(c), range(outs[0]), range(outs[1])):
        vals, in_pad = [], 0
        for ki, kj in itertools.product(range(k[0]), range(k[1])):
            y, z = i * s[0] - p[0] + ki * d[0], j * s[1] - p[1] + kj * d[1]
            if 0 <= y < h and 0 <= z < w:
                vals.append(float(x[b, ch, y, z]))
            elif y < h + p[0] and z < w + p[1]:
                in_pad += 1  # a padding position inside the padded input
        if kind == "max":
            out[b, ch, i, j] = max(vals)
        else:
            out[b, ch, i, j] = sum(vals) / (len(vals) + (in_pad if count_include_pad else 0))
    return out


@pytest.mark.parametrize("k, s, p, d, ceil_mode", [
    ((3, 3), (2, 2), (1, 1), (1, 1), False), ((3, 3), (2, 2), (0, 0), (1, 1), True), ((2, 2), (2, 2), (0, 0), (1, 1), True),
    ((3, 2), (1, 2), (1, 0), (1, 1), False), ((3, 3), (2, 2), (1, 1), (2, 2), True),
])
def test_max_pool(k, s, p, d, ceil_mode):
    x = randn(1, 2, 9, 8)
    with counting() as tally:
        y = F.max_pool2d(x, k, s, p, d, ceil_mode)
    np.testing.assert_allclose(y, naive_pool(x, k, s, p, d, ceil_mode, "max"))
    assert (tally.read, tally.written, tally.mult_adds) == (x.size, y.size, 0)


@pytest.mark.parametrize("k, s, p, ceil_mode, include", [
    ((3, 3), (2, 2), (1, 1), False, True), ((3, 3), (2, 2), (1, 1), True, True), ((3, 3), (2, 2), (1, 1), True, False),
    ((2, 2), (2, 2), (0, 0), True, True), ((3, 3), (1, 1), (1, 1), False, False),
])
def test_avg_pool(k, s, p, ceil_mode, include):
    x = randn(1, 2, 9, 8)
    y = F.avg_pool2d(x, k, s, p, ceil_mode, include)
    np.testing.assert_allclose(y, naive_pool(x, k, s, p, (1, 1), ceil_mode, "avg", include), rtol=1e-5, atol=1e-6)


def test_pools_against_torch():
    torch = pytest.importorskip("torch")
    x = randn(2, 3, 13, 10)
    tx = torch.from_numpy(x)
    for k, s, p, ceil_mode in [(3, 2, 1, False), (3, 2, 0, True), (2, 2, 0, True), (5, 3, 2, True)]:
        np.testing.assert_allclose(F.max_pool2d(x, k, s, p, 1, ceil_mode),
                                   torch.nn.functional.max_pool2d(tx, k, s, p, 1, ceil_mode).numpy())
        for include in (True, False):
            np.testing.assert_allclose(F.avg_pool2d(x, k, s, p, ceil_mode, include),
                                       torch.nn.functional.avg_pool2d(tx, k, s, p, ceil_mode, include).numpy(),
                                       rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1), torch.nn.functional.adaptive_avg_pool2d(tx, 1).numpy(),
                               rtol=1e-5, atol=1e-6)
    for name in ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardsigmoid", "hardswish"):
        np.testing.assert_allclose(getattr(F, name)(x * 4), getattr(torch.nn.functional, name)(tx * 4).numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
    z = randn(2, 12, 3, 3)
    np.testing.assert_array_equal(F.channel_shuffle(z, 3), torch.nn.functional.channel_shuffle(torch.from_numpy(z), 3).numpy())


@pytest.mark.parametrize("name, fn", [
    ("relu", lambda x: np.maximum(x, 0)), ("relu6", lambda x: np.minimum(np.maximum(x, 0), 6)),
    ("leaky_relu", lambda x: np.where(x > 0, x, 0.01 * x)), ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", np.tanh), ("silu", lambda x: x / (1 + np.exp(-x))),
    ("hardsigmoid", lambda x: np.minimum(np.maximum(x / 6 + 0.5, 0), 1)),
    ("hardswish", lambda x: x * np.minimum(np.maximum(x / 6 + 0.5, 0), 1)),
])
def test_activations(name, fn):
    x = randn(2, 3, 4, 5) * 5
    with counting() as tally:
        y = getattr(F, name)(x)
    np.testing.assert_allclose(y, fn(x.astype(float)), rtol=1e-5, atol=1e-6)
    assert y.dtype == np.float32 and (tally.read, tally.written) == (120, 120)


def test_combining_ops_count_every_input_and_output():
    a, b, c = randn(1, 4, 3, 3), randn(1, 4, 3, 3), randn(1, 4, 3, 3)
    with counting() as tally:
        s = F.add(a, b, c)
    np.testing.assert_allclose(s, a + b + c, rtol=1e-6)
    assert (tally.read, tally.written) == (108, 36)
    gate = randn(1, 4, 1, 1)
    with counting() as tally:
        m = F.mul(a, gate)
    np.testing.assert_allclose(m, a * gate)
    assert (tally.read, tally.written) == (36 + 4, 36)
    with counting() as tally:
        parts = F.split(F.cat([a, b], dim=1), [3, 5])
    assert [p.shape[1] for p in parts] == [3, 5]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), np.concatenate([a, b], axis=1))
    assert (tally.read, tally.written) == (72 + 72, 72 + 72)  # cat: 2 inputs -> 1 output; split: 1 -> 2


def test_index_select():
    x = randn(2, 5, 3, 3)
    index = np.array([4, 0, 0, 2])
    with counting() as tally:
        y = F.index_select(x, 1, index)
    np.testing.assert_array_equal(y, np.stack([x[:, 4], x[:, 0], x[:, 0], x[:, 2]], axis=1))
    assert (tally.read, tally.written, tally.buffers_read) == (x.size, y.size, 4)


def test_views_move_nothing():
    x = randn(2, 4, 3, 3)
    with counting() as tally:
        flat = F.flatten(x)
        same = F.dropout(x, 0.5)
        ident = F.identity(x)
    assert flat.shape == (2, 36) and np.shares_memory(flat, x) and same is x and ident is x
    assert (tally.read, tally.written, tally.mult_adds) == (0, 0, 0)


def test_tallies_nest():
    x, w = randn(1, 2, 4, 4), randn(3, 2, 1, 1)
    with counting() as outer:
        with counting() as inner:
            F.conv2d(x, w)
        F.relu(x)
    assert inner.mult_adds == outer.mult_adds == 16 * 3 * 2
    assert outer.read == inner.read + x.size


def test_every_op_of_the_registry_has_a_reference():
    assert set(OPS) - set(RUNNERS) == set(), "an op without a reference: costcalc verify cannot check it"


def test_mean_over_height_and_width():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    with counting() as tally:
        y = F.mean(x, (2, 3), keepdim=True)
    assert y.shape == (2, 3, 1, 1)
    assert y[1, 2, 0, 0] == np.float32(sum(range(100, 120)) / 20)  # the 20 elements of channel 2, sample 1
    assert (tally.read, tally.written, tally.mult_adds) == (120, 6, 0)


def test_conv2d_on_threads_gives_the_same_output_and_tally():
    """set_threads(2) runs the column matrix's slices on two threads: same numbers, one matmul in the tally."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 64, 20, 20), dtype=np.float32)
    w = rng.standard_normal((64, 2, 3, 3), dtype=np.float32)
    from costcalc.reference import functional

    functional.CHUNK_BYTES, chunk = 1 << 12, functional.CHUNK_BYTES  # many slices
    try:
        with counting() as one:
            alone = F.conv2d(x, w, padding=1, groups=32)
        F.set_threads(2)
        with counting() as two:
            threaded = F.conv2d(x, w, padding=1, groups=32)
    finally:
        F.set_threads(1)
        functional.CHUNK_BYTES = chunk
    np.testing.assert_array_equal(alone, threaded)
    assert one.mult_adds == two.mult_adds == 2 * 64 * 20 * 20 * 9 * 2 and one.matmuls == two.matmuls == 1
