"""Totals of one spec at many settings, fast: the walker of costcalc.graph with each block's result remembered.

A block's layers depend only on its block definition, the values of the names its layers (and the blocks they
use) mention — its arguments and the spec's variables — the shape of its input, and the batch. `Cache` keys a
block's result on exactly those: the summed Counts of its layers, the shapes it outputs, and how many layers and
entries it expanded to (so the walker's limits still apply). A block met again with the same key, later in the
same network (the repeated units of a stage) or at another point of a sweep, is not walked again. Which names a
block mentions is found once per spec by reading every text in its entries as an expression, which can only
over-approximate (an extra name in the key costs a miss, never a wrong count).

Only successful expansions are remembered: an error is always raised by a real walk, with its located message.
"""

from __future__ import annotations

import ast
from dataclasses import fields, is_dataclass

from costcalc.graph import MAX_NODES, MAX_STEPS, _Walker, build, check
from costcalc.ops import Counts
from costcalc.spec.expr import ExprError, parse
from costcalc.spec.model import Value
from costcalc.util import gc_paused

MAX_ENTRIES = 100_000  # remembered block results per spec; the cache is emptied beyond it


class Cache:
    """Block results of one spec, kept between evaluations (of a Model, or of a sweep's worker)."""

    def __init__(self):
        self.spec = None
        self.results: dict = {}
        self.names: dict = {}  # block name -> the names its layers mention, nested blocks included
        self.hits = 0
        self.misses = 0

    def of(self, spec) -> "Cache":
        if spec is not self.spec:
            self.spec, self.results, self.names = spec, {}, {}
        return self

    def block_names(self, block: str) -> tuple:
        names = self.names.get(block)
        if names is None:
            names = self.names[block] = tuple(sorted(_mentioned(self.spec, block)))
        return names


def totals(spec, overrides: dict | None, input_shape: tuple | None, batch: int, cache: Cache,
           checked: bool = False) -> Counts:
    """The totals of `spec` at these settings: the same Counts as summing `build(...)`'s nodes."""
    if not checked:
        check(spec)
    walker = _CachingWalker(spec, batch, cache.of(spec))
    with gc_paused():
        graph = walker.run(overrides or {}, input_shape)
    if walker.steps + walker.reused_steps > MAX_STEPS or len(graph.nodes) + walker.reused_nodes > MAX_NODES:
        build(spec, overrides, input_shape, batch, checked=True)  # raises the limit's own located error
    result = walker.reused
    for node in graph.nodes:
        result = result + node.counts
    return result


def _frozen(value):
    """A hashable key for an evaluated value: its type is part of it (2 and 2.0 print differently)."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return type(value), value


class _CachingWalker(_Walker):
    def __init__(self, spec, batch: int, cache: Cache):
        super().__init__(spec, batch)
        self.cache = cache
        self.reused = Counts()
        self.reused_nodes = 0
        self.reused_steps = 0

    def expand(self, block: str, definition, env: dict, path: tuple, kinds: tuple, current: int):
        names = self.cache.block_names(block)
        key = (block, self.batch, self.tensors[current],
               tuple(_frozen(env[n]) if n in env else None for n in names),
               tuple(_frozen(self.globals[n]) if n in self.globals else None for n in names))
        hit = self.cache.results.get(key)
        if hit is not None:
            counts, nodes, steps, shapes = hit
            self.cache.hits += 1
            self.reused = self.reused + counts
            self.reused_nodes += nodes
            self.reused_steps += steps
            ids = []
            for shape in shapes:
                ids.append(len(self.tensors))
                self.tensors.append(shape)
            return ids[0] if len(ids) == 1 else tuple(ids)
        self.cache.misses += 1
        first_node, reused, reused_nodes, steps = len(self.nodes), self.reused, self.reused_nodes, self.steps
        reused_steps = self.reused_steps
        out = super().expand(block, definition, env, path, kinds, current)
        counts = Counts()
        for node in self.nodes[first_node:]:
            counts = counts + node.counts
        counts = counts + _minus(self.reused, reused)
        shapes = tuple(self.tensors[t] for t in (out if isinstance(out, tuple) else (out,)))
        if len(self.cache.results) >= MAX_ENTRIES:
            self.cache.results.clear()
        self.cache.results[key] = (counts, len(self.nodes) - first_node + self.reused_nodes - reused_nodes,
                                   self.steps - steps + self.reused_steps - reused_steps, shapes)
        return out


def _minus(a: Counts, b: Counts) -> Counts:
    return Counts(*(getattr(a, f.name) - getattr(b, f.name) for f in fields(Counts)))


def _mentioned(spec, block: str) -> set:
    """Every name an expression in `block` (or in a block it uses, at any depth) could read."""
    names: set = set()
    seen: set = set()
    pending = [block]
    while pending:
        name = pending.pop()
        if name in seen or name not in spec.blocks:
            continue
        seen.add(name)
        texts: list = []
        _texts(spec.blocks[name], texts, set())
        for text in texts:
            if text in spec.blocks:
                pending.append(text)
            names |= _names(text)
    return names


def _texts(value, out: list, visited: set) -> None:
    """Collect every text inside `value`: Values, entries, their dicts and lists, whatever their fields."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, Value):
        _texts(value.raw, out, visited)
    elif isinstance(value, dict):
        for item in value.values():
            _texts(item, out, visited)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _texts(item, out, visited)
    elif is_dataclass(value) and not isinstance(value, type):
        if id(value) in visited:
            return
        visited.add(id(value))
        for f in fields(value):
            if f.name not in ("loc", "op_loc", "sources_loc", "key_locs"):
                _texts(getattr(value, f.name), out, visited)


def _names(text: str) -> set:
    try:
        tree = parse(text)
    except ExprError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
