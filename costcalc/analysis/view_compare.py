"""`costcalc view A --compare B`: the views of A and of B, each node paired with its counterpart on the other side
as `costcalc compare` pairs rows (by name, then by position within their block; costcalc.analysis.compare), and
coloured by its delta, B - A, relative to A.

Layers are paired as `compare --depth all` pairs them, blocks as `compare --depth N` pairs the rows of their depth.
A node with no counterpart is only in A (removed by B) or only in B (added); it has no delta bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from costcalc.analysis.compare import match_rows
from costcalc.analysis.report import rows
from costcalc.analysis.view_metrics import Metric

# Bins of the relative delta (B - A) / A: much less, less, a little less, about equal (within 1 %), a little more,
# more, much more. A delta from 0 is infinite: the end bins.
DELTA_BOUNDS = (-math.inf, -0.5, -0.1, -0.01, 0.01, 0.1, 0.5, math.inf)
DELTA_OF = ("flops", "memory_access", "params", "latency")


@dataclass(frozen=True)
class Side:
    """What a compared view knows of the other side."""

    side: str  # "a" or "b": which network this view draws
    label_a: str
    label_b: str
    partner: tuple  # node index -> its counterpart's index in the other view, or None
    other: object = None  # the other side's View (its own Side has other=None)


def compared(view_a, view_b, label_a: str, label_b: str) -> tuple:
    """(view of A, view of B), each with its Side and its delta metrics, first in its metrics."""
    partner_a, partner_b = _pairs(view_a, view_b)
    a = _with_deltas(view_a, view_b, partner_a, "a")
    b = _with_deltas(view_b, view_a, partner_b, "b")
    return (replace(a, compare=Side("a", label_a, label_b, partner_a, replace(b, compare=Side(
        "b", label_a, label_b, partner_b)))), replace(b, compare=Side("b", label_a, label_b, partner_b)))


def _pairs(view_a, view_b) -> tuple:
    index_a = _index(view_a)
    index_b = _index(view_b)
    partner_a, partner_b = [None] * len(view_a.nodes), [None] * len(view_b.nodes)
    for name, i in index_a.items():  # the inputs, by name
        if view_a.nodes[i].row is None and name in index_b:
            partner_a[i], partner_b[index_b[name]] = index_b[name], i
    depth = max(view_a.report.max_depth, view_b.report.max_depth)
    for level in (None, *range(1, depth + 1)):
        for diff in match_rows(rows(view_a.report, level), rows(view_b.report, level)):
            if diff.a is None or diff.b is None:
                continue
            i, j = index_a[diff.a.name], index_b[diff.b.name]
            if partner_a[i] is None and partner_b[j] is None:
                partner_a[i], partner_b[j] = j, i
    return tuple(partner_a), tuple(partner_b)


def _index(view) -> dict:
    index: dict = {}
    for n in view.nodes:
        index.setdefault(n.name, n.index)
    return index


def _with_deltas(view, other, partner: tuple, side: str):
    mine = {m.key: m for m in view.metrics}
    theirs = {m.key: m for m in other.metrics}
    deltas = []
    for key in DELTA_OF:
        if key in mine and key in theirs:
            deltas.append(_delta(mine[key], theirs[key], partner, side))
    return replace(view, metrics=(*deltas, *view.metrics), metric=0)


def _delta(own: Metric, their: Metric, partner: tuple, side: str) -> Metric:
    values, bins, relatives = [], [], []
    for i, j in enumerate(partner):
        mine = own.values[i]
        if j is None or mine is None or their.values[j] is None:
            values.append(None)
            bins.append(None)
            relatives.append(None)
            continue
        a, b = (mine, their.values[j]) if side == "a" else (their.values[j], mine)
        values.append(b - a)
        bins.append(_bin(b - a, a))
        relatives.append((b - a) / a if a else None)
    return Metric(f"delta_{own.key}", f"{own.label}: B - A", False, tuple(values), tuple([None] * len(values)),
                  tuple(bins), DELTA_BOUNDS, kind="delta", relative=tuple(relatives))


def _bin(delta, base):
    relative = delta / base if base else (0.0 if delta == 0 else math.copysign(math.inf, delta))
    for k in range(len(DELTA_BOUNDS) - 1):
        if relative < DELTA_BOUNDS[k + 1]:
            return k
    return len(DELTA_BOUNDS) - 2
