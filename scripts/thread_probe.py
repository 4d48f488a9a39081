"""Which GEMMs onnxruntime shares among its threads: synthetic kernels timed at 1 and N threads.

Read off here (15:50 UTC 7 December 2026, quiet, onnxruntime 1.32, 2 threads): a MatMul of fewer than 65,536
multiply-adds runs on one thread (61,440: 1.12 us at 1 and 2 threads; 65,536: 1.12 and 2.34 us: MLAS adds a thread
per 64 Ki multiply-adds, and splitting so small a GEMM costs more than it saves, up to 1 M multiply-adds here);
a grouped 3 x 3 conv of 8 channels a group, which onnxruntime runs in the plain layout, splits whatever a group's
size (0.71 of its 1-thread time at 28 K multiply-adds a group, 0.56 at 1.8 M). Both rules were tried in
costcalc.latency.threads and not kept: refitted on the 2-thread calibration networks of the 15:27 run
(scripts/latency_refit.py --setting 2) their held-out median error was 8.90 % (the GEMM threshold), 8.93 % (the
grouped convs split by groups) and 8.85 % (both), against 8.85 % without (docs/latency.md, Threads).

Each probe is a chain of `--chain` identical kernels (so a kernel's time is well above the session's own cost):
MatMuls of an M x K activation by a K x K weight at several M x K x K around the threshold, and grouped 3 x 3
convs of 8 channels a group (onnxruntime runs them in the plain layout at a block of 16) whose per-group GEMM is
below and above it. Each timed by the wall clock, min over clean runs (costcalc.runtime's measure(clean=True)),
profiler off; printed: the time per kernel at 1 and N threads and their ratio (0.5 + a few us: split; about 1:
not).

    scripts/timing --quiet python scripts/thread_probe.py [--threads 2] [--chain 20] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def matmul_chain(m: int, k: int, chain: int):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits = [], []
    for i in range(chain):
        w = numpy_helper.from_array(rng.standard_normal((k, k)).astype(np.float32) * 0.05, f"w{i}")
        inits.append(w)
        nodes.append(helper.make_node("MatMul", [f"x{i}", f"w{i}"], [f"x{i + 1}"]))
    graph = helper.make_graph(nodes, "mm", [helper.make_tensor_value_info("x0", TensorProto.FLOAT, [m, k])],
                              [helper.make_tensor_value_info(f"x{chain}", TensorProto.FLOAT, [m, k])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def grouped_chain(channels: int, per_group: int, hw: int, chain: int):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits = [], []
    for i in range(chain):
        w = rng.standard_normal((channels, per_group, 3, 3)).astype(np.float32) * 0.1
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("Conv", [f"x{i}", f"w{i}"], [f"x{i + 1}"], group=channels // per_group,
                                      pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
    shape = [1, channels, hw, hw]
    graph = helper.make_graph(nodes, "gc", [helper.make_tensor_value_info("x0", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(f"x{chain}", TensorProto.FLOAT, shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main() -> None:
    from costcalc.runtime import measure

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chain", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    probes = [(f"MatMul {m}x{k} by {k}x{k}: {m * k * k:,} MACs", matmul_chain(m, k, args.chain))
              for m, k in ((4, 64), (8, 64), (15, 64), (16, 64), (24, 64), (32, 64), (64, 64), (16, 128), (64, 128))]
    probes += [(f"grouped 3x3 conv, {c} ch, 8 a group, {hw}x{hw}: {8 * 72 * hw * hw:,} MACs a group",
                grouped_chain(c, 8, hw, args.chain)) for c, hw in ((64, 7), (64, 10), (64, 14), (64, 28), (64, 56))]
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load {os.getloadavg()}; a chain of "
          f"{args.chain}, min over {args.runs} clean runs")
    print(f"{'probe':<62} {'1 thread':>10} {f'{args.threads} threads':>10} {'ratio':>6}")
    for label, model in probes:
        one, many = (measure(model.SerializeToString(), threads=t, warmup=3, runs=args.runs, profile=False,
                             clean=True).latency_s / args.chain for t in (1, args.threads))
        print(f"{label:<62} {one * 1e6:>8.2f}us {many * 1e6:>8.2f}us {many / one:>6.2f}", flush=True)
    print(f"done {time.strftime('%H:%M:%S', time.gmtime())} UTC, load {os.getloadavg()}")


if __name__ == "__main__":
    main()
