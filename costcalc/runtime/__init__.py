"""Running a network in a real runtime on this machine: the adapters, one module per runtime.

    from costcalc.runtime import measure, measure_graph
    m = measure("model.onnx", threads=1, runs=10)       # an onnx ModelProto, its bytes, or a path
    m.latency_s, m.latency_median_s, m.layers           # seconds for the batch; per-layer LayerTime records

`costcalc.runtime.ort` runs onnxruntime (the `[runtime]` extra) and reads its profiler. Nothing here estimates:
every figure is a measurement of this machine.
"""

from costcalc.runtime.ort import INSTALL_HINT, LayerTime, Measurement, RuntimeMissing, measure, measure_graph

__all__ = ["INSTALL_HINT", "LayerTime", "Measurement", "RuntimeMissing", "measure", "measure_graph"]
