"""benchmarks/latency_accuracy.py's run at 1 thread, cut to what a heavily loaded shared machine can finish: the
calibration (`--budget`, `--passes`, CPU clock) with the zoo measured between its passes, each zoo model with
`--runs` runs (min kept over passes), the models above `--big-gflops` (the segmentation networks at 520 x 520,
two thirds of the zoo's FLOPs) with 2 runs in the first two passes only. Then the same comparison: the estimate
and the FLOPs-only baseline against the measurement, per model and in summary (costcalc.latency.metrics), and the
figures as JSON (`--json`, read by scripts/latency_table.py) and the fitted profile (`--profile`).

    python benchmarks/latency_loaded.py --budget 900 --passes 3 --runs 5 --json r.json --profile p.yaml

The run behind README's time table until 7 December (6-7 December 2026, load 14-20 on 2 CPUs) had these settings
(from a scratch copy of this script, committed after); the profile in devices/ until 7 December was its
measurements refitted by scripts/latency_refit.py with the cache-size search added after the run.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from dataclasses import replace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from costcalc.graph import load  # noqa: E402
from costcalc.latency import estimate  # noqa: E402
from costcalc.latency.calibration import RuntimeMeasure, calibrate, device_name  # noqa: E402
from costcalc.latency.metrics import flops_baseline, summary  # noqa: E402
from costcalc.latency.profile import save  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=900.0)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-gflops", type=float, default=50.0)
    parser.add_argument("--json", default="")
    parser.add_argument("--profile", default="")
    args = parser.parse_args()
    started = time.perf_counter()
    graphs = {os.path.basename(s)[:-5]: load(s) for s in sorted(glob.glob(os.path.join(ROOT, "specs", "*.yaml")))}
    flops = {name: sum(node.counts.flops for node in g.nodes) for name, g in graphs.items()}
    measured: dict = {}

    def zoo_pass(k: int) -> None:
        if k > args.passes:
            return
        for name, graph in graphs.items():
            big = flops[name] > args.big_gflops * 1e9
            if big and k > 2:
                continue
            m = RuntimeMeasure(warmup=1 if big else 2, runs=2 if big else args.runs, clock="cpu")
            measured[name] = min(measured.get(name, float("inf")), m.seconds(graph, 1))
        print(f"zoo pass {k} done ({time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f})", flush=True)

    measure = RuntimeMeasure(runs=10, clock="cpu")
    calibration = calibrate(1, args.budget, measure=measure.seconds, between_passes=zoo_pass, passes=args.passes)
    for k in range(calibration.passes + 1, args.passes + 1):
        zoo_pass(k)
    profile = replace(calibration.profile, device=device_name(), runtime=measure.runtime,
                      calibration={**calibration.profile.calibration, "clock": "cpu"})
    if args.profile:
        save(profile, args.profile)
    throughput = flops_baseline(calibration.samples)
    rows = [{"model": name, "flops": flops[name], "measured_s": measured[name],
             "estimate_s": estimate(graph, profile).total_s, "baseline_s": flops[name] / throughput}
            for name, graph in graphs.items()]
    for r in rows:
        m = r["measured_s"]
        print(f"{r['model']:<28} {r['flops'] / 1e9:7.2f} {m * 1e3:9.2f} ms {r['estimate_s'] * 1e3:9.2f} ms "
              f"{r['estimate_s'] / m - 1:+7.1%}   FLOPs-only {r['baseline_s'] / m - 1:+7.1%}")
    results = {key: summary([r[key] for r in rows], [r["measured_s"] for r in rows], [r["flops"] for r in rows])
               for key in ("estimate_s", "baseline_s")}
    for key, s in results.items():
        print(f"{key:<11} within 10% {s['within_10']:.0%}, within 20% {s['within_20']:.0%}, "
              f"pairwise {s['pairwise']:.0%} of {s['pairs']}")
    print(f"{len(rows)} zoo models; total {time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "summary": results, "calibration": profile.calibration, "clock": "cpu",
                       "threads": 1, "calibration_networks": [
                           {"name": s.name, "family": calibration.families[s.name], "measured_s": s.measured_s}
                           for s in calibration.samples]}, f, indent=1)


if __name__ == "__main__":
    main()
