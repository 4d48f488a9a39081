"""Fitting a device profile to measured networks: non-negative least squares on relative error.

Each measured network gives one equation, its measured time = the model's (costcalc.latency.model) sum over its
kernels. The unknowns are, per op class, 1/throughput, 1/bandwidth, the per-kernel overhead and the per-row
time, then 1/(DRAM bandwidth), the fork cost (fork_s: per launch of a kernel shared among threads,
costcalc.latency.threads; an all-zero column at 1 thread) and the run overhead: all >= 0, and the equation is
linear in them once each kernel's regime is fixed (and its parallelism, which divides its FLOPs, cached bytes
and rows). With `combine: sum` every kernel adds its FLOPs, bytes, launches and rows to its class's four columns
and one NNLS solve gives the profile. With `combine: max` a kernel adds only the term that is larger under the
current parameters (its launches and rows always): starting from the sum fit, the regimes are
reassigned and the system solved again until no regime changes (or `MAX_ROUNDS`), keeping the best fit seen.
The weights of an evicted fc (costcalc.latency.model.evicts) go to the DRAM column for each cache size tried.
Rows are divided by the measured time, so that a 100 us network weighs as much as a 100 ms one (the error
minimised is relative); a sample's weight w multiplies its squared error (the calibration weighs its few whole
networks as much as all its units together).

A class the calibration networks never exercise has all-zero columns; it keeps the parameters of `FALLBACK`'s
class for it (and the quality record says so).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from costcalc.latency.model import evicts, kernel_time, length_factor
from costcalc.latency.profile import OP_CLASSES, ClassParams, DeviceProfile

MAX_ROUNDS = 40
TERMS = ("flops", "bytes", "launches", "rows")  # a kernel's quantities, each a column of its class
UNBOUNDED = 1e15  # a throughput or bandwidth whose fitted term is 0 (the other one, or the overhead, explains it)
FALLBACK = {"dense_conv_plain": "dense_conv", "pointwise_conv_plain": "pointwise_conv",
            "grouped_conv_plain": "grouped_conv", "depthwise_conv_plain": "depthwise_conv",
            "grouped_conv": "dense_conv", "depthwise_conv": "elementwise", "fc": "pointwise_conv_plain",
            "pooling": "elementwise", "data_movement": "elementwise", "dense_conv": "pointwise_conv",
            "shuffle": "data_movement", "elementwise_exp": "elementwise", "pooling_plain": "pooling",
            "gelu": "elementwise_exp", "mish": "elementwise_exp", "normalization": "elementwise",
            "gemm": "pointwise_conv_plain", "matmul": "gemm", "softmax": "elementwise_exp",
            "transpose": "data_movement", "transpose_inner": "transpose", "view": "data_movement",
            "batchnorm": "elementwise", "resize": "data_movement", "resize_plain": "resize",
            "reduce": "elementwise"}

OWN_ROWS = frozenset({"reduce"})  # rows of a kind no other class counts: unexercised, it costs them nothing


@dataclass(frozen=True)
class Sample:
    """One measured network: its planned kernels (model.plan) and its measured time in seconds."""

    name: str
    kernels: tuple
    measured_s: float
    flops: int = 0  # the network's FLOPs (conv and fc multiply-adds): what the FLOPs-only baseline sees

    @cached_property
    def arrays(self) -> tuple:
        """Its kernels as arrays (class index, FLOPs, bytes, launches, rows, weight bytes), for the fit's vectorised
        sums."""
        return (np.array([OP_CLASSES.index(k.op_class) for k in self.kernels], dtype=np.int64),
                *(np.array([getattr(k, key) for k in self.kernels], dtype=float)
                  for key in (*TERMS, "weight_bytes", "units")))


class _Table:
    """The kernels of many samples, one array each over all of them (`sample`: whose kernel it is): the fit's
    design rows and every sample's estimate are sums over it (numpy), not Python loops over kernels."""

    def __init__(self, samples):
        parts = [s.arrays for s in samples]
        self.n = len(samples)
        self.sample = np.repeat(np.arange(self.n), [len(p[0]) for p in parts])
        self.op_class = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        self.flops, self.bytes, self.launches, self.rows, self.weight_bytes, self.units = (
            np.concatenate([p[i] for p in parts]) if parts else np.zeros(0) for i in (1, 2, 3, 4, 5, 6))
        self.total_bytes = np.bincount(self.sample, self.bytes, minlength=self.n)  # each sample's, per run
        self.measured = np.array([s.measured_s for s in samples], dtype=float)

    def split(self, llc_bytes: int) -> tuple:
        """Each kernel's bytes (cached, spilled), as model.split_bytes with model.evicts."""
        if llc_bytes <= 0:
            return self.bytes, np.zeros_like(self.bytes)
        cold = np.where(self.total_bytes[self.sample] > llc_bytes, self.weight_bytes, 0.0)
        cached = np.minimum(self.bytes - cold, llc_bytes)
        return cached, self.bytes - cached

    def share(self, threads: int) -> np.ndarray:
        """Each kernel's parallelism at `threads` (costcalc.latency.threads.parallelism, vectorised)."""
        if threads <= 1:
            return np.ones_like(self.units)
        return np.where(self.units > 1, self.units / np.ceil(self.units / threads), 1.0)

    def forks(self, threads: int) -> np.ndarray:
        """Each kernel's launches that split among `threads` (each paying the profile's fork_s)."""
        return np.where(self.share(threads) > 1, self.launches, 0.0)

    def sums(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.sample, values, minlength=self.n)

    def compute_and_memory(self, profile: DeviceProfile) -> tuple:
        """Each kernel's (compute, memory) seconds under `profile`, as model.kernel_time's terms."""
        throughput, bandwidth, _, _ = _class_arrays(profile)
        cached, spilled = self.split(profile.llc_bytes)
        share = self.share(profile.threads)
        memory = cached / bandwidth[self.op_class] / share + spilled / profile.dram_bandwidth
        return self.flops / throughput[self.op_class] / share, memory

    def predict(self, profile: DeviceProfile) -> np.ndarray:
        """Every sample's estimate under `profile` (predict's, vectorised)."""
        compute, memory = self.compute_and_memory(profile)
        body = np.maximum(compute, memory) if profile.combine == "max" else compute + memory
        _, _, overhead, row = _class_arrays(profile)
        share, forks = self.share(profile.threads), self.forks(profile.threads) * profile.fork_s
        return profile.run_overhead_s + self.length(profile) * self.sums(profile.context * (
            body + self.launches * overhead[self.op_class] + self.rows * row[self.op_class] / share + forks))

    def length(self, profile: DeviceProfile) -> np.ndarray:
        """Every sample's length term (model.length_factor of its planned kernels)."""
        if not profile.context_slope or profile.context_kernels <= 0:
            return np.ones(self.n)
        kernels = np.maximum(np.bincount(self.sample, minlength=self.n), 1)
        return (kernels / profile.context_kernels) ** profile.context_slope


def _class_arrays(profile: DeviceProfile) -> tuple:
    return tuple(np.array([getattr(profile[c], key) for c in OP_CLASSES], dtype=float)
                 for key in ("throughput", "bandwidth", "overhead_s", "row_s"))


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
    tol = 10 * np.finfo(float).eps * np.linalg.norm(a, 1) * max(m, n)
    if m > n:  # the same problem on n rows: with a = QR, ||a x - b|| differs from ||R x - Q^T b|| by a constant
        q, r = np.linalg.qr(a)
        a, b = r, q.T @ b
    w = a.T @ (b - a @ x)
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


def _rows(table: _Table, compute=None, llc_bytes: int = 0, threads: int = 1) -> np.ndarray:
    """The design rows, one per sample: per class (flops, bytes within the cache, launches, rows; the flops, cached
    bytes and rows divided by each kernel's parallelism at `threads`), then the bytes beyond the cache
    (`llc_bytes`; at the DRAM bandwidth, one for all classes), the launches that split (fork_s), then the run
    overhead's 1. `compute` says per kernel whether it is compute-bound (combine: max: only that term is added);
    None adds both (combine: sum)."""
    width = len(TERMS)
    columns = width * len(OP_CLASSES) + 3
    cached, spilled = table.split(llc_bytes)
    share = table.share(threads)
    cached = cached / share
    flops = table.flops / share
    flops = flops if compute is None else np.where(compute, flops, 0.0)
    if compute is not None:
        cached, spilled = np.where(compute, 0.0, cached), np.where(compute, 0.0, spilled)
    base = table.sample * columns + width * table.op_class
    size = table.n * columns
    rows = sum(np.bincount(base + offset, values, minlength=size) for offset, values in
               ((0, flops), (1, cached), (2, table.launches), (3, table.rows / share)))
    rows = rows + np.bincount(table.sample * columns + columns - 3, spilled, minlength=size)
    rows = rows + np.bincount(table.sample * columns + columns - 2, table.forks(threads), minlength=size)
    rows = rows.reshape(table.n, columns)
    rows[:, -1] = 1.0
    return rows


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
        inv_t, inv_b, overhead, row = x[len(TERMS) * c: len(TERMS) * (c + 1)]
        classes[name] = ClassParams(1 / inv_t if inv_t > 1 / UNBOUNDED else UNBOUNDED,
                                    1 / inv_b if inv_b > 1 / UNBOUNDED else UNBOUNDED, float(overhead), float(row))
    for name in OP_CLASSES:  # classes without data: their fallback's (followed until one has data)
        source, seen = name, set()
        while source not in exercised and source in FALLBACK and source not in seen:
            seen.add(source)
            source = FALLBACK[source]
        if name not in exercised:  # a class whose rows its fallback never saw (reduce) borrows without them
            classes[name] = replace(classes[source], row_s=0.0) if name in OWN_ROWS else classes[source]
    dram = 1 / x[-3] if x[-3] > 1 / UNBOUNDED else UNBOUNDED
    return replace(structure, classes=classes, combine=combine, run_overhead_s=float(x[-1]), dram_bandwidth=dram,
                   fork_s=float(x[-2]))


def predict(kernels, profile: DeviceProfile) -> float:
    evicted = evicts(sum(k.bytes for k in kernels), profile)
    return profile.run_overhead_s + length_factor(profile, len(kernels)) * sum(kernel_time(k, profile, evicted)
                                                                              for k in kernels)


def quality(samples, profile: DeviceProfile, unfitted: tuple = ()) -> Quality:
    return _quality(_Table(samples).predict(profile) / np.array([s.measured_s for s in samples]) - 1, unfitted)


def _quality(errors: np.ndarray, unfitted: tuple = ()) -> Quality:
    absolute = np.abs(errors)
    return Quality(len(errors), float(np.median(absolute)), float(absolute.max()), float((absolute <= 0.10).mean()),
                   float((absolute <= 0.20).mean()), unfitted)


def fit(samples, structure: DeviceProfile, combine: str = "max", weights=None) -> tuple:
    """(profile, quality): the profile of `structure` (threads, layout, fusion ... kept) whose class parameters and
    run overhead best explain `samples` under `combine`, each sample's squared relative error times its weight
    (1 each by default)."""
    table = _Table(samples)
    weights = np.ones(len(samples)) if weights is None else np.asarray(weights, dtype=float)
    exercised = {OP_CLASSES[c] for c in set(table.op_class.tolist())}
    llc = structure.llc_bytes
    x = _solve(_rows(table, None, llc, structure.threads), table.measured, weights)
    best = _profile(x, structure, "sum", exercised)
    unfitted = tuple(c for c in OP_CLASSES if c not in exercised)
    if combine == "sum":
        return best, _quality(table.predict(best) / table.measured - 1, unfitted)
    best = replace(best, combine="max")
    best_loss = _loss(table, best, weights)
    current, regimes = best, None
    for _ in range(MAX_ROUNDS):
        compute, memory = table.compute_and_memory(current)
        new = compute >= memory
        if regimes is not None and np.array_equal(new, regimes):
            break
        regimes = new
        x = _solve(_rows(table, regimes, llc, structure.threads), table.measured, weights)
        current = _profile(x, structure, "max", exercised)
        loss = _loss(table, current, weights)
        if loss < best_loss:
            best, best_loss = current, loss
    return best, _quality(table.predict(best) / table.measured - 1, unfitted)


LLC_CANDIDATES = tuple(2 ** k * 2 ** 20 for k in range(0, 9))  # 1 MB to 256 MB


def cache_size(samples, structure: DeviceProfile, weights=None, candidates=LLC_CANDIDATES) -> tuple:
    """(llc_bytes, {candidate: loss}): the last-level cache size that, with the DRAM bandwidth fitted for the
    bytes beyond it, explains `samples` best (the weighted squared relative error of the `sum` fit); 0, no cache
    term, unless a candidate does better. A kernel moving more than the cache holds shows it: the calibration's
    fc layers with weights from 64 KB to 128 MB and its maps of up to 16 MB each way."""
    weights = np.ones(len(samples)) if weights is None else np.asarray(weights, dtype=float)
    table, losses = _Table(samples), {}
    for llc in (0, *candidates):
        profile, _ = fit(samples, replace(structure, llc_bytes=llc), "sum", weights)
        losses[llc] = _loss(table, profile, weights)
    best = min(losses, key=lambda llc: (losses[llc], llc))
    return (best if losses[best] < losses[0] else 0), losses


def _loss(table: _Table, profile: DeviceProfile, weights) -> float:
    return float(np.sum(weights * (table.predict(profile) / table.measured - 1) ** 2))


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
        tested = [samples[i] for i in sorted(test)]
        held.append(_Table(tested).predict(profile) / np.array([s.measured_s for s in tested]) - 1)
    return _quality(np.concatenate(held))
