"""Several ONNX nodes -> one costcalc layer, and the views of a tensor (Reshape, Flatten, Squeeze, Transpose).

Reshape-Transpose-Reshape is a channel shuffle (the tensor between them is `pending`), Mul(x, Sigmoid(x)) is
swish (Mul(x, HardSigmoid(x)) hardswish), MatMul + Add(bias) is an fc with a bias, complementary channel Slices
are one split, SplitToSequence + SequenceAt a split."""

from __future__ import annotations

from math import prod

from costcalc.importers.onnx import shared
from costcalc.importers.onnx.batch import learned_number
from costcalc.importers.onnx.layers import scalar
from costcalc.importers.onnx.modern import channel_mul, per_channel, placeholder_affine
from costcalc.importers.onnx.naming import note_of
from costcalc.importers.onnx.reading import FRESH, Const, Data, Sequence, fmt
from costcalc.importers.onnx.views import slice_bounds


def mul(imp, node) -> None:
    a, b = imp.get(node, 0), imp.get(node, 1)
    if isinstance(a, Data) and isinstance(b, Data):
        if not gated(imp, node, a, b):
            imp.emit1(node, "mul", {}, [a, b])
        return
    x, c = (a, b) if isinstance(a, Data) else (b, a)
    if prod(c.shape) != 1 and per_channel(x, c.shape):
        return channel_mul(imp, node, x, c)
    if placeholder_affine(imp, node, x, c):
        return
    if learned_number(imp, c):  # a learned scale of one value (HGNetV2's learnable affine block)
        return imp.emit1(node, "mul", {"param": (1,)}, [x])
    factor = scalar(imp, node, c, "Mul by a constant")
    imp.emit1(node, "scale", {"factor": factor}, [x])


def gated(imp, node, a: Data, b: Data) -> bool:
    """x * sigmoid(x) is swish, x * hardsigmoid(x) hardswish: the gate's layer becomes that op, on any layout (the
    generic rules ask too, for tokens whose batch has moved)."""
    for x, gate in ((a, b), (b, a)):
        layer = imp.producer_layer.get(gate.ref)
        fused = {"sigmoid": "swish", "hardsigmoid": "hardswish"}.get(layer.op) if layer else None
        if fused and layer.inputs == [x.ref] and imp.only_consumer(tensor_of(imp, node, gate)) is not None:
            layer.op, layer.note = fused, f"{layer.note} + {note_of(node)}"
            imp.set(node, 0, gate)
            return True
    return False


def tensor_of(imp, node, tensor) -> str:
    return next(t for t in node.proto.input if imp.tensors.get(t) is tensor)


def add(imp, node) -> None:
    inputs = [imp.get(node, k) for k in range(len(node.proto.input))]
    if None in inputs or len(inputs) < (1 if node.op == "Sum" else 2):
        imp.fail(node, f"an input of {node.op} is missing (its inputs: {list(node.proto.input)})")
    data = [x for x in inputs if isinstance(x, (Data, Sequence))]
    if len(data) == len(inputs):
        return imp.emit1(node, "add", {}, inputs)
    x = data[0]
    layer = imp.producer_layer.get(x.ref)
    c = next(t for t in inputs if isinstance(t, Const))
    if (len(inputs) == 2 and layer is not None and (layer.op == "fc" or layer.open_bias) and not layer.args["bias"]
            and per_channel(x, c.shape) and imp.only_consumer(tensor_of(imp, node, x))):
        layer.args = {**layer.args, "bias": True}  # MatMul + Add(bias): one fc (or 1x1 conv) with a bias
        shared.note_bias(layer, c, node)
        layer.note = f"{layer.note} + {note_of(node)}"
        imp.set(node, 0, x)
        return
    imp.fail(node, f"adding a constant of shape {fmt(c.shape)} to {fmt(x.shape)}: costcalc knows Add of "
                    "tensors of the network, and the bias Add after a MatMul")


def slice(imp, node) -> None:
    """Channel slices of one tensor that together cover its channels (torch's chunk) are one split."""
    x = imp.get(node, 0)
    source = node.proto.input[0]
    users = [imp.nodes[i] for i in imp.consumers[source]
             if imp.nodes[i].op == "Slice" and imp.nodes[i].proto.input[0] == source and i in imp.needed_nodes]
    parts = [(channel_slice(imp, u, x), u) for u in users]
    if all(bounds is not None for bounds, _ in parts):
        parts.sort(key=lambda p: p[0])
        bounds = [b for b, _ in parts]
        if bounds[0][0] == 0 and bounds[-1][1] == x.shape[1] and all(a[1] == b[0] for a, b in zip(bounds, bounds[1:])):
            if len(parts) == 1:  # all the channels (GhostNet's out[:, :oup]): a view, but onnxruntime copies it
                return imp.emit1(node, "slice", {"out": x.shape[1], "start": 0}, [x])
            outs = imp.emit(node, None, "split", {"sizes": [e - s for s, e in bounds]}, [x],
                             note=" + ".join(note_of(u) for _, u in parts))
            for d, (_, u) in zip(outs, parts):
                imp.done.add(u.index)
                imp.set(u, 0, d)
            return
    bounds = channel_slice(imp, node, x)
    if bounds is None or x.last:
        imp.fail(node, f"a Slice of {fmt(x.shape)}: costcalc knows slices of the channels with step 1 (and "
                        "slices that together cover the channels: a split, as torch's chunk exports)")
    imp.emit1(node, "slice", {"out": bounds[1] - bounds[0], "start": bounds[0]}, [x])


def sequence_construct(imp, node) -> None:
    """A list of network tensors (torch.jit.script's `torch.cat([a, b])`), read by ConcatFromSequence."""
    items = [imp.get(node, k) for k in range(len(node.proto.input))]
    if not all(isinstance(x, Data) for x in items):
        imp.fail(node, "a sequence of constants and network tensors: costcalc reads sequences of network tensors")
    imp.set(node, 0, Sequence(tuple(items)))


def concat_from_sequence(imp, node) -> None:
    seq = imp.get(node, 0)
    if not isinstance(seq, Sequence) or not seq.items:
        imp.fail(node, "ConcatFromSequence of what is not a sequence of network tensors")
    axis = node.attrs.get("axis", 0) % len(seq.items[0].shape)
    if axis != 1 or node.attrs.get("new_axis", 0):
        imp.fail(node, f"concatenation along axis {axis}: costcalc concatenates along channels (axis 1)")
    imp.emit1(node, "concat", {}, list(seq.items))


def channel_slice(imp, node, x):
    """(start, end) when `node` slices the channels of x with step 1, else None (`views.slice_bounds`)."""
    bounds = slice_bounds(imp, node, x.shape)
    return bounds[1:] if bounds is not None and bounds[0] == 1 else None


def split_to_sequence(imp, node) -> None:
    """SplitToSequence along any axis, into parts of given sizes (or of one element each, as ONNX's default),
    dropped axes (keepdims 0) being views of the parts."""
    from costcalc.importers.onnx.batch import emit_views, onnx_shape, spec_axis

    x = imp.get(node, 0)
    full = onnx_shape(imp, x)
    axis = node.attrs.get("axis", 0) % len(full)
    split = imp.value(node, 1, "split") if len(node.proto.input) > 1 and node.proto.input[1] else None
    c = full[axis]
    if split is None:
        sizes = [1] * c
    elif split.ndim == 0:
        n = int(split)
        sizes = [n] * (c // n) + ([c % n] if c % n else [])
    else:
        sizes = [int(v) for v in split]
    args = {"sizes": sizes, "axis": spec_axis(imp, node, x, axis)}
    parts = imp.emit(node, None, "split", args, [x])
    for part in parts:
        part.batch_at = x.batch_at
    if split is None and not node.attrs.get("keepdims", 1):
        parts = emit_views(imp, node, parts, [d for i, d in enumerate(full) if i != axis])
    imp.set(node, 0, Sequence(tuple(parts)))


def sequence_at(imp, node) -> None:
    seq = imp.get(node, 0)
    if not isinstance(seq, Sequence):
        imp.fail(node, "SequenceAt of what is not a sequence of network tensors")
    position = int(imp.value(node, 1, "position"))
    if not -len(seq.items) <= position < len(seq.items):
        imp.fail(node, f"position {position} of a sequence of {len(seq.items)}")
    imp.set(node, 0, seq.items[position])


def reshape(imp, node) -> None:
    x = imp.get(node, 0)
    target = [int(d) for d in imp.value(node, 1, "shape")]
    allowzero = node.attrs.get("allowzero", 0)
    if not allowzero and any(d == 0 and i >= len(x.shape) for i, d in enumerate(target)):
        imp.fail(node, f"shape {target} copies (0) a dimension the input {fmt(x.shape)} does not have")
    shape = [x.shape[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
    if shape.count(-1) == 1:
        known = prod(d for d in shape if d != -1)
        shape[shape.index(-1)] = prod(x.shape) // known if known else 0
    shape = tuple(shape)
    if prod(shape) != prod(x.shape) or any(d < 0 for d in shape):
        hint = (" (the file fixes this shape for the input size it was exported at, not for --input "
                f"{'x'.join(map(str, imp.input_shape))})" if imp.input_shape else "")
        imp.fail(node, f"cannot reshape {fmt(x.shape)} to {target}{hint}")
    view(imp, node, x, shape)


def view(imp, node, x, shape) -> None:
    """A Reshape, Flatten or Squeeze of a network tensor to `shape`."""
    if (x.pending and x.pending[0] == "shuffled" and len(shape) == 4
            and shape[:2] == (x.shape[0], prod(x.shape[1:3])) and shape[2:] == x.shape[3:]):
        _, groups, first = x.pending
        source = Data((x.shape[0], shape[1], *shape[2:]), x.ref)
        note = f"{note_of(first)} + Transpose + {note_of(node)}"
        return imp.emit1(node, "shuffle", {"groups": groups}, [source], note=note)
    if x.pending and x.pending[0] == "normed" and shape == x.pending[3].shape:  # a group norm's Reshape back
        _, groups, norm, source = x.pending
        return imp.set(node, 0, imp.emit(norm, None, "groupnorm", {"groups": groups, "affine": False}, [source],
                                         note=f"{note_of(norm)} + {note_of(node)}")[0])
    if x.pending:
        imp.fail(node, f"reshapes {fmt(x.shape)} to {fmt(shape)} inside what is not a channel shuffle")
    if x.last:
        imp.fail(node, f"reshapes a channels-last {fmt(x.shape)}: costcalc reshapes N x C x H x W tensors")
    if len(x.shape) == 4 and len(shape) == 3 and shape[0] == x.shape[0] and x.shape[1] % shape[1] == 0 \
            and shape[2] == prod(x.shape[1:]) // shape[1] and _read_by(imp, node, "InstanceNormalization"):
        # N x G x -1: a group norm's statistics follow
        return imp.set(node, 0, Data(shape, x.ref, ("groups", shape[1], node, x)))
    if len(shape) == 1 and shape[0] == prod(x.shape) and _read_by(imp, node, "Gather"):
        # everything on one axis, gathered back: the dynamo exporter's as_strided
        return imp.set(node, 0, Data(shape, x.ref, ("flat", x, node)))
    if shape == x.shape:
        return imp.emit1(node, "identity", {}, [x])
    if len(shape) == 2 and shape[0] == x.shape[0]:
        return imp.emit1(node, "flatten", {}, [x])
    if len(x.shape) == 4 and len(shape) == 5 and shape[0] == x.shape[0] and shape[1] * shape[2] == x.shape[1] \
            and shape[3:] == x.shape[2:]:
        imp.set(node, 0, Data(shape, x.ref, ("grouped", shape[1], node)))
        return
    imp.fail(node, f"reshapes {fmt(x.shape)} to {fmt(shape)}: costcalc knows flatten (N x F) and the "
                    "channel shuffle (N x g x C/g x H x W, Transpose, back to N x C x H x W)")


def _read_by(imp, node, op: str) -> bool:
    reader = imp.only_consumer(node.proto.output[0])
    return reader is not None and reader.op == op


def transpose(imp, node) -> None:
    x = imp.get(node, 0)
    perm = list(node.attrs.get("perm", reversed(range(len(x.shape)))))
    if not x.pending and not x.padded and len(x.shape) == 4 and perm == ([0, 3, 1, 2] if x.last else [0, 2, 3, 1]):
        # channels last and back: a view (ConvNeXt's block), until an op that knows only the plain order reads it
        # straight from the Transpose (batch.plain); a change of order the graph keeps (Swin's stem: the windows
        # are cut from N x H x W x C in memory) is the copy onnxruntime's Transpose makes, as torch's layer_norm
        # makes its permuted input contiguous: the generic rule's permute
        if not x.last and imp.leaves_channels_last(node.proto.output[0]):
            imp.fail(node, "a Transpose to channels last whose order the graph keeps: a copy")
        return imp.set(node, 0, Data(x.shape, x.ref, last=False if x.last else FRESH))
    if x.pending and x.pending[0] == "grouped" and perm == [0, 2, 1, 3, 4]:
        shape = (x.shape[0], x.shape[2], x.shape[1], *x.shape[3:])
        imp.set(node, 0, Data(shape, x.ref, ("shuffled", x.pending[1], x.pending[2])))
        return
    imp.fail(node, f"Transpose {perm} of {fmt(x.shape)}: costcalc knows Transpose to channels last (0,2,3,1) "
                    "and back (0,3,1,2), and inside a channel shuffle (Reshape to N x g x C/g x H x W, Transpose "
                    "0,2,1,3,4, Reshape back)")


def flatten(imp, node) -> None:
    x = imp.get(node, 0)
    axis = node.attrs.get("axis", 1) % max(len(x.shape), 1)
    if axis != 1:
        imp.fail(node, f"Flatten at axis {axis}: costcalc flattens everything but the batch (axis 1)")
    view(imp, node, x, (x.shape[0], prod(x.shape[1:])))


def squeeze(imp, node) -> None:
    x = imp.get(node, 0)
    axes = node.attrs.get("axes")
    if axes is None and len(node.proto.input) > 1:
        axes = [int(a) for a in imp.value(node, 1, "axes")]
    axes = [i for i, d in enumerate(x.shape) if d == 1 and i] if axes is None else [a % len(x.shape) for a in axes]
    if 0 in axes:
        imp.fail(node, "squeezes the batch axis")
    view(imp, node, x, tuple(d for i, d in enumerate(x.shape) if i not in axes))
