"""Fitting a device profile to measured networks: non-negative least squares on relative error.

Each measured network gives one equation, its measured time = the model's (costcalc.latency.model) sum over its
kernels. The unknowns are, per op class, 1/throughput, 1/bandwidth and the per-kernel overhead, and the run
overhead: all >= 0, and the equation is linear in them once each kernel's regime is fixed. With `combine: sum`
every kernel adds its FLOPs, bytes and launches to its class's three columns and one NNLS solve gives the
profile. With `combine: max` a kernel adds only the term that is larger under the current parameters: starting
from the sum fit, the regimes are reassigned and the system solved again until no regime changes (or
`MAX_ROUNDS`), keeping the best fit seen. Rows are divided by the measured time, so that a 100 us network weighs
as much as a 100 ms one (the error minimised is relative); a sample's weight w multiplies its squared error (the
calibration weighs its few whole networks as much as all its units together).

A class the calibration networks never exercise has all-zero columns; it keeps the parameters of `FALLBACK`'s
class for it (and the quality record says so).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from costcalc.latency.model import kernel_time, split_bytes
from costcalc.latency.profile import OP_CLASSES, ClassParams, DeviceProfile

MAX_ROUNDS = 40
UNBOUNDED = 1e15  # a throughput or bandwidth whose fitted term is 0 (the other one, or the overhead, explains it)
FALLBACK = {"dense_conv_plain": "dense_conv", "pointwise_conv_plain": "pointwise_conv",
            "grouped_conv_plain": "grouped_conv", "depthwise_conv_plain": "depthwise_conv",
            "grouped_conv": "dense_conv", "depthwise_conv": "elementwise", "fc": "pointwise_conv_plain",
            "pooling": "elementwise", "data_movement": "elementwise", "dense_conv": "pointwise_conv",
            "shuffle": "data_movement", "elementwise_exp": "elementwise", "pooling_plain": "pooling",
            "gelu": "elementwise_exp", "mish": "elementwise_exp", "normalization": "elementwise",
            "gemm": "pointwise_conv_plain", "matmul": "gemm", "softmax": "elementwise_exp",
            "transpose": "data_movement", "transpose_inner": "transpose", "view": "data_movement"}


@dataclass(frozen=True)
class Sample:
    """One measured network: its planned kernels (model.plan) and its measured time in seconds."""

    name: str
    kernels: tuple
    measured_s: float
    flops: int = 0  # the network's FLOPs (conv and fc multiply-adds): what the FLOPs-only baseline sees


@dataclass(frozen=True)
class Quality:
    """How well a profile explains measured networks: relative errors (estimate / measured - 1)."""

    samples: int
    median_abs_error: float
    max_abs_error: float
    within_10: float  # share of samples within +-10 %
    within_20: float
    unfitted: tuple = ()  # classes no sample exercised (they took FALLBACK's parameters)

    def as_dict(self) -> dict:
        return {"samples": self.samples, "median_abs_error": round(self.median_abs_error, 4),
                "max_abs_error": round(self.max_abs_error, 4), "within_10": round(self.within_10, 4),
                "within_20": round(self.within_20, 4), "unfitted": list(self.unfitted)}


def nnls(a: np.ndarray, b: np.ndarray, max_iter: int | None = None) -> np.ndarray:
    """argmin ||a x - b|| subject to x >= 0 (Lawson and Hanson's active-set method)."""
    m, n = a.shape
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    w = a.T @ (b - a @ x)
    tol = 10 * np.finfo(float).eps * np.linalg.norm(a, 1) * max(m, n)
    for _ in range(max_iter or 3 * n):
        if passive.all() or (w[~passive] <= tol).all():
            break
        j = np.argmax(np.where(passive, -np.inf, w))
        passive[j] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > tol).all():
                x = z
                break
            negative = passive & (z <= tol)
            alpha = np.min(x[negative] / (x[negative] - z[negative]))
            x = x + alpha * (z - x)
            passive &= x > tol
            x[~passive] = 0.0
        w = a.T @ (b - a @ x)
    return x


def _columns(kernels, regime=None, llc_bytes: int = 0) -> np.ndarray:
    """One design row: per class (flops, bytes within the cache, launches), then the bytes beyond the cache
    (`llc_bytes`; at the DRAM bandwidth, one for all classes), then the run overhead's 1. `regime` maps a kernel's
    index to 'compute' or 'memory' (combine: max); None adds both terms (combine: sum)."""
    row = np.zeros(3 * len(OP_CLASSES) + 2)
    for i, k in enumerate(kernels):
        base = 3 * OP_CLASSES.index(k.op_class)
        if regime is None or regime[i] == "compute":
            row[base] += k.flops
        if regime is None or regime[i] == "memory":
            cached, spilled = split_bytes(k.bytes, llc_bytes)
            row[base + 1] += cached
            row[-2] += spilled
        row[base + 2] += k.launches
    row[-1] = 1.0
    return row


def _solve(rows: np.ndarray, measured: np.ndarray, weights: np.ndarray) -> np.ndarray:
    root = np.sqrt(weights)
    a = rows / measured[:, None] * root[:, None]
    scale = np.linalg.norm(a, axis=0)
    used = scale > 0
    x = np.zeros(a.shape[1])
    x[used] = nnls(a[:, used] / scale[used], root) / scale[used]
    return x


def _profile(x: np.ndarray, structure: DeviceProfile, combine: str, exercised: set) -> DeviceProfile:
    classes = {}
    for c, name in enumerate(OP_CLASSES):
        inv_t, inv_b, overhead = x[3 * c: 3 * c + 3]
        classes[name] = ClassParams(1 / inv_t if inv_t > 1 / UNBOUNDED else UNBOUNDED,
                                    1 / inv_b if inv_b > 1 / UNBOUNDED else UNBOUNDED, float(overhead))
    for name in OP_CLASSES:  # classes without data: their fallback's (followed until one has data)
        source, seen = name, set()
        while source not in exercised and source in FALLBACK and source not in seen:
            seen.add(source)
            source = FALLBACK[source]
        classes[name] = classes[source] if name not in exercised else classes[name]
    dram = 1 / x[-2] if x[-2] > 1 / UNBOUNDED else UNBOUNDED
    return replace(structure, classes=classes, combine=combine, run_overhead_s=float(x[-1]), dram_bandwidth=dram)


def predict(kernels, profile: DeviceProfile) -> float:
    return profile.run_overhead_s + sum(kernel_time(k, profile) for k in kernels)


def quality(samples, profile: DeviceProfile, unfitted: tuple = ()) -> Quality:
    errors = np.array([predict(s.kernels, profile) / s.measured_s - 1 for s in samples])
    absolute = np.abs(errors)
    return Quality(len(samples), float(np.median(absolute)), float(absolute.max()), float((absolute <= 0.10).mean()),
                   float((absolute <= 0.20).mean()), unfitted)


def fit(samples, structure: DeviceProfile, combine: str = "max", weights=None) -> tuple:
    """(profile, quality): the profile of `structure` (threads, layout, fusion ... kept) whose class parameters and
    run overhead best explain `samples` under `combine`, each sample's squared relative error times its weight
    (1 each by default)."""
    measured = np.array([s.measured_s for s in samples])
    weights = np.ones(len(samples)) if weights is None else np.asarray(weights, dtype=float)
    exercised = {k.op_class for s in samples for k in s.kernels}
    llc = structure.llc_bytes
    x = _solve(np.array([_columns(s.kernels, None, llc) for s in samples]), measured, weights)
    best = _profile(x, structure, "sum", exercised)
    unfitted = tuple(c for c in OP_CLASSES if c not in exercised)
    if combine == "sum":
        return best, quality(samples, best, unfitted)
    best = replace(best, combine="max")
    best_loss = _loss(samples, best, weights)
    current, regimes = best, None
    for _ in range(MAX_ROUNDS):
        new = [_regimes(s.kernels, current) for s in samples]
        if new == regimes:
            break
        regimes = new
        x = _solve(np.array([_columns(s.kernels, r, llc) for s, r in zip(samples, regimes)]), measured, weights)
        current = _profile(x, structure, "max", exercised)
        loss = _loss(samples, current, weights)
        if loss < best_loss:
            best, best_loss = current, loss
    return best, quality(samples, best, unfitted)


def _regimes(kernels, profile: DeviceProfile) -> list:
    out = []
    for k in kernels:
        p = profile[k.op_class]
        cached, spilled = split_bytes(k.bytes, profile.llc_bytes)
        memory = cached / p.bandwidth + spilled / profile.dram_bandwidth
        out.append("compute" if k.flops / p.throughput >= memory else "memory")
    return out


LLC_CANDIDATES = tuple(2 ** k * 2 ** 20 for k in range(0, 9))  # 1 MB to 256 MB


def cache_size(samples, structure: DeviceProfile, weights=None, candidates=LLC_CANDIDATES) -> tuple:
    """(llc_bytes, {candidate: loss}): the last-level cache size that, with the DRAM bandwidth fitted for the
    bytes beyond it, explains `samples` best (the weighted squared relative error of the `sum` fit); 0, no cache
    term, unless a candidate does better. A kernel moving more than the cache holds shows it: the calibration's
    fc layers with weights from 64 KB to 128 MB and its maps of up to 16 MB each way."""
    weights = np.ones(len(samples)) if weights is None else np.asarray(weights, dtype=float)
    losses = {}
    for llc in (0, *candidates):
        profile, _ = fit(samples, replace(structure, llc_bytes=llc), "sum", weights)
        losses[llc] = _loss(samples, profile, weights)
    best = min(losses, key=lambda llc: (losses[llc], llc))
    return (best if losses[best] < losses[0] else 0), losses


def _loss(samples, profile: DeviceProfile, weights) -> float:
    return float(sum(w * (predict(s.kernels, profile) / s.measured_s - 1) ** 2 for s, w in zip(samples, weights)))


def cross_validate(samples, structure: DeviceProfile, combine: str, folds: int = 5, seed: int = 0,
                   weights=None) -> Quality:
    """Quality on held-out samples: each fold's networks estimated by the profile fitted on the others, with
    their `weights` (fewer folds when there are few samples; with fewer than 4, the quality of the fit itself)."""
    weights = [1.0] * len(samples) if weights is None else list(weights)
    folds = min(folds, len(samples) // 2)
    if folds < 2:
        profile, q = fit(samples, structure, combine, weights)
        return q
    order = np.random.default_rng(seed).permutation(len(samples))
    held = []
    for f in range(folds):
        test = set(order[f::folds].tolist())
        train = [i for i in range(len(samples)) if i not in test]
        profile, _ = fit([samples[i] for i in train], structure, combine, [weights[i] for i in train])
        held += [(samples[i], profile) for i in sorted(test)]
    errors = np.abs([predict(s.kernels, p) / s.measured_s - 1 for s, p in held])
    return Quality(len(held), float(np.median(errors)), float(errors.max()), float((errors <= 0.10).mean()),
                   float((errors <= 0.20).mean()))
