"""The rules of every convention for the recurrent layers (costcalc.ops.recurrent: lstm, gru, rnn), one layer of
torch's nn.LSTM / nn.GRU / nn.RNN each. Read in the tools' released sources:

- fvcore 0.1.5 traces nn.LSTM as one aten::lstm (aten::gru, aten::rnn_tanh, aten::rnn_relu), which has no handle
  in `_DEFAULT_SUPPORTED_OPS`: zero, with an "unsupported operator" warning.
- ptflops 0.7.5 `pytorch_ops.py` rnn_flops_counter_hook: per layer, prod(weight_ih) + prod(weight_hh) + the
  cell's extra (RNN H, GRU 7 H, LSTM 10 H) + both biases' lengths, times the input's first two axes (batch and
  steps in either order) and 2 when bidirectional.
- thop 0.1.1 `rnn_hooks.py` count_lstm / count_gru / count_rnn: per direction, step and sequence, each gate
  H (I + H) + H, and 2 H with biases; then LSTM 3 H + H, GRU H + 3 H.
- DeepSpeed 0.19.8 (and calflops 0.3.2, the same functions) `_rnn_forward_hook` / `_rnn_flops`: ptflops' count with
  each matrix product counted 2 G H K - G H (a multiply and an add per term, one add fewer per row).
torch has no peepholes and no sequence_lens for these modules: the tools' rules read T (the input's steps), and a
spec's `peepholes` and `steps` change costcalc's own counts only. Rules are per sample: M sequences in a sample
(T x M x I) multiply them.
"""

from __future__ import annotations

from math import prod

from costcalc.analysis.conventions.rules import Rule, free, own, own_flops
from costcalc.ops.recurrent import GATES

OPS = tuple(GATES)
_TORCH = {"lstm": "nn.LSTM", "gru": "nn.GRU", "rnn": "nn.RNN"}
_ATEN = {"lstm": "aten::lstm", "gru": "aten::gru", "rnn": "aten::rnn_tanh / rnn_relu"}
_EXTRA = {"lstm": 10, "gru": 7, "rnn": 1}  # ptflops' and DeepSpeed's per-unit additions after the products


def _sizes(s) -> tuple:
    """(gates, hidden, input features, directions, steps x sequences) of a site."""
    steps, *inner, features = s.inputs[0]
    directions = 2 if s.args.get("direction") == "bidirectional" else 1
    return GATES[s.op], s.args["hidden"], features, directions, steps * prod(inner)


def _ptflops(s) -> int:
    g, h, i, d, runs = _sizes(s)
    per_step = g * h * i + g * h * h + _EXTRA[s.op] * h + (2 * g * h if s.args.get("bias", True) else 0)
    return per_step * runs * d


def _thop(s) -> int:
    g, h, i, d, runs = _sizes(s)
    gate = h * (i + h) + h + (2 * h if s.args.get("bias", True) else 0)
    cell = {"lstm": 3 * h + h, "gru": h + 3 * h, "rnn": 0}[s.op]
    return (g * gate + cell) * runs * d


def _deepspeed(s) -> int:
    g, h, i, d, runs = _sizes(s)
    per_step = (2 * g * h * i - g * h) + (2 * g * h * h - g * h) + _EXTRA[s.op] * h \
        + (2 * g * h if s.args.get("bias", True) else 0)
    return per_step * runs * d


PAPER = {op: Rule("multiply-adds of the gate products W x_t and R h_{t-1}: G H (I + H) per step and direction",
                  own_flops) for op in OPS}
FULL = {op: Rule("the gate products' multiply-adds + the gates' adds, nonlinearities and products (costcalc's own)",
                 own) for op in OPS}
FVCORE = {op: free(f"0 ({_ATEN[op]} has no handle: 'unsupported operator')") for op in OPS}
PTFLOPS = {op: Rule(f"rnn_flops_counter_hook ({_TORCH[op]}): prod(W_ih) + prod(W_hh) + {_EXTRA[op]} H + both biases, "
                    "per step, sequence and direction", _ptflops) for op in OPS}
PTFLOPS_FUNCTIONAL = {op: free("0 (torch has no functional form ptflops patches: _VF." + op + ")") for op in OPS}
THOP = {op: Rule(f"count_{op} ({_TORCH[op]}): per gate H (I + H) + H (+ 2 H with biases)"
                 + {"lstm": ", + 4 H", "gru": ", + 4 H", "rnn": ""}[op] + ", per step, sequence and direction", _thop)
        for op in OPS}
DEEPSPEED = {op: Rule(f"_rnn_forward_hook ({_TORCH[op]}): (2 prod(W_ih) - G H) + (2 prod(W_hh) - G H) + "
                      f"{_EXTRA[op]} H + both biases, per step, sequence and direction", _deepspeed) for op in OPS}
