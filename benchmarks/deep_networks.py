"""Deep networks: `costcalc report --format json` of pre-activation ResNet at growing depth, whole process.

    python benchmarks/deep_networks.py [--runs 5]

Run it with the interpreter of a venv where costcalc is installed with `pip install .` (not editable): it runs that
venv's `costcalc` script from a temporary directory, so the source tree is not what is imported. For each depth
(about 1,000 to 100,000 layers) it prints the median wall time and CPU time (user + system) over --runs fresh
processes and the time per layer, beside two baselines measured in the same run:
- a bare `python -c "import costcalc.cli"` process (what every command pays before it reads a spec), so that
  time per layer is (time - baseline) / layers;
- at depth 10001, the same report with the walker's reuse switched off (costcalc.reuse: every block and op entry
  walked, as before issue 18).
Goals (issue 18): depth 10001 (33,339 layers) in at most 1.0 s; the time per layer flat from 1,000 to 100,000
layers (the last over the first within 1.5x). The machine is shared: medians, CPU time beside wall time, and the
load average printed.
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
SPEC = ROOT / "specs" / "preact_resnet_cifar.yaml"
DEPTHS = (299, 1001, 2999, 10001, 29999)  # depth = 9n + 2: 3n bottlenecks, about 3.33 x depth layers
NO_REUSE = ("import sys, costcalc.reuse as r; r.MAX_RECORDINGS = r.MAX_RESULTS = 0; from costcalc.cli import main; "
            "sys.argv[0] = 'costcalc'; main()")


def measure(argv: list, cwd: str) -> tuple:
    """(wall seconds, CPU seconds) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{argv} failed: {proc.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def medians(argv: list, cwd: str, runs: int) -> tuple:
    times = [measure(argv, cwd) for _ in range(runs)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def layers_of(depth: int) -> int:
    from costcalc.graph import load

    return len(load(str(SPEC), {"depth": depth}).nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    script = pathlib.Path(sys.executable).parent / "costcalc"
    costcalc = [str(script)] if script.exists() else [sys.executable, "-m", "costcalc"]
    report = ["report", str(SPEC), "--format", "json"]
    import costcalc as package

    where = pathlib.Path(package.__file__).resolve().parent
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {options.runs} runs each, medians; "
          f"costcalc imported from {where}")
    with tempfile.TemporaryDirectory() as cwd:
        base_wall, base_cpu = medians([sys.executable, "-c", "import costcalc.cli"], cwd, options.runs)
        print(f"baseline: python -c 'import costcalc.cli': {base_wall:.3f} s wall, {base_cpu:.3f} s CPU")
        print(f"{'depth':>7} {'layers':>8} {'wall s':>8} {'CPU s':>7} {'µs/layer':>9}")
        per_layer = {}
        for depth in DEPTHS:
            n = layers_of(depth)
            wall, cpu = medians(costcalc + report + ["--set", f"depth={depth}"], cwd, options.runs)
            per_layer[depth] = (wall - base_wall) / n
            print(f"{depth:>7} {n:>8,} {wall:>8.3f} {cpu:>7.3f} {per_layer[depth] * 1e6:>9.1f}")
        wall, cpu = medians([sys.executable, "-c", NO_REUSE] + report + ["--set", "depth=10001"], cwd, options.runs)
        print(f"baseline: depth 10001 with the walker's reuse off: {wall:.3f} s wall, {cpu:.3f} s CPU")
    first, last = per_layer[DEPTHS[1]], per_layer[DEPTHS[-1]]
    print(f"time per layer, {DEPTHS[-1]} over {DEPTHS[1]}: {last / first:.2f}x (goal: flat, within 1.5x)")


if __name__ == "__main__":
    main()
