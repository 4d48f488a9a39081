"""The generic layer of the importer: one rule per standard ONNX op type, at any rank, onto costcalc's generic ops
(`costcalc.ops.tensor`, `tensor_math`). The recognizers (`layers`, `patterns`, `modern`, `formulas`) run first and
name the structures they know (conv + bn, a channel shuffle, swish, GELU's forms, ...); whatever they do not
recognise is costed here, op by op, so that a valid graph of the standard domain is never refused for its form.

Where the batch is (`batch`) and the rules that rearrange tensors (`views`) are rooms of their own; here are the
arithmetic rules and the table.
"""

from __future__ import annotations

from math import prod

import numpy as np

from costcalc.importers.onnx import more, patterns, recurrent, shared, views
from costcalc.importers.onnx.layers import check_weights, clip_op
from costcalc.importers.onnx.modern import stored
from costcalc.importers.onnx.batch import (_text, axes_of, emit, learned_number, learned_of, onnx_shape,
                                           plain, same_place, spec_axis)
from costcalc.importers.onnx.reading import Const, Data, Sequence, fmt

# the trigonometric and hyperbolic functions and their inverses: one transcendental each, as `sin`
TRIGONOMETRIC = ("Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh")
UNARY = {"Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Reciprocal": "reciprocal", "Abs": "abs", "Neg": "neg",
         "Erf": "erf", "Floor": "round", "Ceil": "round", "Round": "round", "Sign": "round", "Not": "compare", "BitwiseNot": "compare",
         "Sin": "sin", "Cos": "sin", **dict.fromkeys(TRIGONOMETRIC, "sin"), "Softplus": "softplus", "Elu": "elu",
         "Selu": "elu", "Celu": "elu",
         "Softsign": "elu", "Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
         "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish", "Mish": "mish", "Gelu": "gelu", "Cast": "cast",
         "CastLike": "cast", "Identity": "identity", "Dropout": "dropout", "IsNaN": "compare", "IsInf": "compare",
         "Swish": "swish", "ThresholdedRelu": "thresholded_relu", "Shrink": "shrink"}


BINARY = {"Add": "add", "Sum": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow", "Max": "maximum",
          "Min": "minimum", "Mod": "div", "Equal": "compare", "Less": "compare", "Greater": "compare",
          "LessOrEqual": "compare", "GreaterOrEqual": "compare", "And": "compare", "Or": "compare",
          "Xor": "compare", "PRelu": "maximum", "BitShift": "compare", "BitwiseAnd": "compare",
          "BitwiseOr": "compare", "BitwiseXor": "compare"}


REDUCE = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod",
          "ReduceL1": "l1", "ReduceL2": "l2", "ReduceSumSquare": "sum_square", "ReduceLogSumExp": "log_sum_exp",
          "ReduceLogSum": "log_sum", "ArgMax": "argmax", "ArgMin": "argmin"}


def unary(imp, node, x: Data) -> None:
    op = UNARY[node.op]
    args = {"approximate": _text(node.attrs.get("approximate"), "none")} if op == "gelu" else {}
    if op == "compare":  # Not, IsNaN, IsInf: a test of each element, as a comparison with a number
        args = {"value": 0.0}
    if op == "swish" and node.attrs.get("alpha", 1.0) != 1.0:
        imp.fail(node, f"alpha={node.attrs['alpha']}: costcalc costs x * sigmoid(x), Swish of alpha 1")
    emit(imp, node, op, args, [x], x.batch_at)


def binary(imp, node, inputs: list) -> None:
    op = BINARY[node.op]
    data = [t for t in inputs if isinstance(t, Data)]
    consts = [t for t in inputs if isinstance(t, Const)]
    place = same_place(imp, node, data)
    if op == "mul" and len(data) == 2 and not consts and patterns.gated(imp, node, *data):
        return None
    if len(data) >= 2 and not consts:
        return emit(imp, node, op, {}, data, place)
    if len(data) != 1 or len(consts) != 1:
        imp.fail(node, f"{len(data)} network tensors and {len(consts)} constants: costcalc costs an element-wise "
                        "op of tensors, or of one tensor and one constant")
    x, c = data[0], consts[0]
    if bias_of(imp, node, x, c):
        return
    full = onnx_shape(imp, x)
    cshape = tuple(c.shape)
    if len(cshape) > len(full):
        imp.fail(node, f"a constant of shape {fmt(cshape)} for a {len(full)}-D tensor")
    if prod(cshape) <= 1 and not learned_number(imp, c):  # a number (a learned one is a `param` of one value)
        value = imp.const_value(node, c, "the constant") if imp.readable(c) else np.ones(1)
        value = float(np.asarray(value, dtype=np.float64).reshape(-1)[0]) if np.size(value) else 0.0
        return emit(imp, node, op, {"value": value if np.isfinite(value) else 0.0}, [x], place)
    aligned = (1,) * (len(full) - len(cshape)) + cshape
    if place is not None:
        if aligned[place] != 1:
            imp.fail(node, f"a constant of shape {fmt(cshape)} varies along the batch axis")
        aligned = aligned[:place] + aligned[place + 1:]
    while len(aligned) > 1 and aligned[0] == 1:
        aligned = aligned[1:]
    if not learned_of(c):  # a constant tensor (a mask the exporter computed): no parameters
        args = {"const": aligned}
    else:  # a computed constant's sources count once: EfficientViT's heads each add a slice of one gathered table
        fresh = c.behind - imp.counted
        imp.counted |= fresh
        learned = sum(size for *_, size in fresh) if c.behind else learned_of(c)
        args = {"param": aligned, **({"learned": learned} if learned != prod(aligned) else {})}
    emit(imp, node, op, args, [x], place)


def bias_of(imp, node, x: Data, c: Const) -> bool:
    """MatMul + Add(bias) on tokens, as torch writes nn.Linear: the bias of the fc before it (one layer)."""
    layer = imp.producer_layer.get(x.ref)
    if node.op != "Add" or layer is None or layer.op != "fc" or layer.args["bias"] or not c.param:
        return False
    if tuple(c.shape[-1:]) != (layer.args["out"],) or prod(c.shape) != layer.args["out"]:
        return False
    if imp.only_consumer(next(t for t in node.proto.input if imp.tensors.get(t) is x)) is None:
        return False
    layer.args = {**layer.args, "bias": True}
    shared.note_bias(layer, c, node)
    layer.note = f"{layer.note} + {node.name} (Add)"
    imp.set(node, 0, x)
    return True


def conv(imp, node, inputs: list) -> None:
    """Conv and ConvTranspose of 1-D and 3-D inputs (the 2-D ones are the recognizers'), pads equal on both sides;
    a Conv of images whose batch is folded with windows into the first axis (`x.batch_at` None), each window an
    image: the conv's leading axes."""
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    if not isinstance(w, Const) or isinstance(b, Data):
        imp.fail(node, "its weights are computed from the network's input: costcalc needs them constant")
    full = onnx_shape(imp, x)
    n = len(full) - 2
    windows = x.batch_at is None and node.op == "Conv"  # the batch folded with windows (EfficientViT-M's)
    if (x.batch_at != 0 and not windows) or not 1 <= n <= 3 or len(w.shape) != n + 2:
        imp.fail(node, f"a {node.op} of input {fmt(full)} with weights {fmt(w.shape)}")
    check_weights(imp, node, w)
    groups = node.attrs.get("group", 1)
    k = tuple(w.shape[2:])
    pads = list(node.attrs.get("pads", [0] * 2 * n))
    transpose = node.op == "ConvTranspose"
    if _text(node.attrs.get("auto_pad"), "NOTSET") not in ("NOTSET", "VALID") or (transpose and pads[:n] != pads[n:]):
        imp.fail(node, f"pads {pads}: costcalc costs a {n}-D transposed window padded equally on both sides")
    out = w.shape[1] * groups if transpose else w.shape[0]
    bias = b is not None and b.param
    args = {"out": out, "k": k, "stride": tuple(node.attrs.get("strides", (1,) * n)), "pad": tuple(pads[:n]),
            "dilation": tuple(node.attrs.get("dilations", (1,) * n)), "groups": groups, "bias": bias}
    if transpose:
        args["output_padding"] = tuple(node.attrs.get("output_padding", (0,) * n))
    elif pads[:n] != pads[n:]:  # ONNX's asymmetric pads
        args["pad_end"] = tuple(pads[n:])
    emit(imp, node, "conv_transpose" if transpose else "conv", args, [x], None if windows else 0)
    if windows:  # written out as a list, never as one number: its length tells the conv's spatial axes
        imp.layers[-1].args["k"] = list(k)


def pool(imp, node, x: Data) -> None:
    """MaxPool / AveragePool of 1-D and 3-D inputs, LpPool of 1 to 3 spatial axes, and the global pools of any
    rank. ONNX's strides default to 1 (torch's to the window)."""
    full = onnx_shape(imp, x)
    if x.batch_at != 0 or len(full) < 3:
        imp.fail(node, f"a {node.op} of {fmt(full)}")
    n = len(full) - 2
    if node.op.startswith("Global"):
        return emit(imp, node, "gap" if node.op == "GlobalAveragePool" else "reduce_max",
                    {} if node.op == "GlobalAveragePool" else {"axes": tuple(range(2, n + 2)), "keepdims": True},
                    [x], 0)
    pads = list(node.attrs.get("pads", [0] * 2 * n))
    k = tuple(node.attrs["kernel_shape"])
    if _text(node.attrs.get("auto_pad"), "NOTSET") not in ("NOTSET", "VALID"):
        imp.fail(node, f"auto_pad {_text(node.attrs['auto_pad'], '')}: costcalc costs a {n}-D pool of explicit pads")
    args = {"k": k, "stride": tuple(node.attrs.get("strides", (1,) * n)), "pad": tuple(pads[:n]),
            "ceil_mode": imp.flag(node, "ceil_mode", 0)}
    if pads[:n] != pads[n:]:  # ONNX's asymmetric pads
        args["pad_end"] = tuple(pads[n:])
    if node.op in ("MaxPool", "LpPool"):
        args["dilation"] = tuple(node.attrs.get("dilations", (1,) * n))
    if node.op == "LpPool":
        args["p"] = node.attrs.get("p", 2)
    emit(imp, node, POOLS[node.op], args, [x], 0)


POOLS = {"MaxPool": "maxpool", "AveragePool": "avgpool", "LpPool": "lppool"}


def batchnorm(imp, node, inputs: list) -> None:
    """BatchNormalization of a tensor in any layout: the channels are ONNX axis 1 (LeViT's BatchNorm1d on
    `x.flatten(0, 1)` normalises the last axis of its tokens)."""
    x = inputs[0]
    if any(node.proto.output[1:]):
        imp.fail(node, "training-mode batchnorm (running statistics as outputs) is not costed; export in eval mode")
    full = onnx_shape(imp, x)
    if len(full) < 2:
        imp.fail(node, f"a batchnorm of {fmt(full)}")
    for k, what in enumerate(("scale", "shift", "mean", "variance"), 1):
        t = inputs[k] if k < len(inputs) else None
        if not isinstance(t, Const) or prod(t.shape) != full[1]:
            imp.invalid(node, f"its {what} has shape {fmt(t.shape) if t is not None else 'none'}: a batchnorm of "
                              f"{full[1]} channels has one value per channel")
    emit(imp, node, "bn", {"axis": spec_axis(imp, node, x, 1)}, [x], x.batch_at)


def instance_norm(imp, node, inputs: list) -> None:
    """InstanceNormalization (statistics per channel over the other axes) and GroupNormalization: group norm."""
    x = inputs[0]
    full = onnx_shape(imp, x)
    if x.batch_at != 0 or len(full) < 3:
        imp.fail(node, f"{node.op} of {fmt(full)}")
    groups = node.attrs.get("num_groups", full[1])
    affine = len(inputs) > 1 and isinstance(inputs[1], Const) and inputs[1].param
    emit(imp, node, "groupnorm", {"groups": groups, "affine": affine}, [x], 0)


def clip(imp, node, x: Data) -> None:
    emit(imp, node, *clip_op(imp, node), [x], x.batch_at)


def where(imp, node, inputs: list) -> None:
    data = [t for t in inputs if isinstance(t, Data)]
    place = same_place(imp, node, data)
    out = np.broadcast_shapes(*[onnx_shape(imp, t) if isinstance(t, Data) else tuple(t.shape) for t in inputs])
    sample = list(out)
    if place is not None:
        sample.pop(place)
    else:
        sample[0] //= imp.batch
    emit(imp, node, "where", {"shape": tuple(sample)}, data, place)


def matmul(imp, node, a, b) -> None:
    if isinstance(a, Data) and isinstance(b, Data):
        pair = [a, b]
        place = same_place(imp, node, pair)
        return emit(imp, node, "matmul", {}, pair, place)
    if isinstance(b, Const) and len(b.shape) == 2 and isinstance(a, Data):
        full = onnx_shape(imp, a)
        if a.batch_at == len(full) - 1:
            imp.fail(node, "multiplies along the batch axis")
        return emit(imp, node, "fc", {"out": b.shape[1], "bias": False}, [a], a.batch_at)
    imp.fail(node, f"MatMul of {fmt(getattr(a, 'shape', ()))} and a constant of shape {fmt(b.shape)}: costcalc "
                    "costs products of two network tensors and of a tensor with a matrix of weights")


def gemm(imp, node, inputs: list) -> None:
    """Gemm of a network tensor (of any layout) and a constant matrix: an fc over its last axis."""
    a, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    if not isinstance(b, Const) or isinstance(c, Data) or imp.flag(node, "transA", 0) or len(b.shape) != 2:
        imp.fail(node, "costcalc costs Gemm of a network tensor and a constant matrix of weights")
    features, out = (b.shape[1], b.shape[0]) if imp.flag(node, "transB", 0) else b.shape
    full = onnx_shape(imp, a)
    if full[-1] != features or a.batch_at == len(full) - 1:
        imp.fail(node, f"weights {fmt(b.shape)} do not fit {fmt(full)}")
    if c is not None and prod(c.shape) != out:
        imp.fail(node, f"a bias of shape {fmt(c.shape)}: costcalc counts a bias of one value per output ({out})")
    bias = c is not None and c.param
    emit(imp, node, "fc", {"out": out, "bias": bias}, [a], a.batch_at)


def einsum(imp, node, inputs: list) -> None:
    equation = _text(node.attrs.get("equation"), "").replace(" ", "")
    if "->" not in equation:
        imp.fail(node, f"Einsum '{equation}' without an explicit output")
    left, right = equation.split("->")
    terms = left.split(",")
    data = [t for t in inputs if isinstance(t, Data)]
    consts = [t for t in inputs if isinstance(t, Const)]
    if len(terms) != len(inputs) or not data or len(consts) > 1 or (consts and inputs[-1] is not consts[0]):
        imp.fail(node, f"Einsum '{equation}': costcalc costs one or two operands, network tensors first")
    letters = set(equation) - set(",->")
    fresh = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in letters)
    batch = None
    spec_terms = []
    for term, x in zip(terms, data):
        if x.batch_at is None:
            spec_terms.append(fresh + term)
            letter = fresh
        else:
            letter = term[x.batch_at]
            spec_terms.append(letter + term[:x.batch_at] + term[x.batch_at + 1:])
        if batch not in (None, letter):
            imp.fail(node, f"Einsum '{equation}': its operands' batches are different letters")
        batch = letter
    if batch == fresh:
        out, place = fresh + right, None
    elif batch in right:
        place = right.index(batch)
        out = batch + right.replace(batch, "")
    else:
        imp.fail(node, f"Einsum '{equation}' sums over the batch")
    spec = ",".join(spec_terms + ([terms[-1]] if consts else [])) + "->" + out
    args = {"equation": spec, **({"param": tuple(consts[0].shape)} if consts else {})}
    emit(imp, node, "einsum", args, data, place)


def softmax(imp, node, x: Data) -> None:
    axis = node.attrs.get("axis", -1)
    emit(imp, node, "softmax", {"axis": spec_axis(imp, node, x, axis)}, [x], x.batch_at)


def layernorm(imp, node, x: Data) -> None:
    axis = spec_axis(imp, node, x, node.attrs.get("axis", -1))
    if x.batch_at is not None and axis <= x.batch_at:
        imp.fail(node, "normalises across the batch axis")
    scale, bias = (imp.get(node, k) if len(node.proto.input) > k and node.proto.input[k] else None for k in (1, 2))
    affine, shift = stored(scale), stored(scale) and stored(bias)
    emit(imp, node, "layernorm", {"axis": axis, "affine": affine, **({} if shift or not affine else {"bias": False})},
         [x], x.batch_at)


def reduce(imp, node, x: Data) -> None:
    kind = REDUCE[node.op]
    if kind in ("argmax", "argmin"):
        axes = [node.attrs.get("axis", 0)]
    else:
        axes = axes_of(imp, node, 1)
        if axes is None and node.attrs.get("noop_with_empty_axes", 0):
            return emit(imp, node, "identity", {}, [x], x.batch_at)
    keep = imp.flag(node, "keepdims", 1)
    full = onnx_shape(imp, x)
    if axes is None:
        axes = [i for i in range(len(full)) if i != x.batch_at]
    spec = tuple(spec_axis(imp, node, x, a) for a in axes)
    place = x.batch_at
    if not keep and place is not None:
        place -= sum(1 for a in axes if a % len(full) < place)
    emit(imp, node, f"reduce_{kind}", {"axes": spec, "keepdims": keep}, [x], place)


def _first(rule):
    return lambda imp, node, inputs: rule(imp, node, inputs[0])


RULES = {
    **{op: _first(unary) for op in UNARY},
    **{op: binary for op in BINARY},
    **{op: _first(reduce) for op in REDUCE},
    "Where": where,
    "Clip": _first(clip),
    "Reshape": _first(views.reshape),
    "Squeeze": _first(views.squeeze),
    "Unsqueeze": _first(views.unsqueeze),
    "Flatten": _first(views.flatten),
    "Transpose": _first(views.transpose),
    "MatMul": lambda imp, node, inputs: matmul(imp, node, inputs[0], inputs[1]),
    "Einsum": einsum,
    "Gemm": gemm,
    "Softmax": _first(softmax),
    "LogSoftmax": _first(softmax),
    "LayerNormalization": _first(layernorm),
    "Concat": views.concat,
    "Split": _first(views.split),
    "Slice": _first(views.slice_),
    "Gather": lambda imp, node, inputs: views.gather(imp, node, inputs[0], inputs[1]),
    "Expand": _first(views.expand),
    "GatherND": _first(views.gather_nd),
    "Tile": _first(views.tile),
    "Conv": conv,
    "ConvTranspose": conv,
    **{op: _first(pool) for op in (*POOLS, "GlobalAveragePool", "GlobalMaxPool")},
    "BatchNormalization": batchnorm,
    "InstanceNormalization": instance_norm,
    "GroupNormalization": instance_norm,
    "Pad": _first(views.pad),
    "DepthToSpace": _first(views.pixel),
    "SpaceToDepth": _first(views.pixel),
    "Col2Im": lambda imp, node, inputs: more.col2im(imp, node, inputs[0]),
    "Mean": more.mean,
    **more.RULES,  # CumSum, Hardmax, Trilu, LpNormalization, LRN, MVN, GlobalLpPool, GatherElements, Scatter*, TopK
    **{op: recurrent.rule for op in recurrent.CELLS},  # LSTM, GRU, RNN: a module of their own
}


def apply(imp, node) -> None:
    """Cost `node` by its op type's generic rule."""
    inputs = [plain(imp, node, imp.get(node, k)) for k in range(len(node.proto.input))]
    if any(isinstance(t, Sequence) for t in inputs):
        imp.fail(node, "reads a sequence of tensors: costcalc reads sequences only with SequenceAt and "
                        "ConcatFromSequence")
    if not isinstance(inputs[0], Data) and node.op not in BINARY and node.op not in ("Where", "Concat", "MatMul",
                                                                                      "Mean"):
        imp.fail(node, "its first input is a constant and a later one a tensor of the network")
    RULES[node.op](imp, node, [t for t in inputs])
