"""Calibration: synthetic networks made for the purpose, measured on this machine, and the profile fitted to them.

The networks are never the zoo's: each family isolates one op class in the shapes real networks use (sweeps of
channel widths, channel ratios, feature map sizes, groups, kernel sizes), in both layouts (channels that are a
multiple of the layout block and channels that are not), plus element-wise chains, pooling, data movement
(concat, split, shuffle, select, forced layout reorders), fork-join branches, and small random mixes of all of
them: networks of one repeated unit. A last family, random whole networks (image to classes: a stem, stages of
inverted-residual or residual units, a head), is what the estimate is asked about: the classes are fitted on the
units and the whole networks together, the few whole networks weighted as much as all the units, and then one
more number, the context factor, takes what the classes still leave over on the whole networks (the geometric
mean of measured / estimated: how much slower kernels run inside a whole network than in a repeated unit). The networks themselves are
costcalc.latency.networks': each sized to run about TARGET_S on a first guess of the device, so that a run's fixed
costs and the timer's resolution stay small beside it, families interleaved, so that a short budget still covers
every class. Measurement is costcalc.runtime's (`measure_graph`, min over runs); the fit is costcalc.latency.fit's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from costcalc.latency.fit import Sample, cache_size, cross_validate, fit, predict, quality
from costcalc.latency.layout import measured_block
from costcalc.latency.model import plan
from costcalc.latency.networks import WHOLE, Network, build, families, interleaved  # noqa: F401 - callers' names
from costcalc.latency.profile import OP_CLASSES, DeviceProfile, uniform

DEFAULT_BUDGET_S = 240.0  # seconds of measuring (calibrate's docstring); generating, building and fitting add more
PASSES = 5  # a network's runs spread over five passes: its fastest more often a quiet moment's (docs/latency.md)
MIN_NETWORKS = 20  # the first pass measures at least this many networks, whatever the budget (the default
# budget measures several hundred)


@dataclass(frozen=True)
class Calibration:
    profile: DeviceProfile
    samples: tuple  # fit.Sample, one per network measured
    families: dict  # network name -> family
    fitted: object  # fit.Quality on the networks fitted
    held_out: object  # fit.Quality, 5-fold cross-validated
    other: object  # fit.Quality of the other combine, held out (what the chosen one beat)
    elapsed_s: float
    skipped: int  # networks left out for the budget
    passes: int = 1  # times each network was measured (its fastest kept)
    measuring_s: float = 0.0  # of elapsed_s, the budget's: inside the runtime's measurements


def calibrate(threads: int = 1, budget_s: float = DEFAULT_BUDGET_S, seed: int = 0, measure=None,
              structure: DeviceProfile | None = None, progress=None, between_passes=None,
              passes: int = PASSES, batch: int = 1) -> Calibration:
    """Measure the calibration networks at `batch` (in `passes` passes until `budget_s` seconds of measuring are
    spent, the fastest time of each network kept: on a machine whose speed comes and goes with other work, more
    passes spread each network's runs over more of the time) and fit the profile. The budget is measuring time
    only, the time spent inside `measure`: not generating the networks (before), building their graphs, the first
    measurement (it loads the runtime), `between_passes` or the fit (after), so that a loaded machine, slower at
    all of them, loses networks only to its slower runs. The first pass spends budget / passes, and measures at
    least MIN_NETWORKS networks whatever that takes (the fewest a fit of every class takes). `between_passes(k)`, called
    after pass k, lets a benchmark measure other networks in between (so that both see the machine's load alike).
    `measure(graph, threads) -> seconds` defaults to costcalc.runtime's min over runs; `structure` gives the
    runtime's layout block and fusion rules (default: onnxruntime's fusion rules, the layout block measured first
    by costcalc.latency.layout's two probe networks, outside the budget)."""
    start = time.perf_counter()
    measure = measure or _runtime_measure
    layout = {}
    if structure is None:  # the runtime's NCHWc block on this machine, measured (costcalc.latency.layout)
        block, ratio = measured_block(lambda graph: measure(graph, threads), batch)
        structure = replace(uniform(1.0, 1.0, 0.0), layout_block=block)
        layout = {"layout": {"block": block, "probe_ratio": round(ratio, 3)}}
    structure = replace(structure, threads=threads)
    networks = interleaved(seed, batch)  # once in a process (networks.of_seed), as drift's references
    spent = 0.0  # the budget's clock: seconds inside `measure`, the first call (loading the runtime) excepted

    def timed(graph, first: bool = False) -> float:
        nonlocal spent
        began = time.perf_counter()
        seconds = measure(graph, threads)
        spent += 0.0 if first else time.perf_counter() - began
        return seconds

    # the first pass measures networks in turn for budget / passes; passes - 1 later passes measure the same ones
    # again, each network keeping its fastest time (the machine's load only slows). A fixed number of passes: a
    # minimum over more tries is lower, and networks measured as often as the calibration's compare alike.
    graphs, best = [], []
    for network in networks:
        if spent >= budget_s / passes and len(graphs) >= MIN_NETWORKS:
            break
        graph = build(network.text, f"{network.name}.yaml", batch)
        graphs.append((network, graph))
        best.append(timed(graph, first=not graphs[1:]))
        if progress is not None:
            progress(len(graphs), 0, network.name)
    total, passes = passes, 1
    if between_passes is not None:
        between_passes(1)
    while passes < total and spent < budget_s:
        for i, (network, graph) in enumerate(graphs):
            if spent >= budget_s:
                break
            best[i] = min(best[i], timed(graph))
            if progress is not None:
                progress(i + 1, len(graphs), network.name)
        passes += 1
        if between_passes is not None:
            between_passes(passes)
    samples = [Sample(network.name, tuple(plan(graph, structure)), seconds, sum(n.counts.flops for n in graph.nodes))
               for (network, graph), seconds in zip(graphs, best)]
    family_of = {network.name: network.family for network, _ in graphs}
    fitted = fit_profile(samples, family_of, structure)
    profile, record = fitted.profile, fitted.record
    elapsed = time.perf_counter() - start
    # every calibration network runs at `batch`: the batch the profile covers (costcalc.latency.model); "seconds"
    # is the whole call's time, "measuring_s" the budget's part of it
    record = {"networks": len(samples), "passes": passes, "measuring_s": round(spent, 1), "batch": batch,
              "families": sorted(set(family_of.values())), "seed": seed, "seconds": round(elapsed, 1), **layout,
              **record}
    profile = replace(profile, calibration=record)
    return Calibration(profile, tuple(samples), family_of, fitted.fitted, fitted.held_out, fitted.other, elapsed,
                       len(networks) - len(samples), passes, spent)


@dataclass(frozen=True)
class Fitted:
    profile: DeviceProfile  # its calibration record not yet set
    fitted: object  # fit.Quality on the networks fitted
    held_out: object  # fit.Quality, 5-fold cross-validated
    other: object  # fit.Quality of the other combine, held out
    record: dict  # the fit's part of the calibration record


def fit_profile(samples: list, family_of: dict, structure: DeviceProfile) -> Fitted:
    """The profile `calibrate` fits to measured `samples` (their families in `family_of`): the cache size searched
    (fit.cache_size), both combines fitted and cross-validated, the one of smaller held-out error kept, then the
    context factor on the whole networks."""
    wholes = [s for s in samples if family_of[s.name] == WHOLE]
    weights = whole_weights(samples, family_of)
    llc, losses = cache_size(samples, structure, weights)  # the last-level cache, learned: 0 when none explains more
    structure = replace(structure, llc_bytes=llc)
    results = {}
    for combine in ("max", "sum"):
        profile, fitted = fit(samples, structure, combine, weights)
        results[combine] = (profile, fitted, cross_validate(samples, structure, combine, weights=weights))
    chosen = min(results, key=lambda c: results[c][2].median_abs_error)
    other = "sum" if chosen == "max" else "max"
    profile, fitted, held = results[chosen]
    context, slope, kernels = context_factor(wholes, profile)
    profile = replace(profile, context=context, context_slope=slope, context_kernels=kernels)
    from costcalc.latency.drift import reference_record  # the check's networks, as this fit estimates them

    reference = reference_record(samples, profile)
    record = {"fitted": fitted.as_dict(), "held_out": held.as_dict(), f"held_out_{other}": results[other][2].as_dict(),
              "cache": {"llc_bytes": llc, "dram_bandwidth": float(f"{profile.dram_bandwidth:.4g}"),
                        "loss": round(losses[llc], 4), "loss_without": round(losses[0], 4)},
              "context": {"networks": len(wholes), "weight": round(max(weights), 2),
                          "factor": round(profile.context, 4), "slope": round(profile.context_slope, 4),
                          "kernels": [min((len(s.kernels) for s in wholes), default=0),
                                      max((len(s.kernels) for s in wholes), default=0)],
                          **({"after": quality(wholes, profile).as_dict()} if wholes else {})},
              **({"reference": reference} if reference else {})}
    return Fitted(profile, fitted, held, results[other][2], record)


def whole_weights(samples: list, family_of: dict) -> list:
    """Each sample's weight in the fit: 1 for a unit network, and for a whole network as many as there are units
    per whole network, so that the whole networks count as much as all the units together."""
    wholes = sum(1 for s in samples if family_of[s.name] == WHOLE)
    share = (len(samples) - wholes) / wholes if wholes else 1.0
    return [max(share, 1.0) if family_of[s.name] == WHOLE else 1.0 for s in samples]


MIN_FOR_SLOPE = 12  # whole networks the length term needs (fewer: the context alone)


def context_factor(wholes: list, profile: DeviceProfile) -> tuple:
    """(context, context_slope, context_kernels): how much slower kernels run in a whole network than the classes
    say, and how that grows with its planned kernels n: the least-squares line of log(measured / estimated)
    against log(n / n0) over the random whole networks, n0 their geometric mean length (rounded to 0.1), so that
    the context is, as without a length term, about the geometric mean of measured / estimated. (1, 0, 0) without
    any; no slope with fewer than MIN_FOR_SLOPE or all of one length."""
    if not wholes:
        return 1.0, 0.0, 0.0
    y = np.log([s.measured_s / predict(s.kernels, profile) for s in wholes])
    n = np.log([max(len(s.kernels), 1) for s in wholes])
    if len(wholes) < MIN_FOR_SLOPE or np.ptp(n) == 0:
        return float(np.exp(np.mean(y))), 0.0, 0.0
    n0 = round(float(np.exp(np.mean(n))), 1)
    slope, intercept = np.polyfit(n - np.log(n0), y, 1)
    return float(np.exp(intercept)), float(slope), n0


class RuntimeMeasure:
    """costcalc.runtime's measurement (onnxruntime): `seconds(graph, threads)` is the fastest of `runs` runs after
    `warmup`, by the wall clock (or, `clock="cpu"`, by the calling thread's CPU time); `runtime` names the runtime,
    as the first measurement reports it. By the wall clock only clean runs count (measure(clean=True): a run
    during which another process had one of the cores the threads need is run again, costcalc.runtime.waits)."""

    def __init__(self, warmup: int = 2, runs: int = 10, clock: str = "wall"):
        self.warmup, self.runs, self.clock, self.runtime = warmup, runs, clock, ""

    def seconds(self, graph, threads: int) -> float:
        try:
            from costcalc.runtime import measure_graph
        except ImportError:  # pragma: no cover - a costcalc without its runtime adapter
            from costcalc.errors import Loc, SpecError

            raise SpecError("measuring needs costcalc's runtime adapter and onnxruntime: "
                            "pip install 'costcalc[runtime]'", Loc(graph.path)) from None
        if not self.runtime:  # before the first network: a missing runtime is the command's error, not a network's
            from costcalc.errors import Loc
            from costcalc.runtime.ort import load_onnxruntime

            load_onnxruntime(Loc("calibrate"))
        m = measure_graph(graph, threads=threads, warmup=self.warmup, runs=self.runs, profile=False,
                          clean=self.clock == "wall")
        self.runtime = self.runtime or m.runtime
        return m.cpu_s if self.clock == "cpu" else m.latency_s


def device_name() -> str:
    """'AMD EPYC, 2 CPUs' from /proc/cpuinfo where there is one: the `device` a calibrated profile names."""
    import os
    import platform

    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} CPUs"


def default_measure(clock: str = "wall") -> RuntimeMeasure:
    return RuntimeMeasure(clock=clock)


def _runtime_measure(graph, threads: int) -> float:
    return RuntimeMeasure().seconds(graph, threads)


def per_family(calibration: Calibration) -> list:
    """(family, networks, median |error|, share within +-10 %) of the fitted profile, per family: the unit families
    by the fitted classes alone (context 1), the whole networks with the context factor."""
    rows = []
    units = replace(calibration.profile, context=1.0)
    for family in sorted(set(calibration.families.values())):
        chosen = [s for s in calibration.samples if calibration.families[s.name] == family]
        if not chosen:
            continue
        q = quality(chosen, calibration.profile if family == WHOLE else units)
        rows.append((family, q.samples, q.median_abs_error, q.within_10))
    return rows


def exercised(calibration: Calibration) -> tuple:
    used = {k.op_class for s in calibration.samples for k in s.kernels}
    return tuple(c for c in OP_CLASSES if c in used)
