"""ONNX builders of the recurrent layers (costcalc.ops.recurrent): one LSTM, GRU or RNN node in ONNX's default
layout 0 (sequence first, as torch exports them and as onnxruntime runs them), between the Transposes (and, for M
sequences a sample, Reshapes) that take costcalc's batch-first tensors there and back. W, R, B and P are
initializers in ONNX's layout, asked for in that order (the numpy reference's order, costcalc.reference.recurrent);
`steps` is a constant sequence_lens."""

from __future__ import annotations

import numpy as np

from costcalc.exporters.onnx.building import Builder
from costcalc.ops.recurrent import GATES

NODE = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
ACTIVATION = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid"}


def _shape(b: Builder, node, label: str, dims) -> str:
    return b.const(node, label, np.array(list(dims), np.int64))


def build(b: Builder, node, x, y):
    a, cell, p = node.args, node.op, f"{node.name}/"
    if a.get("learned_states"):
        b.refuse(node, "learned_states: the exporter writes no learned initial state (its layout in the file is the "
                       "exporting framework's)")
    x_shape = b.shape(node.inputs[0])
    steps, *inner, features = x_shape
    n, m = b.graph.batch, (inner[0] if inner else None)
    sequences = n * (m or 1)
    directions = 2 if a["direction"] == "bidirectional" else 1
    hidden, gh = a["hidden"], GATES[cell] * a["hidden"]
    b.add("Transpose", [x[0]], [p + "steps_first"], p + "Transpose", perm=[1, 0, *range(2, len(x_shape) + 1)])
    sequence = p + "steps_first"
    if m:
        sequence = p + "sequences"
        b.add("Reshape", [p + "steps_first", _shape(b, node, "sequences_shape", (steps, sequences, features))],
              [sequence], p + "Reshape")
    inputs = [sequence, b.param(node, "W", (directions, gh, features), "weight", features),
              b.param(node, "R", (directions, gh, hidden), "weight", hidden)]
    inputs.append(b.param(node, "B", (directions, 2 * gh), "bias") if a["bias"] else "")
    if a.get("steps") is not None:
        inputs.append(b.const(node, "sequence_lens", np.full(sequences, a["steps"], np.int32)))
    else:
        inputs.append("")
    for k, state in enumerate(x[1:]):  # h_0 (and c_0): N x D x H (N x D x M x H) to D x B x H
        moved = f"{p}state{k}"
        b.add("Transpose", [state], [moved], f"{p}Transpose_state{k}", perm=[1, 0, *range(2, len(x_shape) + 1)])
        if m:
            b.add("Reshape", [moved, _shape(b, node, f"state{k}_shape", (directions, sequences, hidden))],
                  [moved + "_flat"], f"{p}Reshape_state{k}")
            moved += "_flat"
        inputs.append(moved)
    if cell == "lstm" and a.get("peepholes"):
        inputs += [""] * (7 - len(inputs)) + [b.param(node, "P", (directions, 3 * hidden), "bias")]
    while inputs and inputs[-1] == "":
        inputs.pop()
    outputs = [p + name for name in ("Y", "Y_h", "Y_c")[:len(y)]]
    attrs = {"hidden_size": hidden, "direction": a["direction"]}
    if cell == "gru":
        attrs["linear_before_reset"] = int(a.get("linear_before_reset", False))
    if cell == "rnn":
        attrs["activations"] = [ACTIVATION[a.get("activation", "tanh")]] * directions
    b.add(NODE[cell], inputs, outputs, node.name, **attrs)
    _batch_first(b, node, outputs[0], y[0], (steps, directions, n, m, hidden), "Y")
    for k, (state, out) in enumerate(zip(outputs[1:], y[1:])):
        _batch_first(b, node, state, out, (directions, n, m, hidden), f"state_out{k}")


def _batch_first(b: Builder, node, source: str, target: str, dims: tuple, label: str):
    """ONNX's (T x) D x B x H as costcalc's N x (T x) D x (M x) H."""
    n_at = len(dims) - 3  # where N sits among the dims
    if dims[-2] is None:  # no M: B is N
        dims = dims[:-2] + dims[-1:]
        perm = [n_at, *[i for i in range(len(dims)) if i != n_at]]
        return b.add("Transpose", [source], [target], f"{node.name}/Transpose_{label}", perm=perm)
    split = f"{node.name}/{label}_split"
    b.add("Reshape", [source, _shape(b, node, f"{label}_split_shape", dims)], [split], f"{node.name}/Reshape_{label}")
    perm = [n_at, *[i for i in range(len(dims)) if i != n_at]]
    b.add("Transpose", [split], [target], f"{node.name}/Transpose_{label}", perm=perm)
