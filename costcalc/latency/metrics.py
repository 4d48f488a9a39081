"""How well a latency predictor ranks and estimates measured networks: the figures benchmarks/latency_accuracy.py
prints, and the FLOPs-only baseline it beats. Pure functions over lists of floats."""

from __future__ import annotations

import numpy as np

NEAR_FLOPS = 0.20  # pairs of networks whose FLOPs are within 20 % of each other: FLOPs cannot tell them apart


def flops_baseline(samples) -> float:
    """The one throughput P (FLOPs per second) that best explains measured networks as FLOPs / P, least squares on
    relative error: minimising sum (F_i / (P m_i) - 1)^2 gives 1/P = sum(F_i / m_i) / sum((F_i / m_i)^2)."""
    ratios = np.array([s.flops / s.measured_s for s in samples if s.flops > 0])
    return float((ratios ** 2).sum() / ratios.sum())


def ranks(values) -> np.ndarray:
    """Ranks from 1, ties given the mean of the ranks they span."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="stable")
    result = np.empty(len(values))
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[order[j + 1]] == values[order[i]]:
            j += 1
        result[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(a, b) -> float:
    """Spearman's rank correlation: Pearson's r of the ranks."""
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    return float((ra * rb).sum() / denominator) if denominator else 0.0


def near_pairs(flops) -> list:
    """Index pairs (i, j), i < j, whose FLOPs are within NEAR_FLOPS of each other (relative to the larger)."""
    return [(i, j) for i in range(len(flops)) for j in range(i + 1, len(flops))
            if abs(flops[i] - flops[j]) <= NEAR_FLOPS * max(flops[i], flops[j])]


def pairwise(predicted, measured, pairs) -> float:
    """Share of `pairs` whose faster network the prediction names (a tie in the prediction counts as wrong)."""
    if not pairs:
        return float("nan")
    right = sum((predicted[i] - predicted[j]) * (measured[i] - measured[j]) > 0 for i, j in pairs)
    return right / len(pairs)


def summary(predicted, measured, flops) -> dict:
    errors = np.abs(np.asarray(predicted) / np.asarray(measured) - 1)
    pairs = near_pairs(flops)
    return {"within_10": float((errors <= 0.10).mean()), "within_20": float((errors <= 0.20).mean()),
            "median_abs_error": float(np.median(errors)), "spearman": spearman(predicted, measured),
            "pairwise": pairwise(predicted, measured, pairs), "pairs": len(pairs)}
