"""Export and measure over the zoo (issue 14), printed as a markdown table.

For every spec of the zoo (specs/*.yaml) at its own resolution, batch 1:
1. export: wall time of `export(graph, weights=...)` + serialisation, for random weights and for a graph-only file
   (weights none), beside the time to walk the spec (the baseline every command pays);
2. measure: `costcalc.runtime.measure` at 1 thread, repeated 3 times (each: warm-up runs, then timed runs); the
   min and median latency of each repetition, and the spread of the three mins (max / min - 1): how stable the
   figure is on this machine;
3. the baseline measured in the same run: a bare onnxruntime loop (same session options, profiler off), min over as
   many runs, so the profiler's overhead on the headline figure shows;
4. beside FLOPs (multiply-adds) and memory access, the effective rate FLOPs / latency in G multiply-adds/s, by the
   wall clock and by the calling thread's CPU time (min over all runs: at 1 thread onnxruntime runs every kernel
   on the calling thread, so CPU time leaves out the time other processes had the core on a shared machine).

Run: python benchmarks/export_measure.py [--runs N] [--warmup N] [--repeat N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costcalc.analysis import analyse  # noqa: E402
from costcalc.exporters.onnx import export  # noqa: E402
from costcalc.graph import load  # noqa: E402
from costcalc.runtime import measure  # noqa: E402


def bare_min(model_bytes: bytes, runs: int, warmup: int) -> float:
    """Min wall time of a plain onnxruntime loop: the baseline without costcalc's profiler."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    value = session.get_inputs()[0]
    feeds = {value.name: np.random.default_rng(0).standard_normal(value.shape).astype(np.float32)}
    for _ in range(warmup):
        session.run(None, feeds)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t)
    return min(times)


def one(path: str, runs: int, warmup: int, repeat: int) -> dict:
    t = time.perf_counter()
    graph = load(path)
    walk = time.perf_counter() - t
    t = time.perf_counter()
    model = export(graph, weights="random")
    data = model.SerializeToString()
    export_random = time.perf_counter() - t
    t = time.perf_counter()
    export(graph, weights="none").SerializeToString()
    export_none = time.perf_counter() - t
    totals = analyse(graph).totals
    reps = []
    for _ in range(repeat):
        t = time.perf_counter()
        m = measure(data, threads=1, warmup=warmup, runs=runs)
        reps.append((m.latency_s, m.latency_median_s, m.accounted, time.perf_counter() - t, m.cpu_s))
    mins = [r[0] for r in reps]
    return {"model": graph.name, "params": totals.params, "flops": totals.flops, "mac": totals.memory_access,
            "walk": walk, "export_random": export_random, "export_none": export_none, "mb": len(data) / 1e6,
            "mins": mins, "medians": [r[1] for r in reps], "accounted": statistics.median(r[2] for r in reps),
            "measure_wall": statistics.median(r[3] for r in reps), "bare": bare_min(data, runs, warmup),
            "cpu": min(r[4] for r in reps)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    specs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*.yaml"))
    if args.only:
        specs = [s for s in specs if pathlib.Path(s).stem in args.only]
    warm = load(str(ROOT / "specs" / "squeezenet1_1.yaml"))  # imports (onnx, onnxruntime) out of the timings
    measure(export(warm, weights="random"), runs=1, warmup=0)
    print(f"# {len(specs)} specs, 1 thread, batch 1, {args.warmup} warm-up + {args.runs} timed runs, "
          f"{args.repeat} repetitions; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start\n")
    print("| model | params | FLOPs (G) | memory access (M) | latency min (ms) | median (ms) | min spread over "
          "repetitions | bare onnxruntime min (ms) | G MAC/s | CPU time min (ms) | G MAC/s by CPU time | profiler accounts | walk (ms) | export random (ms) | "
          "export none (ms) | file MB | one measure (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for path in specs:
        r = one(path, args.runs, args.warmup, args.repeat)
        rows.append(r)
        best = min(r["mins"])
        spread = max(r["mins"]) / best - 1
        print(f"| {r['model']} | {r['params'] / 1e6:.1f}M | {r['flops'] / 1e9:.2f} | {r['mac'] / 1e6:.1f} | "
              f"{best * 1e3:.2f} | {statistics.median(r['medians']) * 1e3:.2f} | {spread:.1%} | "
              f"{r['bare'] * 1e3:.2f} | {r['flops'] / best / 1e9:.1f} | {r['cpu'] * 1e3:.2f} | {r['flops'] / r['cpu'] / 1e9:.1f} | {r['accounted']:.0%} | {r['walk'] * 1e3:.0f} | "
              f"{r['export_random'] * 1e3:.0f} | {r['export_none'] * 1e3:.0f} | {r['mb']:.1f} | "
              f"{r['measure_wall']:.1f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
