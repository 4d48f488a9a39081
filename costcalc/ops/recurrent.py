"""Recurrent layers: LSTM, GRU and the plain (Elman) RNN, as ONNX defines them (torch's nn.LSTM / nn.GRU / nn.RNN,
one layer each).

Shapes are per sample. The input is a sequence of T steps of I features, (T, I), or M sequences per sample side by
side, (T, M, I) (Sequencer's rows: the file's batch axis holds N x M sequences); the outputs are ONNX's Y, every
step's hidden state, (T, D, H) (or (T, D, M, H)), Y_h, the last hidden state, (D, H) (or (D, M, H)), and for
the LSTM Y_c, the last cell state; D is 2 for a bidirectional layer, else 1. Optional further inputs are the
initial states h_0 (and c_0), shaped like Y_h; without them the states start at zero.

Per step, per direction and per sequence, with G gates (LSTM 4, GRU 3, RNN 1), H the hidden size, I the input size:
- flops: the gate products, W x_t (G H I multiply-adds) and R h_{t-1} (G H H): G H (I + H). The GRU's
  r * (R_h h + b) (torch's form, ONNX's linear_before_reset) or R_h (r * h) is one such product and an element-wise
  multiply, as everywhere in costcalc (a product of two activations counts in flops only as a matrix product).
- elementwise_flops, per hidden unit: W x + R h, one add per gate; both biases (ONNX's B: Wb and Rb, torch's
  b_ih and b_hh), two adds per gate; the nonlinearities at their per-element costs (sigmoid SIGMOID_FLOPS, tanh
  TANH_FLOPS, relu RELU_FLOPS); the element-wise products and sums of the cell, named in `_ELEMENTWISE`; the LSTM's
  peepholes (P, 3 H values), a multiply and an add per gate they feed.
- params: W (D G H I), R (D G H H), B (D 2 G H) and P (D 3 H): what the file holds; and `learned_states`, the
  learned values behind constant initial states (a module's nn.Parameter h_0 repeated over the batch), counted at
  the layer that reads them first (a two-layer module's one h_0 tensor, sliced per layer, counts at the first).
- memory_access (the generic account): the steps computed of the input read, the initial states read, Y, Y_h (and
  Y_c) written, the parameters read once. The gates' intermediate values stay inside the op, as a conv's products.
`steps`: how many of the T steps are computed (ONNX's sequence_lens, the same for every sequence); Y's later steps
are written as zeros.
"""

from __future__ import annotations

from math import prod

from costcalc.ops.activation import RELU_FLOPS, SIGMOID_FLOPS, TANH_FLOPS
from costcalc.ops.core import Arg, OpDef, OpError, OpResult, fmt

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
DIRECTIONS = ("forward", "reverse", "bidirectional")
RNN_ACTIVATIONS = {"tanh": TANH_FLOPS, "relu": RELU_FLOPS, "sigmoid": SIGMOID_FLOPS}
PEEPHOLE_FLOPS = 2  # per gate a peephole feeds (i, f, o): a multiply by P and an add


def _elementwise(cell: str, bias: bool, activation: str = "tanh") -> int:
    """Element-wise FLOPs per hidden unit of one step (the products with W and R excluded)."""
    gates = GATES[cell]
    adds = gates + (2 * gates if bias else 0)  # W x + R h per gate, then Wb and Rb
    if cell == "lstm":  # i, f, o sigmoid, g tanh; c = f * c + i * g (2 multiplies, 1 add); h = o * tanh(c)
        return adds + 3 * SIGMOID_FLOPS + TANH_FLOPS + 3 + TANH_FLOPS + 1
    if cell == "gru":  # z, r sigmoid; r * (R_h h) (1 multiply); n tanh; h = (1 - z) * n + z * h (4 operations)
        return adds + 2 * SIGMOID_FLOPS + 1 + TANH_FLOPS + 4
    return adds + RNN_ACTIVATIONS[activation]


def _shapes(x: tuple, hidden: int, directions: int, op: str) -> tuple:
    if len(x) not in (2, 3):
        raise OpError(f"{op} reads a sequence T x I (or T x M x I: M sequences a sample), not {fmt(x)}")
    steps, *inner, features = x
    state = (directions, *inner, hidden)
    return (steps, directions, *inner, hidden), state, features, prod(inner)


def recurrent(cell: str):
    """The cost function of one layer of `cell` (lstm, gru or rnn)."""
    gates = GATES[cell]

    def apply(x, *states, hidden, direction="forward", bias=True, steps=None, peepholes=False,
              linear_before_reset=False, activation="tanh", learned_states=0) -> OpResult:
        directions = 2 if direction == "bidirectional" else 1
        y, state, features, sequences = _shapes(tuple(x), hidden, directions, cell)
        if len(states) > (2 if cell == "lstm" else 1):
            raise OpError(f"{cell} takes the sequence and its initial states: h_0" + (", c_0" if cell == "lstm" else "")
                          + f", not {len(states) + 1} inputs")
        for k, s in enumerate(states):
            if tuple(s) != state:
                raise OpError(f"initial {'hc'[k]}_0 of shape {fmt(s)}: a {cell} of hidden size {hidden}, {directions} "
                              f"direction(s), needs {fmt(state)}")
        if peepholes and cell != "lstm":
            raise OpError("peepholes belong to the lstm", "peepholes")
        if activation != "tanh" and cell != "rnn":
            raise OpError(f"activation {activation}: costcalc costs the {cell}'s standard sigmoid and tanh gates",
                          "activation")
        computed = y[0] if steps is None else steps
        if computed > y[0]:
            raise OpError(f"steps={steps} is beyond the sequence's {y[0]}", "steps")
        runs = directions * sequences * computed  # cell steps of one sample
        per_unit = _elementwise(cell, bias, activation) + (3 * PEEPHOLE_FLOPS if peepholes else 0)
        params = directions * gates * hidden * (features + hidden + (2 if bias else 0)) \
            + (directions * 3 * hidden if peepholes else 0) + learned_states
        outputs = (y, state, state) if cell == "lstm" else (y, state)
        read = computed * sequences * features + sum(map(prod, states))
        return OpResult(outputs=outputs, flops=runs * gates * hidden * (features + hidden),
                        elementwise_flops=runs * per_unit * hidden, params=params, read=read)

    return apply


_COMMON = {"hidden": Arg("int", doc="hidden size H"),
           "direction": Arg("choice", "forward", "forward, reverse or bidirectional (both, D = 2)", DIRECTIONS),
           "bias": Arg("bool", True, "the two bias vectors of each gate (ONNX's B; torch's b_ih and b_hh)"),
           "steps": Arg("int", None, "steps computed of the T (ONNX's sequence_lens, the same for every sequence)"),
           "learned_states": Arg("index", 0, "learned values behind its constant initial states (nn.Parameter h_0, "
                                             "c_0 repeated over the batch), counted as parameters where first read")}

RECURRENT_OPS = {
    "lstm": OpDef(recurrent("lstm"), {**_COMMON, "peepholes": Arg("bool", False, "ONNX's P: 3 H weights a direction")},
                  max_inputs=3, doc="LSTM layer (gates i, o, f, c): T x I -> Y T x D x H, Y_h and Y_c D x H"),
    "gru": OpDef(recurrent("gru"), {**_COMMON, "linear_before_reset": Arg(
        "bool", False, "r * (R_h h + b) (torch's form) rather than R_h (r * h): the same counts")},
                 max_inputs=2, doc="GRU layer (gates z, r, h): T x I -> Y T x D x H, Y_h D x H"),
    "rnn": OpDef(recurrent("rnn"), {**_COMMON, "activation": Arg("choice", "tanh", "tanh, relu or sigmoid",
                                                                  tuple(RNN_ACTIVATIONS))},
                 max_inputs=2, doc="Elman RNN layer, h = act(W x + R h + b): T x I -> Y T x D x H, Y_h D x H"),
}
