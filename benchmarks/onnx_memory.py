"""Peak memory of importing a large ONNX file with its weights inline (issue 12): the goal is at most the file's
size + 100 MiB. Builds a VGG-11 (133M parameters, ~507 MiB of float32 weights inside the .onnx) with onnx.helper
and random weights in a temporary directory, then measures, each in a fresh process and several times (the
median of the peak RSS, from `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`):

- baseline: a Python process that reads the file's bytes (what any reader holding the file in memory costs);
- baseline: `onnx.load(path, load_external_data=False)`, as costcalc read files before;
- `costcalc report model.onnx --format json`, checking its parameter count.

    python benchmarks/onnx_memory.py [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
VGG11_PARAMS = 132_863_336  # torchvision's vgg11 num_params

PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def build(path: str) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, x, c, k = [], [], "x", 3, 0

    def weight(shape):
        name = f"w{len(inits)}"
        inits.append(numpy_helper.from_array(rng.standard_normal(shape, dtype=np.float32), name))
        return name

    for v in VGG11:
        k += 1
        if v == "M":
            nodes.append(helper.make_node("MaxPool", [x], [f"p{k}"], kernel_shape=[2, 2], strides=[2, 2]))
            x = f"p{k}"
            continue
        nodes.append(helper.make_node("Conv", [x, weight((v, c, 3, 3)), weight((v,))], [f"c{k}"], pads=[1] * 4,
                                      kernel_shape=[3, 3], name=f"/features/features.{k}/Conv"))
        nodes.append(helper.make_node("Relu", [f"c{k}"], [f"r{k}"]))
        x, c = f"r{k}", v
    nodes.append(helper.make_node("Flatten", [x], ["flat"], axis=1))
    x, features = "flat", 512 * 7 * 7
    for i, out in enumerate([4096, 4096, 1000]):
        nodes.append(helper.make_node("Gemm", [x, weight((out, features)), weight((out,))], [f"fc{i}"], transB=1,
                                      name=f"/classifier/classifier.{3 * i}/Gemm"))
        x, features = f"fc{i}", out
    graph = helper.make_graph(nodes, "vgg11", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 224, 224])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 1000])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)


def peak_mib(command: list, runs: int) -> float:
    peaks = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PEAK, *command], capture_output=True, text=True, check=True)
        peaks.append(int(out.stdout.strip()) / 1024)  # ru_maxrss is in KiB on Linux
    return statistics.median(peaks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", help="write the model into DIR and keep it")
    args = parser.parse_args()
    directory = args.keep or tempfile.mkdtemp(prefix="costcalc-onnx-memory-")
    path = os.path.join(directory, "vgg11.onnx")
    try:
        if not os.path.exists(path):
            build(path)
        size = os.path.getsize(path) / 2**20
        report = subprocess.run([sys.executable, "-m", "costcalc", "report", path, "--format", "json"],
                                capture_output=True, text=True, check=True)
        params = json.loads(report.stdout)["totals"]["params"]
        assert params == VGG11_PARAMS, params
        rows = [
            ("python: read the file's bytes", peak_mib([sys.executable, "-c",
                                                         f"open({path!r}, 'rb').read()"], args.runs)),
            ("onnx.load(load_external_data=False)", peak_mib([sys.executable, "-c",
                                                              f"import onnx; onnx.load({path!r}, load_external_data=False)"],
                                                             args.runs)),
            ("costcalc report --format json", peak_mib([sys.executable, "-m", "costcalc", "report", path,
                                                        "--format", "json"], args.runs)),
        ]
        print(f"file: {size:,.0f} MiB ({params:,} parameters, costcalc's count: torchvision's {VGG11_PARAMS:,}); "
              f"goal: peak <= file + 100 MiB = {size + 100:,.0f} MiB")
        print(f"peak RSS, median of {args.runs} runs:")
        for label, mib in rows:
            print(f"  {label:40s} {mib:8,.0f} MiB  ({mib / size:.2f} x the file)")
        ok = rows[-1][1] <= size + 100
        print("goal met" if ok else "goal NOT met")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
