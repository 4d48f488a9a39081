"""What a block's walk read of the point, as keys a part is remembered under (costcalc.analysis.parts).

A block's walk is decided by its key (block, argument values, input shape, enclosing blocks), the batch, and the
values its expressions take. An expression that reads only the scope's own names — the block's arguments, the
repetition's number `i`, its input's `in_channels`, `in_height`, `in_width` — takes the same value wherever the
walk up to it was the same. One that reads a variable of the point (the spec's variables, the network's input
size) may not: it is a *read*, noted with its text and the own names it read, and what it found. The part is
remembered under what its reads found, and taken at any later point where each of them, evaluated again with that
point's variables, finds the same: walked in order, the walk would make every same decision up to the first read
that differs, and there is none.

So a part is keyed by what the block actually reads, not by the variables it touches: MobileNet V2's stage reads
`n[row]`, `k[row]` and `make_divisible(c[row] * width, 8)`, so a point that changes another row's depth, or the
width by less than a channel, takes it whole.

Two kinds of read:
- an expression: its text, the own names it read and their values. Evaluated again, an own name it did not read
  before (another branch taken) or any error finds a value equal to nothing;
- a variable read bare, outside an expression (a word chosen among choices, a name in an `op:` choice): its value.

Each read is one object (`Reads.of`), so that the many look-ups of a sweep hash it by identity.
"""

from __future__ import annotations

import ast

from costcalc.graph import INPUT_VARS, LAYER_VARS
from costcalc.spec.compiled import evaluator
from costcalc.spec.expr import ExprError, parse
from costcalc.util import frozen

VARIABLE = "$variable"  # marks, among the own names an expression read, that it read a variable of the point too
_MISS = object()


class Read:
    """One read: `found(names)` is what it finds at a point whose variables and input size are `names`
    (`point_names`), frozen."""

    __slots__ = ("key", "_fn", "_local", "_hidden", "_element")

    def __init__(self, key: tuple, local: dict | None = None):
        self.key = key
        self._local = local
        self._element = None
        if local is not None:  # an expression: the own names it did not read are hidden from it
            self._fn = evaluator(key[1])
            self._hidden = tuple(key[3] - local.keys())
            element = _element(key[1])
            hidden = set(self._hidden) | set(LAYER_VARS)
            if element is not None and element[0] not in local and element[0] not in hidden and \
                    (not element[2] or element[1] in local):
                self._element = element

    def __repr__(self) -> str:
        return f"Read{self.key!r}"

    def found(self, names: dict):
        if self._local is None:
            return frozen(names.get(self.key[1]))
        local = self._local
        if self._element is not None:  # `name[index]` or `name`: the element, without evaluating
            name, index, named = self._element
            value = names.get(name, _MISS)
            if index is not None:
                i = local[index] if named else index
                if not isinstance(value, (list, tuple)) or type(i) is not int or not -len(value) <= i < len(value):
                    value = _MISS  # evaluated below, to fail as the walk would
                else:
                    value = value[i]
            if value is not _MISS:
                kind = type(value)
                return (kind, value) if kind is int or kind is float else frozen(value)
        scope = {**names, **local}
        for name in self._hidden:  # an own name not read before: its value is not known here
            scope.pop(name, None)
        try:
            return frozen(self._fn(scope.__getitem__))
        except Exception:  # noqa: BLE001 - any failure: equal to nothing, so that the part is walked
            return object()


def matching(choices: dict, values: dict, names: dict):
    """The items filed in `choices` ({reads: (their order, {what they found: item})}) whose reads find the same
    values at the point whose names are `names` (`point_names`); `values` holds what reads found there so far."""
    for order, items in choices.values():
        found = []
        for read in order:  # inline: the look-up of every point
            value = values.get(read, _MISS)
            if value is _MISS:
                value = values[read] = read.found(names)
            found.append(value)
        item = items.get(tuple(found))
        if item is not None:
            yield item


def point_names(variables: dict, network: tuple) -> dict:
    """What an expression finds by name at a point, besides its scope's own names: the network's input size
    (`input_height`, ...) and the spec's variables, which take precedence, as in costcalc.graph; never a layer's
    `in_channels`, `in_height`, `in_width` (those are read from the layer's input, an own name)."""
    names = {name: size for name, size in zip(INPUT_VARS, network)}
    names.update(variables)
    for name in LAYER_VARS:
        names.pop(name, None)
    return names


def _element(text: str):
    """(name, index, whether the index is a name) of an expression `name[index]` (the index a whole number or a
    name), (name, None, False) of an expression `name`; None for any other."""
    try:
        body = parse(text).body
    except ExprError:
        return None
    if isinstance(body, ast.Name) and body.id not in ("True", "False"):
        return body.id, None, False
    if not isinstance(body, ast.Subscript) or not isinstance(body.value, ast.Name) or \
            body.value.id in ("True", "False"):
        return None
    index = body.slice
    if isinstance(index, ast.Constant) and type(index.value) is int:
        return body.value.id, index.value, False
    if isinstance(index, ast.Name):
        return body.value.id, index.id, True
    return None


class Reads:
    """The reads met so far, one object each."""

    def __init__(self):
        self.known: dict = {}

    def of(self, text: str, local: dict, own: frozenset) -> Read:
        """The read of expression `text`, which read the own names `local` (name -> value) besides variables of
        the point (`own`: every own name of its scope)."""
        key = ("=", text, tuple([(name, frozen(value)) for name, value in local.items()]), own)
        read = self.known.get(key)
        if read is None:
            read = self.known[key] = Read(key, dict(local))
        return read

    def bare(self, name: str) -> Read:
        key = ("$", name)
        read = self.known.get(key)
        if read is None:
            read = self.known[key] = Read(key)
        return read

    def clear(self) -> None:
        self.known.clear()
