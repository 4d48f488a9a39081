"""How well the calibrated latency estimate predicts measured time on the zoo, beside a FLOPs-only baseline.

In one run: `costcalc calibrate` (synthetic networks only, never the zoo) and every zoo spec (specs/*.yaml)
measured with costcalc's onnxruntime adapter (the machinery of `costcalc measure --threads 1`: warm-up, then min
over runs), a pass over the zoo after each pass of the calibration, so that both see the shared machine's load
alike (`--passes`: each zoo model keeps its fastest), then compared with

- the estimate: `costcalc report SPEC --device profile.yaml` (costcalc.latency), and
- the FLOPs-only baseline: FLOPs / P, with the one throughput P fitted (least squares on relative error) on the
  same calibration measurements.

Printed: per model, measured and both estimates with their errors; then for each predictor the share of models
within +-10 % and +-20 %, Spearman's rho between estimate and measurement, and the pairwise ranking accuracy over
the pairs of models whose FLOPs are within 20 % of each other (does it say which of two near-equal-FLOPs models is
faster?).

    python benchmarks/latency_accuracy.py [--budget 240] [--passes 5] [--threads 1] [--profile out.yaml]
                                          [--clock wall|cpu] [--json results.json]

`--clock cpu` times each run by the calling thread's CPU time instead of the wall clock (meaningful at 1 thread:
onnxruntime then computes in the calling thread), which other processes on a shared machine do not inflate.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from costcalc.graph import load  # noqa: E402
from costcalc.latency import estimate  # noqa: E402
from costcalc.latency.calibration import PASSES, RuntimeMeasure, calibrate, device_name  # noqa: E402
from costcalc.latency.metrics import flops_baseline, summary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=240.0, help="calibration budget, seconds")
    parser.add_argument("--passes", type=int, default=PASSES,
                        help="measurements of each zoo model and each calibration network (fastest kept)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per measurement")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--profile", default="", help="also write the fitted profile here")
    parser.add_argument("--json", default="", help="write the per-model figures (and each calibration network's time) here")
    args = parser.parse_args()

    started = time.perf_counter()
    measure = RuntimeMeasure(runs=args.runs, clock=args.clock)
    specs = sorted(glob.glob(os.path.join(ROOT, "specs", "*.yaml")))
    graphs = {os.path.basename(s)[:-5]: load(s) for s in specs}
    measured: dict = {}

    def zoo_pass(k: int) -> None:
        """One pass over the zoo, between the calibration's passes: both see the machine's load alike."""
        if k > args.passes:
            return
        for name, graph in graphs.items():
            measured[name] = min(measured.get(name, float("inf")), measure.seconds(graph, args.threads))
        print(f"zoo pass {k} of {args.passes} done ({time.perf_counter() - started:.0f} s)", flush=True)

    print(f"calibrating ({args.budget:.0f} s budget, {args.threads} thread(s), clock {args.clock}), the zoo measured "
          f"between its passes ...", flush=True)
    calibration = calibrate(args.threads, args.budget, measure=measure.seconds, between_passes=zoo_pass,
                            passes=args.passes)
    for k in range(calibration.passes + 1, args.passes + 1):
        zoo_pass(k)
    profile = calibration.profile
    if args.profile:
        from dataclasses import replace

        from costcalc.latency.profile import save

        save(replace(profile, device=device_name(), runtime=measure.runtime,
                     calibration={**profile.calibration, "clock": args.clock}), args.profile)
    q = calibration.held_out
    print(f"calibration: {len(calibration.samples)} networks, {calibration.passes} passes, held-out median |error| "
          f"{q.median_abs_error:.1%}, within 10% {q.within_10:.0%} ({calibration.elapsed_s:.0f} s)", flush=True)
    throughput = flops_baseline(calibration.samples)
    print(f"FLOPs-only baseline: {throughput / 1e9:.1f} G multiply-adds/s fitted on the same calibration networks")

    rows = []
    for name, graph in graphs.items():
        flops = sum(node.counts.flops for node in graph.nodes)
        rows.append({"model": name, "flops": flops, "measured_s": measured[name],
                     "estimate_s": estimate(graph, profile).total_s, "baseline_s": flops / throughput})
    print()
    print(f"{'model':<24} {'GFLOPs':>7} {'measured':>10} {'estimate':>10} {'error':>7} {'FLOPs-only':>11} {'error':>7}")
    for r in rows:
        m = r["measured_s"]
        print(f"{r['model']:<24} {r['flops'] / 1e9:>7.2f} {m * 1e3:>8.2f}ms {r['estimate_s'] * 1e3:>8.2f}ms "
              f"{r['estimate_s'] / m - 1:>+7.1%} {r['baseline_s'] * 1e3:>9.2f}ms {r['baseline_s'] / m - 1:>+7.1%}")
    measured_s = [r["measured_s"] for r in rows]
    flops = [r["flops"] for r in rows]
    results = {}
    print()
    print(f"{'predictor':<22} {'within 10%':>10} {'within 20%':>10} {'Spearman':>9} {'pairwise':>15}")
    for label, key in (("estimate (costcalc)", "estimate_s"), ("FLOPs-only baseline", "baseline_s")):
        s = summary([r[key] for r in rows], measured_s, flops)
        results[key] = s
        print(f"{label:<22} {s['within_10']:>10.0%} {s['within_20']:>10.0%} {s['spearman']:>9.3f} "
              f"{s['pairwise']:>9.0%} of {s['pairs']:>3}")
    print(f"\n{len(rows)} zoo models, {args.passes} passes of {args.runs} runs each, clock {args.clock}, "
          f"threads {args.threads}; total {time.perf_counter() - started:.0f} s; "
          f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "summary": results, "calibration": profile.calibration,
                       "clock": args.clock, "threads": args.threads,
                       "calibration_networks": [{"name": s.name, "family": calibration.families[s.name],
                                                 "measured_s": s.measured_s} for s in calibration.samples]},
                      f, indent=1)


if __name__ == "__main__":
    main()
