"""numpy references of the generic tensor layer's part three (costcalc.ops.tensor_more), batch first, as ONNX
defines them: CumSum / CumProd, Hardmax, Trilu, LpNormalization, LRN, GatherElements, ScatterElements and TopK (its
indices as floats, as the exporter casts them). An index is a buffer the exporter writes as the same values."""

from __future__ import annotations

import numpy as np

from costcalc.reference.tally import touched
from costcalc.reference.tensors import col2im


def _done(inputs, out, buffers=(), read=None):
    touched(inputs=[read] if read is not None else inputs, buffers=list(buffers), outputs=[out])
    return out


def scan(x, axis, exclusive=False, reverse=False, product=False) -> np.ndarray:
    y = np.flip(x, axis) if reverse else x
    fn, start = (np.cumprod, 1.0) if product else (np.cumsum, 0.0)
    y = fn(y, axis=axis, dtype=np.float32)
    if exclusive:  # each output leaves its own element out: shifted by one, the first the identity
        y = np.concatenate([np.full_like(np.take(y, [0], axis=axis), start),
                            np.take(y, range(y.shape[axis] - 1), axis=axis)], axis=axis)
    y = np.ascontiguousarray(np.flip(y, axis) if reverse else y, dtype=np.float32)
    return _done([x], y)


def hardmax(x, axis) -> np.ndarray:
    index = np.expand_dims(np.argmax(x, axis=axis), axis)
    y = np.zeros_like(x)
    np.put_along_axis(y, index, 1.0, axis=axis)
    return _done([x], y)


def trilu(x, upper=True, k=0) -> np.ndarray:
    return _done([x], np.ascontiguousarray((np.triu if upper else np.tril)(x, k)))


def lp_normalization(x, axis, p) -> np.ndarray:
    norm = np.sum(np.abs(x), axis=axis, keepdims=True) if p == 1 else np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    with np.errstate(all="ignore"):
        return _done([x], (x / norm).astype(np.float32))


def lrn(x, size, alpha, beta, bias) -> np.ndarray:
    c = x.shape[1]
    squares = x * x
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    window = np.stack([squares[:, max(0, i - before):min(c, i + after + 1)].sum(axis=1) for i in range(c)], axis=1)
    return _done([x], (x / (bias + alpha / size * window) ** beta).astype(np.float32))


def gather_elements(x, axis, index) -> np.ndarray:
    picked = np.take_along_axis(x, index, axis=axis)
    return _done([x], np.ascontiguousarray(picked), buffers=[index], read=np.empty(picked.shape, dtype=np.bool_))


def scatter(x, updates, index, reduction="none") -> np.ndarray:
    """ONNX's ScatterElements along the last axis by `index` (the updates' shape), each position once."""
    y = x.copy()
    if reduction == "none":
        np.put_along_axis(y, index, updates, axis=-1)
    else:
        current = np.take_along_axis(y, index, axis=-1)
        fn = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}[reduction]
        np.put_along_axis(y, index, fn(current, updates), axis=-1)
    touched(inputs=[x, updates], buffers=[index], outputs=[y])
    return y


def topk(x, k, axis, largest=True) -> tuple:
    order = np.argsort(-x if largest else x, axis=axis, kind="stable")
    index = np.take(order, range(k), axis=axis)
    values = np.ascontiguousarray(np.take_along_axis(x, index, axis=axis))
    index = index.astype(np.float32)
    touched(inputs=[x], outputs=[values, index])
    return values, index


def scatter_index(updates_shape: tuple, batch: int) -> np.ndarray:
    """The exporter's and the reference's index of a scatter: 0, 1, 2, ... along the last axis (each once)."""
    full = (batch, *updates_shape)
    return np.broadcast_to(np.arange(full[-1], dtype=np.int64), full).copy()


def _gather_elements(rng, args, x):
    axis = args["axis"] % x.ndim
    shape = (x.shape[0], *(args["index"] or x.shape[1:]))
    index = rng.integers(0, x.shape[axis], shape, dtype=np.int64)
    return (gather_elements(x, axis, index),), ()


def _scatter(rng, args, x, updates):
    return (scatter(x, updates, scatter_index(updates.shape[1:], x.shape[0]), args["reduction"]),), ()


def _elementwise(fn):
    return lambda rng, args, x: ((_done([x], fn(x).astype(np.float32)),), ())


MORE_RUNNERS = {
    "col2im": lambda rng, args, x: ((col2im(x, args["size"], args["k"], args["stride"], args["pad"],
                                            args["dilation"]),), ()),
    # ONNX's defaults, which the exporter writes: ThresholdedRelu alpha 1, Shrink lambd 0.5 and bias 0
    "thresholded_relu": _elementwise(lambda x: np.where(x > 1, x, 0)),
    "shrink": _elementwise(lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    "cumsum": lambda rng, args, x: ((scan(x, args["axis"], args["exclusive"], args["reverse"]),), ()),
    "cumprod": lambda rng, args, x: ((scan(x, args["axis"], args["exclusive"], args["reverse"], product=True),), ()),
    "hardmax": lambda rng, args, x: ((hardmax(x, args["axis"]),), ()),
    "trilu": lambda rng, args, x: ((trilu(x, args["upper"], args["k"]),), ()),
    "lp_normalization": lambda rng, args, x: ((lp_normalization(x, args["axis"], args["p"]),), ()),
    "lrn": lambda rng, args, x: ((lrn(x, args["size"], args["alpha"], args["beta"], args["bias"]),), ()),
    "gather_elements": _gather_elements,
    "scatter": _scatter,
    "topk": lambda rng, args, x: (topk(x, args["k"], args["axis"], args["largest"]), ()),
}
