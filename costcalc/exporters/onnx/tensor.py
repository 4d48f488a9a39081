"""ONNX builders of the generic tensor layer (costcalc.ops.tensor, tensor_math) and of the ops it made rank-generic:
element-wise ops with a constant or learned operand, where, the reductions, MatMul and Einsum, the rearrangements
(Reshape, Transpose, Expand, Tile, Gather, Slice, DepthToSpace, SpaceToDepth), conv / pool of 1 to 3 spatial axes,
fc over the last axis, softmax, layernorm, concat and split on an axis. Axes in the spec are ONNX's too (the batch
is 0); per-sample shapes get the batch in front. Each builder writes what the numpy reference computes
(costcalc.reference.tensors), so `verify --against onnxruntime` holds them against each other."""

from __future__ import annotations

import numpy as np

from costcalc.exporters.onnx.building import Builder
from costcalc.ops.conv import conv_input
from costcalc.ops.core import ONES, ZEROS, per_axis

BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max", "minimum": "Min",
          "compare": "Less"}
UNARY = {"exp": "Exp", "log": "Log", "sqrt": "Sqrt", "reciprocal": "Reciprocal", "abs": "Abs", "neg": "Neg",
         "erf": "Erf", "round": "Round", "sin": "Sin", "softplus": "Softplus", "elu": "Elu",
         "thresholded_relu": "ThresholdedRelu", "shrink": "Shrink"}
REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin", "prod": "ReduceProd",
          "l1": "ReduceL1", "l2": "ReduceL2", "sum_square": "ReduceSumSquare", "log_sum_exp": "ReduceLogSumExp",
          "log_sum": "ReduceLogSum"}
FLOAT = 1  # onnx.TensorProto.FLOAT


def _ints(b: Builder, node, label: str, values) -> str:
    return b.const(node, label, np.array(list(values), np.int64))


def _window(b: Builder, node, *keys) -> list:
    """The window arguments for the input's spatial axes (one number spread over all of them; a conv's after its
    leading windows)."""
    x = b.shape(node.inputs[0])
    axes = len(conv_input(x, node.args["k"])[2]) if node.op == "conv" else len(x) - 1
    defaults = {"stride": ONES, "dilation": ONES, "pad": ZEROS, "output_padding": ZEROS}
    return [list(per_axis(node.args.get(key) or defaults.get(key) or node.args["k"], axes, key)) for key in keys]


def _pads(b: Builder, node, pad: list) -> list:
    """ONNX's pads: `pad` before each spatial axis, `pad_end` (default: `pad`) after it."""
    if node.args.get("pad_end") is None:
        return pad + pad
    return pad + _window(b, node, "pad_end")[0]


def conv(b: Builder, node, x, y):
    """Conv of 1 to 3 spatial axes (N x C x L, N x C x H x W, N x C x D x H x W); windows before the channels
    folded into the batch for the Conv, as torch runs them, and back."""
    a = node.args
    k, stride, pad, dilation = _window(b, node, "k", "stride", "pad", "dilation")
    lead, c, sizes = conv_input(b.shape(node.inputs[0]), a["k"])
    c_group = c // a["groups"]
    inputs = [x[0], b.param(node, "weight", (a["out"], c_group, *k), "weight", c_group * int(np.prod(k)))]
    if a["bias"]:
        inputs.append(b.param(node, "bias", (a["out"],), "bias"))
    out = y
    if lead:
        inputs[0], out = f"{node.name}/images", [f"{node.name}/conv"]
        b.add("Reshape", [x[0], b.const(node, "images_shape", np.array([-1, c, *sizes], np.int64))], [inputs[0]],
              f"{node.name}/Reshape")
    b.add("Conv", inputs, out, node.name, kernel_shape=k, strides=stride, pads=_pads(b, node, pad), dilations=dilation,
          group=a["groups"])
    if lead:
        b.add("Reshape", [out[0], b.const(node, "windows_shape", np.array([b.graph.batch, *b.shape(node.outputs[0])],
                                                                    np.int64))], y, f"{node.name}/Reshape_back")


def conv_transpose(b: Builder, node, x, y):
    a = node.args
    k, stride, pad, output_padding, dilation = _window(b, node, "k", "stride", "pad", "output_padding", "dilation")
    c = b.shape(node.inputs[0])[0]
    inputs = [x[0], b.param(node, "weight", (c, a["out"] // a["groups"], *k), "weight",
                            c // a["groups"] * int(np.prod(k)))]
    if a["bias"]:
        inputs.append(b.param(node, "bias", (a["out"],), "bias"))
    b.add("ConvTranspose", inputs, y, node.name, kernel_shape=k, strides=stride, pads=pad + pad,
          output_padding=output_padding, dilations=dilation, group=a["groups"])


def pool(op_type: str):
    def build(b: Builder, node, x, y):
        stride = "stride" if node.args.get("stride") else "k"  # a pool's stride is its window by default
        keys = ("k", stride, "pad") + (("dilation",) if op_type != "AveragePool" else ())
        k, stride, pad, *dilation = _window(b, node, *keys)
        attrs = {"kernel_shape": k, "strides": stride, "pads": _pads(b, node, pad),
                 "ceil_mode": int(node.args["ceil_mode"])}
        if op_type != "AveragePool":
            attrs["dilations"] = dilation[0]
        else:
            attrs["count_include_pad"] = 1  # torch's default, and the reference's
        if op_type == "LpPool":
            attrs["p"] = node.args["p"]
            if b.opset < 18:  # LpPool's dilations and ceil_mode came at opset 18
                if attrs["ceil_mode"] or any(d != 1 for d in attrs["dilations"]):
                    b.refuse(node, "an Lp pool with dilation or ceil_mode is ONNX's LpPool from opset 18 on: give "
                                   "--opset 18")
                del attrs["ceil_mode"], attrs["dilations"]
        b.add(op_type, x, y, node.name, **attrs)

    return build


def fc(b: Builder, node, x, y):
    """nn.Linear over the last axis: Gemm on a flat input; MatMul by the transposed weight (and Add of the bias) on
    tokens, as torch exports a Linear of a 3-d input."""
    features, out = b.shape(node.inputs[0])[-1], node.args["out"]
    weight = b.param(node, "weight", (out, features), "weight", features)
    bias = b.param(node, "bias", (out,), "bias") if node.args["bias"] else None
    if len(b.shape(node.inputs[0])) == 1:
        return b.add("Gemm", [x[0], weight] + ([bias] if bias else []), y, node.name, transB=1)
    p = f"{node.name}/"
    b.add("Transpose", [weight], [p + "weight_t"], p + "Transpose", perm=[1, 0])
    if bias is None:
        return b.add("MatMul", [x[0], p + "weight_t"], y, node.name)
    b.add("MatMul", [x[0], p + "weight_t"], [p + "product"], node.name)
    b.add("Add", [p + "product", bias], y, p + "Add")


def softmax(b: Builder, node, x, y):
    b.add("Softmax", x, y, node.name, axis=node.args.get("axis", 1))


def layernorm_on_axis(channels_first):
    """layernorm with `axis`: one LayerNormalization over the axes from it on, gamma and beta of their shape;
    without, the channels-first form (`channels_first`, the modern builder)."""
    def build(b: Builder, node, x, y):
        axis = node.args.get("axis")
        if axis is None:
            return channels_first(b, node, x, y)
        shape = b.shape(node.inputs[0])
        normalized = shape[axis % (len(shape) + 1) - 1:]
        inputs = [x[0]]
        if node.args.get("affine", True):
            inputs.append(b.param(node, "weight", normalized, "scale"))
            if node.args.get("bias", True):  # `bias: false`: gamma alone, no B input
                inputs.append(b.param(node, "bias", normalized, "shift"))
        else:  # computed in the graph (ConstantOfShape), not an initializer: no parameter to an importer
            inputs.append(f"{node.name}/ones")
            b.add("ConstantOfShape", [b.const(node, "shape", np.array(normalized, np.int64))], inputs[-1:],
                  f"{node.name}/ConstantOfShape", value=_tensor(np.ones(1, np.float32)))
        b.add("LayerNormalization", inputs, y, node.name, axis=axis, epsilon=1e-5)  # torch's and the reference's

    return build


def rmsnorm(b: Builder, node, x, y):
    """RMSNormalization (opset 23) over the axes from `axis` on; its scale ones computed in the graph (no
    parameter to an importer) when not affine."""
    if b.opset < 23:
        b.refuse(node, f"rmsnorm is ONNX's RMSNormalization, from opset 23 on (this export is at opset {b.opset}): "
                       "give --opset 23")
    shape = b.shape(node.inputs[0])
    axis = node.args["axis"]
    normalized = shape[axis % (len(shape) + 1) - 1:]
    if node.args["affine"]:
        scale = b.param(node, "weight", normalized, "scale")
    else:
        scale = f"{node.name}/ones"
        b.add("ConstantOfShape", [b.const(node, "shape", np.array(normalized, np.int64))], [scale],
              f"{node.name}/ConstantOfShape", value=_tensor(np.ones(1, np.float32)))
    b.add("RMSNormalization", [x[0], scale], y, node.name, axis=axis, epsilon=1e-5)  # torch's and the reference's


def concat(b: Builder, node, x, y):
    """Concat; a learned `param` (a class token) first, expanded over the batch."""
    operands = list(x)
    if node.args.get("param") is not None:
        shape = (1, *node.args["param"])
        token = b.param(node, "param", shape, "bias")
        if b.graph.batch > 1:
            b.add("Expand", [token, b.const(node, "batch", np.array([b.graph.batch, *shape[1:]], np.int64))],
                  [f"{node.name}/tokens"], f"{node.name}/Expand")
            token = f"{node.name}/tokens"
        operands.insert(0, token)
    b.add("Concat", operands, y, node.name, axis=node.args.get("axis", 1))


def split(b: Builder, node, x, y):
    axis = node.args.get("axis", 1)
    rank = len(b.shape(node.inputs[0]))
    sizes = [b.shape(t)[axis % (rank + 1) - 1] for t in node.outputs]
    b.add("Split", [x[0], _ints(b, node, "split", sizes)], y, node.name, axis=axis)


def slice_(b: Builder, node, x, y):
    a = node.args
    start, out, step = a.get("start", 0), a["out"], a.get("step", 1)
    b.add("Slice", [x[0], _ints(b, node, "starts", [start]), _ints(b, node, "ends", [start + out * step]),
                    _ints(b, node, "axes", [a.get("axis", 1)]), _ints(b, node, "steps", [step])], y, node.name)


def binary(op: str):
    """Two tensors (an n-ary add: Sum), or one and a constant `value` or a learned `param` initializer; compare is
    Less, cast back to float (1.0 where true), as the reference computes it."""
    def build(b: Builder, node, x, y):
        a = node.args
        operands = list(x)
        if a.get("param") is not None and a.get("learned") is not None:  # a table gathered by a fixed index
            table = b.param(node, "table", (a["learned"],), "bias")
            index = b.const(node, "index", np.arange(int(np.prod(a["param"])), dtype=np.int64).reshape(a["param"])
                            % a["learned"])
            operands.append(f"{node.name}/gathered")
            b.add("Gather", [table, index], [operands[-1]], f"{node.name}/Gather", axis=0)
        elif a.get("param") is not None:
            operands.append(b.param(node, "param", tuple(a["param"]), "bias"))
        elif a.get("const") is not None:  # a Constant node, not an initializer: no parameter to an importer
            operands.append(f"{node.name}/const")
            b.add("Constant", [], [operands[-1]], f"{node.name}/Constant",
                  value=_tensor(np.zeros(tuple(a["const"]), np.float32)))
        elif a.get("value") is not None:
            operands.append(b.const(node, "value", np.float32(a["value"])))
        if op == "add" and len(operands) > 2:
            return b.add("Sum", operands, y, node.name)
        if op != "compare":
            return b.add(BINARY[op], operands, y, node.name)
        b.add("Less", operands, [f"{node.name}/less"], node.name)
        b.add("Cast", [f"{node.name}/less"], y, f"{node.name}/Cast", to=FLOAT)

    return build


def where(b: Builder, node, x, y):
    """Where(x0 > 0, x1, x2), the operands that are not tensors of the network zeros of `shape`."""
    zeros = b.const(node, "zeros", np.zeros(tuple(node.args.get("shape") or ()), np.float32))
    operands = list(x) + [zeros] * (3 - len(x))
    condition = f"{node.name}/condition"
    b.add("Greater", [operands[0], b.const(node, "zero", np.float32(0))], [condition], f"{node.name}/Greater")
    b.add("Where", [condition, *operands[1:]], y, node.name)


def unary(op: str):
    def build(b: Builder, node, x, y):
        if op == "cast":
            return b.add("Cast", x, y, node.name, to=FLOAT)
        b.add(UNARY[op], x, y, node.name)

    return build


def _axes(b: Builder, node) -> list:
    axes = node.args.get("axes")
    return list(axes) if axes is not None else list(range(1, len(b.shape(node.inputs[0])) + 1))


def reduction(kind: str):
    """Reduce<kind> over `axes` (an input from opset 18, ReduceSum's from 13; an attribute before); argmax and
    argmin, which take one axis: the reduced axes moved last and merged (Transpose, Reshape), ArgMax on the last,
    back to the output's shape, cast to float, as the reference computes them."""
    def build(b: Builder, node, x, y):
        axes, keepdims = _axes(b, node), int(node.args.get("keepdims", False))
        if kind not in ("argmax", "argmin"):
            op_type = REDUCE[kind]
            if b.opset >= 18 or op_type == "ReduceSum":
                return b.add(op_type, [x[0], _ints(b, node, "axes", axes)], y, node.name, keepdims=keepdims)
            return b.add(op_type, x, y, node.name, axes=axes, keepdims=keepdims)
        rank = len(b.shape(node.inputs[0])) + 1
        picked = sorted(a % rank for a in axes)
        kept = [a for a in range(rank) if a not in picked]
        p, n = f"{node.name}/", b.graph.batch
        full = (n, *b.shape(node.inputs[0]))
        b.add("Transpose", x, [p + "moved"], p + "Transpose", perm=kept + picked)
        b.add("Reshape", [p + "moved", _ints(b, node, "merged_shape", [full[a] for a in kept] + [-1])], [p + "merged"],
              p + "Reshape")
        b.add("ArgMax" if kind == "argmax" else "ArgMin", [p + "merged"], [p + "index"], node.name, axis=-1,
              keepdims=0)
        b.add("Reshape", [p + "index", _ints(b, node, "out_shape", [n, *b.shape(node.outputs[0])])], [p + "shaped"],
              p + "Reshape_back")
        b.add("Cast", [p + "shaped"], y, p + "Cast", to=FLOAT)

    return build


def matmul(b: Builder, node, x, y):
    b.add("MatMul", x, y, node.name)


def einsum(b: Builder, node, x, y):
    operands = list(x)
    if node.args.get("param") is not None:
        operands.append(b.param(node, "param", tuple(node.args["param"]), "weight", node.args["param"][0]))
    b.add("Einsum", operands, y, node.name, equation=node.args["equation"].replace(" ", ""))


def reshape(b: Builder, node, x, y):
    b.add("Reshape", [x[0], _ints(b, node, "shape", [b.graph.batch, *b.shape(node.outputs[0])])], y, node.name)


def permute(b: Builder, node, x, y):
    b.add("Transpose", x, y, node.name, perm=list(node.args["perm"]))


def expand(b: Builder, node, x, y):
    b.add("Expand", [x[0], _ints(b, node, "shape", [b.graph.batch, *b.shape(node.outputs[0])])], y, node.name)


def constant(b: Builder, node, x, y):
    """A tensor computed from weights alone: a Constant node of zeros (as the reference computes it), expanded over
    the batch; its input is not read."""
    shape = tuple(node.args["shape"])
    b.add("Constant", [], [f"{node.name}/value"], f"{node.name}/Constant", value=_tensor(np.zeros((1, *shape),
                                                                                                 np.float32)))
    b.add("Expand", [f"{node.name}/value", _ints(b, node, "shape", [b.graph.batch, *shape])], y, node.name)


def tile(b: Builder, node, x, y):
    b.add("Tile", [x[0], _ints(b, node, "repeats", [1, *node.args["repeats"]])], y, node.name)


def gather(b: Builder, node, x, y):
    axis = node.args.get("axis", 1)
    shape = b.shape(node.inputs[0])
    size = shape[axis % (len(shape) + 1) - 1]
    index = b.param(node, "index", tuple(node.args.get("index") or ()), "index", high=size)
    b.add("Gather", [x[0], index], y, node.name, axis=axis)


def depth_to_space(b: Builder, node, x, y):
    b.add("DepthToSpace", x, y, node.name, blocksize=node.args["blocksize"], mode="DCR")


def space_to_depth(b: Builder, node, x, y):
    b.add("SpaceToDepth", x, y, node.name, blocksize=node.args["blocksize"])


def col2im(b: Builder, node, x, y):
    """Col2Im, ONNX's from opset 18 on (torch's exporter writes nn.Fold so there, and refuses it before)."""
    if b.opset < 18:
        b.refuse(node, f"col2im is ONNX's Col2Im, from opset 18 on: export with --opset 18 or later, not {b.opset}")
    a = node.args
    size, k, stride, pad, dilation = (list(per_axis(a.get(key, default), 2, key)) for key, default in (
        ("size", None), ("k", None), ("stride", ONES), ("pad", ZEROS), ("dilation", ONES)))
    b.add("Col2Im", [x[0], _ints(b, node, "image_shape", size), _ints(b, node, "block_shape", k)], y, node.name,
          dilations=dilation, pads=pad + pad, strides=stride)


def _tensor(array):
    from onnx import numpy_helper  # the [onnx] extra, loaded only when a file is written

    return numpy_helper.from_array(array)
