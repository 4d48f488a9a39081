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
  unit it has seen before.

The totals of a point are then those of the layers it walked plus those of the parts it took: the same Counts as
summing the nodes of a fresh `build`, which the tests check on random points. A block whose walk fails leaves no
part (its error comes from a real walk, located), and a part that would pass a walk limit is walked instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from costcalc import reuse
from costcalc.graph import INPUT_VARS, MAX_NODES, MAX_STEPS, _Walker
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


class Memo:
    """Parts and layers of one spec at one batch, kept across points (by a Model's totals cache)."""

    def __init__(self):
        self.layers: dict = {}  # (op, frozen arguments, input shapes) -> (OpResult, Counts)
        self.blocks: dict = {}  # costcalc.reuse.key(...) -> {names read: {their frozen values: Part}}
        self.size = 0

    def grown(self) -> None:
        self.size += 1
        if self.size > MAX_PARTS:
            self.layers.clear()
            self.blocks.clear()
            self.size = 0


def totals(spec, overrides: dict, input_shape, batch: int, memo: Memo) -> Counts:
    """The totals of `spec` at these settings, from the parts `memo` holds (adding those it lacks)."""
    walker = _PartsWalker(spec, batch, memo)
    with gc_paused():
        walker.run(overrides, input_shape)
    sums = walker.sums
    for node in walker.nodes:
        counts = node.counts
        sums[0] += counts.flops
        sums[1] += counts.elementwise_flops
        sums[2] += counts.params
        sums[3] += counts.memory_access
        sums[4] += counts.activations
    return Counts(*sums)


class _PartsWalker(_Walker):
    """The walker, taking remembered parts and layers and remembering new ones. Its `nodes` hold only the layers
    it walked; `sums` and `nodes_elsewhere` those of the parts it took."""

    def __init__(self, spec, batch: int, memo: Memo):
        super().__init__(spec, batch)
        self.memo = memo
        self.sums = [0, 0, 0, 0, 0]
        self.frames: list = []  # per block being walked: (nodes, sums, nodes elsewhere, steps) at its start, names
        self.values: dict = {}  # variable name -> its frozen value, made when first needed

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
        if not self.frames:
            return lookup
        names, variables = self.frames[-1][4], self.globals

        def noting(name):
            if name in variables or name in INPUT_VARS:
                names.add(name)
            return lookup(name)

        return noting

    def recall(self, key: tuple, path: tuple, kinds: tuple, current: int):
        choices = self.memo.blocks.get(key)
        if choices:
            for names, parts in choices.items():
                part = parts.get(tuple([self.value(name) for name in names]))
                if part is not None and self.steps + part.steps <= MAX_STEPS \
                        and len(self.nodes) + self.nodes_elsewhere + part.nodes <= MAX_NODES:
                    return self.take(part, current)
        self.frames.append((len(self.nodes), tuple(self.sums), self.nodes_elsewhere, self.steps, set()))
        return reuse.MISS

    def take(self, part: Part, current: int):
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
        return tuple(ids) if part.split else ids[0]

    def remember(self, key: tuple, first: tuple, path: tuple, kinds: tuple, current: int, out) -> None:
        start, sums, elsewhere, steps, names = self.frames.pop()
        walked = [now - then for now, then in zip(self.sums, sums)]
        for node in self.nodes[start:]:
            counts = node.counts
            walked[0] += counts.flops
            walked[1] += counts.elementwise_flops
            walked[2] += counts.params
            walked[3] += counts.memory_access
            walked[4] += counts.activations
        split = isinstance(out, tuple)
        outputs = tuple(None if t == current else self.tensors[t] for t in (out if split else (out,)))
        nodes = len(self.nodes) - start + self.nodes_elsewhere - elsewhere
        part = Part(outputs, split, tuple(walked), nodes, self.steps - steps, frozenset(names))
        if self.frames:
            self.frames[-1][4].update(names)
        order = tuple(sorted(names))
        self.memo.blocks.setdefault(key, {}).setdefault(order, {})[tuple([self.value(n) for n in order])] = part
        self.memo.grown()

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
