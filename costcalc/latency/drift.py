"""Whether a device profile still holds on this machine now: `costcalc calibrate --check PROFILE`.

A profile is fitted once; the machine it describes changes under it (docs/latency.md, "When a profile drifts"):
the host's other tenants take cores and caches, the CPU's frequency follows its temperature and the power policy,
and a new onnxruntime runs other kernels. The check measures a few reference networks now, in well under 30 s,
and compares each with the profile's estimate:

- the reference networks are the calibration's random whole networks (image to classes; the first
  REFERENCE_NETWORKS of seed 0, mobile and residual ones in turn: costcalc.latency.networks), never the zoo's;
  each is measured PASSES times (min over runs each time, the fastest pass kept), at the profile's thread count
  and by the clock it was fitted with;
- `error` of a network = estimate / measured - 1; `overall` = the geometric mean of estimate / measured, less 1
  (+0.12: the profile estimates 12 % too slow here, now);
- the layout probe of `calibrate` (costcalc.latency.layout) is measured too: a block other than the profile's
  (the profile fitted on a CPU with other vector instructions) is named among the differences;
- `at_fit` = the same geometric mean on the calibration's own measurements of these networks, which `calibrate`
  records (`calibration: reference: {networks, overall}`; 0 for a profile without the record): a fresh 1-thread
  profile is within a few per cent of them, a 2-thread one can be 10 % or more off them (docs/latency.md,
  Threads). `drift` = (1 + overall) / (1 + at_fit) - 1: how far the estimates moved since the fit;
- the profile holds when |drift| <= TOLERANCE: TOLERANCE leaves room for the machine's own spread between runs.

`rescaled(profile, factor)` multiplies every estimate of the profile by `factor` (the model is T = run_overhead +
context x sum of kernels: both are multiplied), which is what `--refit-scale` writes, with factor = 1 / (1 +
drift): the profile then estimates the reference networks, on the check's own measurements, with the overall
error it had on them when it was fitted (at_fit; 0 without the record). A drift that is not one factor (a new
onnxruntime that runs one class of kernels faster) needs a new calibration; the per-network errors show which.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

from costcalc.latency.layout import measured_block
from costcalc.latency.model import estimate
from costcalc.latency.profile import DeviceProfile
from costcalc.latency.provenance import date_text, fitted, host_name, now_utc, runtime_version

REFERENCE_NETWORKS = 6
PASSES = 3
TOLERANCE = 0.10
BUDGET_S = 20.0  # of measuring: passes stop when it is spent (the command stays under 30 s with the start-up)


@dataclass(frozen=True)
class Reference:
    name: str
    measured_s: float
    estimate_s: float

    @property
    def error(self) -> float:
        return self.estimate_s / self.measured_s - 1


@dataclass(frozen=True)
class DriftCheck:
    """The profile's estimates of the reference networks against their times measured now."""

    rows: tuple  # Reference, one per network
    threads: int
    clock: str
    passes: int
    elapsed_s: float
    runtime: str = ""  # the runtime that measured them: 'onnxruntime 1.32.0 (CPUExecutionProvider)'
    host: str = ""
    tolerance: float = TOLERANCE
    differences: tuple = field(default=())  # what differs from where the profile was fitted, as sentences
    layout_block: int = 0  # the runtime's NCHWc block measured now (costcalc.latency.layout; 0: not measured)
    at_fit: float = 0.0  # the overall error on these networks when the profile was fitted (0: not recorded)

    @property
    def overall(self) -> float:
        """The geometric mean of estimate / measured over the networks, less 1."""
        return math.exp(sum(math.log(r.estimate_s / r.measured_s) for r in self.rows) / len(self.rows)) - 1

    @property
    def drift(self) -> float:
        """How far the estimates moved since the fit: (1 + overall) / (1 + at_fit) - 1."""
        return (1 + self.overall) / (1 + self.at_fit) - 1

    @property
    def holds(self) -> bool:
        return abs(self.drift) <= self.tolerance

    @property
    def factor(self) -> float:
        """What the profile's estimates are multiplied by to undo the drift (overall back to at_fit)."""
        return 1 / (1 + self.drift)


def reference_networks(count: int = REFERENCE_NETWORKS) -> list:
    """The first `count` random whole networks of the calibration's seed 0, mobile and residual in turn."""
    from costcalc.latency.networks import WHOLE, of_seed

    wholes = of_seed(0)[WHOLE]
    mobile = [n for n in wholes if not n.name.startswith("net_res")]
    residual = [n for n in wholes if n.name.startswith("net_res")]
    mixed = [n for pair in zip(mobile, residual) for n in pair] + mobile[len(residual):] + residual[len(mobile):]
    return mixed[:count]


def check(profile: DeviceProfile, measure, networks=None, passes: int = PASSES, budget_s: float = BUDGET_S,
          tolerance: float = TOLERANCE) -> DriftCheck:
    """Measure `networks` (default: reference_networks()) with `measure(graph, threads) -> seconds` at the
    profile's thread count, `passes` times each while `budget_s` lasts (the fastest kept), and compare."""
    from costcalc.latency.networks import build

    batch = covered_batch(profile)  # a batch-8 profile is checked at batch 8: the batch its fit covers
    graphs = [(n.name, build(n.text, f"{n.name}.yaml", batch)) for n in (networks or reference_networks())]
    start = time.perf_counter()
    best = {}
    done = 0
    while done < passes:
        began = time.perf_counter()
        for name, graph in graphs:
            best[name] = min(best.get(name, math.inf), measure(graph, profile.threads))
        done += 1
        now = time.perf_counter()
        if now + (now - began) - start > budget_s:
            break  # one more pass would overrun the budget
    rows = tuple(Reference(name, best[name], estimate(graph, profile).total_s) for name, graph in graphs)
    block = measured_block(lambda graph: measure(graph, profile.threads), batch)[0] if profile.layout_block > 0 else 0
    return DriftCheck(rows, profile.threads, "", done, time.perf_counter() - start, tolerance=tolerance,
                      layout_block=block, at_fit=at_fit(profile, [name for name, _ in graphs]))


def covered_batch(profile: DeviceProfile) -> int:
    """The batch the profile covers: its calibration's (1 when it records none)."""
    batch = profile.calibration.get("batch", 1) if isinstance(profile.calibration, dict) else 1
    return batch if isinstance(batch, int) and batch >= 1 else 1


def at_fit(profile: DeviceProfile, names: list) -> float:
    """The profile's overall error on the networks `names` when it was fitted (its `calibration: reference:`
    record, when it is of these networks), else 0."""
    record = profile.calibration.get("reference") if isinstance(profile.calibration, dict) else None
    if not isinstance(record, dict) or record.get("names") != list(names):
        return 0.0
    value = record.get("overall", 0.0)
    return float(value) if isinstance(value, (int, float)) and value > -1 else 0.0


def reference_record(samples: list, profile: DeviceProfile) -> dict:
    """What `calibrate` records for the check: the reference networks' names and the fitted profile's overall
    error on the calibration's own measurements of them ({} when the budget did not measure all of them)."""
    from costcalc.latency.fit import predict

    names = [n.name for n in reference_networks()]
    measured = {s.name: s for s in samples if s.name in names}
    if len(measured) < len(names):
        return {}
    logs = [math.log(predict(measured[n].kernels, profile) / measured[n].measured_s) for n in names]
    return {"names": names, "overall": round(math.exp(sum(logs) / len(logs)) - 1, 4)}


def reestimate(result: DriftCheck, profile: DeviceProfile, networks=None) -> DriftCheck:
    """The same measurements against another profile's estimates (a rescaled one: what it makes of them)."""
    from costcalc.latency.networks import build

    texts = {n.name: n for n in (networks or reference_networks(len(result.rows)))}
    batch = covered_batch(profile)
    rows = tuple(replace(r, estimate_s=estimate(build(texts[r.name].text, f"{r.name}.yaml", batch), profile).total_s)
                 for r in result.rows)
    return replace(result, rows=rows)


def with_context(result: DriftCheck, profile: DeviceProfile, runtime: str, clock: str) -> DriftCheck:
    """The check with the runtime, host and clock that measured it, and what differs from the profile's fit."""
    record = fitted(profile)
    host = host_name()
    differences = []
    fitted_version = record.get("onnxruntime") or runtime_version(profile.runtime)
    version = runtime_version(runtime)
    if fitted_version and version and fitted_version != version:
        differences.append(f"the profile was fitted with onnxruntime {fitted_version}, this is {version}")
    if record.get("host") and record["host"] != host:
        differences.append(f"the profile was fitted on host {record['host']}, this is {host}")
    if result.layout_block and result.layout_block != profile.layout_block:
        differences.append(f"onnxruntime's channel blocks here hold {result.layout_block} channels, the profile's "
                           f"{profile.layout_block} (a CPU with other vector instructions: a new calibration, not "
                           "--refit-scale)")
    fitted_clock = record.get("clock") or profile.calibration.get("clock")
    if fitted_clock and fitted_clock != clock:
        differences.append(f"the profile was fitted by the {fitted_clock} clock, this measured by the {clock} clock")
    return replace(result, runtime=runtime, host=host, clock=clock, differences=tuple(differences))


def rescaled(profile: DeviceProfile, factor: float, result: DriftCheck | None = None) -> DeviceProfile:
    """The profile with every estimate multiplied by `factor` (context and run overhead both), its `rescaled:`
    record saying when, by how much in all (factors compound) and on what."""
    earlier = profile.calibration.get("rescaled")
    total = factor * (earlier.get("factor", 1.0) if isinstance(earlier, dict) else 1.0)
    record = {"date": date_text(now_utc()), "factor": round(total, 4)}
    if result is not None:
        record.update({"networks": len(result.rows), "overall_before": round(result.overall, 4),
                       "host": result.host, "onnxruntime": runtime_version(result.runtime), "clock": result.clock})
    return replace(profile, context=profile.context * factor, run_overhead_s=profile.run_overhead_s * factor,
                   calibration={**profile.calibration, "rescaled": record})
