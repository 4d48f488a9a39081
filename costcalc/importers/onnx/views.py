"""The generic rules that rearrange tensors of any rank: Reshape, Flatten, Squeeze and Unsqueeze (views), Transpose,
Concat, Split, Slice, Gather, Expand, Tile, Pad, DepthToSpace and SpaceToDepth (copies)."""

from __future__ import annotations

from math import prod

import numpy as np

from costcalc.importers.onnx.batch import axes_of, emit, learned_of, onnx_shape, same_place, spec_axis
from costcalc.importers.onnx.naming import note_of
from costcalc.importers.onnx.reading import Const, Data, fmt


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


def concat(imp, node, inputs: list) -> None:
    """Concat of network tensors; a learned constant first (ViT's class token, expanded over the batch) is the
    op's `param`."""
    data = [t for t in inputs if isinstance(t, Data)]
    consts = [t for t in inputs if isinstance(t, Const)]
    if consts and (len(consts) > 1 or inputs[0] is not consts[0] or learned_of(consts[0]) != prod(consts[0].shape)):
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
    if not any(amounts):  # Swin's F.pad to a multiple of the window when it is one already: the tensor itself
        return imp.set(node, 0, x)
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


def slice_bounds(imp, node, full: tuple):
    """(axis, start, end) when `node` slices one axis of a tensor of shape `full` with step 1, else None. Its bounds
    may be computed by nodes further down the list (torch computes the second chunk's end after the first Slice):
    they are evaluated on demand."""
    if imp.opset < 10:
        starts, ends = node.attrs.get("starts"), node.attrs.get("ends")
        axes, steps = node.attrs.get("axes"), None
    else:
        values = []
        for k in range(1, 5):
            name = node.proto.input[k] if k < len(node.proto.input) else ""
            t = imp.demand(name) if name else None
            if name and not isinstance(t, Const):
                return None
            values.append(None if t is None else imp.const_value(node, t, f"input {k}"))
        starts, ends, axes, steps = values
    if starts is None or ends is None or len(starts) != 1 or len(ends) != 1:
        return None
    axes = [0] if axes is None else [int(a) for a in axes]
    if len(axes) != 1 or not -len(full) <= axes[0] < len(full) or (steps is not None and int(steps[0]) != 1):
        return None
    axis = axes[0] % len(full)
    c = full[axis]
    start, end = int(starts[0]), int(ends[0])
    start, end = (start + c if start < 0 else start), (end + c if end < 0 else end)
    start, end = max(0, min(start, c)), max(0, min(end, c))
    return (axis, start, end) if end > start else None


def covering_split(imp, node, x: Data) -> bool:
    """Slices of one tensor along one axis that together cover it are one split, as the TorchScript exporter
    writes torch's unbind, chunk and split (the dynamo exporter writes Slices): a copy either way, whether each
    part is a contiguous block or not (attention's q, k, v out of the packed qkv)."""
    source, full = node.proto.input[0], onnx_shape(imp, x)
    users = [imp.nodes[i] for i in imp.consumers.get(source, [])
             if imp.nodes[i].op == "Slice" and imp.nodes[i].proto.input[0] == source and i in imp.needed_nodes
             and i not in imp.done]
    if len(users) < 2 or node not in users:
        return False
    parts = []
    for u in users:
        bounds = slice_bounds(imp, u, full)
        if bounds is None:
            return False
        parts.append((bounds, u))
    parts.sort(key=lambda p: p[0][1])
    bounds = [b for b, _ in parts]
    if len({b[0] for b in bounds}) != 1 or bounds[0][1] != 0 or bounds[-1][2] != full[bounds[0][0]] \
            or any(a[2] != b[1] for a, b in zip(bounds, bounds[1:])) or bounds[0][0] == x.batch_at:
        return False
    args = {"axis": spec_axis(imp, node, x, bounds[0][0]), "sizes": [e - s for _, s, e in bounds]}
    outs = imp.emit(node, None, "split", args, [x], note=" + ".join(note_of(u) for _, u in parts))
    for d, (_, u) in zip(outs, parts):
        d.batch_at = x.batch_at
        imp.done.add(u.index)
        imp.set(u, 0, d)
    return True


def slice_(imp, node, x: Data) -> None:
    if covering_split(imp, node, x):
        return
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


def pixel(imp, node, x: Data) -> None:
    if x.batch_at != 0 or len(onnx_shape(imp, x)) != 4:
        imp.fail(node, f"{node.op} of a tensor that is not N x C x H x W")
    op = "depth_to_space" if node.op == "DepthToSpace" else "space_to_depth"
    emit(imp, node, op, {"blocksize": node.attrs["blocksize"]}, [x], 0)


def gather_nd(imp, node, x: Data) -> None:
    """GatherND by a constant index (the dynamo exporter's as_strided, nearest-exact resizing): a copy of the
    elements it picks, written as the input seen flat, then a gather of the output's elements from it."""
    index = imp.get(node, 1)
    if not isinstance(index, Const):
        imp.fail(node, "gathers by indices computed from the network's input")
    full = onnx_shape(imp, x)
    b = node.attrs.get("batch_dims", 0)
    out = (*index.shape[:-1], *full[b + index.shape[-1]:])
    flat = imp.emit(node, imp.unique(f"{imp.layer_name(node)}_flat"), "reshape", {"shape": (-1,)},
                    [x])[0] if len(x.shape) > 2 else x
    if out and out[0] == imp.batch:
        return emit(imp, node, "gather", {"axis": 1, "index": tuple(out[1:])}, [flat], 0)
    if imp.batch != 1:
        imp.fail(node, f"gathers {fmt(out)} across the batch of {imp.batch}: import the model at batch 1")
    emit(imp, node, "gather", {"axis": 1, "index": tuple(out)}, [flat], None)
