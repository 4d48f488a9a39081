"""Speed and memory of `costcalc report` (issue 2's goals), printed as figures.

1. Whole process: `costcalc report specs/resnext50_32x4d.yaml` against bare
   `python -c "import click, rich.table, rich.console, yaml"`, median wall time over several runs, and the peak
   resident memory of the costcalc process. Goals: at most 1.5x the bare imports (issue 18; 1.7x before), at most 60 MiB.
2. Scale: generated specs of 2,500 to 40,000 layers, spec read + walk + analysis in-process, median time.
   Goals: 10,000+ layers in under 1 s, time linear in the number of layers.

Run: python benchmarks/bench_report.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_process(argv: list) -> tuple:
    """Wall time (s) and peak RSS (KiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{argv} failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss


def costcalc_command() -> list:
    script = pathlib.Path(sys.executable).parent / "costcalc"
    return [str(script)] if script.exists() else [sys.executable, "-m", "costcalc"]


def whole_process(runs: int) -> None:
    bare = [sys.executable, "-c", "import click, rich.table, rich.console, yaml"]
    report = costcalc_command() + ["report", "specs/resnext50_32x4d.yaml"]
    run_process(bare), run_process(report)  # warm the file cache
    bare_times, report_times, peaks = [], [], []
    for _ in range(runs):  # interleaved, so that machine noise hits both alike
        bare_times.append(run_process(bare)[0])
        elapsed, peak = run_process(report)
        report_times.append(elapsed)
        peaks.append(peak)
    b, r = statistics.median(bare_times), statistics.median(report_times)
    print(f"bare imports (click, rich.table, rich.console, yaml): median {b * 1000:.1f} ms over {runs} runs")
    print(f"costcalc report specs/resnext50_32x4d.yaml:           median {r * 1000:.1f} ms over {runs} runs")
    print(f"ratio: {r / b:.2f}x (goal <= 1.5x)")
    print(f"peak memory of costcalc report: {max(peaks) / 1024:.1f} MiB (goal <= 60 MiB)")


def generated_spec(layers: int) -> str:
    """A chain of `layers` 3x3 convs + relus in blocks of 4 layers, repeated: each node really walked."""
    blocks = layers // 4
    return (
        "name: stress\ninput: [16, 32, 32]\n"
        "blocks:\n  unit:\n    layers:\n"
        "      - {op: conv, out: 16, k: 3, pad: 1}\n      - bn\n      - {name: act, op: relu}\n"
        "      - {name: sum, op: add, from: [act, input]}\n"
        f"layers:\n  - {{name: body, block: unit, repeat: {blocks}}}\n"
    )


def scale(runs: int) -> None:
    from costcalc.analysis import analyse
    from costcalc.graph import load

    with tempfile.TemporaryDirectory() as tmp:
        per_layer = []
        for layers in (2_500, 5_000, 10_000, 20_000, 40_000):
            path = os.path.join(tmp, f"stress_{layers}.yaml")
            pathlib.Path(path).write_text(generated_spec(layers))
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                report = analyse(load(path))
                times.append(time.perf_counter() - start)
            assert len(report.layers) == layers
            median = statistics.median(times)
            per_layer.append(median / layers)
            print(f"{layers:>7,} layers: median {median * 1000:8.1f} ms  ({median / layers * 1e6:.1f} us per layer)")
        print(f"per-layer cost, largest / smallest spec: {max(per_layer) / min(per_layer):.2f} (1.0 = linear)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    whole_process(args.runs)
    scale(max(3, args.runs // 3))


if __name__ == "__main__":
    main()
