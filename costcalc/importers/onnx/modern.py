"""The modern ops' ONNX forms -> costcalc layers: LayerNormalization (over the channels: on a channels-last tensor,
as torch writes nn.LayerNorm after a permute and torchvision's LayerNorm2d, or on N x F), Gelu, Softmax,
ConvTranspose, Resize, a Gather of channels (select), group norm as torch writes it (Reshape to N x G x -1,
InstanceNormalization, Reshape back, then the per-channel Mul and Add), and a learnable per-channel Mul
(layer_scale). The views that carry a tensor between them (Transpose to channels last and back, the Reshapes) are
in `patterns`; GELU's and Mish's formulas in `formulas`."""

from __future__ import annotations

from math import floor, prod

from costcalc.importers.onnx.layers import conv_inputs, learned
from costcalc.importers.onnx.reading import Const, Data, fmt


def _text(value, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


def layernorm(imp, node) -> None:
    x, scale, bias = imp.get(node, 0), imp.get(node, 1), imp.get(node, 2)
    if isinstance(scale, Data) or isinstance(bias, Data):
        imp.fail(node, "its scale and shift are computed from the network's input: costcalc needs them constant")
    if any(node.proto.output[1:]):
        imp.fail(node, "the mean and inverse deviation outputs (training) are not costed; export in eval mode")
    rank = len(x.shape)
    axis = node.attrs.get("axis", -1) % rank
    channels = ((rank == 4 and x.last and axis == 3) or (rank == 2 and axis == 1)
                or (rank == 4 and not x.last and axis == 1 and x.shape[2:] == (1, 1)))
    if not channels:
        imp.fail(node, f"LayerNormalization from axis {axis} of {'a channels-last ' if x.last else ''}"
                        f"{fmt(x.shape)}: costcalc normalises over the channels at each position (the last axis of "
                        "a channels-last tensor, as torch writes nn.LayerNorm after a permute)")
    c = x.shape[1]
    for t in (scale, bias):
        if t is not None and prod(t.shape) != c:
            imp.fail(node, f"a scale or shift of shape {fmt(t.shape)} for {c} channels")
    affine, shift = stored(scale), stored(bias)
    if shift and not affine:
        imp.fail(node, "a learnable shift without a learnable scale: costcalc's layernorm has both (affine), the "
                        "scale alone (bias: false) or neither")
    args = {"affine": affine, "layout": "channels_last" if x.last else "channels_first"}
    imp.emit1(node, "layernorm", {**args, **({} if shift or not affine else {"bias": False})}, [x])


def stored(t) -> bool:
    """Whether a LayerNormalization's scale or shift input is learned: one the file stores (an initializer, or
    Identity of one), whatever its values. Absent, a Constant node (torch's TorchScript exporter fills the zeros of
    nn.LayerNorm(bias=False), timm's LayerNorm2dNoBias, into one; and the ones and zeros of
    nn.LayerNorm(elementwise_affine=False)), or computed in the graph, it is no parameter."""
    return t is not None and t.param and t.stored


def gelu(imp, node) -> None:
    approximate = _text(node.attrs.get("approximate"), "none")
    if approximate not in ("none", "tanh"):
        imp.fail(node, f"Gelu approximate='{approximate}': ONNX knows 'none' and 'tanh'")
    imp.emit1(node, "gelu", {"approximate": approximate}, [imp.get(node, 0)])


def softmax(imp, node) -> None:
    x = imp.get(node, 0)
    rank = len(x.shape)
    axis = node.attrs.get("axis", 1 if imp.opset < 13 else -1) % rank
    flat_from_axis = imp.opset < 13 and rank == 4 and x.shape[2:] != (1, 1)  # opset < 13: over axis.. together
    if not ((rank == 2 and axis == 1) or (rank == 4 and x.last and axis == 3)
            or (rank == 4 and not x.last and axis == 1 and not flat_from_axis)):
        imp.fail(node, f"Softmax along axis {axis} of {fmt(x.shape)} (opset {imp.opset}): costcalc costs the "
                        "softmax over the channels at each position")
    imp.emit1(node, "softmax", {}, [x])


def conv_transpose(imp, node) -> None:
    x, w, b = conv_inputs(imp, node, "transposed convolutions")
    groups = node.attrs.get("group", 1)
    if w.shape[0] != x.shape[1]:
        imp.fail(node, f"weights {fmt(w.shape)} do not fit an input of {x.shape[1]} channels")
    if "output_shape" in node.attrs or _text(node.attrs.get("auto_pad"), "NOTSET") != "NOTSET":
        imp.fail(node, "output_shape and auto_pad are not costed: costcalc reads explicit pads")
    pads = list(node.attrs.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4 or pads[:2] != pads[2:]:
        imp.fail(node, f"pads {pads}: costcalc costs a transposed convolution with the same padding on both sides")
    out = w.shape[1] * groups
    args = {"out": out, "k": tuple(w.shape[2:]),
            "stride": tuple(node.attrs.get("strides", (1, 1))), "pad": tuple(pads[:2]),
            "output_padding": tuple(node.attrs.get("output_padding", (0, 0))),
            "dilation": tuple(node.attrs.get("dilations", (1, 1))), "groups": groups,
            "bias": learned(imp, b, node, out)}
    imp.emit1(node, "conv_transpose", args, [x])


def _optional(imp, node, k: int, what: str):
    """The values of optional constant input k, None when absent or empty."""
    if k >= len(node.proto.input) or not node.proto.input[k]:
        return None
    value = imp.value(node, k, what)
    return None if value is None or value.size == 0 else value


def resize(imp, node) -> None:
    x = imp.get(node, 0)
    if len(x.shape) != 4:
        imp.fail(node, f"costcalc resizes N x C x H x W tensors, not {fmt(x.shape)}")
    mode = {"nearest": "nearest", "linear": "bilinear", "cubic": "bicubic"}.get(_text(node.attrs.get("mode"), "nearest"))
    if mode is None:
        imp.fail(node, f"mode '{_text(node.attrs.get('mode'), '')}': ONNX resizes by nearest, linear or cubic")
    scales = _optional(imp, node, 1 if imp.opset < 11 or node.op == "Upsample" else 2, "scales")
    if scales is None and node.op == "Upsample" and node.attrs.get("scales") is not None:  # opset 7 and 8
        scales = list(node.attrs["scales"])
    sizes = None if imp.opset < 11 or node.op == "Upsample" else _optional(imp, node, 3, "sizes")
    n, c = x.shape[:2]
    if sizes is not None:
        target = [int(s) for s in sizes]
    elif scales is not None:
        target = [floor(d * float(s)) for d, s in zip(x.shape, scales)]
    else:
        imp.fail(node, "neither scales nor sizes is given")
    if len(target) != 4 or target[:2] != [n, c]:
        imp.fail(node, f"resizes {fmt(x.shape)} to {fmt(target)}: costcalc resizes H and W only")
    if sizes is None and float(scales[2]) == float(scales[3]):
        args = {"scale": float(scales[2]), "mode": mode}
    else:
        args = {"size": (target[2], target[3]), "mode": mode}
    imp.emit1(node, "resize", args, [x])


def gather(imp, node) -> None:
    """A Gather of channels by a constant index (an index-select) is select; the index's values are not needed.
    The dynamo exporter's as_strided (a Reshape of the whole tensor to one axis, then a Gather of every element
    back into its shape) is a select of all the channels: it moves every element."""
    x, index = imp.get(node, 0), imp.get(node, 1)
    if isinstance(index, Data):
        imp.fail(node, "its indices are computed from the network's input: costcalc needs them constant")
    axis = node.attrs.get("axis", 0) % len(x.shape)
    if x.pending and x.pending[0] == "flat":
        source = x.pending[1]
        if axis == 0 and index.shape == source.shape and not source.last:
            return imp.emit1(node, "select", {"out": source.shape[1]}, [source])
        imp.fail(node, f"a Gather of {fmt(index.shape)} from the flattened {fmt(source.shape)}: costcalc knows the "
                        "Gather of every element back into its shape")
    if axis != 1 or len(index.shape) != 1 or x.last:
        imp.fail(node, f"a Gather along axis {axis} by indices of shape {fmt(index.shape)}: costcalc knows the "
                        "Gather of channels (axis 1) by a list of indices")
    imp.emit1(node, "select", {"out": index.shape[0]}, [x])


def instance_norm(imp, node) -> None:
    """InstanceNormalization inside torch's group norm: Reshape(N x G x -1) -> here -> Reshape back. Its scale and
    shift are constants of G ones and zeros (the learnable ones are the Mul and Add after it)."""
    x = imp.get(node, 0)
    if not (x.pending and x.pending[0] == "groups"):
        imp.fail(node, "InstanceNormalization is costed only as part of a group norm (Reshape to N x G x -1, "
                        "InstanceNormalization, Reshape back)")
    _, groups, _, source = x.pending
    imp.set(node, 0, Data(x.shape, x.ref, ("normed", groups, node, source)))


def per_channel(x: Data, shape: tuple) -> bool:
    """Whether a constant of `shape` holds one value per channel of x, broadcast as ONNX broadcasts it."""
    stripped = tuple(shape)
    while stripped and stripped[0] == 1 and len(stripped) > 1:
        stripped = stripped[1:]
    c = x.shape[1]
    if x.last or len(x.shape) == 2:
        return stripped == (c,)
    return stripped == (c,) + (1,) * (len(x.shape) - 2)


def placeholder_affine(imp, node, x: Data, c: Const) -> bool:
    """torch's TorchScript exporter writes a group norm without affine parameters as one with a Mul by a constant 1
    and an Add of a constant 0 (each of one element): part of the group norm, costing nothing. True when `node` is
    that Mul (the Add is then done too)."""
    layer = imp.producer_layer.get(x.ref)
    reader = imp.only_consumer(node.proto.output[0])
    if layer is None or layer.op != "groupnorm" or layer.args["affine"] or reader is None or reader.op != "Add" \
            or imp.only_consumer(_tensor_of(imp, node, x)) is None:
        return False
    shift = [imp.tensors.get(t) for t in reader.proto.input if t != node.proto.output[0]]
    if len(shift) != 1 or not isinstance(shift[0], Const) or prod(shift[0].shape) != 1:
        return False
    layer.note = f"{layer.note} + {node.name} (Mul) + {reader.name} (Add)"
    imp.done.add(reader.index)
    imp.set(reader, 0, x)
    return True


def channel_mul(imp, node, x: Data, c: Const) -> None:
    """x times a constant per channel: a learnable scale (layer_scale), or a group norm's learnable gamma when an
    Add of its beta follows (then both are the group norm's affine parameters)."""
    if not c.param:
        imp.fail(node, f"a per-channel multiply by constants of shape {fmt(c.shape)} the graph computes: costcalc "
                        "costs learnable ones (layer_scale)")
    layer = imp.producer_layer.get(x.ref)
    reader = imp.only_consumer(node.proto.output[0])
    if layer is not None and layer.op == "groupnorm" and not layer.args["affine"] and reader is not None \
            and reader.op == "Add" and imp.only_consumer(_tensor_of(imp, node, x)) is not None:
        shift = [imp.tensors.get(t) for t in reader.proto.input if t != node.proto.output[0]]
        if len(shift) == 1 and isinstance(shift[0], Const) and shift[0].param and per_channel(x, shift[0].shape):
            layer.args = {**layer.args, "affine": True}
            layer.note = f"{layer.note} + {node.name} (Mul) + {reader.name} (Add)"
            imp.done.add(reader.index)
            imp.set(reader, 0, x)
            return
    imp.emit1(node, "layer_scale", {}, [x])


def _tensor_of(imp, node, tensor) -> str:
    return next(t for t in node.proto.input if imp.tensors.get(t) is tensor)
