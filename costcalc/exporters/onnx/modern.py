"""ONNX builders of the modern ops: layer and group norm, layer_scale, gelu, mish, hardtanh, adaptive pooling,
resize, pad (conv_transpose and slice, of any rank and axis, are in `tensor`). Where an opset lacks an op's own
node (Gelu before 20, Mish before 18), the builder writes the formula as torch's exporter does."""

from __future__ import annotations

import numpy as np

from costcalc.exporters.onnx.building import Builder

LAYERNORM_EPSILON = 1e-6  # ConvNeXt's, and the reference's
GROUPNORM_EPSILON = 1e-5  # torch's default, and the reference's


def needs(b: Builder, node, opset: int, what: str) -> None:
    if b.opset < opset:
        b.refuse(node, f"{what} needs ONNX opset {opset} or later (this export is at opset {b.opset}): "
                       f"give --opset {opset}")


def affine(b: Builder, node, c: int) -> tuple:
    """(scale, bias) initializer names of a norm: learnable when `affine`, else a constant scale of ones."""
    if node.args.get("affine", True):
        return b.param(node, "weight", (c,), "scale"), b.param(node, "bias", (c,), "shift")
    ones = f"{node.name}/ones"  # computed in the graph, not an initializer: no parameter to an importer
    b.add("ConstantOfShape", [b.const(node, "channels", np.array([c], np.int64))], [ones],
          f"{node.name}/ConstantOfShape", value=_tensor(np.ones(1, np.float32)))
    return ones, None


def layernorm(b: Builder, node, x, y):
    """LayerNorm over the channels: channels last (Transpose), LayerNormalization over the last axis, back."""
    needs(b, node, 17, "layernorm (LayerNormalization)")
    c = b.shape(node.inputs[0])[0]
    if node.args.get("affine", True) and not node.args.get("bias", True):  # gamma alone: no B input
        scale, bias = b.param(node, "weight", (c,), "scale"), None
    else:
        scale, bias = affine(b, node, c)
    if len(b.shape(node.inputs[0])) == 1:
        return b.add("LayerNormalization", [x[0], scale] + ([bias] if bias else []), y, node.name, axis=-1,
                     epsilon=LAYERNORM_EPSILON)
    last, normed = f"{node.name}/channels_last", f"{node.name}/normed"
    b.add("Transpose", x, [last], f"{node.name}/Transpose", perm=[0, 2, 3, 1])
    b.add("LayerNormalization", [last, scale] + ([bias] if bias else []), [normed], node.name, axis=-1,
          epsilon=LAYERNORM_EPSILON)
    b.add("Transpose", [normed], y, f"{node.name}/Transpose_back", perm=[0, 3, 1, 2])


def groupnorm(b: Builder, node, x, y):
    """GroupNorm as torch exports it: Reshape to N x G x -1, InstanceNormalization, Reshape back, then the
    per-channel affine Mul and Add."""
    shape, g, n = b.shape(node.inputs[0]), node.args["groups"], b.graph.batch
    grouped, normed = f"{node.name}/grouped", f"{node.name}/normed"
    b.add("Reshape", [x[0], b.const(node, "grouped_shape", np.array([n, g, -1], np.int64))], [grouped],
          f"{node.name}/Reshape")
    b.add("InstanceNormalization", [grouped, b.const(node, "ones", np.ones(g, np.float32)),
                                    b.const(node, "zeros", np.zeros(g, np.float32))], [normed],
          node.name, epsilon=GROUPNORM_EPSILON)
    if not node.args.get("affine", True):
        return b.add("Reshape", [normed, b.const(node, "shape", np.array([n, *shape], np.int64))], y,
                     f"{node.name}/Reshape_back")
    back, scaled = f"{node.name}/back", f"{node.name}/scaled"
    b.add("Reshape", [normed, b.const(node, "shape", np.array([n, *shape], np.int64))], [back],
          f"{node.name}/Reshape_back")
    per_channel = (shape[0],) + (1,) * (len(shape) - 1)
    b.add("Mul", [back, b.param(node, "weight", per_channel, "scale")], [scaled], f"{node.name}/Mul")
    b.add("Add", [scaled, b.param(node, "bias", per_channel, "shift")], y, f"{node.name}/Add")


def layer_scale(b: Builder, node, x, y):
    shape = b.shape(node.inputs[0])
    gamma = b.param(node, "weight", (shape[0],) + (1,) * (len(shape) - 1), "scale")
    b.add("Mul", [x[0], gamma], y, node.name)


def hardtanh(b: Builder, node, x, y):
    low = b.const(node, "min", np.float32(node.args["min_val"]))
    high = b.const(node, "max", np.float32(node.args["max_val"]))
    b.add("Clip", [x[0], low, high], y, node.name)


def gelu(b: Builder, node, x, y):
    approximate = node.args.get("approximate", "none")
    if b.opset >= 20:
        return b.add("Gelu", x, y, node.name, approximate=approximate)
    p = f"{node.name}/"
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
        b.add("Mul", [x[0], x[0]], [p + "x2"], p + "Mul_x2")
        b.add("Mul", [p + "x2", x[0]], [p + "x3"], p + "Mul_x3")
        b.add("Mul", [p + "x3", b.const(node, "c", np.float32(0.044715))], [p + "cx3"], p + "Mul_c")
        b.add("Add", [x[0], p + "cx3"], [p + "inner"], p + "Add_inner")
        b.add("Mul", [p + "inner", b.const(node, "k", np.float32(np.sqrt(2 / np.pi)))], [p + "arg"], p + "Mul_k")
        b.add("Tanh", [p + "arg"], [p + "t"], node.name)
    else:  # 0.5 x (1 + erf(x / sqrt 2))
        b.add("Div", [x[0], b.const(node, "sqrt2", np.float32(np.sqrt(2)))], [p + "arg"], p + "Div")
        b.add("Erf", [p + "arg"], [p + "t"], node.name)
    b.add("Add", [p + "t", b.const(node, "one", np.float32(1))], [p + "one_plus"], p + "Add")
    b.add("Mul", [x[0], p + "one_plus"], [p + "scaled"], p + "Mul")
    b.add("Mul", [p + "scaled", b.const(node, "half", np.float32(0.5))], y, p + "Mul_half")


def mish(b: Builder, node, x, y):
    if b.opset >= 18:
        return b.add("Mish", x, y, node.name)
    p = f"{node.name}/"
    b.add("Softplus", x, [p + "softplus"], node.name)
    b.add("Tanh", [p + "softplus"], [p + "tanh"], p + "Tanh")
    b.add("Mul", [x[0], p + "tanh"], y, p + "Mul")


def adaptive(op_type: str, global_op: str):
    """Adaptive pooling as one ONNX node: global when the output is 1 x 1; a window of H / h (stride the same) when
    h divides H and w divides W; when H divides h and W divides w, torch's windows are single input pixels, each
    repeated h / H times: a nearest Resize. Other sizes (windows of unequal sizes) have no one-node ONNX form."""

    def build(b: Builder, node, x, y):
        c, h, w = b.shape(node.inputs[0])
        out_h, out_w = node.args["out"]
        if (out_h, out_w) == (1, 1):
            return b.add(global_op, x, y, node.name)
        if h % out_h == 0 and w % out_w == 0:
            k = [h // out_h, w // out_w]
            return b.add(op_type, x, y, node.name, kernel_shape=k, strides=k)
        if out_h % h == 0 and out_w % w == 0:
            sizes = b.const(node, "sizes", np.array([b.graph.batch, c, out_h, out_w], np.int64))
            return b.add("Resize", [x[0], "", "", sizes], y, node.name, mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        b.refuse(node, f"adaptive pooling from {h}x{w} to {out_h}x{out_w} has windows of unequal sizes (neither size "
                       "divides the other), which no one ONNX node expresses")

    return build


def resize(b: Builder, node, x, y):
    """torch's F.interpolate: nearest as ONNX's asymmetric / floor, bilinear as linear / half_pixel
    (align_corners=False); by `scale` through scales (as torch maps coordinates), else to the size."""
    a, n = node.args, b.graph.batch
    c, h, w = b.shape(node.inputs[0])
    attrs = {"nearest": {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
             "bilinear": {"mode": "linear", "coordinate_transformation_mode": "half_pixel"},
             "bicubic": {"mode": "cubic", "coordinate_transformation_mode": "half_pixel", "cubic_coeff_a": -0.75},
             }[a.get("mode", "nearest")]
    if a.get("scale") is not None:
        scales = b.const(node, "scales", np.array([1, 1, a["scale"], a["scale"]], np.float32))
        return b.add("Resize", [x[0], "", scales], y, node.name, **attrs)
    _, out_h, out_w = b.shape(node.outputs[0])
    sizes = b.const(node, "sizes", np.array([n, c, out_h, out_w], np.int64))
    b.add("Resize", [x[0], "", "", sizes], y, node.name, **attrs)


def pad(b: Builder, node, x, y):
    value = b.const(node, "value", np.float32(node.args.get("value", 0.0)))
    if node.args.get("pads") is not None:  # any axes: the batch's amounts are 0
        pads = list(node.args["pads"])
        rank = len(pads) // 2
        amounts = b.const(node, "pads", np.array([0, *pads[:rank], 0, *pads[rank:]], np.int64))
        return b.add("Pad", [x[0], amounts, value], y, node.name, mode="constant")
    (top, left) = node.args.get("pad", (0, 0))
    (bottom, right) = node.args.get("pad_end") or (top, left)
    pads = b.const(node, "pads", np.array([0, 0, top, left, 0, 0, bottom, right], np.int64))
    b.add("Pad", [x[0], pads, value], y, node.name, mode="constant")


def _tensor(array):
    from onnx import numpy_helper  # the [onnx] extra, loaded only when a file is written

    return numpy_helper.from_array(array)
