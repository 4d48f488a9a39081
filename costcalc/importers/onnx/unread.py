"""Computations on constants whose values costcalc does not read (weights and buffers: only their shapes are read)
or cannot evaluate, for `constants.fold`. Shape arithmetic on readable constants is `folding`'s; here:

- a product or an op `folding` has no rule for (MatMul, Conv, Gemm, Einsum, LayerNormalization, ...) on such
  constants is costed as layers, as the framework runs it at every forward (Swin V2's position-bias MLP on its
  coordinate table, EdgeNeXt's conv on its positional encoding): `lift` makes its first input a `constant`
  layer and the generic rule costs the node;
- an element-wise or rearranging op on them (a mask built by slice assignments and folded in part by the exporter)
  gives a constant of known shape and unknown values, without a layer (`unread`), as folding gives one of known
  values; the layers that read it count it as a constant operand (no parameters).
"""

from __future__ import annotations

from math import prod

import numpy as np

from costcalc.importers.onnx.folding import MAX_CONST_ELEMENTS
from costcalc.importers.onnx.naming import node_name
from costcalc.importers.onnx.reading import Const, Data, fmt

COSTED = {"MatMul", "Gemm", "Conv", "ConvTranspose", "Einsum"}  # multiply-adds: never folded away unread
ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "Where", "Equal", "Less", "Greater", "LessOrEqual",
               "GreaterOrEqual", "And", "Or", "Not", "Neg", "Abs", "Sqrt", "Exp", "Log", "Sin", "Cos", "Tanh",
               "Sigmoid", "Relu", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Cast", "Clip", "Concat"}
VIEWS = {"Slice", "Reshape", "Unsqueeze", "Squeeze", "Transpose", "Split", "Flatten"}  # numpy views: no memory
# the inputs whose values an op's output shape does not depend on (the others must be read)
DATA_INPUTS = {"Slice": (0,), "Reshape": (0,), "Gather": (0,), "Expand": (0,), "Tile": (0,), "Unsqueeze": (0,),
               "Squeeze": (0,), "Transpose": (0,), "Split": (0,), "Flatten": (0,), "CumSum": (0,),
               "ScatterND": (0, 2), "ReduceSum": (0,), "ReduceMean": (0,), "ReduceMax": (0,), "ReduceMin": (0,)}


def unread_inputs(imp, node) -> list:
    """The positions of the node's inputs whose values costcalc does not read: neither at hand nor in the file
    (a large initializer the file holds is read on demand when shape arithmetic needs it)."""
    return [k for k, t in enumerate(node.proto.input) if t and not imp.readable(imp.tensors[t])
            and not (t in imp.omitted and prod(imp.tensors[t].shape) <= MAX_CONST_ELEMENTS)]


def unread(imp, node, fn, unknown: list) -> bool:
    """Fold `node` on shapes alone when its output's shape does not depend on the unread inputs: a constant of
    unknown values (True), or False when it must be read or costed. A BatchNormalization of weights is a weight
    standardisation (NF-ResNet's ScaledStdConv2d: `F.batch_norm(weight.reshape(1, out, -1), training=True)`):
    the standardised weights have the weights' shape, its statistics one value per channel."""
    if node.op == "BatchNormalization" and unknown:
        shape = tuple(imp.tensors[node.proto.input[0]].shape)
        for k, _ in enumerate(node.proto.output):
            imp.set(node, k, Const(shape if k == 0 else shape[1:2], None, ""))
        return True
    allowed = range(len(node.proto.input)) if node.op in ELEMENTWISE else DATA_INPUTS.get(node.op, ())
    if fn is None or not unknown or node.op in COSTED or any(k not in allowed for k in unknown):
        return False
    shapes = [tuple(imp.tensors[t].shape) for t in node.proto.input if t]
    if node.op.startswith("Reduce") or node.op in ELEMENTWISE:  # weights standardised (NF-ResNet): shapes alone
        shape = _reduced(imp, node) if node.op.startswith("Reduce") else _joined(node, shapes) \
            if node.op == "Concat" else np.broadcast_shapes(*shapes)
        imp.set(node, 0, Const(tuple(shape), None, ""))
        return True
    if node.op not in VIEWS and any(prod(imp.tensors[node.proto.input[k]].shape) > MAX_CONST_ELEMENTS
                                    for k in unknown):
        imp.fail(node, "computes on a constant of more values than shape arithmetic needs "
                       f"({MAX_CONST_ELEMENTS:,}), whose values costcalc does not read")
    values = []
    for k, t in enumerate(node.proto.input):
        c = imp.tensors[t] if t else None
        values.append(None if c is None else np.broadcast_to(np.float32(0), c.shape) if k in unknown
                      else imp.const_value(node, c, f"input {k}"))
    try:
        with np.errstate(all="ignore"):
            results = fn(node, values)  # the views of zero-stride inputs allocate nothing
    except MemoryError:
        imp.fail(node, "computes on constants too large to follow, whose values costcalc does not read")
    for k, r in enumerate(results):  # a constant (a mask): no parameters, whatever it was computed from
        imp.set(node, k, Const(tuple(np.shape(r)), None, ""))
    return True


def _joined(node, shapes: list) -> tuple:
    axis = node.attrs.get("axis", 0) % len(shapes[0])
    return (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1:])


def _reduced(imp, node) -> tuple:
    """The shape of a Reduce* node's output, from its input's shape, axes and keepdims."""
    shape = tuple(imp.tensors[node.proto.input[0]].shape)
    axes = node.attrs.get("axes")
    if axes is None and len(node.proto.input) > 1 and node.proto.input[1]:
        axes = [int(a) for a in imp.value(node, 1, "axes")]
    if axes is None and node.attrs.get("noop_with_empty_axes", 0):
        return shape
    axes = {a % len(shape) for a in axes} if axes is not None else set(range(len(shape)))
    keep = imp.flag(node, "keepdims", 1)
    return tuple(1 if i in axes else d for i, d in enumerate(shape) if keep or i not in axes)


def lift(imp, node) -> None:
    """The node's first input as a `constant` layer (free, placed after the layer emitted before it), for the
    generic rule to cost the node on it. The file's batch is 1, or the constant's leading axis."""
    name = node.proto.input[0]
    shape = tuple(imp.tensors[name].shape)
    if len(shape) > 1 and shape[0] == imp.batch:
        place, sample = 0, shape[1:]
    elif imp.batch == 1 and shape:
        place, sample = None, shape
    else:
        imp.fail(node, f"computes on a constant of shape {fmt(shape)} alone in a file of batch {imp.batch}: costcalc "
                        "costs such a computation in a file of batch 1")
    place_after = imp.network
    if imp.layers and imp.layers[-1].outputs == 1:  # after the layer before it, in its module (a hand-written
        # spec's default), so that the module reads one tensor from outside (the hierarchy nests it)
        last = imp.layers[-1].name
        place_after = Data(imp.ref_shapes[last], last)
    out = imp.emit(node, imp.unique(node_name(name)), "constant", {"shape": sample}, [place_after],
                   note=f"'{name}', computed from weights alone")[0]
    out.batch_at = place
    imp.tensors[name] = out
