"""ONNX builders of the seed ops (batchnorm, activations, global mean, shuffle, select): each `(builder, node, input
names, output names)` adds the node's ONNX form. Conv, fc, pools, add and mul, concat and split, of any rank or
axis, are in `tensor`."""

from __future__ import annotations

import numpy as np

from costcalc.exporters.onnx.building import Builder

BATCHNORM_EPSILON = 1e-5  # torch's default, and the numpy reference's
LEAKY_RELU_SLOPE = 0.01  # torch's default negative_slope, the one the spec language's leaky_relu has


def bn(b: Builder, node, x, y):
    """BatchNormalization over axis 1; the channels of the last axis (tokens L x C) are flattened to N x C and
    back; those of another axis are moved to axis 1 and back."""
    shape = b.shape(node.inputs[0])
    rank = len(shape) + 1
    axis = node.args.get("axis", 1) % rank
    c = (shape[axis - 1],)
    stats = [b.param(node, role, c, kind) for role, kind in
             (("weight", "scale"), ("bias", "shift"), ("running_mean", "mean"), ("running_var", "var"))]
    if axis == 1:
        return b.add("BatchNormalization", [x[0], *stats], y, node.name, epsilon=BATCHNORM_EPSILON)
    if axis == rank - 1:  # the last axis (tokens L x C): flattened to (N * L) x C and back, as torch writes LeViT's
        # BatchNorm1d on x.flatten(0, 1); two views, which the importer reads back as this bn
        flat, normed = f"{node.name}/flat", f"{node.name}/normed"
        b.add("Reshape", [x[0], b.const(node, "flat_shape", np.array([-1, c[0]], np.int64))], [flat],
              f"{node.name}/Reshape")
        b.add("BatchNormalization", [flat, *stats], [normed], node.name, epsilon=BATCHNORM_EPSILON)
        return b.add("Reshape", [normed, b.const(node, "shape", np.array([b.graph.batch, *shape], np.int64))], y,
                     f"{node.name}/Reshape_back")
    perm = [0, axis] + [a for a in range(1, rank) if a != axis]
    moved, normed = f"{node.name}/channels_second", f"{node.name}/normed"
    b.add("Transpose", x, [moved], f"{node.name}/Transpose", perm=perm)
    b.add("BatchNormalization", [moved, *stats], [normed], node.name, epsilon=BATCHNORM_EPSILON)
    b.add("Transpose", [normed], y, f"{node.name}/Transpose_back", perm=[perm.index(a) for a in range(rank)])


def unary(op_type: str, **attrs):
    def build(b: Builder, node, x, y):
        b.add(op_type, x, y, node.name, **attrs)

    return build


def relu6(b: Builder, node, x, y):
    low, high = b.const(node, "min", np.float32(0)), b.const(node, "max", np.float32(6))
    b.add("Clip", [x[0], low, high], y, node.name)


def gated(gate: str, **attrs):
    """x * gate(x): swish (Sigmoid), and hardswish before opset 14 (HardSigmoid); the gate node carries the
    layer's name, as the importer reads the pattern."""

    def build(b: Builder, node, x, y):
        g = f"{node.name}/{gate}"
        b.add(gate, x, [g], node.name, **attrs)
        b.add("Mul", [x[0], g], y, f"{node.name}/Mul")

    return build


HARDSIGMOID = {"alpha": 1 / 6, "beta": 0.5}  # torch's hardsigmoid: relu6(x + 3) / 6


def hardswish(b: Builder, node, x, y):
    if b.opset >= 14:
        return b.add("HardSwish", x, y, node.name)
    return gated("HardSigmoid", **HARDSIGMOID)(b, node, x, y)


def scale(b: Builder, node, x, y):
    b.add("Mul", [x[0], b.const(node, "factor", np.float32(node.args["factor"]))], y, node.name)


def mean(b: Builder, node, x, y):
    if b.opset >= 18:
        return b.add("ReduceMean", [x[0], b.const(node, "axes", np.array([2, 3], np.int64))], y, node.name, keepdims=1)
    b.add("ReduceMean", x, y, node.name, axes=[2, 3], keepdims=1)


def shuffle(b: Builder, node, x, y):
    """ShuffleNet's channel shuffle as torch writes it: Reshape to N x g x C/g x H x W, Transpose(0, 2, 1, 3, 4),
    Reshape back; the last Reshape carries the layer's name (the importer names the shuffle after it)."""
    shape, g, n = b.shape(node.inputs[0]), node.args["groups"], b.graph.batch
    grouped, swapped = f"{node.name}/grouped", f"{node.name}/swapped"
    b.add("Reshape", [x[0], b.const(node, "grouped_shape", np.array([n, g, shape[0] // g, *shape[1:]], np.int64))],
          [grouped], f"{node.name}/Reshape")
    b.add("Transpose", [grouped], [swapped], f"{node.name}/Transpose", perm=[0, 2, 1, 3, 4])
    b.add("Reshape", [swapped, b.const(node, "shape", np.array([n, *shape], np.int64))], y, node.name)


def select(b: Builder, node, x, y):
    channels = b.shape(node.inputs[0])[0]
    index = b.param(node, "index", (node.args["out"],), "index", high=channels)
    b.add("Gather", [x[0], index], y, node.name, axis=1)
