"""numpy references of the generic tensor layer, batch first, of any rank: convolution, transposed convolution and
pooling of 1 to 3 spatial axes, element-wise ops with broadcasting, reductions, products of two activations
(matmul, einsum), and the rearrangements (reshape, permute, slice, expand, tile, gather, depth_to_space).

A rearrangement keeps numpy's view when each sample's elements keep their place (numpy's own contiguity flags
say so, on one sample) and copies otherwise, so the tallies see a view move nothing and a copy read its input
and write its output. Shapes come from the arrays, never from costcalc.ops.
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np
from numpy.lib.stride_tricks import as_strided

from costcalc.reference.functional import _avg_divisors, _out_len
from costcalc.reference.tally import matmul, matmul_done, touched

__all__ = ["conv_nd", "conv_transpose_nd", "pool_nd", "elementwise", "where", "reduce", "bmm", "einsum", "reshape",
           "permute", "slice_axis", "expand", "tile", "gather", "depth_to_space", "space_to_depth", "col2im"]


def _tuple(v, n: int) -> tuple:
    return (int(v),) * n if np.isscalar(v) else tuple(int(i) for i in v)


def _windows(xp: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, out: tuple) -> np.ndarray:
    """A read-only (N, C, *out, *kernel) view of the sliding windows of padded `xp`, for any number of axes."""
    lead, spatial = xp.strides[:2], xp.strides[2:]
    return as_strided(xp, (*xp.shape[:2], *out, *kernel),
                      (*lead, *(s * st for s, st in zip(spatial, stride)), *(s * d for s, d in zip(spatial, dilation))),
                      writeable=False)


def _padded(x: np.ndarray, before: tuple, after: tuple, value: float) -> np.ndarray:
    if not any(before) and not any(after):
        return x
    return np.pad(x, ((0, 0), (0, 0), *zip(before, after)), constant_values=value)


def conv_nd(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """torch's conv1d / conv3d (any number of spatial axes): im2col of the windows, one batched matmul per
    group of (out/g, C/g * k) weights against (C/g * k, N * positions) columns."""
    x, n_axes = input, input.ndim - 2
    n, c = x.shape[:2]
    out_c, c_group, *kernel = weight.shape
    if c != c_group * groups or out_c % groups:
        raise ValueError(f"conv: weight {weight.shape} with groups={groups} does not fit input channels {c}")
    stride, padding, dilation = (_tuple(v, n_axes) for v in (stride, padding, dilation))
    out = tuple(_out_len(size, *args, False) for size, *args in zip(x.shape[2:], kernel, stride, padding, dilation))
    win = _windows(_padded(x, padding, padding, 0.0), tuple(kernel), stride, dilation, out)
    win = win.reshape(n, groups, c_group, *out, *kernel)
    spatial = tuple(range(3, 3 + n_axes))
    taps = tuple(range(3 + n_axes, 3 + 2 * n_axes))
    cols = np.ascontiguousarray(win.transpose(1, 2, *taps, 0, *spatial)).reshape(groups, c_group * prod(kernel), -1)
    y = matmul(weight.reshape(groups, out_c // groups, -1), cols)
    y = np.ascontiguousarray(y.reshape(out_c, n, *out).swapaxes(0, 1))
    if bias is not None:
        y += bias.reshape(1, out_c, *(1,) * n_axes)
    touched(inputs=[x], params=[weight, bias], outputs=[y])
    return y


def conv_transpose_nd(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """torch's conv_transpose1d / 3d: one batched matmul gives every input element's contribution to every tap;
    the taps are added into the output one strided slice per kernel position, the border `padding` cropped."""
    x, n_axes = input, input.ndim - 2
    n, c, *sizes = x.shape
    c_w, out_group, *kernel = weight.shape
    if c_w != c or c % groups:
        raise ValueError(f"conv_transpose: weight {weight.shape} with groups={groups} does not fit {c} channels")
    stride, padding, output_padding, dilation = (_tuple(v, n_axes) for v in (stride, padding, output_padding,
                                                                               dilation))
    c_group = c // groups
    a = weight.reshape(groups, c_group, -1).transpose(0, 2, 1)
    b = x.reshape(n, groups, c_group, -1).transpose(1, 2, 0, 3).reshape(groups, c_group, -1)
    taps = matmul(a, b).reshape(groups, out_group, *kernel, n, *sizes)
    full = tuple((s - 1) * st + d * (k - 1) + 1 + o for s, st, d, k, o in zip(sizes, stride, dilation, kernel,
                                                                               output_padding))
    y = np.zeros((n, groups, out_group, *full), x.dtype)
    for tap in product(*map(range, kernel)):
        where = tuple(slice(t * d, t * d + (s - 1) * st + 1, st) for t, d, s, st in zip(tap, dilation, sizes, stride))
        y[(slice(None),) * 3 + where] += np.moveaxis(taps[(slice(None), slice(None), *tap)], 2, 0)
    crop = tuple(slice(p, f - p) for p, f in zip(padding, full))
    y = np.ascontiguousarray(y.reshape(n, groups * out_group, *full)[(slice(None), slice(None), *crop)])
    if bias is not None:
        y += bias.reshape(1, -1, *(1,) * n_axes)
    touched(inputs=[x], params=[weight, bias], outputs=[y])
    return y


def pool_nd(input, kind, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, norm=2) -> np.ndarray:
    """torch's max_pool1d / 3d and avg_pool1d / 3d (count_include_pad, as torch's default), any number of axes; and
    ONNX's LpPool (`kind` "lp", p = `norm`): (sum of |x|^p over the window)^(1/p), the padding zeros."""
    x, n_axes = input, input.ndim - 2
    k, p, d = (_tuple(v, n_axes) for v in (kernel_size, padding, dilation))
    s = _tuple(stride, n_axes) if stride is not None else k
    sizes = x.shape[2:]
    out = tuple(_out_len(sizes[a], k[a], s[a], p[a], d[a], ceil_mode) for a in range(n_axes))
    extra = tuple(max(0, (out[a] - 1) * s[a] + d[a] * (k[a] - 1) + 1 - (sizes[a] + 2 * p[a])) for a in range(n_axes))
    after = tuple(pa + e for pa, e in zip(p, extra))
    win = _windows(_padded(x, p, after, -np.inf if kind == "max" else 0.0), k, s, d, out)
    taps = tuple(range(2 + n_axes, 2 + 2 * n_axes))
    if kind == "max":
        y = win.max(axis=taps)
    elif kind == "lp":
        y = (np.abs(win.astype(np.float64)) ** norm).sum(axis=taps) ** (1.0 / norm)
        y = y.astype(x.dtype)
    else:
        divisor = np.ones(out, np.float32)
        for a in range(n_axes):
            shape = [1] * n_axes
            shape[a] = out[a]
            divisor = divisor * _avg_divisors(sizes[a], k[a], s[a], p[a], out[a], True).reshape(shape)
        y = (win.sum(axis=taps, dtype=np.float32) / divisor).astype(x.dtype)
    touched(inputs=[x], outputs=[y])
    return y


def elementwise(fn, *operands, params=(), learned=None, constants=()) -> np.ndarray:
    """`fn` folded over the operands with numpy's broadcasting (an n-ary sum: a + b + c); `params` are the learned
    operands among them (a bias, a position embedding), counted as parameters rather than activations (`learned`:
    the arrays they were gathered from, counted instead); `constants` are constant operands (a mask), counted as
    buffers."""
    with np.errstate(all="ignore"):
        out = operands[0]
        for other in operands[1:]:
            out = fn(out, other)
        out = np.array(out, dtype=np.float32)  # a new array, even for a cast
    apart = {id(p) for p in (*params, *constants)}
    touched(inputs=[x for x in operands if isinstance(x, np.ndarray) and id(x) not in apart],
            params=params if learned is None else learned, buffers=list(constants), outputs=[out])
    return out


def gathered(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """A learned table's values picked by a fixed index (a relative-position bias), counted with the op reading it."""
    return table.reshape(-1)[index]


def where(condition, x, y, constants=()) -> np.ndarray:
    """ONNX's Where: x where the condition holds, else y; `constants` are the operands that are not activations."""
    out = np.where(condition > 0, x, y).astype(np.float32)
    constant = {id(c) for c in constants}
    touched(inputs=[a for a in (condition, x, y) if id(a) not in constant], buffers=list(constants), outputs=[out])
    return out


_REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod,
           "l1": lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims),
           "l2": lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)),
           "sum_square": lambda x, axis, keepdims: np.sum(x * x, axis=axis, keepdims=keepdims),
           "log_sum_exp": lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims)),
           "log_sum": lambda x, axis, keepdims: np.log(np.sum(x, axis=axis, keepdims=keepdims))}


def reduce(input, kind, axes=None, keepdims=False) -> np.ndarray:
    """ONNX's Reduce<kind> over `axes` (numpy axes, the batch 0; every axis but the batch when None); argmax and
    argmin over several axes pick the flat index of the largest (smallest) over them."""
    axes = tuple(range(1, input.ndim)) if axes is None else tuple(a % input.ndim for a in axes)
    with np.errstate(all="ignore"):
        if kind in ("argmax", "argmin"):
            kept = [a for a in range(input.ndim) if a not in axes]
            moved = input.transpose(*kept, *axes).reshape(*(input.shape[a] for a in kept), -1)
            out = getattr(np, kind)(moved, axis=-1)
            if keepdims:
                out = np.expand_dims(out, axes)
        else:
            out = _REDUCE[kind](input, axis=axes, keepdims=keepdims)
    out = np.array(out, dtype=np.float32)
    touched(inputs=[input], outputs=[out])
    return out


def bmm(input, other) -> np.ndarray:
    """torch.matmul of two activations (batched over the leading axes): its multiply-adds counted by the tally."""
    out = matmul(input, other)
    touched(inputs=[input, other], outputs=[out])
    return out


def einsum(equation, *operands, params=()) -> np.ndarray:
    """np.einsum; a product of two operands performs one multiply-add per combination of every letter's value
    (the sizes read off the operands' own axes), one operand only moves or sums its elements."""
    left = equation.replace(" ", "").split("->")[0].split(",")
    sizes = {}
    for term, array in zip(left, operands):
        for letter, size in zip(term, array.shape):
            sizes[letter] = max(sizes.get(letter, 1), size)
    out = np.ascontiguousarray(np.einsum(equation, *operands), dtype=np.float32)
    if len(operands) == 2:
        matmul_done(prod(sizes.values()))
    learned = {id(p) for p in params}
    touched(inputs=[x for x in operands if id(x) not in learned], params=params, outputs=[out])
    return out


def _kept_or_copied(input, out) -> np.ndarray:
    """A view when one sample of it is still one contiguous block of memory, else a contiguous copy."""
    if out.shape[0] and not out[0].flags.c_contiguous:
        out = np.ascontiguousarray(out)
    touched(inputs=[input], outputs=[out])
    return out


def reshape(input, shape) -> np.ndarray:
    """torch's reshape of each sample (the batch kept first): a view of a contiguous input."""
    return _kept_or_copied(input, input.reshape(input.shape[0], *shape))


def permute(input, perm) -> np.ndarray:
    return _kept_or_copied(input, input.transpose(perm))


def slice_axis(input, axis, start, length, step=1) -> np.ndarray:
    """input[..., start:start + length * step:step, ...] along `axis`."""
    index = [slice(None)] * input.ndim
    index[axis] = slice(start, start + length * step, step)
    picked = input[tuple(index)]
    if picked.shape[0] and not picked[0].flags.c_contiguous:  # a copy: it reads the elements it takes, no others
        out = np.ascontiguousarray(picked)
        touched(inputs=[picked], outputs=[out])
        return out
    return _kept_or_copied(input, picked)


def _copied(input, out, buffers=(), read=None) -> np.ndarray:
    """`out` written as a new array from `input`, all of which was read (or the elements `read` stands for)."""
    out = np.array(out, copy=True)
    touched(inputs=[input if read is None else read], buffers=buffers, outputs=[out])
    return out


def expand(input, shape) -> np.ndarray:
    """ONNX's Expand: `input` broadcast to `shape` (per sample) and written out."""
    return _copied(input, np.broadcast_to(input, (input.shape[0], *np.broadcast_shapes(input.shape[1:], shape))))


def tile(input, repeats) -> np.ndarray:
    return _copied(input, np.tile(input, (1, *repeats)))


def gather(input, axis, index) -> np.ndarray:
    """np.take along `axis` by the integer array `index` (a buffer): its shape replaces the axis. It reads each
    element it picks, not the whole input (an array of that many elements stands for them in the tally)."""
    picked = np.take(input, index, axis=axis)
    return _copied(input, picked, buffers=[index], read=np.empty(picked.shape, dtype=np.bool_))


def depth_to_space(input, blocksize) -> np.ndarray:
    """ONNX's DepthToSpace (DCR): N x C x H x W -> N x C/b^2 x bH x bW."""
    n, c, h, w = input.shape
    b = blocksize
    moved = input.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    return _copied(input, moved.reshape(n, c // (b * b), h * b, w * b))


def space_to_depth(input, blocksize) -> np.ndarray:
    """ONNX's SpaceToDepth: N x C x H x W -> N x b^2 C x H/b x W/b."""
    n, c, h, w = input.shape
    b = blocksize
    moved = input.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return _copied(input, moved.reshape(n, c * b * b, h // b, w // b))


def col2im(x: np.ndarray, size, k, stride=1, pad=0, dilation=1) -> np.ndarray:
    """torch's F.fold: columns N x C*k_h*k_w x L added into N x C x h x w, one strided slice per kernel position."""
    (h, w), (kh, kw) = _tuple(size, 2), _tuple(k, 2)
    (sh, sw), (ph, pw), (dh, dw) = _tuple(stride, 2), _tuple(pad, 2), _tuple(dilation, 2)
    n, rows, length = x.shape
    bh, bw = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if rows % (kh * kw) or bh * bw != length:
        raise ValueError(f"col2im: {x.shape} is not columns of {kh}x{kw} blocks of a {h}x{w} image")
    cols = x.reshape(n, rows // (kh * kw), kh, kw, bh, bw)
    out = np.zeros((n, rows // (kh * kw), h + 2 * ph, w + 2 * pw), x.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh:i * dh + sh * (bh - 1) + 1:sh, j * dw:j * dw + sw * (bw - 1) + 1:sw] += cols[:, :, i, j]
    y = np.ascontiguousarray(out[:, :, ph:ph + h, pw:pw + w])
    touched(inputs=[x], outputs=[y])
    return y
