"""Totals of many settings of one spec, each at the cost of what changed: parts remembered across points.

A random or evolutionary search changes widths, depths and kernels in every point, so no whole walk repeats (the
replay of costcalc.analysis.totals needs the same variables). Most of what a walk makes does repeat, though:

- A layer. An op is a pure function of its arguments and input shapes (costcalc.ops), so its OpResult and Counts
  are remembered under (op, arguments, input shapes) for the batch, across points: only a new combination is
  computed.
- A block. What its walk makes depends only on its definition, the values of its arguments, the shape of its
  input, the blocks enclosing it (costcalc.reuse), the batch, and the values of the spec's variables its
  expressions read (the network's input size, `input_height`, ..., counted as such). The walker notes which
  variables each block reads (in `layer_lookup`, where every expression of a walk reads its variables,
  costcalc.graph) and remembers the block's part: the totals of its layers, the
  shape of its output, how many layers and entries it made (for the walk's limits) and the variables it read.
  Another call with the same key and the same values of those variables, at any depth and in any point, takes
  the part instead of walking: its totals are added and its output's shape appended. A part inside a part is
  taken the same way, so a point that changes the depth of one stage walks that stage's entries and takes every
  unit it has seen before. A repetition after the first whose arguments do not read `i` takes the part of the
  one before without evaluating them; an op entry of the top level is remembered like a block.

The totals of a point are then those of the layers it walked plus those of the parts it took: the same Counts as
summing the nodes of a fresh `build`, which the tests check on random points. A block whose walk fails leaves no
part (its error comes from a real walk, located), and a part that would pass a walk limit is walked instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from costcalc import reuse
from costcalc.graph import INPUT_VARS, MAX_NODES, MAX_STEPS, Node, _Walker
from costcalc.ops import Counts
from costcalc.util import frozen, gc_paused

MAX_PARTS = 200_000  # remembered blocks and layers, together, before they are all dropped


@dataclass(frozen=True, slots=True)
class Part:
    """A block's walk as its caller sees it."""

    outputs: tuple  # per output: None for the block's own input passed on, else the shape of a tensor it made
    split: bool  # whether it ends in several outputs (a tuple of tensor ids)
    sums: tuple  # (flops, elementwise_flops, params, memory_access, activations) of all its layers
    nodes: int  # layers it made
    steps: int  # entries it visited
    names: frozenset  # the spec's variables its expressions (and those of the parts inside it) read
    source: tuple | None = None  # with a layered Memo, what its layers are opened from (`layers_of`)
    latency: dict = field(default_factory=dict)  # its Layers, and costcalc.analysis.parts_latency's plans of it


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


class Memo:
    """Parts and layers of one spec at one batch, kept across points (by a Model's totals cache); `layered`:
    each part keeps its layers too (for the latency estimate)."""

    def __init__(self, layered: bool = False):
        self.layered = layered
        self.layers: dict = {}  # (op, frozen arguments, input shapes) -> (OpResult, Counts)
        self.blocks: dict = {}  # costcalc.reuse.key(...) -> {names read: {their frozen values: Part}}
        self.entries: dict = {}  # (top-level op entry, input shapes) -> {names read: {their values: (op, OpUse)}}
        self.size = 0

    def grown(self) -> None:
        self.size += 1
        if self.size > MAX_PARTS:
            self.layers.clear()
            self.blocks.clear()
            self.entries.clear()
            self.size = 0


def totals(spec, overrides: dict, input_shape, batch: int, memo: Memo) -> Counts:
    """The totals of `spec` at these settings, from the parts `memo` holds (adding those it lacks)."""
    return walk(spec, overrides, input_shape, batch, memo)[0]


def walk(spec, overrides: dict, input_shape, batch: int, memo: Memo) -> tuple:
    """(totals, the walker, its output tensor): with a layered memo, the walker's `items` are its layers and the
    parts it took, in order (costcalc.analysis.parts_latency estimates from them)."""
    walker = _PartsWalker(spec, batch, memo)
    with gc_paused():
        output = walker.run(overrides, input_shape).output
    return Counts(*_summed(walker.sums, walker.nodes)), walker, output


def _summed(sums: list, nodes) -> list:
    """`sums` (flops, elementwise_flops, params, memory_access, activations) with the Counts of `nodes` added."""
    for node in nodes:
        counts = node.counts
        sums[0] += counts.flops
        sums[1] += counts.elementwise_flops
        sums[2] += counts.params
        sums[3] += counts.memory_access
        sums[4] += counts.activations
    return sums


class _PartsWalker(_Walker):
    """The walker, taking remembered parts and layers and remembering new ones. Its `nodes` hold only the layers
    it walked; `sums` and `nodes_elsewhere` those of the parts it took."""

    def __init__(self, spec, batch: int, memo: Memo):
        super().__init__(spec, batch)
        self.memo = memo
        self.sums = [0, 0, 0, 0, 0]
        self.frames: list = []  # per block being walked: (nodes, sums, nodes elsewhere, steps) at its start, names
        self.values: dict = {}  # variable name -> its frozen value, made when first needed
        self.items: list | None = [] if memo.layered else None  # Node, or (Part, input id, output ids) taken
        self.repeated: dict = {}  # (entry, scope, input shape) -> (Part, scope): the repetition before's part
        self.last: Part | None = None  # the part the latest block call took or remembered
        self.reads_of_i = 0  # how often an expression read `i`, the repetition's number

    def value(self, name: str):
        known = self.values.get(name, reuse.MISS)
        if known is reuse.MISS:
            if name in INPUT_VARS:  # the network's input size, read like a variable
                network = self.tensors[0]
                i = INPUT_VARS.index(name)
                known = self.values[name] = network[i] if i < len(network) else None
            else:
                known = self.values[name] = frozen(self.globals[name])
        return known

    def layer_lookup(self, tensor, env: dict):
        lookup = super().layer_lookup(tensor, env)
        if not self.frames and "i" not in env:
            return lookup  # the top level, outside a repetition's arguments: nothing to note
        names, variables = self.frames[-1][4] if self.frames else set(), self.globals

        def noting(name):
            if name in variables or name in INPUT_VARS:
                names.add(name)
            if name == "i":
                self.reads_of_i += 1
            return lookup(name)

        return noting

    def block(self, entry, name, path, kinds, current, r, scope):
        """A repetition after the first of a repeated block evaluates the same argument text in the same scope: on
        the same input shape, and unless the arguments read `i`, it takes the part of the repetition before
        without evaluating them."""
        if not r or not isinstance(current, int):  # the first, or a block of several inputs
            return super().block(entry, name, path, kinds, current, r, scope)
        key = (id(entry), id(scope.env), self.tensors[current])
        known = self.repeated.get(key)
        if known is not None and self.fits(known[0]):
            return self.take(known[0], current)
        reads_of_i, self.last = self.reads_of_i, None
        out = super().block(entry, name, path, kinds, current, r, scope)
        if self.last is not None and self.reads_of_i == reads_of_i:
            self.repeated[key] = (self.last, scope.env)  # the scope held, so that no other takes its id
        return out

    def op_entry(self, entry, name, inputs, scope, repeat):
        """An op entry of the top level (whose scope is the spec's variables alone) is remembered like a block:
        under its input shapes and the values of the variables its expressions read."""
        if scope.env is not self.globals or entry.repeat is not None or entry.op_expr:
            return super().op_entry(entry, name, inputs, scope, repeat)
        key = (id(entry), tuple([self.tensors[t] for t in inputs]))
        choices = self.memo.entries.get(key)
        if choices:
            for names, uses in choices.items():
                known = uses.get(tuple([self.value(n) for n in names]))
                if known is not None:
                    return self.emit(known[0], known[1], list(inputs), entry, scope.path + (name,),
                                     scope.kinds + (known[0],))
        self.frames.append((0, (), 0, 0, set(), 0))
        try:
            out = super().op_entry(entry, name, inputs, scope, repeat)
        finally:
            names = self.frames.pop()[4]
        node = self.nodes[-1]
        order = tuple(sorted(names))
        self.memo.entries.setdefault(key, {}).setdefault(order, {})[tuple([self.value(n) for n in order])] = (
            node.op, reuse.OpUse(node.args, node.result, node.counts, (), entry))
        self.memo.grown()
        return out

    def fits(self, part: Part) -> bool:
        """Whether taking `part` keeps the walk within its limits (else it is walked, to fail where it fails)."""
        return self.steps + part.steps <= MAX_STEPS and len(self.nodes) + self.nodes_elsewhere + part.nodes <= MAX_NODES

    def recall(self, key: tuple, path: tuple, kinds: tuple, current: int):
        choices = self.memo.blocks.get(key)
        if choices:
            for names, parts in choices.items():
                part = parts.get(tuple([self.value(name) for name in names]))
                if part is not None and self.fits(part):
                    return self.take(part, current)
        self.frames.append((len(self.nodes), tuple(self.sums), self.nodes_elsewhere, self.steps, set(),
                            len(self.items) if self.items is not None else 0))
        return reuse.MISS

    def take(self, part: Part, current: int):
        self.last = part
        self.steps += part.steps
        self.nodes_elsewhere += part.nodes
        self.sums = [a + b for a, b in zip(self.sums, part.sums)]
        if self.frames:
            self.frames[-1][4].update(part.names)
        ids = []
        for shape in part.outputs:
            if shape is None:
                ids.append(current)
            else:
                ids.append(len(self.tensors))
                self.tensors.append(shape)
        if self.items is not None:
            self.items.append((part, current, tuple(ids)))
        return tuple(ids) if part.split else ids[0]

    def remember(self, key: tuple, first: tuple, path: tuple, kinds: tuple, current: int, out) -> None:
        start, sums, elsewhere, steps, names, first_item = self.frames.pop()
        walked = _summed([now - then for now, then in zip(self.sums, sums)], self.nodes[start:])
        split = isinstance(out, tuple)
        outputs = tuple(None if t == current else self.tensors[t] for t in (out if split else (out,)))
        nodes = len(self.nodes) - start + self.nodes_elsewhere - elsewhere
        source = None if self.items is None else (tuple(self.items[first_item:]), self.tensors, current,
                                                   out if split else (out,))
        part = Part(outputs, split, tuple(walked), nodes, self.steps - steps, frozenset(names), source)
        if self.frames:
            self.frames[-1][4].update(names)
        self.last = part
        order = tuple(sorted(names))
        self.memo.blocks.setdefault(key, {}).setdefault(order, {})[tuple([self.value(n) for n in order])] = part
        self.memo.grown()

    def add(self, name, path, kinds, op, args, inputs, result, counts, entry):
        out = super().add(name, path, kinds, op, args, inputs, result, counts, entry)
        if self.items is not None:
            self.items.append(self.nodes[-1])
        return out

    def apply(self, op, definition, args, inputs, entry, path, kinds):
        shapes = tuple([self.tensors[t] for t in inputs])
        key = (op, frozen(args), shapes)
        known = self.memo.layers.get(key)
        if known is None:
            out = super().apply(op, definition, args, inputs, entry, path, kinds)
            node = self.nodes[-1]
            self.memo.layers[key] = (node.result, node.counts)
            self.memo.grown()
            return out
        name = ".".join(path)
        self.room(name, entry)
        return self.add(name, path, kinds, op, args, inputs, known[0], known[1], entry)
