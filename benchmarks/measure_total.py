"""`costcalc measure`'s total against onnxruntime timed alone on the same file, in the same run (issue 28).

The goal: measure's total (min over runs) within 5 % of a bare onnxruntime loop's on the same file, for the zoo
and for imported files. Each model is an ONNX file: zoo specs exported with seeded random weights (the file
`costcalc measure SPEC` runs), and exporters' files from tests/fixtures/onnx (TorchScript and dynamo exports of
torchvision/timm models and of hand-written modules; their stripped weights refilled with seeded random values by
tests/onnx_weights.py), `--files` adds any ONNX file. Then, `--rounds` times in alternation:
1. `costcalc.api_measure.measure(...)`, the function `costcalc measure` calls, with the profiled per-layer pass
   (a spec by its path, a file as `costcalc measure model.onnx` reads it, imported for its rows): its total;
2. the baseline: a fresh onnxruntime session with the same options (1 thread, sequential, profiler off), W warm-up
   runs then N runs, min wall time and min CPU time of the calling thread;
3. the control: the same baseline once more, in a session of its own (onnxruntime against itself: the noise floor).
The order of 1 and 2 alternates from round to round. Printed per model: the floor (min over rounds of each round's
min) of each, and the ratios costcalc / baseline and control / baseline, by the wall clock and by CPU time (on a
shared machine the wall clock carries other processes' time; at 1 thread the CPU time of the calling thread mostly
does not, but a virtual machine's stolen time still lands in it: a burst on the host makes one round slow, which
is why the floor over rounds is compared, not the median), and whether costcalc's CPU ratio is within 5 %.

Run: python benchmarks/measure_total.py [--rounds 5] [--runs 20] [--warmup 3] [--only NAME ...] [--imported NAME ...]
     [--files F.onnx ...]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from onnx_weights import runnable  # noqa: E402

from costcalc.api_measure import measure  # noqa: E402
from costcalc.exporters.onnx import export, save  # noqa: E402
from costcalc.graph import load  # noqa: E402

MODELS = ("shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "mobilenet_v2", "squeezenet1_1", "efficientnet_b0",
          "resnet18")
FIXTURES = ROOT / "tests" / "fixtures" / "onnx"
IMPORTED = ("hybrid/mobilenetv4_conv_small_dyn18.onnx.gz", "hybrid/mobilenetv4_conv_small_ts17.onnx.gz",
            "shufflenet_v2_x0_5_dyn18.onnx", "mobilenet_v3_small_ts17.onnx", "resnet18_ts17.onnx",
            "handwritten/squeeze_excite_dyn18.onnx")
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
    parser.add_argument("--only", nargs="*", default=list(MODELS), help="zoo specs")
    parser.add_argument("--imported", nargs="*", default=list(IMPORTED), help="files under tests/fixtures/onnx")
    parser.add_argument("--files", nargs="*", default=[])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.rounds} rounds of {args.runs} runs after {args.warmup} "
          "warm-up runs, costcalc and the bare loop in alternation, then the control; min over rounds of each round's "
          "min (ms)\n")
    print("| model | kind | costcalc wall | bare wall | ratio | costcalc CPU | bare CPU | ratio | control / bare (CPU) "
          "| within 5 % (CPU) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    within = 0
    with tempfile.TemporaryDirectory() as tmp:
        cases = []  # (name, kind, what measure is given, the file the bare loop runs)
        for name in args.only:
            spec = str(ROOT / "specs" / f"{name}.yaml")
            path = os.path.join(tmp, f"{name}.onnx")
            save(export(load(spec), weights="random", seed=0), path)  # what `measure SPEC` runs, seed 0
            cases.append((name, "zoo spec", spec, path))
        for name in args.imported:
            path = runnable(str(FIXTURES / name), os.path.join(tmp, pathlib.Path(name).name.removesuffix(".gz")))
            cases.append((pathlib.Path(path).stem, "imported file", path, path))
        cases += [(pathlib.Path(f).stem, "file", f, f) for f in args.files]
        for name, kind, given, path in cases:
            ours, theirs, control = [], [], []
            for r in range(args.rounds):
                for which in (("costcalc", "bare") if r % 2 == 0 else ("bare", "costcalc")):
                    if which == "costcalc":
                        m = measure(given, runs=args.runs, warmup=args.warmup, profile=True)
                        ours.append((m.latency_s, m.cpu_s))
                    else:
                        theirs.append(bare(path, args.runs, args.warmup))
                control.append(bare(path, args.runs, args.warmup))
            (ow, oc), (bw, bc), (_, cc) = [[min(x[k] for x in xs) for k in (0, 1)] for xs in (ours, theirs, control)]
            ok = abs(oc / bc - 1) <= GOAL
            within += ok
            print(f"| {name} | {kind} | {ow * 1e3:.3f} | {bw * 1e3:.3f} | {ow / bw:.3f} | {oc * 1e3:.3f} | "
                  f"{bc * 1e3:.3f} | {oc / bc:.3f} | {cc / bc:.3f} | {'yes' if ok else 'NO'} |", flush=True)
    print(f"\n{within} of {len(cases)} within {GOAL:.0%} by CPU time; load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
