"""Packed projections: a 1x1 conv or a token-wise fc whose output channels are cut into parts that go their own
ways, as attention's packed q/k/v projection (d -> 3d, then q, k and v of d each) or LeViT's (d -> heads x (q, k,
v) of unequal widths). G1 measures such a layer as its parts: k projections c1 -> w_i that read their input once.

`parts(graph, index, readers)` follows the layer's output through views, layout copies and single-input
element-wise layers (a batchnorm, a scale) while one layer reads it, and through a concat along its channels that
stacks it with branches of its own output (EfficientViT's multi-scale q, k, v), and returns the widths of the parts
when it is then cut along an axis made of the layer's channels only: by a split, or by slices or gathers, one per
part, that together take every channel once. Anything else (another join, a second reader, a cut across the
tokens): (). Heads cut apart one by one are parts too: each narrow (G3 counts their kernels as well).
"""

from __future__ import annotations

from math import prod

from costcalc.graph import Graph
from costcalc.ops.tensor import axis_index

# what the walk passes through: they keep every element and change only the shape or the layout, or act per element
_PASSING = frozenset({"reshape", "flatten", "permute", "bn", "mul", "scale", "identity", "dropout"})
CHANNEL, OTHER, MIXED = "c", "t", "m"  # what an axis of the walked tensor is made of


def readers_of(graph: Graph) -> dict:
    """tensor id -> the indices of the layers that read it (each once)."""
    readers: dict = {}
    for i, node in enumerate(graph.nodes):
        for tensor in dict.fromkeys(node.inputs):
            readers.setdefault(tensor, []).append(i)
    return readers


def parts(graph: Graph, index: int, readers: dict) -> tuple:
    """The widths of the parts the output channels of layer `index` (a conv or fc) are cut into, or ()."""
    node = graph.nodes[index]
    shape = graph.tensors[node.outputs[0]]
    channels = 0 if node.op == "conv" else len(shape) - 1
    width = shape[channels]
    kinds = [CHANNEL if a == channels else OTHER for a in range(len(shape))]
    tensor = node.outputs[0]
    while True:
        after = readers.get(tensor, [])
        if tensor == graph.output or not after:
            return ()
        nodes = [graph.nodes[i] for i in after]
        joined = _rejoined(graph, readers, after, shape, kinds)
        if joined is not None:  # the output stacked with branches of its own (EfficientViT's multi-scale q, k, v)
            tensor = graph.nodes[joined].outputs[0]
            shape = graph.tensors[tensor]
            continue
        if len(nodes) == 1 and nodes[0].op in _PASSING and len(nodes[0].inputs) == 1:
            step = nodes[0]
            kinds = _kinds_after(step, shape, kinds)
            if kinds is None:
                return ()
            tensor = step.outputs[0]
            shape = graph.tensors[tensor]
            continue
        return _cut(nodes, shape, kinds, width)


def _rejoined(graph: Graph, readers: dict, after: list, shape: tuple, kinds: list):
    """The index of a concat along a channel axis that reads the walked tensor and, through chains of single-input
    layers that keep the shape, every other reader's output, or None. Each part of the concat's output then holds
    the same share of the walked channels as of its own."""
    concats = [i for i in after if graph.nodes[i].op == "concat"]
    if len(concats) != 1 or len(after) < 2:
        return None
    (join,) = concats
    concat = graph.nodes[join]
    if kinds[axis_index(concat.args["axis"], shape)] != CHANNEL:
        return None
    for i in after:
        for _ in range(8):
            if i == join:
                break
            node = graph.nodes[i]
            if len(node.inputs) != 1 or graph.tensors[node.outputs[0]] != shape:
                return None
            nxt = readers.get(node.outputs[0], [])
            if len(nxt) != 1:
                return None
            i = nxt[0]
        if i != join:
            return None
    if any(graph.tensors[t] != shape for t in concat.inputs):
        return None
    return join


def _kinds_after(step, shape: tuple, kinds: list):
    """The axes' kinds after a passing layer (None when they cannot be followed)."""
    if step.op == "permute":
        return [kinds[p - 1] for p in step.args["perm"][1:]]
    if step.op in ("reshape", "flatten"):
        target = (prod(shape),) if step.op == "flatten" else step.result.outputs[0]
        return _reshaped(shape, kinds, tuple(target))
    return kinds


def _reshaped(shape: tuple, kinds: list, target: tuple):
    """Kinds of `target`'s axes: each group of axes with equal products on both sides keeps its kind when the
    group's input axes (those larger than 1) are all of one kind, else MIXED."""
    out: list = []
    i = j = 0
    while i < len(shape) or j < len(target):
        group_in, group_out = [i], [j]
        a = shape[i] if i < len(shape) else 1
        b = target[j] if j < len(target) else 1
        while a != b:
            if a < b:
                i += 1
                if i >= len(shape):
                    return None
                group_in.append(i)
                a *= shape[i]
            else:
                j += 1
                if j >= len(target):
                    return None
                group_out.append(j)
                b *= target[j]
        found = {kinds[k] for k in group_in if k < len(shape) and shape[k] > 1}
        kind = found.pop() if len(found) == 1 else (MIXED if found else OTHER)
        out.extend(kind for k in group_out if k < len(target))
        i, j = i + 1, j + 1
    return out if len(out) == len(target) else None


def _cut(nodes: list, shape: tuple, kinds: list, width: int) -> tuple:
    if len(nodes) == 1 and nodes[0].op == "split":
        axis = axis_index(nodes[0].args["axis"], shape)
        if kinds[axis] != CHANNEL:
            return ()
        return tuple(width * part[axis] // shape[axis] for part in nodes[0].result.outputs)
    if len(nodes) < 2 or any(n.op not in ("slice", "gather") for n in nodes):
        return ()
    axes = {axis_index(n.args["axis"], shape) for n in nodes}
    if len(axes) != 1:
        return ()
    axis = axes.pop()
    if kinds[axis] != CHANNEL:
        return ()
    taken = []
    for n in nodes:
        if n.op == "slice":
            taken.extend(range(n.args["start"], n.args["start"] + n.args["out"] * n.args["step"], n.args["step"]))
        elif tuple(n.args["index"]) == ():  # one index: x[:, i]
            taken.append(None)  # which one is not known; one channel slot of the axis
        else:
            return ()
    if len(taken) != shape[axis] or len({t for t in taken if t is not None}) != sum(t is not None for t in taken):
        return ()
    each = width // shape[axis]
    return tuple(each * (1 if n.op == "gather" else n.args["out"]) for n in nodes)
