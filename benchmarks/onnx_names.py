"""The time of `costcalc report --format json` on chains of Relu nodes with no names, or all named `same`: the
name de-duplication was quadratic (issue 26: 4.5 s at 4,000 unnamed nodes, 81.6 s at 20,000). Linear work gives
the same time per node at every length; the 2,000-node chain, measured in the same run, is the baseline.

    python benchmarks/onnx_names.py            # median of 3 fresh processes per case
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 3


def chain(folder: str, n: int, name: str) -> str:
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=name) for i in range(n)]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info(f"t{n}", TensorProto.FLOAT, [1, 3, 4, 4])])
    path = os.path.join(folder, f"chain_{n}_{name or 'unnamed'}.onnx")
    with open(path, "wb") as f:
        f.write(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return path


def seconds(path: str, command: str) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        args = [sys.executable, "-m", "costcalc", command, path] + (["--format", "json"] if command == "report" else [])
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        startup = statistics.median(
            [_time([sys.executable, "-c", "import costcalc.cli, onnx"]) for _ in range(RUNS)])
        print(f"Python start + imports: {startup:.2f} s (subtracted below)")
        print("| command | names | nodes | median s | us per node |")
        print("|---|---|---|---|---|")
        for command in ("report", "import"):
            for name in ("", "same"):
                for n in (2_000, 20_000):
                    s = seconds(chain(folder, n, name), command) - startup
                    print(f"| {command} | {name or 'none'} | {n:,} | {s:.2f} | {s / n * 1e6:.0f} |", flush=True)


def _time(args) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
