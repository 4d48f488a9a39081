"""NCHW float32 numpy implementations of every op of the spec language, with torch.nn.functional's semantics and
argument names, so that anyone can hold them against a framework. Each op reports what it did to the active
tallies (costcalc.reference.tally): the multiply-adds of its matmuls and the elements of the arrays it read and
wrote. Shapes here are computed from the arrays, never taken from costcalc.ops.

Convolution is im2col by stride tricks: a strided view of the (padded) input, copied into a (groups, K, N*H*W)
column matrix, and one batched matmul against the (groups, out/groups, K) weights, run a slice of groups at a time
so that each slice of the column matrix is still in cache when it is multiplied (faster than one 30 MB copy
then one matmul, on a ResNeXt stage-1 conv). No Python loop runs over pixels or channels.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from costcalc.reference.tally import matmul, matmul_done, touched

__all__ = [
    "set_threads", "conv2d", "linear",
    "batch_norm", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardsigmoid",
    "hardswish", "scale", "max_pool2d", "avg_pool2d", "mean", "add", "mul", "cat", "split",
    "channel_shuffle", "index_select", "flatten", "dropout", "identity",
]


def _pair(v) -> tuple:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def _nchw(x: np.ndarray, op: str) -> np.ndarray:
    if x.ndim != 4:
        raise ValueError(f"{op} takes an N x C x H x W array, got shape {x.shape}")
    return x


def _windows(xp: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, out: tuple) -> np.ndarray:
    """A read-only (N, C, H_out, W_out, k_h, k_w) view of the sliding windows of padded `xp`: no copy."""
    n, c = xp.shape[:2]
    s_n, s_c, s_h, s_w = xp.strides
    return as_strided(xp, (n, c, out[0], out[1], kernel[0], kernel[1]),
                      (s_n, s_c, s_h * stride[0], s_w * stride[1], s_h * dilation[0], s_w * dilation[1]),
                      writeable=False)


def _out_len(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool,
             pad_end: int | None = None) -> int:
    """torch's output length: floor (or ceil) of (size + 2 pad - dilation (kernel - 1) - 1) / stride + 1, where a
    ceil_mode window must start inside the input or its left padding; `pad_end` (ONNX's asymmetric pads) replaces
    the second `pad`."""
    padded = size + pad + (pad if pad_end is None else pad_end)
    span = padded - dilation * (kernel - 1) - 1
    n = (span + stride - 1) // stride + 1 if ceil_mode else span // stride + 1
    if ceil_mode and (n - 1) * stride >= size + pad:
        n -= 1
    if n < 1 or (span < 0 and not ceil_mode):
        raise ValueError(f"kernel {kernel} (dilation {dilation}) does not fit the padded length {padded}")
    return n


def _end(padding: tuple, padding_end) -> tuple:
    return padding if padding_end is None else _pair(padding_end)


def _pad(x: np.ndarray, pad: tuple, value: float, extra: tuple = (0, 0)) -> np.ndarray:
    """`x` with `pad` on each side of H and W (and `extra` more at the bottom and right), filled with `value`."""
    if not any(pad) and not any(extra):
        return x
    return np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0] + extra[0]), (pad[1], pad[1] + extra[1])),
                  constant_values=value)


_WORKSPACES: list = []  # one scratch array per worker thread
CHUNK_BYTES = 1 << 20  # a slice of the column matrix this large stays in cache between its copy and its matmul
_THREADS = [1, None]  # worker threads of conv2d, and their pool


def set_threads(threads: int) -> None:
    """Run conv2d's slices on `threads` threads (numpy releases the GIL in its copies and matmuls). Give BLAS one
    thread of its own (OPENBLAS_NUM_THREADS=1) when you raise this, or the two multiply."""
    if threads < 1:
        raise ValueError("threads must be at least 1")
    if _THREADS[1] is not None:
        _THREADS[1].shutdown()
    _THREADS[:] = [threads, None]


def _workspace(worker: int, shape: tuple, dtype) -> np.ndarray:
    """A scratch array for im2col's column matrix, reused from call to call: a fresh array per conv would cost
    more in page faults than the copy into it."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    while len(_WORKSPACES) <= worker:
        _WORKSPACES.append(np.empty(0, np.uint8))
    if _WORKSPACES[worker].size < nbytes:
        _WORKSPACES[worker] = np.empty(nbytes, np.uint8)
    return _WORKSPACES[worker][:nbytes].view(dtype).reshape(shape)


def _map(fn, parts: list) -> None:
    threads = min(_THREADS[0], len(parts))
    if threads == 1:
        fn(0, parts)
        return
    if _THREADS[1] is None:
        from concurrent.futures import ThreadPoolExecutor

        _THREADS[1] = ThreadPoolExecutor(_THREADS[0])
    for done in [_THREADS[1].submit(fn, worker, parts[worker::threads]) for worker in range(threads)]:
        done.result()


# ---- convolution and linear ---------------------------------------------------------------------------------


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_end=None) -> np.ndarray:
    x = _nchw(input, "conv2d")
    n, c, h, w = x.shape
    out_c, c_group, k_h, k_w = weight.shape
    if c != c_group * groups or out_c % groups:
        raise ValueError(f"conv2d: weight {weight.shape} with groups={groups} does not fit input channels {c}")
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    end = _end(padding, padding_end)
    h_out = _out_len(h, k_h, stride[0], padding[0], dilation[0], False, end[0])
    w_out = _out_len(w, k_w, stride[1], padding[1], dilation[1], False, end[1])
    extra = (end[0] - padding[0], end[1] - padding[1])
    win = _windows(_pad(x, padding, 0.0, extra), (k_h, k_w), stride, dilation, (h_out, w_out))
    win = win.reshape(n, groups, c_group, h_out, w_out, k_h, k_w)
    # the column matrix (G, C/G * kh * kw, N * Ho * Wo), built and multiplied a slice of groups at a time
    length, columns = c_group * k_h * k_w, n * h_out * w_out
    step = max(1, min(groups, CHUNK_BYTES // (length * columns * x.dtype.itemsize)))
    weights = weight.reshape(groups, out_c // groups, length)
    out = np.empty((groups, out_c // groups, columns), np.result_type(x, weight))

    def slices(worker: int, starts: list) -> None:
        cols = _workspace(worker, (step, c_group, k_h, k_w, n, h_out, w_out), x.dtype)
        for g in starts:
            m = min(step, groups - g)
            np.copyto(cols[:m], win[:, g:g + m].transpose(1, 2, 5, 6, 0, 3, 4))
            np.matmul(weights[g:g + m], cols[:m].reshape(m, length, columns), out=out[g:g + m])

    _map(slices, list(range(0, groups, step)))
    matmul_done(out.size * length)
    out = np.ascontiguousarray(out.reshape(out_c, n, h_out, w_out).transpose(1, 0, 2, 3))
    if bias is not None:
        out += bias.reshape(1, out_c, 1, 1)
    touched(inputs=[x], params=[weight, bias], outputs=[out])
    return out


def linear(input, weight, bias=None) -> np.ndarray:
    out = matmul(input, weight.T)
    if bias is not None:
        out += bias
    touched(inputs=[input], params=[weight, bias], outputs=[out])
    return out


# ---- normalisation and element-wise ops ---------------------------------------------------------------------


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Inference batch normalisation: (x - mean) / sqrt(var + eps) * weight + bias, per channel."""
    if training:
        raise NotImplementedError("the reference runs inference only (training=False)")
    c = input.shape[1]
    shape = (1, c) + (1,) * (input.ndim - 2)
    scale_ = 1.0 / np.sqrt(running_var + np.float32(eps))
    if weight is not None:
        scale_ = scale_ * weight
    shift = -running_mean * scale_
    if bias is not None:
        shift = shift + bias
    out = input * scale_.astype(input.dtype).reshape(shape) + shift.astype(input.dtype).reshape(shape)
    touched(inputs=[input], params=[weight, bias], buffers=[running_mean, running_var], outputs=[out])
    return out


def _unary(fn, input) -> np.ndarray:
    out = np.asarray(fn(input), dtype=input.dtype)
    touched(inputs=[input], outputs=[out])
    return out


def relu(input, inplace=False):
    return _unary(lambda x: np.maximum(x, 0), input)


def relu6(input, inplace=False):
    return _unary(lambda x: np.clip(x, 0, 6), input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _unary(lambda x: np.where(x >= 0, x, x * np.float32(negative_slope)), input)


def sigmoid(input):
    return _unary(lambda x: 1 / (1 + np.exp(-x)), input)


def tanh(input):
    return _unary(np.tanh, input)


def silu(input, inplace=False):
    return _unary(lambda x: x / (1 + np.exp(-x)), input)


def hardsigmoid(input, inplace=False):
    return _unary(lambda x: np.clip(x + 3, 0, 6) / 6, input)


def hardswish(input, inplace=False):
    return _unary(lambda x: x * np.clip(x + 3, 0, 6) / 6, input)


def scale(input, factor):
    """input * factor (a constant: Inception-ResNet's residual scaling); torch spells it `input * factor`."""
    return _unary(lambda x: x * np.float32(factor), input)


# ---- pooling ------------------------------------------------------------------------------------------------


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               padding_end=None):
    if return_indices:
        raise NotImplementedError("return_indices is not supported")
    x = _nchw(input, "max_pool2d")
    k, p, d = _pair(kernel_size), _pair(padding), _pair(dilation)
    s = _pair(stride) if stride is not None else k
    end = _end(p, padding_end)
    out_hw = tuple(_out_len(x.shape[2 + a], k[a], s[a], p[a], d[a], ceil_mode, end[a]) for a in (0, 1))
    # padding at the far side: `end`, and more for ceil_mode's last, partial window (it never reads only padding)
    extra = tuple(max(end[a], (out_hw[a] - 1) * s[a] + d[a] * (k[a] - 1) + 1 - x.shape[2 + a] - p[a]) - p[a]
                  for a in (0, 1))
    win = _windows(_pad(x, p, -np.inf, extra), k, s, d, out_hw)
    out = win.max(axis=(4, 5))
    touched(inputs=[x], outputs=[out])
    return out


def _avg_divisors(size: int, kernel: int, stride: int, pad: int, n_out: int, include_pad: bool,
                  pad_end: int | None = None) -> np.ndarray:
    """torch's divisor per output position along one axis: the window clipped to the padded input (or, without
    count_include_pad, to the input itself)."""
    start = np.arange(n_out) * stride - pad
    end = np.minimum(start + kernel, size + (pad if pad_end is None else pad_end))
    if not include_pad:
        start, end = np.maximum(start, 0), np.minimum(end, size)
    return (end - start).astype(np.float32)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, padding_end=None):
    x = _nchw(input, "avg_pool2d")
    k, p = _pair(kernel_size), _pair(padding)
    s = _pair(stride) if stride is not None else k
    end = _end(p, padding_end)
    out_hw = tuple(_out_len(x.shape[2 + a], k[a], s[a], p[a], 1, ceil_mode, end[a]) for a in (0, 1))
    extra = tuple(max(end[a], (out_hw[a] - 1) * s[a] + k[a] - x.shape[2 + a] - p[a]) - p[a] for a in (0, 1))
    win = _windows(_pad(x, p, 0.0, extra), k, s, (1, 1), out_hw)
    total = win.sum(axis=(4, 5), dtype=np.float32)
    if divisor_override:
        out = total / np.float32(divisor_override)
    else:
        div_h, div_w = (_avg_divisors(x.shape[2 + a], k[a], s[a], p[a], out_hw[a], count_include_pad, end[a])
                        for a in (0, 1))
        out = total / np.outer(div_h, div_w)
    out = out.astype(x.dtype, copy=False)
    touched(inputs=[x], outputs=[out])
    return out


def mean(input, dim, keepdim=False):
    """torch.mean(input, dim, keepdim): the average over the axes `dim` (ShuffleNetV2 pools with x.mean([2, 3]))."""
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    out = np.asarray(input.mean(axis=dims, keepdims=keepdim, dtype=np.float32), dtype=input.dtype)
    touched(inputs=[input], outputs=[out])
    return out


# ---- combining and rearranging ------------------------------------------------------------------------------


def add(input, *others):
    """torch.add(input, other), extended to any number of operands summed into one output array."""
    out = input + others[0]
    for other in others[1:]:
        np.add(out, other, out=out)
    touched(inputs=[input, *others], outputs=[out])
    return out


def mul(input, other):
    """torch.mul: element-wise, with numpy / torch broadcasting (an N x C x 1 x 1 gate over N x C x H x W)."""
    out = np.multiply(input, other)
    touched(inputs=[input, other], outputs=[out])
    return out


def cat(tensors, dim=1):
    out = np.concatenate(tensors, axis=dim)
    touched(inputs=list(tensors), outputs=[out])
    return out


def split(tensor, split_size_or_sections, dim=1) -> tuple:
    """torch.split. Unlike torch (which returns views), each part is a new array: the memory access convention
    (ShuffleNet V2) has a split read its input and write its outputs."""
    size = tensor.shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise ValueError(f"split sections {sections} do not sum to {size}")
    else:
        step = int(split_size_or_sections)
        sections = [min(step, size - start) for start in range(0, size, step)]
    bounds = np.cumsum(sections)[:-1]
    parts = tuple(part.copy() for part in np.split(tensor, bounds, axis=dim))
    touched(inputs=[tensor], outputs=parts)
    return parts


def channel_shuffle(input, groups):
    """ShuffleNet's shuffle: reshape to (N, g, C/g, H, W), swap the two channel axes, reshape back."""
    n, c = input.shape[:2]
    if c % groups:
        raise ValueError(f"channel_shuffle: groups={groups} does not divide {c} channels")
    rest = input.shape[2:]
    out = np.empty_like(input)
    out.reshape(n, c // groups, groups, *rest)[...] = input.reshape(n, groups, c // groups, *rest).swapaxes(1, 2)
    touched(inputs=[input], outputs=[out])
    return out


def index_select(input, dim, index):
    """torch.index_select: the entries `index` (a buffer of ints) of axis `dim`, in that order, into a new array
    (CondenseNet's channel selection)."""
    out = np.take(input, index, axis=dim)
    touched(inputs=[input], buffers=[index], outputs=[out])
    return out


def flatten(input, start_dim=1, end_dim=-1):
    """A view of a contiguous input (no element moves), like torch.flatten."""
    end = end_dim % input.ndim
    out = input.reshape(*input.shape[:start_dim], -1, *input.shape[end + 1:])
    touched(inputs=[input], outputs=[out])
    return out


def dropout(input, p=0.5, training=False, inplace=False):
    if training:
        raise NotImplementedError("the reference runs inference only (training=False)")
    touched(inputs=[input], outputs=[input])
    return input


def identity(input):
    touched(inputs=[input], outputs=[input])
    return input
