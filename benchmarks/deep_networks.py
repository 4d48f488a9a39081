"""Deep networks: `costcalc report --format json` of pre-activation ResNet at growing depth, whole process.

    python benchmarks/deep_networks.py [--runs 5]

For each depth (about 1,000 to 100,000 layers) it prints the median wall time over --runs fresh processes, the
time per layer, and the same beside the baseline measured in the same run: a bare `python -c "import costcalc"`
process (what every command pays before it reads a spec), so that time per layer is (time - baseline) / layers.
Goals (issue 18): depth 10001 (33,339 layers) in at most 1.0 s; the time per layer flat from 1,000 to 100,000
layers (the last over the first within 1.5x). The machine is shared: medians, and the load average printed.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "preact_resnet_cifar.yaml"
DEPTHS = (299, 1001, 2999, 10001, 29999)  # depth = 9n + 2: 3n bottlenecks, about 3.33 x depth layers


def wall(argv: list) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def layers_of(depth: int) -> int:
    sys.path.insert(0, str(ROOT))
    from costcalc.graph import load

    return len(load(str(SPEC), {"depth": depth}).nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    costcalc = [sys.executable, "-m", "costcalc", "report", str(SPEC), "--format", "json"]
    bare = [sys.executable, "-c", "import costcalc.cli"]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {options.runs} runs each, medians")
    baseline = statistics.median(wall(bare) for _ in range(options.runs))
    print(f"baseline: python -c 'import costcalc.cli': {baseline:.3f} s")
    print(f"{'depth':>7} {'layers':>8} {'median s':>9} {'µs/layer':>9}")
    per_layer = {}
    for depth in DEPTHS:
        n = layers_of(depth)
        t = statistics.median(wall(costcalc + ["--set", f"depth={depth}"]) for _ in range(options.runs))
        per_layer[depth] = (t - baseline) / n
        print(f"{depth:>7} {n:>8,} {t:>9.3f} {per_layer[depth] * 1e6:>9.1f}")
    first, last = per_layer[DEPTHS[1]], per_layer[DEPTHS[-1]]
    print(f"time per layer, {DEPTHS[-1]} over {DEPTHS[1]}: {last / first:.2f}x (goal: flat, within 1.5x)")


if __name__ == "__main__":
    main()
