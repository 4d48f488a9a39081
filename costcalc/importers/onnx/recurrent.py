"""The importer's rule for ONNX's recurrent ops, LSTM, GRU and RNN, onto costcalc's `lstm`, `gru` and `rnn`
(costcalc.ops.recurrent): one layer per node, its W, R, B and P read off the initializers' shapes.

ONNX's layout 0 (torch's export: X is T x B x I) holds the batch at axis 1; layout 1 (X is B x T x I) at axis 0.
A batch folded with other sequences (Sequencer's rows, `x.reshape(-1, W, C)`: B = N x M) is read as M sequences a
sample, T x M x I. Initial states computed from the network's input are the layer's further inputs; constant ones
are no input: torch's zeros change no count, a learned nn.Parameter h_0 (and c_0) counts its values as parameters
(`learned_states`). sequence_lens, when constant and the same for every sequence, is the layer's
`steps`. What is refused, with the reason: non-standard activations (but the RNN's Tanh, Relu, Sigmoid), `clip`,
LSTM's input_forget, and lengths that differ between sequences or come from the network.
"""

from __future__ import annotations

from math import prod

import numpy as np

from costcalc.importers.onnx.batch import _text, learned_of, onnx_shape
from costcalc.importers.onnx.naming import node_name
from costcalc.importers.onnx.reading import Const, Data, fmt
from costcalc.ops.recurrent import GATES, RNN_ACTIVATIONS

CELLS = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
STANDARD = {"lstm": ["sigmoid", "tanh", "tanh"], "gru": ["sigmoid", "tanh"]}


def _activations(imp, node, cell: str, directions: int) -> dict:
    names = [_text(a, "").lower() for a in node.attrs.get("activations", [])]
    if node.attrs.get("activation_alpha") or node.attrs.get("activation_beta"):
        imp.fail(node, "activation_alpha / activation_beta: costcalc costs the standard activations")
    if cell == "rnn":
        names = names or ["tanh"] * directions
        if len(set(names)) != 1 or names[0] not in RNN_ACTIVATIONS:
            imp.fail(node, f"activations {names}: costcalc costs an RNN of one of {', '.join(RNN_ACTIVATIONS)}")
        return {} if names[0] == "tanh" else {"activation": names[0]}
    if names and names != STANDARD[cell] * directions:
        imp.fail(node, f"activations {names}: costcalc costs the {node.op}'s standard "
                        f"{' / '.join(STANDARD[cell])} gates")
    return {}


def _steps(imp, node, steps: int) -> dict:
    lengths = imp.get(node, 4)
    if lengths is None:
        return {}
    if isinstance(lengths, Data):
        imp.fail(node, "its sequence_lens is computed from the network's input: a data-dependent amount of work")
    values = {int(v) for v in np.asarray(imp.const_value(node, lengths, "sequence_lens")).reshape(-1)}
    if len(values) != 1:
        imp.fail(node, f"sequence_lens {sorted(values)}: costcalc costs lengths that are the same for every sequence")
    (value,) = values
    if not 1 <= value <= steps:
        imp.invalid(node, f"sequence_lens {value} for a sequence of {steps} steps")
    return {} if value == steps else {"steps": value}


def _learned_states(imp, states: list) -> int:
    """The learned values behind constant initial states: a module's nn.Parameter h_0 (and c_0), which TorchScript
    stores and repeats over the batch (Expand, Tile) and slices per layer. Each stored source counts once, at the
    first layer that reads it (`generic.binary`'s rule for learned operands); zeros (a Constant) count nothing."""
    total = 0
    for c in states:
        if c.behind:
            fresh = c.behind - imp.counted
            imp.counted |= fresh
            total += sum(size for *_, size in fresh)
        else:
            total += learned_of(c)
    return total


def rule(imp, node, inputs: list) -> None:
    cell = CELLS[node.op]
    gates = GATES[cell]
    x = inputs[0]
    w, r = inputs[1], inputs[2] if len(inputs) > 2 else None
    if not isinstance(w, Const) or not isinstance(r, Const):
        imp.fail(node, "its weights W and R are computed from the network's input: costcalc needs them constant")
    if node.attrs.get("clip") is not None or node.attrs.get("input_forget", 0):
        imp.fail(node, "clip / input_forget: costcalc costs the standard cell")
    layout = node.attrs.get("layout", 0)
    direction = _text(node.attrs.get("direction"), "forward")
    directions = 2 if direction == "bidirectional" else 1
    hidden = node.attrs.get("hidden_size", r.shape[-1] if len(r.shape) == 3 else 0)
    full = onnx_shape(imp, x)
    if len(full) != 3 or layout not in (0, 1):
        imp.invalid(node, f"an input of shape {fmt(full)} (layout {layout}): {node.op} reads a 3-D sequence")
    steps, features = (full[1] if layout else full[0]), full[2]
    shapes = {"W": (w.shape, (directions, gates * hidden, features)),
              "R": (r.shape, (directions, gates * hidden, hidden))}
    bias = inputs[3] if len(inputs) > 3 else None
    peep = inputs[7] if cell == "lstm" and len(inputs) > 7 else None
    for name, t, size in (("B", bias, 2 * gates * hidden), ("P", peep, 3 * hidden)):
        if isinstance(t, Data):
            imp.fail(node, f"its {name} is computed from the network's input: costcalc needs it constant")
        if t is not None:
            shapes[name] = (t.shape, (directions, size))
    for name, (got, want) in shapes.items():
        if tuple(got) != want:
            imp.invalid(node, f"{name} of shape {fmt(got)}: a {direction} {node.op} of hidden size {hidden} over "
                              f"{features} features has {fmt(want)}")
    # where the batch is: layout 0 keeps it at axis 1, layout 1 at axis 0; folded with M sequences at batch 1
    folded = x.batch_at not in (1, None) and imp.batch == 1 and layout == 0
    if folded:  # at batch 1 the same ONNX tensor whatever axis holds the batch: viewed as sequences of one sample
        x = imp.emit(node, imp.unique(f"{node_name(node.name)}_sequences"), "reshape", {"shape": full}, [x],
                     note="the sequences of one sample")[0]
    folded = folded or (x.batch_at is None and imp.batch == 1 and layout == 0)
    if x.batch_at != (1 if layout == 0 else 0) and not folded:
        imp.fail(node, f"its sequence {fmt(full)} holds the batch at an axis layout {layout} does not read it from")
    y_at, state_at = (None, None) if folded else ((2, 1) if layout == 0 else (0, 0))
    given = [inputs[k] if len(inputs) > k else None for k in ((5, 6) if cell == "lstm" else (5,))]
    states = [t for t in given if isinstance(t, Data)]
    if states and not isinstance(given[0], Data) or (cell == "lstm" and len(states) == 1):
        imp.fail(node, "one initial state computed and the other constant: costcalc takes h_0 and c_0 alike")
    sample = (directions, *((full[1],) if folded else ()), hidden)
    for k, t in enumerate(states):
        if t.batch_at == state_at:
            continue
        if imp.batch != 1 or prod(onnx_shape(imp, t)) != prod(sample):
            imp.fail(node, f"its initial state {fmt(onnx_shape(imp, t))} holds the batch elsewhere than its sequence")
        # at batch 1 the same ONNX tensor whatever axis holds the batch (a state unsqueezed from N x H): a view
        states[k] = imp.emit(node, imp.unique(f"{node_name(node.name)}_state{k}"), "reshape", {"shape": sample}, [t],
                             note="the initial state, the batch where the sequence holds it")[0]
    args = {"hidden": hidden, **({} if direction == "forward" else {"direction": direction})}
    if bias is None:
        args["bias"] = False
    if peep is not None:
        args["peepholes"] = True
    if cell == "gru" and node.attrs.get("linear_before_reset", 0):
        args["linear_before_reset"] = True
    learned = _learned_states(imp, [t for t in given if isinstance(t, Const)])
    if learned:
        args["learned_states"] = learned
    args.update(_activations(imp, node, cell, directions))
    args.update(_steps(imp, node, steps))
    outputs = imp.emit(node, None, cell, args, [x, *states])
    for k, d in enumerate(outputs):
        d.batch_at = y_at if k == 0 else state_at
        imp.set(node, k, d)
