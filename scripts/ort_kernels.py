"""Which kernels onnxruntime runs for a spec, beside the kernels costcalc's latency model plans for it.

For each SPEC: costcalc's ONNX export (random weights), run in onnxruntime at --threads with its profiler on
(costcalc.runtime's machinery, the one `costcalc measure` uses per layer); per op type of the profiler's kernels
(Gemm, FusedMatMul, Softmax, Transpose, Reshape, ...) their number per run and their time (each kernel's fastest
over the runs, summed), then per class of costcalc.latency.plan its kernels' launches and, with --device, their
estimated time. This is how the planner's token rules were read off onnxruntime (costcalc/latency/plan.py).

    python scripts/ort_kernels.py specs/mobilevit_xxs.yaml [SPEC ...] [--device PROFILE] [--threads 1] [--runs 5]
           [--match SUBSTRING]

`--match` prints the kernels in launch order whose name contains SUBSTRING (one transformer layer, say), with
each kernel's time, beside the planned kernels of the layers whose name contains it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from costcalc.errors import Loc  # noqa: E402
from costcalc.exporters.onnx import DEFAULT_OPSET, export  # noqa: E402
from costcalc.graph import load  # noqa: E402
from costcalc.latency.model import kernel_time, plan  # noqa: E402
from costcalc.latency.profile import load as load_profile, uniform  # noqa: E402
from costcalc.runtime.ort import _inputs, _kernel_runs, _read_profile, _runs, _session, load_onnxruntime  # noqa: E402


def runtime_kernels(graph, threads: int, runs: int) -> list:
    """[(kernel name, op type, seconds)] in launch order, each kernel's fastest over `runs` profiled runs."""
    ort = load_onnxruntime(Loc(graph.path))
    model = export(graph, opset=DEFAULT_OPSET, weights="random", seed=0)
    with tempfile.TemporaryDirectory(prefix="costcalc-kernels-") as tmp:
        session = _session(ort, model, threads, os.path.join(tmp, "profile"), Loc(graph.path))
        feeds = _inputs(session, {}, 0, Loc(graph.path))
        _runs(session, feeds, 2, runs, None, None, Loc(graph.path))
        timed = _kernel_runs(_read_profile(session.end_profiling()))[2:]
    return [(name, op, min(run[i][2] for run in timed)) for i, (name, op, _) in enumerate(timed[0])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+")
    parser.add_argument("--device", default="", help="a profile: also print the planned kernels' estimated time")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--match", default="")
    args = parser.parse_args()
    profile = load_profile(args.device) if args.device else uniform(1.0, 1.0, 0.0)
    for spec in args.specs:
        graph = load(spec)
        kernels = runtime_kernels(graph, args.threads, args.runs)
        planned = plan(graph, profile)
        print(f"== {spec}: onnxruntime ran {len(kernels)} kernels, {sum(t for *_, t in kernels) * 1e3:.2f} ms; "
              f"costcalc plans {sum(k.launches for k in planned)} launches")
        by_op: dict = defaultdict(lambda: [0, 0.0])
        for _, op, t in kernels:
            by_op[op][0] += 1
            by_op[op][1] += t
        for op, (n, t) in sorted(by_op.items(), key=lambda item: -item[1][1]):
            print(f"   onnxruntime {op:<24} {n:>5} kernels {t * 1e3:>9.3f} ms")
        by_class: dict = defaultdict(lambda: [0, 0.0])
        for k in planned:
            by_class[k.op_class][0] += k.launches
            by_class[k.op_class][1] += kernel_time(k, profile) if args.device else 0.0
        for op_class, (n, t) in sorted(by_class.items(), key=lambda item: (-item[1][1], -item[1][0])):
            print(f"   planned     {op_class:<24} {n:>5} launches" + (f" {t * 1e3:>8.3f} ms (estimate)"
                                                                       if args.device else ""))
        if args.match:
            for name, op, t in kernels:
                if args.match in name:
                    print(f"   ran   {name:<80} {op:<20} {t * 1e6:>8.1f} us")
            for k in planned:
                if args.match in k.layer:
                    print(f"   plans {k.layer:<80} {k.op_class:<20} launches {k.launches}, fused {list(k.members[1:])}")


if __name__ == "__main__":
    main()
