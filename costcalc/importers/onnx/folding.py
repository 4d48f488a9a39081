"""Constant folding: the shape arithmetic exporters emit (torch's `x.size()` -> Shape, Gather, Unsqueeze, Concat
-> Reshape) evaluated with numpy while importing. Each function takes the node and its inputs' values and returns
its outputs' values; it produces no layer."""

from __future__ import annotations

from functools import reduce
from math import prod

import numpy as np

MAX_CONST_ELEMENTS = 1_000_000  # a folded shape computation never needs more


def _constant(node, values):
    from onnx import numpy_helper

    a = node.attrs
    if "value" in a:
        return [numpy_helper.to_array(a["value"])]
    if "value_int" in a:
        return [np.array(a["value_int"], dtype=np.int64)]
    if "value_ints" in a:
        return [np.array(a["value_ints"], dtype=np.int64)]
    if "value_float" in a:
        return [np.array(a["value_float"], dtype=np.float32)]
    if "value_floats" in a:
        return [np.array(a["value_floats"], dtype=np.float32)]
    raise ValueError("a Constant without a value costcalc reads")


def _axes(node, values, k=1):
    axes = node.attrs.get("axes")
    if axes is None and len(values) > k and values[k] is not None:
        axes = [int(a) for a in values[k]]
    return axes


def _unsqueeze(node, values):
    x = values[0]
    axes = sorted(a % (x.ndim + len(_axes(node, values))) for a in _axes(node, values))
    for a in axes:
        x = np.expand_dims(x, a)
    return [x]


def _squeeze(node, values):
    axes = _axes(node, values)
    return [np.squeeze(values[0], axis=None if axes is None else tuple(axes))]


def _slice(node, values):
    x = values[0]
    if len(values) == 1:
        starts, ends, axes, steps = node.attrs["starts"], node.attrs["ends"], node.attrs.get("axes"), None
    else:
        starts, ends = values[1], values[2]
        axes = values[3] if len(values) > 3 else None
        steps = values[4] if len(values) > 4 else None
    axes = range(len(starts)) if axes is None else axes
    index = [slice(None)] * x.ndim
    for i, axis in enumerate(axes):
        step = 1 if steps is None else int(steps[i])
        index[int(axis)] = slice(int(starts[i]), int(ends[i]), step)
    return [x[tuple(index)]]


def _div(node, values):
    a, b = values
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        return [np.trunc(a / b).astype(a.dtype)]
    return [a / b]


def _reshape(node, values):
    x, shape = values[0], [int(d) for d in values[1]]
    shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [x.reshape(shape)]


def _cast(node, values):
    from onnx import helper

    return [values[0].astype(helper.tensor_dtype_to_np_dtype(node.attrs["to"]))]


def _split(node, values):
    x, axis = values[0], node.attrs.get("axis", 0)
    sizes = node.attrs.get("split")
    if sizes is None and len(values) > 1 and values[1] is not None:
        sizes = [int(s) for s in values[1]]
    n = len(node.proto.output)
    if sizes is None:
        return np.array_split(x, n, axis=axis)
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def _bounded_shape(dims) -> list:
    shape = [int(d) for d in np.atleast_1d(dims)]
    if prod(max(d, 1) for d in shape) > MAX_CONST_ELEMENTS:
        raise ValueError(f"a constant of shape {shape} is beyond what shape arithmetic needs")
    return shape


def _bounded_range(start, limit, delta):
    if delta == 0 or abs((limit - start) / delta) > MAX_CONST_ELEMENTS:
        raise ValueError(f"a range from {start} to {limit} by {delta} is beyond what shape arithmetic needs")
    return start, limit, delta


def _constant_of_shape(node, values):
    from onnx import numpy_helper

    fill = numpy_helper.to_array(node.attrs["value"]) if "value" in node.attrs else np.zeros(1, np.float32)
    shape = [int(d) for d in values[0]]
    if prod(shape) > MAX_CONST_ELEMENTS:
        raise ValueError(f"a constant of shape {shape} is too large")
    return [np.full(shape, fill.reshape(-1)[0], dtype=fill.dtype)]


def _clip(node, values):
    """Clip: bounds as inputs (opset 11 on) or attributes (before)."""
    low = values[1] if len(values) > 1 and values[1] is not None else node.attrs.get("min")
    high = values[2] if len(values) > 2 and values[2] is not None else node.attrs.get("max")
    x = values[0]
    if low is not None:
        x = np.maximum(x, np.asarray(low, dtype=x.dtype))
    if high is not None:
        x = np.minimum(x, np.asarray(high, dtype=x.dtype))
    return [x]


FOLD_OPS = {
    "Constant": _constant,
    "Identity": lambda node, v: [v[0]],
    "Cast": _cast,
    "CastLike": lambda node, v: [v[0].astype(v[1].dtype)],
    "Gather": lambda node, v: [np.take(v[0], v[1].astype(np.int64), axis=node.attrs.get("axis", 0))],
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda node, v: [np.concatenate([np.atleast_1d(x) for x in v], axis=node.attrs.get("axis", 0))],
    "Slice": _slice,
    "Reshape": _reshape,
    "Split": _split,
    "Transpose": lambda node, v: [np.transpose(v[0], node.attrs.get("perm"))],
    "Add": lambda node, v: [v[0] + v[1]],
    "Sub": lambda node, v: [v[0] - v[1]],
    "Mul": lambda node, v: [v[0] * v[1]],
    "Div": _div,
    "Neg": lambda node, v: [-v[0]],
    "Floor": lambda node, v: [np.floor(v[0])],
    "Ceil": lambda node, v: [np.ceil(v[0])],
    "Sqrt": lambda node, v: [np.sqrt(v[0])],
    "Min": lambda node, v: [reduce(np.minimum, v)],  # variadic, broadcasting: a list of shapes
    "Max": lambda node, v: [reduce(np.maximum, v)],
    "Equal": lambda node, v: [np.equal(v[0], v[1])],
    "Where": lambda node, v: [np.where(v[0], v[1], v[2])],
    "Range": lambda node, v: [np.arange(*_bounded_range(v[0].item(), v[1].item(), v[2].item()))],
    "Expand": lambda node, v: [v[0] * np.ones(_bounded_shape(v[1]), dtype=v[0].dtype)],
    "ConstantOfShape": _constant_of_shape,
    "Size": lambda node, v: [np.array(v[0].size, dtype=np.int64)],
    "Clip": _clip,
    "Abs": lambda node, v: [np.abs(v[0])],
    "Mod": lambda node, v: [np.fmod(v[0], v[1]) if node.attrs.get("fmod", 0) else np.mod(v[0], v[1])],
    "Less": lambda node, v: [np.less(v[0], v[1])],
    "Greater": lambda node, v: [np.greater(v[0], v[1])],
    "LessOrEqual": lambda node, v: [np.less_equal(v[0], v[1])],
    "GreaterOrEqual": lambda node, v: [np.greater_equal(v[0], v[1])],
    "Not": lambda node, v: [np.logical_not(v[0])],
    "And": lambda node, v: [np.logical_and(v[0], v[1])],
    "Or": lambda node, v: [np.logical_or(v[0], v[1])],
}


def _reduce(fn):
    def fold(node, values):
        axes = _axes(node, values)
        if axes is None and node.attrs.get("noop_with_empty_axes", 0):
            return [values[0]]
        keep = bool(node.attrs.get("keepdims", 1))
        return [fn(values[0], axis=None if axes is None else tuple(axes), keepdims=keep)]

    return fold


def _softmax(node, values):
    x = values[0]
    axis = node.attrs.get("axis", -1)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return [e / e.sum(axis=axis, keepdims=True)]


# the arithmetic of positional encodings and attention scales, computed from constants alone
FOLD_OPS.update({
    "Pow": lambda node, v: [np.power(v[0], v[1])],
    "Exp": lambda node, v: [np.exp(v[0])],
    "Log": lambda node, v: [np.log(v[0])],
    "Sin": lambda node, v: [np.sin(v[0])],
    "Cos": lambda node, v: [np.cos(v[0])],
    "Tanh": lambda node, v: [np.tanh(v[0])],
    "Sigmoid": lambda node, v: [1 / (1 + np.exp(-v[0]))],
    "Relu": lambda node, v: [np.maximum(v[0], 0)],
    "Reciprocal": lambda node, v: [1 / v[0]],
    "Sign": lambda node, v: [np.sign(v[0])],
    "Round": lambda node, v: [np.round(v[0])],
    "CumSum": lambda node, v: [np.cumsum(v[0], axis=int(np.asarray(v[1]).reshape(-1)[0]))],
    "Tile": lambda node, v: [np.tile(v[0], [int(r) for r in v[1]])],
    "Flatten": lambda node, v: [v[0].reshape(prod(v[0].shape[:node.attrs.get("axis", 1)]), -1)],
    "MatMul": lambda node, v: [np.matmul(v[0], v[1])],
    "ReduceSum": _reduce(np.sum),
    "ReduceMean": _reduce(np.mean),
    "ReduceMax": _reduce(np.max),
    "ReduceMin": _reduce(np.min),
    "ReduceProd": _reduce(np.prod),
    "Softmax": _softmax,
    "IsNaN": lambda node, v: [np.isnan(v[0])],
    "IsInf": lambda node, v: [np.isinf(v[0])],
    "Xor": lambda node, v: [np.logical_xor(v[0], v[1])],
})


def _scatter_nd(node, values):
    data, indices, updates = values[0].copy(), values[1].astype(np.int64), values[2]
    k = indices.shape[-1]
    flat = indices.reshape(-1, k)
    updates = updates.reshape(flat.shape[0], *data.shape[k:])
    for i, index in enumerate(flat):
        data[tuple(index)] = updates[i]
    return [data]


FOLD_OPS["ScatterND"] = _scatter_nd


def _gather_nd(node, values):
    if node.attrs.get("batch_dims", 0):
        raise ValueError("GatherND with batch_dims on constants")
    data, index = values[0], values[1].astype(np.int64)
    return [data[tuple(np.moveaxis(index, -1, 0))]]


FOLD_OPS["GatherND"] = _gather_nd
