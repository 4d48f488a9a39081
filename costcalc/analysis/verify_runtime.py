"""`costcalc verify --against onnxruntime`: an independent check of the numpy reference forward pass.

The reference runs the graph with its seeded random weights and input; the same graph is exported to ONNX with
exactly those weights (costcalc.exporters.onnx, `arrays=`) and run by onnxruntime on the same input; the two outputs
must agree within float32 tolerance: |onnxruntime - reference| <= ATOL_SCALE * max|reference| + RTOL * |reference|
element by element. Two implementations written apart (numpy im2col and onnxruntime's kernels) agreeing on a whole
network checks the reference's arithmetic, not only its counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RTOL = 1e-3
ATOL_SCALE = 1e-4  # absolute tolerance, as a share of the largest output magnitude


@dataclass(frozen=True)
class RuntimeAgreement:
    model: str
    path: str
    input: tuple  # (N, C, H, W)
    seed: int
    runtime: str
    output: tuple  # output shape, as both produced it
    max_abs_diff: float
    max_abs_reference: float
    worst_excess: float  # max over elements of |diff| / tolerance: <= 1 passes

    @property
    def passed(self) -> bool:
        return self.worst_excess <= 1.0


def agree(reference: np.ndarray, other: np.ndarray) -> tuple:
    """(max |diff|, max |reference|, worst |diff| / tolerance) of two outputs of one shape."""
    reference = reference.astype(np.float64)
    diff = np.abs(other.astype(np.float64) - reference)
    scale = float(np.max(np.abs(reference))) if reference.size else 0.0
    tolerance = ATOL_SCALE * scale + RTOL * np.abs(reference)
    tolerance = np.maximum(tolerance, np.finfo(np.float32).tiny)
    return float(diff.max(initial=0.0)), scale, float((diff / tolerance).max(initial=0.0))


def verify_against_onnxruntime(graph, seed: int = 0, opset: int | None = None) -> RuntimeAgreement:
    """Run `graph` through the numpy reference and onnxruntime on the same weights and input (exported at `opset`,
    default the exporter's); compare outputs."""
    from costcalc.exporters.onnx import DEFAULT_OPSET, export
    from costcalc.errors import Loc
    from costcalc.reference.network import run
    from costcalc.runtime.ort import load_onnxruntime

    ort = load_onnxruntime(Loc(graph.path))
    keep: dict = {}
    for _ in run(graph, seed, keep=keep):
        pass
    model = export(graph, opset=opset or DEFAULT_OPSET, arrays=keep["arrays"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    output = session.get_outputs()[0].name  # the network's output (a head no layer reads is an output after it)
    (result,) = session.run([output], {"input": keep["input"]})
    reference = keep["output"]
    if result.shape != reference.shape:
        worst, diff, scale = float("inf"), float("inf"), 0.0
    else:
        diff, scale, worst = agree(reference, result)
    return RuntimeAgreement(graph.name, graph.path, (graph.batch, *graph.input_shape), seed,
                            f"onnxruntime {ort.__version__}", tuple(result.shape), diff, scale, worst)
