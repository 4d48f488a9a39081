"""Graph-only ONNX fixtures (their weights stripped to dims that point to absent external data) made runnable: the
absent weights filled with seeded random values of their dims and type, so that onnxruntime can run and time the
exporter's own graph. What the values are does not change which kernels run, only what they compute."""

from __future__ import annotations

import gzip
import os

import numpy as np


def runnable(source: str, target: str, seed: int = 0) -> str:
    """Write the graph-only ONNX file `source` (gzipped or not) to `target` with every absent weight filled:
    normal values scaled by 1/sqrt(fan-in), as initialisers draw them, so that activations stay finite."""
    import onnx
    from onnx import numpy_helper

    opener = gzip.open if source.endswith(".gz") else open
    with opener(source, "rb") as f:
        model = onnx.load_from_string(f.read())
    rng = np.random.default_rng(seed)
    for k, tensor in enumerate(model.graph.initializer):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        dims = tuple(tensor.dims)
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
        fan_in = int(np.prod(dims[1:])) if len(dims) > 1 else max(int(np.prod(dims)), 1)
        values = (rng.standard_normal(dims) / np.sqrt(max(fan_in, 1))).astype(dtype)
        filled = numpy_helper.from_array(values, tensor.name)
        model.graph.initializer[k].CopyFrom(filled)
    onnx.save(model, target)
    return target


if __name__ == "__main__":
    import sys

    for path in sys.argv[1:]:
        out = os.path.basename(path).removesuffix(".gz")
        print(runnable(path, out))
