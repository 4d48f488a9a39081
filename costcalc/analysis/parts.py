"""Totals of many settings of one spec, each at the cost of what changed: parts remembered across points.

A random or evolutionary search changes widths, depths and kernels in every point, so no whole walk repeats (the
replay of costcalc.analysis.totals needs the same variables). Most of what a walk makes does repeat, though:

- A layer. An op is a pure function of its arguments and input shapes (costcalc.ops), so its OpResult and Counts
  are remembered under (op, arguments, input shapes) for the batch, across points: only a new combination is
  computed.
- A block. What its walk makes depends only on its definition, the values of its arguments, the shape of its
  input, the blocks enclosing it (costcalc.reuse), the batch, and the values its expressions take that read the
  point's variables (the spec's variables, the network's input size). The walker notes each such expression as
  a read (costcalc.analysis.parts_reads: in `layer_lookup`, where every expression of a walk reads its names,
  costcalc.graph) and remembers the block's part: the totals of its layers, the shape of its output, how many
  layers and entries it made (for the walk's limits) and its reads with what they found. Another call with the
  same key, at any depth and in any point, where each read finds the same again, takes the part instead of
  walking: its totals are added and its output's shape appended. A part inside a part is taken the same way, so
  a point that changes the depth of one stage walks that stage's entries and takes every unit it has seen
  before. A repetition after the first whose arguments do not read `i` takes the part of the one before without
  evaluating them; an op or block entry of the top level is remembered like a block.

The totals of a point are then those of the layers it walked plus those of the parts it took: the same Counts as
summing the nodes of a fresh `build`, which the tests check on random points. A block whose walk fails leaves no
part (its error comes from a real walk, located), and a part that would pass a walk limit is walked instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from costcalc import reuse
from costcalc.analysis.parts_chain import chained, is_chain
from costcalc.analysis.parts_reads import VARIABLE, Read, Reads, matching, point_names
from costcalc.graph import INPUT_VARS, LAYER_VARS, MAX_NODES, MAX_STEPS, _Walker
from costcalc.ops import Counts
from costcalc.spec.compiled import evaluate
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
    names: frozenset  # its reads (costcalc.analysis.parts_reads), those of the parts inside it among them
    source: tuple | None = None  # with a layered Memo, what its layers are opened from (parts_latency.layers_of)
    latency: dict = field(default_factory=dict)  # its Layers, and costcalc.analysis.parts_latency's plans of it


class Memo:
    """Parts and layers of one spec at one batch, kept across points (by a Model's totals cache); `layered`:
    each part keeps its layers too (for the latency estimate)."""

    def __init__(self, layered: bool = False):
        self.layered = layered
        self.layers: dict = {}  # (op, frozen arguments, input shapes) -> (OpResult, Counts)
        self.blocks: dict = {}  # costcalc.reuse.key(...) -> {reads: (their order, {what they found: Part})}
        self.entries: dict = {}  # (top-level entry, input shapes) -> {reads: (their order, {what they found: Part})}
        self.reads = Reads()  # what walks read of their points (costcalc.analysis.parts_reads)
        self.chain: bool | None = None  # whether the spec's top level is a chain (costcalc.analysis.parts_chain)
        self.runs: dict = {}  # a layered memo's runs of top-level op entries taken as one part (parts_chain)
        self.grouped = True  # whether such runs are taken as one part (else laid out as their layers)
        self.size = 0

    def grown(self) -> None:
        self.size += 1
        if self.size > MAX_PARTS:
            self.layers.clear()
            self.blocks.clear()
            self.entries.clear()
            self.reads.clear()
            self.runs.clear()
            self.size = 0


def totals(spec, overrides: dict, input_shape, batch: int, memo: Memo) -> Counts:
    """The totals of `spec` at these settings, from the parts `memo` holds (adding those it lacks)."""
    return walk(spec, overrides, input_shape, batch, memo)[0]


def walk(spec, overrides: dict, input_shape, batch: int, memo: Memo) -> tuple:
    """(totals, the walker, its output tensor): with a layered memo, the walker's `items` are its layers and the
    parts it took, in order (costcalc.analysis.parts_latency estimates from them)."""
    walker = _PartsWalker(spec, batch, memo)
    with gc_paused():
        output = walker.output(overrides, input_shape)
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
        self.frames: list = []  # per part being walked: (nodes, sums, nodes elsewhere, steps) at its start, reads
        self.values: dict = {}  # a read (costcalc.analysis.parts_reads) -> what it finds at this point, frozen
        self.expression: dict | None = None  # while an expression is evaluated: the scope's own names it read
        self.names: dict | None = None  # the point's variables and input size, by name (parts_reads.point_names)
        self.items: list | None = [] if memo.layered else None  # Node, or (Part, input id, output ids) taken
        self.repeated: dict = {}  # (entry, scope, input shape) -> (Part, scope): the repetition before's part
        self.last: Part | None = None  # the part the latest block call took or remembered
        self.reads_of_i = 0  # how often an expression read `i`, the repetition's number
        self.grouped = False  # whether it took a run of top-level op entries as one part (parts_chain)

    def value(self, read: Read):
        """What `read` (costcalc.analysis.parts_reads) finds at this point, frozen; made when first needed."""
        known = self.values.get(read, reuse.MISS)
        if known is reuse.MISS:
            known = self.values[read] = read.found(self.names or self.point_names())
        return known

    def point_names(self) -> dict:
        self.names = point_names(self.globals, self.tensors[0])
        return self.names

    def layer_lookup(self, tensor, env: dict, own: frozenset = frozenset()):
        lookup = super().layer_lookup(tensor, env)
        if not self.frames and "i" not in env:
            return lookup  # the top level, outside a repetition's arguments: nothing to note
        variables = self.globals

        def noting(name):
            if name == "i":
                self.reads_of_i += 1
            if name in LAYER_VARS or name in own:  # the scope's own: the same wherever the part is taken
                value = lookup(name)
                if self.expression is not None:
                    self.expression[name] = value
                return value
            if name in variables or name in INPUT_VARS:  # a variable of the point
                if self.expression is not None:
                    self.expression[VARIABLE] = True
                else:  # read bare, not in an expression (a word chosen among choices, an op chosen)
                    self.note(self.memo.reads.bare(name))
            return lookup(name)

        noting.evaluate, noting.own = self.evaluated, own
        return noting

    def evaluated(self, text: str, lookup):
        """An expression's value; if it read a variable of the point, it is noted as a read of the block being
        walked, with the scope's own names it read (costcalc.analysis.parts_reads)."""
        outer, self.expression = self.expression, {}
        try:
            result = evaluate(text, lookup)
            local = self.expression
        finally:
            self.expression = outer
        if local.pop(VARIABLE, False) and self.frames:
            self.note(self.memo.reads.of(text, local, lookup.own), frozen(result))
        return result

    def note(self, read: Read, value=reuse.MISS) -> None:
        """`read` is one of the block being walked; `value`: what it found, when known."""
        if self.frames:
            self.frames[-1][4].add(read)
            if value is not reuse.MISS:
                self.values[read] = value

    def found(self, table: dict, key: tuple):
        """The parts filed under `key` whose reads find the same values here."""
        choices = table.get(key)
        return matching(choices, self.values, self.names or self.point_names()) if choices else ()

    def file(self, table: dict, key: tuple, noted: set, item) -> None:
        """File `item` under `key` and the values of the reads `noted` at this point."""
        noted = frozenset(noted)
        choices = table.setdefault(key, {})
        order, items = choices.get(noted) or choices.setdefault(noted, (tuple(noted), {}))
        items[tuple([self.value(read) for read in order])] = item
        self.memo.grown()

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

    def sequence(self, entries: list, scope, inputs: dict | None = None):
        """The top level of a network of one input is first looked up as a chain of parts (parts_chain)."""
        if entries is self.spec.layers and not scope.path and inputs is None:
            if self.memo.chain is None:
                self.memo.chain = is_chain(entries)
            out = chained(self, entries) if self.memo.chain else reuse.MISS
            if out is not reuse.MISS:
                return out
        return super().sequence(entries, scope, inputs)

    def entry(self, entry, name, inputs, scope):
        """An op or block entry of the top level (whose scope is the spec's variables alone) is remembered as a
        part too, under its input shapes and what it read, so that a point takes each of its stages and layers
        with one look-up. With a layered memo, an op entry's part is laid out as its layers again: the latency
        estimate plans the top level's layers itself (a fused kernel would cross the edges of one-layer parts)."""
        laid_out = self.items is not None and entry.block is None
        if scope.env is not self.globals or entry.block is None and entry.op is None or \
                self.items is not None and len(inputs) > 1:  # the plan needs an output passed on as that tensor
            return super().entry(entry, name, inputs, scope)
        key = (id(entry), tuple([self.tensors[t] for t in inputs]))
        for part in self.found(self.memo.entries, key):
            if self.fits(part):
                return self.lay_out(part, inputs[0], entry) if laid_out else self.take(part, inputs[0])
        self.opened()
        out = super().entry(entry, name, inputs, scope)
        self.file(self.memo.entries, key, *self.closed(inputs[0], out))
        return out

    def lay_out(self, part: Part, current: int, entry):
        """The layers of an op entry's `part` (of a layered memo) on input `current`, as its walk made them."""
        items, tensors, first, outputs = part.source
        ids = {first: current}
        self.steps += part.steps
        if self.frames:
            self.frames[-1][4].update(part.names)
        for node in items:  # layers only: an op entry holds no part
            out = self.add(node.name, node.path, node.kinds, node.op, node.args, [ids[t] for t in node.inputs],
                           node.result, node.counts, entry)
            ids.update(zip(node.outputs, out if isinstance(out, tuple) else (out,)))
        out = tuple([ids[t] for t in outputs])
        return out if part.split else out[0]

    def op_entry(self, entry, name, inputs, scope, repeat):
        """The walk reuses an evaluation of an earlier op entry of the same text, scope and input shapes
        (costcalc.reuse), noting no read; in the top level's scope that entry may be another part's: not there."""
        if scope.env is self.globals:
            self.results.clear()
        return super().op_entry(entry, name, inputs, scope, repeat)

    def fits(self, part: Part) -> bool:
        """Whether taking `part` keeps the walk within its limits (else it is walked, to fail where it fails)."""
        return self.within(self.steps + part.steps, len(self.nodes) + self.nodes_elsewhere + part.nodes)

    @staticmethod
    def within(steps: int, nodes: int) -> bool:
        """Whether a walk of `steps` entries and `nodes` layers is within the walk's limits."""
        return steps <= MAX_STEPS and nodes <= MAX_NODES

    def recall(self, key: tuple, path: tuple, kinds: tuple, current: int):
        for part in self.found(self.memo.blocks, key):
            if self.fits(part):
                return self.take(part, current)
        self.opened()
        return reuse.MISS

    def opened(self) -> None:
        """A part's walk begins: where its layers, totals and reads start."""
        self.frames.append((len(self.nodes), tuple(self.sums), self.nodes_elsewhere, self.steps, set(),
                            len(self.items) if self.items is not None else 0))

    def take(self, part: Part, current: int):
        self.last = part
        self.steps += part.steps
        self.nodes_elsewhere += part.nodes
        sums, more = self.sums, part.sums
        sums[0] += more[0]
        sums[1] += more[1]
        sums[2] += more[2]
        sums[3] += more[3]
        sums[4] += more[4]
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
        self.file(self.memo.blocks, key, *self.closed(current, out))

    def closed(self, current, out) -> tuple:
        """(its reads, the Part) of the part whose walk began at the last `opened`, on input `current`, ending in
        `out`."""
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
        return names, part

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
