"""A point's latency estimate assembled from parts: costcalc.latency's plan, made a part at a time.

The estimate (costcalc.latency.model) plans the kernels the runtime launches over the whole graph — which layers
fuse, which layout each tensor is in, which tensors are reordered — and sums the kernels' times. A part taken
whole (costcalc.analysis.parts) is planned once by itself for each context it meets: whether its input is in the
blocked layout, and whether an earlier layer already reordered its input. That plan gives its kernels' time, the
layout of its outputs, and whether it reordered its input; the point's own layers are planned as the estimate
plans them, each part standing as one node that reads its input and writes its outputs.

A part's plan is its plan in the whole graph as long as no fused kernel crosses its edge. One could where the
block's input has one reader in the whole graph, inside the block, that a kernel may take in (a batchnorm, an
activation, an add: the kernel that wrote the input could absorb it), or where the block's last kernel is a conv
or batchnorm chain not ended by an activation and its output's only reader is such a layer. Then `estimate`
returns None and the point is estimated from its whole graph, as `costcalc report --device` does. An fc on a
vector reads its weights from memory when the whole point moves more bytes than the cache holds (model.evicts): a
part keeps those kernels, and the bytes its kernels move, and they are timed once the point's bytes are summed. The
kernels' times are summed exactly rounded, as the estimate sums them, so the two give the same float.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import fsum

from costcalc import reuse
from costcalc.graph import Node
from costcalc.latency.model import (ACTIVATIONS, BLOCKED_ACTIVATIONS, FOLDED, _Planner, evicts, kernel_time,
                                    length_factor)

PART = "<part>"  # the op of a taken part in the plan
ENDS_CHAIN = ACTIVATIONS | BLOCKED_ACTIVATIONS  # a conv or batchnorm kernel takes nothing in after one
ABSORBABLE = FOLDED | ENDS_CHAIN | {"add"}  # what a kernel may take in after its first layer


class Unsealed(Exception):
    """A fused kernel may cross a part's edge at this point."""


@dataclass(frozen=True, slots=True)
class _Taken:
    name: str
    op: str
    inputs: tuple
    outputs: tuple
    part: object


@dataclass
class _Graph:
    nodes: list
    tensors: list
    batch: int
    output: object


@dataclass(frozen=True, slots=True)
class _Context:
    times: tuple  # its kernels' times, but those that read weights which a run may evict (`cold`)
    layouts: tuple  # whether each output is blocked
    reorders_input: bool
    exit_open: bool  # its last kernel could take in a layer after it
    viewed: tuple = ()  # whether each output is a Reshape's (a view after it merges into that Reshape)
    cold: tuple = ()  # its kernels with weight_bytes: timed once the point's bytes are known
    bytes: int = 0  # its kernels' bytes


@dataclass(frozen=True, slots=True)
class Layers:
    """A part's layers as a graph of their own: tensor 0 is the block's input, k >= 1 the k-th tensor made."""

    shapes: tuple  # the shape of each tensor, its input's first
    nodes: tuple  # costcalc.graph.Node, their tensor ids in this numbering, named by their index
    outputs: tuple  # the tensor id of each output


def layers_of(part: Part) -> Layers | None:
    """The part's layers as a graph of their own, the parts inside it opened (made when first asked for); None
    without them, or if a layer reads a tensor that is neither the block's input nor one it made (which a block
    cannot do)."""
    known = part.latency.get("layers", reuse.MISS)
    if known is reuse.MISS:
        try:
            known = _opened(*part.source) if part.source is not None else None
        except (KeyError, TypeError):
            known = None
        part.latency["layers"] = known
    return known


def _opened(items: tuple, tensors: list, current: int, outputs: tuple) -> Layers:
    shapes, ids, nodes = [tensors[current]], {current: 0}, []

    def made(shape) -> int:
        shapes.append(shape)
        return len(shapes) - 1

    for item in items:
        if isinstance(item, Node):
            inputs = tuple([ids[t] for t in item.inputs])
            outs = []
            for t in item.outputs:
                ids[t] = made(tensors[t])
                outs.append(ids[t])
            nodes.append(Node(str(len(nodes)), (), (), item.op, item.args, inputs, tuple(outs), item.result,
                              item.counts, item.loc))
            continue
        part, x, taken = item
        inner = layers_of(part)  # None: a TypeError, caught by layers_of
        local = [ids[x]] + [made(shape) for shape in inner.shapes[1:]]
        for node in inner.nodes:
            nodes.append(Node(str(len(nodes)), (), (), node.op, node.args, tuple([local[t] for t in node.inputs]),
                              tuple([local[t] for t in node.outputs]), node.result, node.counts, node.loc))
        for t, rel in zip(taken, inner.outputs):
            ids[t] = local[rel]
    return Layers(tuple(shapes), tuple(nodes), tuple([ids[t] for t in outputs]))


def estimate(walker, output, profile) -> float | None:
    """The estimated seconds of the point `walker` (a layered costcalc.analysis.parts walk) made, ending in tensor
    `output`; None where a fused kernel may cross a part's edge."""
    nodes = [item if isinstance(item, Node) else _Taken(str(i), PART, (item[1],), item[2], item[0])
             for i, item in enumerate(walker.items)]
    planner = _Assembler(_Graph(nodes, walker.tensors, walker.batch, output), profile)
    try:
        kernels = planner.run()
    except Unsealed:
        return None
    evicted = evicts(planner.bytes + sum(k.bytes for k in kernels), profile)
    length = length_factor(profile, len(planner.times) + len(planner.cold) + len(kernels))
    return profile.run_overhead_s + length * fsum(planner.times + [kernel_time(k, profile, evicted)
                                                                   for k in planner.cold + kernels])


class _Assembler(_Planner):
    """The estimate's planner, taking each part's plan for its context."""

    def __init__(self, graph, profile):
        super().__init__(graph, profile)
        self.times: list = []  # of the parts' kernels
        self.cold: list = []  # the parts' kernels whose time waits for the point's bytes
        self.bytes = 0  # the parts' kernels' bytes

    def step(self, i: int, node, absorbed: set) -> None:
        if node.op is not PART:
            return super().step(i, node, absorbed)
        x = node.inputs[0]
        context = _context(node.part, self.layout.get(x, False), x in self.reordered, self.profile, self.graph.batch,
                           x in self.viewed)
        if context is None or (_entry_absorbable(node.part) and self.consumers.get(x) == [i]):
            raise Unsealed
        if context.exit_open:
            for y in node.outputs:
                j = self.only_reader(y)
                if j is not None and _absorbable(self.graph.nodes[j]):
                    raise Unsealed
        for y, blocked in zip(node.outputs, context.layouts):
            if y != x:
                self.layout[y] = blocked
        if context.reorders_input:
            self.reordered.add(x)
        self.viewed.update(y for y, viewed in zip(node.outputs, context.viewed) if viewed)
        self.times.extend(context.times)
        self.cold.extend(context.cold)
        self.bytes += context.bytes


def _absorbable(node) -> bool:
    return _entry_absorbable(node.part) if node.op is PART else node.op in ABSORBABLE


def _entry_absorbable(part) -> bool:
    """Whether the block's input has one reader inside it, of a kind a kernel may take in."""
    known = part.latency.get("entry")
    if known is None:
        layers = layers_of(part)
        readers = [node for node in layers.nodes if 0 in node.inputs] if layers is not None else []
        known = part.latency["entry"] = len(readers) == 1 and readers[0].op in ABSORBABLE
    return known


def _context(part, blocked: bool, reordered: bool, profile, batch: int, viewed: bool = False) -> _Context | None:
    """The part's plan when its input is `blocked` (or not) and already `reordered` (or not); None without its
    layers. Remembered in the part, with the profile it was made for."""
    key = (id(profile), blocked, reordered, viewed)
    known = part.latency.get(key)
    if known is not None and known[0] is profile:
        return known[1]
    layers = layers_of(part)
    if layers is None:
        return None
    planner = _Isolated(_Graph(list(layers.nodes), list(layers.shapes), batch, None), profile, set(layers.outputs))
    planner.layout[0] = blocked
    if reordered:
        planner.reordered.add(0)
    if viewed:
        planner.viewed.add(0)
    kernels = planner.run()
    producer = {t: node for node in layers.nodes for t in node.outputs}
    ends = {producer[t].name for t in layers.outputs if t in producer}
    exit_open = any(k.members and k.members[-1] in ends and layers.nodes[int(k.members[0])].op in ("conv", "bn")
                    and layers.nodes[int(k.members[-1])].op not in ENDS_CHAIN for k in kernels)
    context = _Context(tuple(kernel_time(k, profile) for k in kernels if not k.weight_bytes),
                       tuple(planner.layout.get(t, False) for t in layers.outputs),
                       not reordered and 0 in planner.reordered, exit_open,
                       tuple(t in planner.viewed for t in layers.outputs),
                       tuple(k for k in kernels if k.weight_bytes), sum(k.bytes for k in kernels))
    part.latency[key] = (profile, context)
    return context


class _Isolated(_Planner):
    """The planner on a part's own layers: its outputs' readers are outside, so no fusion reaches them (the
    assembler checks that it would not), and no reorder of the network's output is added."""

    def __init__(self, graph, profile, closed: set):
        self.closed = closed  # before the planner's own set-up, which already asks for readers
        super().__init__(graph, profile)

    def only_reader(self, tensor: int):
        return None if tensor in self.closed else super().only_reader(tensor)
