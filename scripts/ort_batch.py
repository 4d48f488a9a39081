"""Where onnxruntime at batch N departs from "N times the work, weights and launches once", per kernel class.

For each SPEC: costcalc's ONNX export run in onnxruntime with its profiler on at batch 1 and at batch N
(scripts/ort_kernels.py's machinery: each kernel's fastest over --runs profiled runs); each profiled kernel is
charged to the class of costcalc's planned kernel whose layers it runs (its name, less onnxruntime's suffixes, is
one of the planned kernel's layers; kernels named after none are charged to 'other <op type>'). Per class, over
all SPECs: its time at batch 1 and at batch N, and measured / (N x batch 1). The model's own ratio beside it:
with --device, the planned kernels' estimated time at N over N x at 1 (costcalc's counts at batch N: the work N
times, weights and launches once); 1.00 would be a class whose whole time scales with the batch.

    flock /work/measure.lock python scripts/ort_batch.py specs/resnet50.yaml specs/mobilenet_v2.yaml ... \\
        [--batch 8] [--threads 1] [--runs 3] [--device PROFILE] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from ort_kernels import runtime_kernels  # noqa: E402

from costcalc.graph import load  # noqa: E402
from costcalc.latency.model import kernel_time, plan  # noqa: E402
from costcalc.latency.profile import load as load_profile, uniform  # noqa: E402

SUFFIXES = ("_nchwc", "_token_count", "_output_reorder", "_input_reorder")


def by_class(graph, threads: int, runs: int) -> dict:
    """class -> measured seconds of its kernels (each kernel's fastest over `runs`), for one graph."""
    owner: dict = {}
    for k in plan(graph, uniform(1.0, 1.0, 0.0)):
        for member in k.members or (k.layer,):
            owner.setdefault(member, k.op_class)
    out: dict = defaultdict(float)
    for name, op, seconds in runtime_kernels(graph, threads, runs):
        base = name
        for suffix in SUFFIXES:
            base = base.removesuffix(suffix)
        cls = owner.get(base) or owner.get(base.rsplit("_", 1)[0]) or ("reorder" if "Reorder" in op else f"other {op}")
        out[cls] += seconds
    return out


def estimated(graph, profile) -> dict:
    out: dict = defaultdict(float)
    for k in plan(graph, profile):
        out[k.op_class] += kernel_time(k, profile)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    profile = load_profile(args.device) if args.device else None
    totals: dict = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])  # measured at 1, at N; estimated at 1, at N
    per_spec = {}
    for spec in args.specs:
        rows = {}
        for index, batch in ((0, 1), (1, args.batch)):
            graph = load(spec, batch=batch)
            for cls, seconds in by_class(graph, args.threads, args.runs).items():
                totals[cls][index] += seconds
                rows.setdefault(cls, [0.0, 0.0])[index] += seconds
            if profile is not None:
                for cls, seconds in estimated(graph, profile).items():
                    totals[cls][2 + index] += seconds
        per_spec[spec] = rows
        one, many = sum(r[0] for r in rows.values()), sum(r[1] for r in rows.values())
        print(f"{spec}: {one * 1e3:.2f} ms at batch 1, {many * 1e3:.2f} ms at batch {args.batch}: "
              f"{many / one / args.batch:.2f} x N x batch 1", flush=True)
    n = args.batch
    print(f"\n{'class':<24} {'batch 1':>10} {f'batch {n}':>10} {'measured':>9} {'model':>7}   (time at N / (N x at 1))")
    for cls, (one, many, e1, en) in sorted(totals.items(), key=lambda item: -item[1][1]):
        model = f"{en / (n * e1):>7.2f}" if e1 > 0 else f"{'-':>7}"
        ratio = f"{many / (n * one):>9.2f}" if one > 0 else f"{'-':>9}"
        print(f"{cls:<24} {one * 1e3:>8.2f}ms {many * 1e3:>8.2f}ms {ratio} {model}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"batch": n, "threads": args.threads, "runs": args.runs, "load": os.getloadavg(),
                       "classes": {c: dict(zip(("measured_1", "measured_n", "estimate_1", "estimate_n"), v))
                                   for c, v in totals.items()}, "specs": per_spec}, f, indent=1)


if __name__ == "__main__":
    main()
