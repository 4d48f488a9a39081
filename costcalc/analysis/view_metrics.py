"""What `costcalc view` colours its nodes by: per metric, every node's value, its share of its enclosing block (the
bar under its label) and its colour bin, with the bins' bounds for the legend.

Metrics that add up (FLOPs, memory access, params, estimated and measured time) are binned by a node's share of
the network's total, intensity (FLOPs + element-wise FLOPs per element of memory access, the table's Intensity)
by its value; the bins are geometric, from the smallest non-zero figure of any node to the largest, so a layer of a
33,000-layer network and a stage of it sit on one scale. A node with no figure (an input, a layer the runtime did
not time) has no bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BINS = 7


@dataclass(frozen=True)
class Metric:
    key: str  # flops, memory_access, intensity, params, latency, measured
    label: str
    additive: bool  # its bins are shares of the total; else (intensity) values
    values: tuple  # node index -> int, float or None
    shares: tuple  # node index -> its value over its block's (over the total at the top), or None
    bins: tuple  # node index -> 0 .. BINS - 1, or None
    bounds: tuple  # BINS + 1 increasing bounds: shares of the total (additive), values, or relative deltas
    total: object = None  # the network's figure (additive metrics)
    kind: str = "share"  # what the bins are: "share" of the total, "value", or "delta" (B - A) / A (a comparison)
    relative: tuple = ()  # delta metrics: node index -> (B - A) / A, or None (A is 0, or no counterpart)


def metrics_of(report, nodes: list, measured=None) -> tuple:
    """The metrics that apply to `report`: FLOPs, memory access, intensity (under the paper and full conventions,
    where it is one), params, then estimated latency (with a device profile) and measured time (with `measured`)."""
    counted = [n.row.counts if n.row is not None else None for n in nodes]
    out = [_additive("flops", "FLOPs", nodes, [c.flops if c else None for c in counted], report.totals.flops),
           _additive("memory_access", "memory access", nodes, [c.memory_access if c else None for c in counted],
                     report.totals.memory_access)]
    if report.convention in ("paper", "full"):
        extra = report.convention == "paper"
        out.append(_intensity(nodes, [(c.flops + (c.elementwise_flops if extra else 0)) / c.memory_access
                                      if c and c.memory_access else None for c in counted]))
    out.append(_additive("params", "params", nodes, [c.params if c else None for c in counted], report.totals.params))
    if report.latency is not None:
        out.append(_additive("latency", "estimated latency", nodes, [n.latency_s for n in nodes],
                             sum(t.latency_s for t in report.latency.layers)))
    if measured is not None:
        out.append(_additive("measured", "measured time", nodes, [n.measured_s for n in nodes],
                             sum(t[0] for t in measured.layers.values())))
    return tuple(out)


def _additive(key: str, label: str, nodes: list, values: list, total) -> Metric:
    shares = [v / total if v is not None and total else None for v in values]
    bounds = _bounds([s for s in shares if s], 1.0)
    return Metric(key, label, True, tuple(values), _of_parent(nodes, values, total),
                  tuple(_bin(s, bounds) for s in shares), bounds, total)


def _intensity(nodes: list, values: list) -> Metric:
    positive = [v for v in values if v]
    bounds = _bounds(positive, max(positive, default=1.0))
    return Metric("intensity", "intensity", False, tuple(values), tuple([None] * len(values)),
                  tuple(_bin(v, bounds) for v in values), bounds, kind="value")


def _of_parent(nodes: list, values: list, total) -> tuple:
    out = []
    for n, v in zip(nodes, values):
        whole = total if n.parent is None else values[n.parent]
        out.append(v / whole if v is not None and whole else None)
    return tuple(out)


def _bounds(positive: list, top: float) -> tuple:
    """BINS + 1 geometric bounds from the smallest positive figure to `top` (or to it when all are equal)."""
    low = min(positive, default=top) or top
    if low >= top:
        low = top / 10 ** BINS
    ratio = (top / low) ** (1 / BINS)
    return tuple([low * ratio ** k for k in range(BINS)] + [top])


def _bin(value, bounds: tuple):
    if not value:
        return None
    low, top = bounds[0], bounds[-1]
    if value <= low:
        return 0
    if value >= top:
        return BINS - 1
    return min(BINS - 1, int(BINS * math.log(value / low) / math.log(top / low)))
