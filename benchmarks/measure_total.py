"""`costcalc measure`'s total against onnxruntime timed alone on the same file, in the same run (issue 28).

The goal: measure's total (min over runs) within 5 % of a bare onnxruntime loop's on the same file. For each
model, an ONNX file is written (zoo specs exported with seeded random weights; `--files` adds any ONNX file, read
as `costcalc measure model.onnx` reads it), then, `--rounds` times in alternation:
1. `costcalc.runtime.measure(path, runs=N, profile=True)`: the total from its unprofiled runs (the per-layer
   profiled pass follows them and is not timed here);
2. the baseline: a fresh onnxruntime session with the same options (1 thread, sequential, profiler off), W warm-up
   runs then N runs, min wall time and min CPU time of the calling thread.
Printed per model: the medians over rounds of both mins and their ratio, by the wall clock and by CPU time (on a
shared machine the wall clock carries other processes' time; at 1 thread the CPU time of the calling thread does
not), and whether each ratio is within 5 %.

Run: python benchmarks/measure_total.py [--rounds 5] [--runs 20] [--warmup 3] [--only NAME ...] [--files F.onnx ...]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costcalc.exporters.onnx import export, save  # noqa: E402
from costcalc.graph import load  # noqa: E402
from costcalc.runtime import measure  # noqa: E402

MODELS = ("shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "mobilenet_v2", "squeezenet1_1", "efficientnet_b0",
          "resnet18")
GOAL = 0.05


def bare(path: str, runs: int, warmup: int) -> tuple:
    """(min wall, min CPU time of the calling thread) of a plain onnxruntime loop, profiler off."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {i.name: np.random.default_rng(0).standard_normal(i.shape, dtype=np.float32) for i in session.get_inputs()}
    for _ in range(warmup):
        session.run(None, feed)
    walls, cpus = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.thread_time()
        session.run(None, feed)
        cpus.append(time.thread_time() - c)
        walls.append(time.perf_counter() - t)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=list(MODELS))
    parser.add_argument("--files", nargs="*", default=[])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.rounds} rounds of {args.runs} runs after {args.warmup} "
          "warm-up runs, costcalc and the bare loop in alternation; medians over rounds of each round's min (ms)\n")
    print("| model | costcalc wall | bare wall | ratio | costcalc CPU | bare CPU | ratio | within 5 % (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    within = 0
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name in args.only:
            path = os.path.join(tmp, f"{name}.onnx")
            save(export(load(str(ROOT / "specs" / f"{name}.yaml")), weights="random", seed=0), path)
            files.append((name, path))
        files += [(pathlib.Path(f).stem, f) for f in args.files]
        for name, path in files:
            ours, theirs = [], []
            for _ in range(args.rounds):
                m = measure(path, runs=args.runs, warmup=args.warmup, profile=True)
                ours.append((m.latency_s, m.cpu_s))
                theirs.append(bare(path, args.runs, args.warmup))
            ow, oc = (statistics.median(x[k] for x in ours) for k in (0, 1))
            bw, bc = (statistics.median(x[k] for x in theirs) for k in (0, 1))
            ok = abs(oc / bc - 1) <= GOAL
            within += ok
            print(f"| {name} | {ow * 1e3:.3f} | {bw * 1e3:.3f} | {ow / bw:.3f} | {oc * 1e3:.3f} | {bc * 1e3:.3f} | "
                  f"{oc / bc:.3f} | {'yes' if ok else 'NO'} |")
    print(f"\n{within} of {len(files)} within {GOAL:.0%} by CPU time")


if __name__ == "__main__":
    main()
