"""The ShuffleNet V2 validation networks (specs/guidelines/, the paper's Tables 1-4) measured on this machine at 1
and 2 threads, beside the calibrated estimate and costcalc's memory access: which of the paper's speed orderings
this CPU reproduces, and whether the estimate orders the networks as they were measured.

    python benchmarks/guideline_latency.py --profile1 p1.yaml --profile2 p2.yaml [--passes 3] [--clock wall|cpu]
                                           [--threads 1,2]

Without a profile for a thread count, it is calibrated first (`costcalc calibrate --threads N`, --budget seconds).
Each network is measured `--passes` times (costcalc's onnxruntime adapter, min over runs; the fastest pass kept).
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from costcalc.graph import load  # noqa: E402
from costcalc.latency import estimate  # noqa: E402
from costcalc.latency.calibration import RuntimeMeasure, calibrate  # noqa: E402
from costcalc.latency.profile import load as load_profile  # noqa: E402

# The paper's measured speed (GPU, batches/sec), as the specs' descriptions give it: fastest first.
TABLES = {
    "Table 1 (c1:c2)": [("g1_ratio_1to1", 1480), ("g1_ratio_1to2", 1296), ("g1_ratio_1to6", 876),
                        ("g1_ratio_1to12", 748)],
    "Table 2 (groups)": [("g2_groups_1", 2451), ("g2_groups_2", 1725), ("g2_groups_4", 1026), ("g2_groups_8", 634)],
    "Table 3 (fragments)": [("g3_fragments_1", 2446), ("g3_fragments_2_series", 1790),
                            ("g3_fragments_2_parallel", 1537), ("g3_fragments_4_series", 752),
                            ("g3_fragments_4_parallel", 691)],
    "Table 4 (ReLU, shortcut)": [("g4_none", 2842), ("g4_shortcut", 2672), ("g4_relu", 2647),
                                 ("g4_relu_shortcut", 2427)],
}


def order(values: dict) -> list:
    """Names fastest first."""
    return sorted(values, key=values.get)


def pairs_agreeing(a: list, b: list) -> tuple:
    """(pairs ordered the same way in both orders, all pairs)."""
    position = {name: i for i, name in enumerate(b)}
    agree = sum(position[a[i]] < position[a[j]] for i in range(len(a)) for j in range(i + 1, len(a)))
    return agree, len(a) * (len(a) - 1) // 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile1", default="")
    parser.add_argument("--profile2", default="")
    parser.add_argument("--budget", type=float, default=240.0)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--threads", default="1,2", help="the thread counts to measure at, e.g. 1")
    args = parser.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    graphs = {name: load(os.path.join(ROOT, "specs", "guidelines", f"{name}.yaml"))
              for rows in TABLES.values() for name, _ in rows}
    for threads, path in ((t, p) for t, p in ((1, args.profile1), (2, args.profile2)) if t in counts):
        clock = args.clock if threads == 1 else "wall"  # a thread's CPU time is no latency once work is shared
        measure = RuntimeMeasure(runs=10, clock=clock)
        profile = load_profile(path) if path else calibrate(threads, args.budget, measure=measure.seconds).profile
        measured = {}
        for _ in range(args.passes):
            for name, graph in graphs.items():
                measured[name] = min(measured.get(name, float("inf")), measure.seconds(graph, threads))
        print(f"\n== {threads} thread(s), clock {clock}, profile {path or '(calibrated now)'}")
        for title, rows in TABLES.items():
            names = [name for name, _ in rows]
            est = {n: estimate(graphs[n], profile).total_s for n in names}
            mac = {n: sum(node.counts.memory_access for node in graphs[n].nodes) for n in names}
            meas = {n: measured[n] for n in names}
            print(f"{title}")
            print(f"   {'network':<26} {'paper GPU':>9} {'measured':>10} {'estimate':>10} {'error':>7} {'MAC':>11}")
            for name, speed in rows:
                print(f"   {name:<26} {speed:>9} {meas[name] * 1e3:>8.2f}ms {est[name] * 1e3:>8.2f}ms "
                      f"{est[name] / meas[name] - 1:>+7.1%} {mac[name]:>11,}")
            paper = names
            for label, values in (("measured", meas), ("estimate", est), ("MAC", mac)):
                agree, total = pairs_agreeing(paper, order(values))
                print(f"   {label:<9} order {' < '.join(order(values))}: {agree}/{total} pairs as the paper")
            agree, total = pairs_agreeing(order(meas), order(est))
            print(f"   estimate vs measured: {agree}/{total} pairs ordered alike")


if __name__ == "__main__":
    main()
