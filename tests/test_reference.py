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


# ---- the later ops: values against their definitions written as loops, counts against closed forms -------------

def naive_conv_transpose2d(x, w, stride, padding, output_padding, groups, dilation):
    """Every input element scatters weight * x into the output, one tap at a time (float64)."""
    n, c, h, wd = x.shape
    _, out_group, k_h, k_w = w.shape
    full = np.zeros((n, out_group * groups, (h - 1) * stride + dilation * (k_h - 1) + 1 + output_padding,
                     (wd - 1) * stride + dilation * (k_w - 1) + 1 + output_padding))
    c_group = c // groups
    for b, ci, i, j, o, ki, kj in itertools.product(range(n), range(c), range(h), range(wd), range(out_group),
                                                    range(k_h), range(k_w)):
        g = ci // c_group
        full[b, g * out_group + o, i * stride + ki * dilation, j * stride + kj * dilation] += x[b, ci, i, j] * w[ci, o, ki, kj]
    return full[:, :, padding: full.shape[2] - padding, padding: full.shape[3] - padding]


@pytest.mark.parametrize("c, out, k, stride, padding, output_padding, groups, dilation", [
    (4, 6, 3, 2, 1, 1, 1, 1), (4, 4, 2, 2, 0, 0, 2, 1), (2, 3, 3, 1, 0, 0, 1, 2), (6, 6, 4, 2, 1, 0, 3, 1)])
def test_conv_transpose2d_values_and_counts(c, out, k, stride, padding, output_padding, groups, dilation):
    x, w = randn(2, c, 4, 5), randn(c, out // groups, k, k)
    bias = randn(out)
    with counting() as tally:
        y = F.conv_transpose2d(x, w, bias, stride, padding, output_padding, groups, dilation)
    want = naive_conv_transpose2d(x, w, stride, padding, output_padding, groups, dilation) + bias[None, :, None, None]
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    assert tally.mult_adds == 2 * 4 * 5 * c * (out // groups) * k * k  # each input element x its group's weights
    assert (tally.read, tally.written, tally.params_read) == (x.size, y.size, w.size + out)


def test_norms_against_their_definitions():
    x = randn(2, 6, 3, 4)
    weight, bias = randn(6), randn(6)
    y = F.layer_norm(x.transpose(0, 2, 3, 1), (6,), weight, bias).transpose(0, 3, 1, 2)
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    c = (None, slice(None), None, None)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5) * weight[c] + bias[c], rtol=1e-4, atol=1e-5)
    with counting() as tally:
        y = F.group_norm(x, 3, weight, bias)
    g = x.reshape(2, 3, -1)
    want = ((g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + 1e-5)).reshape(x.shape)
    np.testing.assert_allclose(y, want * weight[c] + bias[c], rtol=1e-4, atol=1e-5)
    assert (tally.read, tally.params_read, tally.written) == (x.size, 12, x.size)
    with counting() as tally:
        y = F.layer_scale(x, weight)
    np.testing.assert_allclose(y, x * weight[c])
    assert (tally.read, tally.params_read, tally.written) == (x.size, 6, x.size)


def test_modern_activations_against_their_definitions():
    import math

    x = randn(2, 5, 3, 3) * 3
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(F.gelu(x), 0.5 * x * (1 + erf(x / math.sqrt(2))), rtol=1e-5, atol=1e-6)
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.astype(float) ** 3)))
    np.testing.assert_allclose(F.gelu(x, "tanh"), tanh_form, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(F.mish(x), x * np.tanh(np.log1p(np.exp(x.astype(float)))), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.hardtanh(x, -2, 2), np.minimum(np.maximum(x, -2), 2))
    s = F.softmax(x, dim=1)
    e = np.exp(x.astype(float))
    np.testing.assert_allclose(s, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)


def naive_adaptive(x, out, reduce):
    import math

    n, c, h, w = x.shape
    y = np.zeros((n, c, *out))
    for i, j in itertools.product(range(out[0]), range(out[1])):
        r0, r1 = math.floor(i * h / out[0]), math.ceil((i + 1) * h / out[0])
        c0, c1 = math.floor(j * w / out[1]), math.ceil((j + 1) * w / out[1])
        y[:, :, i, j] = reduce(x[:, :, r0:r1, c0:c1].astype(float), axis=(2, 3))
    return y


@pytest.mark.parametrize("h, w, out", [(8, 8, (7, 7)), (5, 9, (3, 4)), (3, 3, (6, 6)), (7, 7, (1, 1))])
def test_adaptive_pools_use_torchs_windows(h, w, out):
    x = randn(1, 3, h, w)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, out), naive_adaptive(x, out, np.mean), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.adaptive_max_pool2d(x, out), naive_adaptive(x, out, np.max))


def test_interpolate():
    x = randn(1, 2, 3, 4)
    near = F.interpolate(x, scale_factor=2)
    np.testing.assert_array_equal(near, x.repeat(2, axis=2).repeat(2, axis=3))
    with counting() as tally:
        lin = F.interpolate(x, size=(6, 8), mode="bilinear")
    assert (tally.read, tally.written, lin.shape) == (x.size, lin.size, (1, 2, 6, 8))
    # align_corners=False: output 1 of a doubling sits at source 0.25, between rows 0 and 1
    np.testing.assert_allclose(lin[0, 0, 1, 0], 0.75 * x[0, 0, 0, 0] + 0.25 * x[0, 0, 1, 0], rtol=1e-5)
    np.testing.assert_allclose(lin[0, 0, 0, 0], x[0, 0, 0, 0], rtol=1e-6)  # clamped at the border


def test_pad_and_narrow():
    x = randn(1, 4, 3, 3)
    with counting() as tally:
        p = F.pad(x, (1, 2, 0, 1))
        v = F.narrow(x, 1, 1, 2)
    assert p.shape == (1, 4, 4, 6) and p[0, 0, 0, 0] == 0 and p[0, 0, 0, 1] == x[0, 0, 0, 0]
    assert np.shares_memory(v, x) and v.shape == (1, 2, 3, 3)
    assert (tally.read, tally.written) == (x.size, p.size)  # the slice, a view, moved nothing


def test_a_spec_of_every_later_op_verifies(write_spec):
    from costcalc.analysis.verify import verify
    from costcalc.graph import load

    graph = load(write_spec("""
name: later_ops
input: [8, 9, 9]
layers:
  - {op: conv_transpose, out: 8, k: 3, stride: 2, pad: 1, output_padding: 1, groups: 2, bias: true}
  - {op: layernorm}
  - {op: layernorm, layout: channels_last, affine: false}
  - {op: layernorm, bias: false}
  - {op: groupnorm, groups: 4}
  - {op: layer_scale}
  - {op: gelu}
  - {op: gelu, approximate: tanh}
  - {op: mish}
  - {op: hardtanh, min_val: -0.5, max_val: 2}
  - {op: softmax}
  - {op: pad, pad: [1, 0], pad_end: [0, 2]}
  - {op: slice, out: 5, start: 2}
  - {op: resize, size: [11, 13], mode: bilinear}
  - {op: resize, scale: 2}
  - {op: adaptive_maxpool, out: [7, 5]}
  - {op: adaptive_avgpool, out: 3}
  - {op: relu, call: functional}
"""), batch=2)
    result = verify(graph, seed=3)
    assert result.passed, [(layer.name, layer.mismatches) for layer in result.failures]
    assert len(result.layers) == 18


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
