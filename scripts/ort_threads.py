"""Which kernels onnxruntime splits among its threads, and how much each gains, beside the thread model's rule.

For each SPEC (a spec file, or a calibration network's name: costcalc.latency.networks, seed 0): costcalc's ONNX
export run with onnxruntime's profiler on at 1 thread and at --threads N (scripts/ort_kernels.py's machinery: each
kernel's fastest over --runs profiled runs). Each profiled kernel is charged to the planned kernel (and its class)
whose layers it runs, as scripts/ort_batch.py charges them. Per class over all SPECs: the time at 1 and at N, the
measured ratio (at N / at 1) and the model's (the kernels' estimate on --device at its thread count over the same
profile at 1 thread, fork_s 0). With --top K, the K kernels whose time at N is furthest above the model's ratio
times their time at 1. The profiler's clock is the wall clock and its own cost per kernel is about a microsecond:
read relative times of kernels of tens of microseconds and more, never absolute figures (docs/latency.md, Threads).

    scripts/timing --quiet python scripts/ort_threads.py specs/regnet_y_400mf.yaml net_res3 ... \\
        --device devices/epyc-2cpu-onnxruntime-1.32-2threads.yaml [--threads 2] [--runs 5] [--top 20] [--batch 1]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from dataclasses import replace

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from ort_batch import SUFFIXES  # noqa: E402
from ort_kernels import runtime_kernels  # noqa: E402

from costcalc.graph import load  # noqa: E402
from costcalc.latency.model import evicts, kernel_time, plan  # noqa: E402
from costcalc.latency.profile import load as load_profile  # noqa: E402


def graph_of(name: str, batch: int):
    """A spec file's graph, or a calibration network's (by its name)."""
    if os.path.exists(name):
        return load(name, batch=batch)
    from costcalc.latency.networks import build, interleaved

    networks = {n.name: n for n in interleaved(np.random.default_rng(0))}
    return build(networks[name].text, f"{name}.yaml", batch)


def owner_of(kernels: list) -> dict:
    """layer name -> the planned kernel that runs it (a layout reorder, which runs no layer, is charged to none: the
    profiler names it Reorder...)."""
    owner: dict = {}
    for k in kernels:
        for member in k.members:
            owner.setdefault(member, k)
    return owner


def charged(name: str, op: str, owner: dict):
    base = name
    for suffix in SUFFIXES:
        base = base.removesuffix(suffix)
    return owner.get(base) or owner.get(base.rsplit("_", 1)[0]), ("reorder" if "Reorder" in op else f"other {op}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+")
    parser.add_argument("--device", required=True, help="a profile (its thread count is replaced by --threads)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1, help="compare batch 1 at 1 thread with this batch")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    n, b = args.threads, args.batch
    many = replace(load_profile(args.device), threads=n, fork_s=load_profile(args.device).fork_s if n > 1 else 0.0)
    one = replace(many, threads=1, fork_s=0.0)
    totals: dict = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0])  # measured at 1, at N; model at 1, at N; kernels
    excess = []
    for spec in args.specs:
        at: dict = {}
        plans = {}
        for index, (threads, batch) in enumerate(((1, 1), (n, b))):
            graph = graph_of(spec, batch)
            planned = plan(graph, many)
            plans[index] = (owner_of(planned), evicts(sum(k.bytes for k in planned), many))
            seen: dict = defaultdict(int)
            for name, op, seconds in runtime_kernels(graph, threads, args.runs):
                seen[name] += 1
                at.setdefault((name, seen[name], op), {})[index] = seconds / (batch if index else 1)
        counted = set()  # each planned kernel's estimate once, however many profiled kernels run it
        for (name, _, op), times in at.items():
            if len(times) < 2:
                continue
            kernel, other = charged(name, op, plans[0][0])
            big, _ = charged(name, op, plans[1][0])
            cls = kernel.op_class if kernel is not None else other
            e1 = kernel_time(kernel, one, plans[0][1]) if kernel is not None else 0.0
            en = kernel_time(big, many, plans[1][1]) / b if big is not None else 0.0
            row = totals[cls]
            row[0] += times[0]
            row[1] += times[1]
            row[4] += 1
            if kernel is not None and big is not None and kernel.layer not in counted:
                counted.add(kernel.layer)
                row[2] += e1
                row[3] += en
            model_ratio = en / e1 if e1 > 0 else 1.0
            excess.append((times[1] - model_ratio * times[0], spec, name, op, cls,
                           times[0], times[1], model_ratio, big.units if big is not None else 0))
        t1 = sum(t.get(0, 0.0) for t in at.values())
        tn = sum(t.get(1, 0.0) for t in at.values())
        print(f"{spec}: {t1 * 1e3:.3f} ms at 1 thread batch 1, {tn * 1e3:.3f} ms per image at {n} threads batch {b} "
              f"(profiled kernels): {tn / t1:.2f}", flush=True)
    print(f"\n(per image) {'class':<26} {'kernels':>7} {'1 thr b1':>10} {f'{n} thr b{b}':>10} {'measured':>9} {'model':>7}")
    for cls, (m1, mn, e1, en, k) in sorted(totals.items(), key=lambda item: -item[1][0]):
        model = f"{en / e1:>7.2f}" if e1 > 0 else f"{'-':>7}"
        print(f"{cls:<38} {k:>7} {m1 * 1e3:>8.3f}ms {mn * 1e3:>8.3f}ms {mn / m1 if m1 else 0:>9.2f} {model}")
    if args.top:
        print(f"\nthe {args.top} kernels furthest above the model's ratio (us per image):")
        for over, spec, name, op, cls, a, c, ratio, units in sorted(excess, reverse=True)[:args.top]:
            print(f"  {over * 1e6:>+8.1f} {os.path.basename(spec)[:22]:<22} {name[:50]:<50} {op:<22} {cls:<20} "
                  f"{a * 1e6:>8.1f} -> {c * 1e6:>8.1f} (model x{ratio:.2f}, {units} units)")


if __name__ == "__main__":
    main()
