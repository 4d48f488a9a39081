"""The generic layer of the importer: one rule per standard ONNX op type, at any rank, onto costcalc's generic ops
(`costcalc.ops.tensor`, `tensor_math`). The recognizers (`layers`, `patterns`, `modern`, `formulas`) run first and
name the structures they know (conv + bn, a channel shuffle, swish, GELU's forms, ...); whatever they do not
recognise is costed here, op by op, so that a valid graph of the standard domain is never refused for its form.

Where the batch is. A costcalc shape is per sample and the batch its axis 0; an ONNX tensor's batch may sit
elsewhere (attention's `qkv.permute(2, 0, 3, 1, 4)`) or be folded into a leading axis (Swin's windows,
`(B * nW) x 49 x C`). `Data.batch_at` says which ONNX axis holds it (None: folded into axis 0 as its outer factor),
`Data.shape` keeps the spec's order (the batch first), and `onnx_shape` / `spec_axis` translate.
"""

from __future__ import annotations

from math import prod

import numpy as np

from costcalc.importers.onnx.naming import node_name
from costcalc.importers.onnx.reading import Const, Data, Sequence, fmt

UNARY = {"Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Reciprocal": "reciprocal", "Abs": "abs", "Neg": "neg",
         "Erf": "erf", "Floor": "round", "Ceil": "round", "Round": "round", "Sign": "round", "Not": "compare",
         "Sin": "sin", "Cos": "sin", "Softplus": "softplus", "Elu": "elu", "Selu": "elu", "Celu": "elu",
         "Softsign": "elu", "Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
         "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish", "Mish": "mish", "Gelu": "gelu", "Cast": "cast",
         "CastLike": "cast", "Identity": "identity", "Dropout": "dropout", "IsNaN": "compare", "IsInf": "compare"}
BINARY = {"Add": "add", "Sum": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow", "Max": "maximum",
          "Min": "minimum", "Mod": "div", "Equal": "compare", "Less": "compare", "Greater": "compare",
          "LessOrEqual": "compare", "GreaterOrEqual": "compare", "And": "compare", "Or": "compare",
          "Xor": "compare", "PRelu": "maximum", "BitShift": "compare"}
REDUCE = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod",
          "ReduceL1": "l1", "ReduceL2": "l2", "ReduceSumSquare": "sum_square", "ReduceLogSumExp": "log_sum_exp",
          "ReduceLogSum": "log_sum", "ArgMax": "argmax", "ArgMin": "argmin"}


# ---- where the batch is -----------------------------------------------------------------------------------------


def onnx_shape(imp, x: Data) -> tuple:
    """The ONNX tensor's shape at the file's batch."""
    sample = x.shape[1:]
    if x.batch_at is None:
        return (imp.batch * sample[0], *sample[1:]) if sample else (imp.batch,)
    return (*sample[:x.batch_at], imp.batch, *sample[x.batch_at:])


def spec_axis(imp, node, x: Data, axis: int) -> int:
    """The framework-numbered costcalc axis (the batch is 0) of ONNX axis `axis` of x."""
    rank = len(onnx_shape(imp, x))
    if not -rank <= axis < rank:
        imp.fail(node, f"axis {axis} is outside its {rank}-D input")
    axis %= rank
    if x.batch_at is None:
        return axis + 1
    if axis == x.batch_at:
        imp.fail(node, f"works along the batch axis ({axis}) of its input: costcalc's ops work within each sample")
    return axis + 1 if axis < x.batch_at else axis


def with_batch(imp, node, x: Data, out: Data, full: tuple) -> Data:
    """`out` (an emitted layer's output, whose spec shape the op gave) placed where ONNX keeps it: `full` is the
    ONNX shape, which must hold the same elements."""
    if prod(full) != imp.batch * prod(out.shape[1:]):
        imp.fail(node, f"costcalc's {fmt(out.shape[1:])} per sample does not give the file's {fmt(full)}")
    return out


def settle(imp, node) -> None:
    """Put the batch back at axis 0 of the node's inputs wherever the ONNX tensor allows it (its leading axis is
    the batch's size, as after Swin's windows merge back or MobileViT folds its patches), by a view; the
    recognizers then read them as they read any N x C x H x W tensor."""
    for name in node.proto.input:
        x = imp.tensors.get(name)
        if not isinstance(x, Data) or x.batch_at == 0 or x.pending or x.padded or x.last:
            continue
        full = onnx_shape(imp, x)
        if len(full) > 1 and full[0] == imp.batch and (x.batch_at is None or imp.batch == 1):
            y = imp.emit(node, imp.unique(f"{node_name(node.name)}_view"), "reshape", {"shape": full[1:]}, [x],
                         note="the batch back in front")[0]
            imp.tensors[name] = y


SHAPE_ONLY = {"Expand", "Unsqueeze", "Reshape", "Squeeze", "Gather", "Transpose"}


def shape_of_param(imp, node, w: Const) -> None:
    """A learned tensor reshaped or expanded over the batch before use (ViT's class token, `expand(n, -1, -1)`):
    its shape follows, its values stay unread. Only the batch's size-1 expansions keep its count of parameters."""
    from costcalc.importers.onnx.folding import FOLD_OPS

    values = [np.zeros(w.shape, np.float32)]
    for k, t in enumerate(node.proto.input[1:], start=1):
        c = imp.tensors.get(t) if t else None
        # an index buffer whose values are not in the file: its shape is all a shape needs
        values.append(None if c is None else imp.const_value(node, c, f"input {k}") if imp.readable(c)
                      else np.zeros(c.shape, np.int64))
    out = np.asarray(FOLD_OPS[node.op](node, values)[0])
    if out.size != prod(w.shape) and node.op != "Gather":
        imp.fail(node, f"{node.op} of the learned tensor '{w.name}' to {fmt(out.shape)}: costcalc follows a learned "
                        "tensor through a change of shape that keeps its size")
    imp.set(node, 0, Const(tuple(out.shape), None, w.name, param=True, learned=learned_of(w), stored=w.stored))


def learned_of(c: Const) -> int:
    """The learned values a constant stands for."""
    if c.learned is not None:
        return c.learned
    return prod(c.shape) if c.param and c.stored and not c.made_by_exporter else 0


def learned_inputs(imp, node) -> int | None:
    """The learned values behind a constant folded from `node`'s inputs (a relative-position bias table gathered
    by its index buffer), None when it reads none."""
    total = sum(learned_of(t) for t in (imp.tensors.get(n) for n in node.proto.input if n)
                if isinstance(t, Const) and (t.param or t.learned))
    return total or None


def plain(imp, node, x):
    """x as a tensor the generic rules read: a pattern's pending state resolved into layers."""
    if not isinstance(x, Data):
        return x
    if x.padded:
        source, pads, pad_node = x.padded
        top, left, bottom, right = pads
        x = imp.emit(pad_node, None, "pad", {"pad": (top, left), "pad_end": (bottom, right)}, [source])[0]
    if x.last:  # the channels-last view the patterns keep as N x C x H x W: its real N x H x W x C order
        n, c, *rest = x.shape
        x = imp.emit(node, f"{imp.layer_name(node)}_nhwc", "reshape", {"shape": (*rest, c)}, [Data(x.shape, x.ref)],
                     note="channels-last view")[0]
    if x.pending:
        kind = x.pending[0]
        if kind not in ("grouped", "shuffled"):
            imp.fail(node, f"reads the {len(x.shape)}-D tensor of a Reshape inside a group norm or a gather that "
                            "did not complete")
        first = x.pending[2]
        source = Data(imp.producer_shape(x.ref), x.ref)
        grouped = x.shape if kind == "grouped" else (x.shape[0], x.shape[2], x.shape[1], *x.shape[3:])
        y = imp.emit(first, None, "reshape", {"shape": grouped[1:]}, [source])[0]
        if kind == "shuffled":
            y = imp.emit(node, f"{y.ref}_t", "permute", {"perm": (0, 2, 1, 3, 4)}, [y], note="Transpose")[0]
        x = y
    return x


# ---- the rules --------------------------------------------------------------------------------------------------


def emit(imp, node, op: str, args: dict, inputs: list, batch_at=0, k: int = 0) -> Data:
    out = imp.emit(node, None, op, args, inputs)
    for i, d in enumerate(out):
        d.batch_at = batch_at
        imp.set(node, i, d)
    return out[k] if out else None


def same_place(imp, node, xs: list) -> int | None:
    places = {x.batch_at for x in xs}
    ranks = {len(onnx_shape(imp, x)) for x in xs}
    if len(places) > 1 or len(ranks) > 1:
        imp.fail(node, "combines tensors whose batch sits at different axes or of different ranks: costcalc "
                        "broadcasts tensors of one layout")
    return places.pop()


def unary(imp, node, x: Data) -> None:
    op = UNARY[node.op]
    args = {"approximate": _text(node.attrs.get("approximate"), "none")} if op == "gelu" else {}
    emit(imp, node, op, args, [x], x.batch_at)


def binary(imp, node, inputs: list) -> None:
    op = BINARY[node.op]
    data = [t for t in inputs if isinstance(t, Data)]
    consts = [t for t in inputs if isinstance(t, Const)]
    place = same_place(imp, node, data)
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
    if prod(cshape) <= 1:
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
    learned = learned_of(c)
    if not learned:  # a constant tensor (a mask the exporter computed): no parameters
        args = {"const": aligned}
    else:
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
    layer.note = f"{layer.note} + {node.name} (Add)"
    imp.set(node, 0, x)
    return True


def conv(imp, node, inputs: list) -> None:
    """Conv and ConvTranspose of 1-D and 3-D inputs (the 2-D ones are the recognizers'), pads equal on both sides."""
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    if not isinstance(w, Const) or isinstance(b, Data):
        imp.fail(node, "its weights are computed from the network's input: costcalc needs them constant")
    full = onnx_shape(imp, x)
    n = len(full) - 2
    if x.batch_at != 0 or not 1 <= n <= 3 or len(w.shape) != n + 2:
        imp.fail(node, f"a {node.op} of input {fmt(full)} with weights {fmt(w.shape)}")
    groups = node.attrs.get("group", 1)
    k = tuple(node.attrs.get("kernel_shape", w.shape[2:]))
    if k != tuple(w.shape[2:]):
        imp.fail(node, f"kernel_shape {list(k)} does not match its weights {fmt(w.shape)}")
    pads = list(node.attrs.get("pads", [0] * 2 * n))
    if _text(node.attrs.get("auto_pad"), "NOTSET") not in ("NOTSET", "VALID") or pads[:n] != pads[n:]:
        imp.fail(node, f"pads {pads}: costcalc costs a {n}-D window padded equally on both sides")
    transpose = node.op == "ConvTranspose"
    out = w.shape[1] * groups if transpose else w.shape[0]
    bias = b is not None and b.param
    args = {"out": out, "k": k, "stride": tuple(node.attrs.get("strides", (1,) * n)), "pad": tuple(pads[:n]),
            "dilation": tuple(node.attrs.get("dilations", (1,) * n)), "groups": groups, "bias": bias}
    if transpose:
        args["output_padding"] = tuple(node.attrs.get("output_padding", (0,) * n))
    emit(imp, node, "conv_transpose" if transpose else "conv", args, [x], 0)


def pool(imp, node, x: Data) -> None:
    """MaxPool / AveragePool of 1-D and 3-D inputs, and the global pools of any rank."""
    full = onnx_shape(imp, x)
    if x.batch_at != 0 or len(full) < 3:
        imp.fail(node, f"a {node.op} of {fmt(full)}")
    n = len(full) - 2
    if node.op.startswith("Global"):
        return emit(imp, node, "gap" if node.op == "GlobalAveragePool" else "reduce_max",
                    {} if node.op == "GlobalAveragePool" else {"axes": tuple(range(2, n + 2)), "keepdims": True},
                    [x], 0)
    pads = list(node.attrs.get("pads", [0] * 2 * n))
    if pads[:n] != pads[n:]:
        imp.fail(node, f"pads {pads}: costcalc costs a {n}-D window padded equally on both sides")
    k = tuple(node.attrs["kernel_shape"])
    args = {"k": k, "stride": tuple(node.attrs.get("strides", k)), "pad": tuple(pads[:n]),
            "ceil_mode": bool(node.attrs.get("ceil_mode", 0))}
    if node.op == "MaxPool":
        args["dilation"] = tuple(node.attrs.get("dilations", (1,) * n))
    emit(imp, node, "maxpool" if node.op == "MaxPool" else "avgpool", args, [x], 0)


def instance_norm(imp, node, inputs: list) -> None:
    """InstanceNormalization (statistics per channel over the other axes) and GroupNormalization: group norm."""
    x = inputs[0]
    full = onnx_shape(imp, x)
    if x.batch_at != 0 or len(full) < 3:
        imp.fail(node, f"{node.op} of {fmt(full)}")
    groups = node.attrs.get("num_groups", full[1])
    affine = len(inputs) > 1 and isinstance(inputs[1], Const) and inputs[1].param
    emit(imp, node, "groupnorm", {"groups": groups, "affine": affine}, [x], 0)


def pixel(imp, node, x: Data) -> None:
    if x.batch_at != 0 or len(onnx_shape(imp, x)) != 4:
        imp.fail(node, f"{node.op} of a tensor that is not N x C x H x W")
    op = "depth_to_space" if node.op == "DepthToSpace" else "space_to_depth"
    emit(imp, node, op, {"blocksize": node.attrs["blocksize"]}, [x], 0)


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


def reshape_to(imp, node, x: Data, full: tuple) -> None:
    """A view of x as the ONNX shape `full` (Reshape, Flatten, Squeeze, Unsqueeze)."""
    if x.batch_at == 0 and full and full[0] == imp.batch:
        return emit(imp, node, "reshape", {"shape": tuple(full[1:])}, [x], 0)
    if imp.batch != 1 and (not full or full[0] % imp.batch):
        imp.fail(node, f"reshapes to {fmt(full)}, moving the batch of {imp.batch}: import the model at batch 1")
    emit(imp, node, "reshape", {"shape": (full[0] // imp.batch, *full[1:])}, [x], None)


def reshape(imp, node, x: Data) -> None:
    full = onnx_shape(imp, x)
    target = [int(d) for d in imp.value(node, 1, "shape")]
    if not node.attrs.get("allowzero", 0):
        target = [full[i] if d == 0 and i < len(full) else d for i, d in enumerate(target)]
    if target.count(-1) == 1:
        known = prod(d for d in target if d != -1)
        target[target.index(-1)] = prod(full) // known if known else 0
    if prod(target) != prod(full) or any(d < 1 for d in target):
        imp.fail(node, f"cannot reshape {fmt(full)} to {target}")
    reshape_to(imp, node, x, tuple(target))


def axes_of(imp, node, k: int) -> list | None:
    axes = node.attrs.get("axes")
    if axes is None and len(node.proto.input) > k and node.proto.input[k]:
        axes = [int(a) for a in imp.value(node, k, "axes")]
    return None if axes is None else list(axes)


def squeeze(imp, node, x: Data) -> None:
    full = onnx_shape(imp, x)
    axes = axes_of(imp, node, 1)
    axes = [i for i, d in enumerate(full) if d == 1] if axes is None else [a % len(full) for a in axes]
    reshape_to(imp, node, x, tuple(d for i, d in enumerate(full) if i not in axes))


def unsqueeze(imp, node, x: Data) -> None:
    full = list(onnx_shape(imp, x))
    axes = axes_of(imp, node, 1) or []
    rank = len(full) + len(axes)
    for a in sorted(a % rank for a in axes):
        full.insert(a, 1)
    if x.batch_at == 0 and full[0] == 1 and imp.batch == 1 and len(full) > 1 and 0 in [a % rank for a in axes]:
        return emit(imp, node, "reshape", {"shape": tuple(full[1:])}, [x], None)
    reshape_to(imp, node, x, tuple(full))


def flatten(imp, node, x: Data) -> None:
    full = onnx_shape(imp, x)
    axis = node.attrs.get("axis", 1) % (len(full) + 1)
    reshape_to(imp, node, x, (prod(full[:axis]), prod(full[axis:])))


def transpose(imp, node, x: Data) -> None:
    full = onnx_shape(imp, x)
    perm = [int(p) % len(full) for p in node.attrs.get("perm", range(len(full))[::-1])]
    if sorted(perm) != list(range(len(full))):
        imp.fail(node, f"perm {perm} is not an order of the {len(full)} axes")
    k = x.batch_at
    if k is None:
        return emit(imp, node, "permute", {"perm": (0, *[p + 1 for p in perm])}, [x], None)
    rest = [p for p in perm if p != k]
    spec = (0, *[(p if p < k else p - 1) + 1 for p in rest])
    emit(imp, node, "permute", {"perm": spec}, [x], perm.index(k))


def matmul(imp, node, a, b) -> None:
    if isinstance(a, Data) and isinstance(b, Data):
        place = same_place(imp, node, [a, b])
        return emit(imp, node, "matmul", {}, [a, b], place)
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
    if not isinstance(b, Const) or isinstance(c, Data) or node.attrs.get("transA", 0) or len(b.shape) != 2:
        imp.fail(node, "costcalc costs Gemm of a network tensor and a constant matrix of weights")
    features, out = (b.shape[1], b.shape[0]) if node.attrs.get("transB", 0) else b.shape
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
    affine = len(node.proto.input) > 1 and bool(node.proto.input[1])
    emit(imp, node, "layernorm", {"axis": axis, "affine": affine}, [x], x.batch_at)


def reduce(imp, node, x: Data) -> None:
    kind = REDUCE[node.op]
    if kind in ("argmax", "argmin"):
        axes = [node.attrs.get("axis", 0)]
    else:
        axes = axes_of(imp, node, 1)
        if axes is None and node.attrs.get("noop_with_empty_axes", 0):
            return emit(imp, node, "identity", {}, [x], x.batch_at)
    keep = bool(node.attrs.get("keepdims", 1))
    full = onnx_shape(imp, x)
    if axes is None:
        axes = [i for i in range(len(full)) if i != x.batch_at]
    spec = tuple(spec_axis(imp, node, x, a) for a in axes)
    place = x.batch_at
    if not keep and place is not None:
        place -= sum(1 for a in axes if a % len(full) < place)
    emit(imp, node, f"reduce_{kind}", {"axes": spec, "keepdims": keep}, [x], place)


def concat(imp, node, inputs: list) -> None:
    """Concat of network tensors; a learned constant first (ViT's class token, expanded over the batch) is the
    op's `param`."""
    data = [t for t in inputs if isinstance(t, Data)]
    consts = [t for t in inputs if isinstance(t, Const)]
    if consts and (len(consts) > 1 or inputs[0] is not consts[0] or not consts[0].param):
        imp.fail(node, "concatenates constants with network tensors: costcalc joins tensors of the network and one "
                        "learned tensor first (a class token)")
    place = same_place(imp, node, data)
    axis = spec_axis(imp, node, data[0], node.attrs.get("axis", 0))
    args = {"axis": axis}
    if consts:
        shape = list(consts[0].shape)
        if place is None or len(shape) != len(onnx_shape(imp, data[0])) or shape[place] != imp.batch:
            imp.fail(node, f"joins a constant of shape {fmt(shape)} that is not one per sample")
        shape.pop(place)
        args["param"] = tuple(shape)
    emit(imp, node, "concat", args, data, place)


def pad(imp, node, x: Data) -> None:
    """Pad of any axes (the 2-D zero padding before a window is the recognizers')."""
    full = onnx_shape(imp, x)
    if len(node.proto.input) > 1 and node.proto.input[1]:
        amounts = [int(p) for p in imp.value(node, 1, "pads")]
    else:
        amounts = list(node.attrs.get("pads", []))
    rank = len(full)
    if len(node.proto.input) > 3 and node.proto.input[3]:
        axes = [int(a) % rank for a in imp.value(node, 3, "axes")]
        spread = [0] * (2 * rank)
        for i, a in enumerate(axes):
            spread[a], spread[a + rank] = amounts[i], amounts[i + len(axes)]
        amounts = spread
    if len(amounts) != 2 * rank or any(a < 0 for a in amounts):
        imp.fail(node, f"pads {amounts} for a {rank}-D tensor (costcalc pads, it does not crop)")
    keep = [i for i in range(rank) if i != x.batch_at]
    if x.batch_at is not None and (amounts[x.batch_at] or amounts[x.batch_at + rank]):
        imp.fail(node, "pads the batch axis")
    pads = tuple(amounts[i] for i in keep) + tuple(amounts[i + rank] for i in keep)
    emit(imp, node, "pad", {"pads": pads}, [x], x.batch_at)


def split(imp, node, x: Data) -> None:
    axis = spec_axis(imp, node, x, node.attrs.get("axis", 0))
    sizes = node.attrs.get("split")
    if sizes is None and len(node.proto.input) > 1 and node.proto.input[1]:
        sizes = [int(s) for s in imp.value(node, 1, "split")]
    outputs = len(node.proto.output)
    args = {"axis": axis, **({"sizes": list(sizes)} if sizes else {"parts": node.attrs.get("num_outputs", outputs)})}
    emit(imp, node, "split", args, [x], x.batch_at)


def slice_(imp, node, x: Data) -> None:
    full = onnx_shape(imp, x)
    starts, ends = (imp.value(node, k, n) for k, n in ((1, "starts"), (2, "ends")))
    axes = axes_of(imp, node, 3) or list(range(len(starts)))
    steps = imp.value(node, 4, "steps") if len(node.proto.input) > 4 and node.proto.input[4] else [1] * len(axes)
    y = x
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis, size, step = int(axis) % len(full), full[int(axis) % len(full)], int(step)
        if step < 1:
            imp.fail(node, f"a step of {step}: costcalc slices forward")
        begin = max(0, min(size, int(start) + size if start < 0 else int(start)))
        stop = max(0, min(size, int(end) + size if end < 0 else int(end)))
        count = max(0, -(-(stop - begin) // step))
        if count == size:
            continue
        if count == 0:
            imp.fail(node, f"slices nothing out of axis {axis} of {fmt(full)}")
        y = emit(imp, node, "slice", {"axis": spec_axis(imp, node, x, axis), "start": begin, "out": count,
                                      "step": step}, [y], x.batch_at)
    if y is x:
        emit(imp, node, "identity", {}, [x], x.batch_at)


def gather(imp, node, x: Data, index) -> None:
    if isinstance(index, Data):
        imp.fail(node, "gathers by indices computed from the network's input")
    axis = spec_axis(imp, node, x, node.attrs.get("axis", 0))
    full = onnx_shape(imp, x)
    place = x.batch_at
    a = node.attrs.get("axis", 0) % len(full)
    if place is not None and a < place:
        place += len(index.shape) - 1
    emit(imp, node, "gather", {"axis": axis, "index": tuple(index.shape)}, [x], place)


def expand(imp, node, x: Data) -> None:
    full = onnx_shape(imp, x)
    target = tuple(int(d) for d in imp.value(node, 1, "shape"))
    out = list(np.broadcast_shapes(full, target))
    if x.batch_at is None or len(out) != len(full) or out[x.batch_at] != imp.batch:
        imp.fail(node, f"expands {fmt(full)} to {fmt(out)} across the batch")
    out.pop(x.batch_at)
    emit(imp, node, "expand", {"shape": tuple(out)}, [x], x.batch_at)


def tile(imp, node, x: Data) -> None:
    repeats = [int(r) for r in imp.value(node, 1, "repeats")]
    if x.batch_at is None or repeats[x.batch_at] != 1:
        imp.fail(node, "tiles the batch axis")
    repeats.pop(x.batch_at)
    emit(imp, node, "tile", {"repeats": tuple(repeats)}, [x], x.batch_at)


def _text(value, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


# ---- the table ----------------------------------------------------------------------------------------------------


def _first(rule):
    return lambda imp, node, inputs: rule(imp, node, inputs[0])


RULES = {
    **{op: _first(unary) for op in UNARY},
    **{op: binary for op in BINARY},
    **{op: _first(reduce) for op in REDUCE},
    "Where": where,
    "Reshape": _first(reshape),
    "Squeeze": _first(squeeze),
    "Unsqueeze": _first(unsqueeze),
    "Flatten": _first(flatten),
    "Transpose": _first(transpose),
    "MatMul": lambda imp, node, inputs: matmul(imp, node, inputs[0], inputs[1]),
    "Einsum": einsum,
    "Gemm": gemm,
    "Softmax": _first(softmax),
    "LogSoftmax": _first(softmax),
    "LayerNormalization": _first(layernorm),
    "Concat": concat,
    "Split": _first(split),
    "Slice": _first(slice_),
    "Gather": lambda imp, node, inputs: gather(imp, node, inputs[0], inputs[1]),
    "Expand": _first(expand),
    "Tile": _first(tile),
    "Conv": conv,
    "ConvTranspose": conv,
    **{op: _first(pool) for op in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool")},
    "InstanceNormalization": instance_norm,
    "GroupNormalization": instance_norm,
    "Pad": _first(pad),
    "DepthToSpace": _first(pixel),
    "SpaceToDepth": _first(pixel),
}


def apply(imp, node) -> None:
    """Cost `node` by its op type's generic rule."""
    inputs = [plain(imp, node, imp.get(node, k)) for k in range(len(node.proto.input))]
    if any(isinstance(t, Sequence) for t in inputs):
        imp.fail(node, "reads a sequence of tensors: costcalc reads sequences only with SequenceAt and "
                        "ConcatFromSequence")
    if not isinstance(inputs[0], Data) and node.op not in BINARY and node.op not in ("Where", "Concat", "MatMul"):
        imp.fail(node, "its first input is a constant and a later one a tensor of the network")
    RULES[node.op](imp, node, [t for t in inputs])
