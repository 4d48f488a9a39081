"""How fast onnxruntime runs one token GEMM, by its size: a single fc on M tokens of K features to N (with bias:
onnxruntime's MatMulAddFusion, a Gemm between two Reshapes; without: a MatMul), each kernel's time read off
onnxruntime's profiler (scripts/ort_kernels.py's machinery: the fastest of --runs profiled runs), and its
multiply-adds per second. What docs/latency.md says of GEMM efficiency and size comes from this; nothing here
is fitted or shipped.

    python scripts/ort_gemm_sweep.py [--rows 16,49,196,784,3136] [--widths 32,96,256,768,3072] [--json out.json]

The profiler adds a few microseconds to every kernel and times by the wall clock: read kernels of 0.1 to a few
ms, on a quiet machine (under `flock /work/measure.lock` here).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from ort_kernels import runtime_kernels  # noqa: E402

from costcalc.latency.networks import build  # noqa: E402

PRODUCTS = ("Gemm", "MatMul", "FusedMatMul", "FusedGemm")
MAX_MACS = 1.5e9  # larger ones take tens of ms a run
MIN_MACS = 2e5


def gemm_time(m: int, k: int, n: int, bias: bool, runs: int) -> tuple:
    """(onnxruntime's op types of the product, its seconds) for one fc of K -> N on M tokens."""
    text = (f"name: gemm\ninput: [{m}, {k}]\nlayers:\n  - {{op: fc, out: {n}, bias: {str(bias).lower()}}}\n"
            "  - {op: relu}\n")
    kernels = runtime_kernels(build(text, "gemm.yaml"), 1, runs)
    chosen = [(op, t) for _, op, t in kernels if op in PRODUCTS]
    return [op for op, _ in chosen], sum(t for _, t in chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="16,49,196,784,3136")
    parser.add_argument("--widths", default="32,96,256,768,3072")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    rows = [int(v) for v in args.rows.split(",")]
    widths = [int(v) for v in args.widths.split(",")]
    out = []
    print(f"{'M':>5} {'K':>5} {'N':>5} {'bias':<5} {'kernel':<8} {'time':>10} {'multiply-adds/s':>16}")
    for m, k, n in itertools.product(rows, widths, widths):
        if not MIN_MACS <= m * k * n <= MAX_MACS:
            continue
        for bias in (True, False) if k == n == 256 else (True,):
            ops, seconds = gemm_time(m, k, n, bias, args.runs)
            out.append({"m": m, "k": k, "n": n, "bias": bias, "ops": ops, "seconds": seconds})
            print(f"{m:>5} {k:>5} {n:>5} {str(bias):<5} {'+'.join(ops):<8} {seconds * 1e6:>8.0f} us "
                  f"{m * k * n / seconds / 1e9:>12.1f} G/s", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
