"""NCHW float32 numpy references of the ops that change H and W other than by a sliding window: transposed
convolution, interpolation, padding, adaptive pooling; and the channel slice (a view). torch.nn.functional's names
and arguments; each reports what it touched to the tallies."""

from __future__ import annotations

import numpy as np

from costcalc.reference.functional import _nchw, _pair
from costcalc.reference.tally import matmul, touched

__all__ = ["conv_transpose2d", "interpolate", "pad", "pad_axes", "cat_learned", "adaptive_avg_pool2d",
           "adaptive_max_pool2d", "narrow"]


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """One batched matmul (g, out/g * k_h * k_w, C/g) x (g, C/g, N * H * W) gives every input element's
    contribution to every tap; the taps are then added into the output, one strided slice per kernel position,
    and the border `padding` cropped off."""
    x = _nchw(input, "conv_transpose2d")
    n, c, h, w = x.shape
    c_w, out_group, k_h, k_w = weight.shape
    if c_w != c or c % groups:
        raise ValueError(f"conv_transpose2d: weight {weight.shape} with groups={groups} does not fit {c} channels")
    (s_h, s_w), (p_h, p_w), (o_h, o_w), (d_h, d_w) = (_pair(v) for v in (stride, padding, output_padding, dilation))
    c_group = c // groups
    a = weight.reshape(groups, c_group, out_group * k_h * k_w).transpose(0, 2, 1)
    b = x.reshape(n, groups, c_group, h * w).transpose(1, 2, 0, 3).reshape(groups, c_group, n * h * w)
    taps = matmul(a, b).reshape(groups, out_group, k_h, k_w, n, h, w)
    full_h, full_w = (h - 1) * s_h + d_h * (k_h - 1) + 1 + o_h, (w - 1) * s_w + d_w * (k_w - 1) + 1 + o_w
    full = np.zeros((n, groups, out_group, full_h, full_w), x.dtype)
    for i in range(k_h):
        for j in range(k_w):
            full[:, :, :, i * d_h: i * d_h + (h - 1) * s_h + 1: s_h, j * d_w: j * d_w + (w - 1) * s_w + 1: s_w] += \
                taps[:, :, i, j].transpose(2, 0, 1, 3, 4)
    out = np.ascontiguousarray(full.reshape(n, groups * out_group, full_h, full_w)[:, :, p_h: full_h - p_h,
                                                                                   p_w: full_w - p_w])
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    touched(inputs=[x], params=[weight, bias], outputs=[out])
    return out


def _sources(size: int, out: int, scale: float, mode: str):
    """For each output index along one axis: (lower source index, upper source index, weight of the upper)."""
    dst = np.arange(out, dtype=np.float64)
    if mode == "nearest":
        low = np.minimum(np.floor(dst * scale).astype(int), size - 1)
        return low, low, np.zeros(out)
    src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)  # align_corners=False
    low = np.minimum(np.floor(src).astype(int), size - 1)
    return low, np.minimum(low + 1, size - 1), src - low


CUBIC_A = -0.75  # torch's cubic convolution coefficient


def _cubic(size: int, out: int, scale: float):
    """For each output index along one axis: the 4 source indices (clamped at the edges) and their weights."""
    src = (np.arange(out, dtype=np.float64) + 0.5) * scale - 0.5
    low = np.floor(src).astype(int)
    t = src - low
    a = CUBIC_A

    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    weights = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1).astype(np.float32)
    index = np.clip(low[:, None] + np.arange(-1, 3)[None, :], 0, size - 1)
    return index, weights


def interpolate(input, size=None, scale_factor=None, mode="nearest"):
    """torch.nn.functional.interpolate for 'nearest', 'bilinear' and 'bicubic' (align_corners=False): an output
    position maps back by the given scale factor (or by in / out for a size)."""
    x = _nchw(input, "interpolate")
    h, w = x.shape[2:]
    if size is not None:
        size = _pair(size)
        scales = (h / size[0], w / size[1])
    else:
        factor = (float(scale_factor),) * 2 if np.isscalar(scale_factor) else tuple(map(float, scale_factor))
        size = (int(np.floor(h * factor[0])), int(np.floor(w * factor[1])))
        scales = (1 / factor[0], 1 / factor[1])
    if mode == "bicubic":
        (rows, wr), (cols, wc) = _cubic(h, size[0], scales[0]), _cubic(w, size[1], scales[1])
        taps = x[:, :, rows][:, :, :, :, cols]  # N x C x out_h x 4 x out_w x 4
        out = np.einsum("ncitju,it,ju->ncij", taps, wr, wc).astype(x.dtype)
        touched(inputs=[x], outputs=[out])
        return out
    r0, r1, wr = _sources(h, size[0], scales[0], mode)
    c0, c1, wc = _sources(w, size[1], scales[1], mode)
    if mode == "nearest":
        out = x[:, :, r0][:, :, :, c0]
    else:
        wr, wc = wr.astype(np.float32)[:, None], wc.astype(np.float32)[None, :]
        top = x[:, :, r0][:, :, :, c0] * (1 - wc) + x[:, :, r0][:, :, :, c1] * wc
        bottom = x[:, :, r1][:, :, :, c0] * (1 - wc) + x[:, :, r1][:, :, :, c1] * wc
        out = (top * (1 - wr) + bottom * wr).astype(x.dtype)
    touched(inputs=[x], outputs=[out])
    return out


def pad_axes(input, pads, value=0.0):
    """Constant padding of any axes: `pads` the amounts before each axis of a sample, then after each."""
    rank = input.ndim - 1
    widths = [(0, 0)] + [(pads[i], pads[i + rank]) for i in range(rank)]
    out = np.pad(input, widths, constant_values=value)
    touched(inputs=[input], outputs=[out])
    return out


def cat_learned(token, tensors, dim=1):
    """A learned tensor (one per sample, shared by the batch: a class token) joined before the tensors."""
    first = np.broadcast_to(token, (tensors[0].shape[0], *token.shape))
    out = np.concatenate([first, *tensors], axis=dim)
    touched(inputs=list(tensors), params=[token], outputs=[out])
    return out


def pad(input, pad, mode="constant", value=0.0):
    """torch.nn.functional.pad on H and W: pad = (left, right, top, bottom)."""
    if mode != "constant":
        raise NotImplementedError("the reference pads with a constant only")
    left, right, top, bottom = pad
    out = np.pad(input, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)
    touched(inputs=[input], outputs=[out])
    return out


def _adaptive(x: np.ndarray, output_size, reduce) -> np.ndarray:
    x = _nchw(x, "adaptive pool")
    (h, w), (oh, ow) = x.shape[2:], _pair(output_size)
    out = np.empty((*x.shape[:2], oh, ow), x.dtype)
    for i in range(oh):  # torch's windows: floor(i * h / oh) to ceil((i + 1) * h / oh)
        r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        for j in range(ow):
            c0, c1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            out[:, :, i, j] = reduce(x[:, :, r0:r1, c0:c1])
    touched(inputs=[x], outputs=[out])
    return out


def adaptive_avg_pool2d(input, output_size):
    return _adaptive(input, output_size, lambda win: win.mean(axis=(2, 3), dtype=np.float32))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    if return_indices:
        raise NotImplementedError("return_indices is not supported")
    return _adaptive(input, output_size, lambda win: win.max(axis=(2, 3)))


def narrow(input, dim, start, length):
    """torch.narrow: a view of `length` entries of axis `dim` from `start`; nothing moves."""
    index = [slice(None)] * input.ndim
    index[dim] = slice(start, start + length)
    out = input[tuple(index)]
    touched(inputs=[input], outputs=[out])
    return out
