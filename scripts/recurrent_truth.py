"""Torch's own figures for recurrent networks -> graph-only ONNX fixtures and the truth costcalc's lstm / gru / rnn
are tested against (tests/test_onnx_recurrent.py).

Run by hand in the venv with torch and timm (never dependencies of costcalc):

    nice -n 10 /work/TV/bin/python scripts/recurrent_truth.py [--only NAME,...]

For nn.LSTM, nn.GRU and nn.RNN in several settings (layers, bidirectional, batch_first or not, no bias, initial
states computed from the input or learned (nn.Parameter h_0 and c_0 expanded over the batch), relu), a CRNN written here (a conv backbone, a two-layer bidirectional LSTM over the
image's columns, a per-step classifier) and timm's sequencer2d_s, it records in
tests/fixtures/onnx/recurrent/expected.json:

- `params`: `sum(p.numel())`; `macs`: torch.utils.flop_counter.FlopCounterMode's total halved
  (scripts/torch_truth.py: an aten op that multiplies tensors and is not counted is an error), with oneDNN off
  (`torch.backends.mkldnn.flags(enabled=False)`). With oneDNN on (torch's default on CPU), nn.LSTM runs as one
  aten::mkldnn_rnn_layer per layer and direction, which FlopCounterMode has no formula for: it counts 0 there
  (`macs_onednn`, recorded with the aten ops that ran, `ops_onednn`). Off, nn.LSTM decomposes as nn.GRU and nn.RNN
  always do, into one addmm per layer, direction and step for each of W x_t and R h_{t-1}: FlopCounterMode counts
  those products (the gates' element-wise arithmetic, GRU's r * (W_hn h + b_hn) included, is not a product).
- `params_in_file`: the same minus what the exporter folded (a batchnorm into the conv before it:
  scripts/onnx_model_truth.py).
- `tools`: for the modules that are one recurrent module each, what fvcore 0.1.5, ptflops 0.7.5 (pytorch backend)
  and thop 0.1.1 print (scripts/tool_flops.py runs them), the truth of costcalc's conventions.
- `proj_size`: whether torch's exporter writes an LSTM with proj_size (it refuses: recorded, not exported).

Each module is exported by the TorchScript exporter at opset 17, batch 1, checked by onnxruntime against torch's
output, and stripped to its graph by make_onnx_fixtures.strip into tests/fixtures/onnx/recurrent/NAME.onnx.
"""

from __future__ import annotations

import os
import sys
import tempfile

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_truth  # noqa: E402  (sets TIMM_FUSED_ATTN before anything imports timm)
import truth_cases  # noqa: E402  (main(): the cases run, checked, kept as fixtures)
from onnx_model_truth import folded_params  # noqa: E402


class SequenceFirst(nn.Module):
    """A recurrent module with batch_first=False behind a batch-first input (N x T x I): the transposes a user
    writes."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x.transpose(0, 1))[0].transpose(0, 1)


class BatchFirst(nn.Module):
    """A recurrent module with batch_first=True: its output sequence."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


class WithStates(nn.Module):
    """An LSTM whose initial states are computed from the input (a summary of the sequence through a Linear)."""

    def __init__(self, features=32, hidden=48):
        super().__init__()
        self.h = nn.Linear(features, hidden)
        self.c = nn.Linear(features, hidden)
        self.rnn = nn.LSTM(features, hidden, bias=False, batch_first=True)

    def forward(self, x):
        summary = x.mean(1)
        y, (h, c) = self.rnn(x, (self.h(summary)[None], self.c(summary)[None]))
        return y + h.transpose(0, 1) + c.transpose(0, 1)


class LearnedState(nn.Module):
    """A recurrent module whose initial states are learned: nn.Parameter h_0 (and the LSTM's c_0), one per layer
    and direction, repeated over the batch (`repeat`, a copy: an expanded view of a parameter under no_grad keeps
    requires_grad without a grad_fn, which FlopCounterMode's module tracker refuses)."""

    def __init__(self, cell="gru", features=32, hidden=40, layers=2, bidirectional=True):
        super().__init__()
        self.rnn = getattr(nn, cell.upper())(features, hidden, num_layers=layers, bidirectional=bidirectional,
                                             batch_first=True)
        states = layers * (2 if bidirectional else 1)
        self.h0 = nn.Parameter(0.1 * torch.randn(states, 1, hidden))
        self.c0 = nn.Parameter(0.1 * torch.randn(states, 1, hidden)) if cell == "lstm" else None

    def forward(self, x):
        h = self.h0.repeat(1, x.shape[0], 1)
        if self.c0 is None:
            return self.rnn(x, h)[0]
        return self.rnn(x, (h, self.c0.repeat(1, x.shape[0], 1)))[0]


class CRNN(nn.Module):
    """A CRNN text recogniser (Shi et al. 2015, reduced): conv backbone, columns as steps, a two-layer bidirectional
    LSTM, a classifier per step."""

    def __init__(self, classes=37, hidden=128):
        super().__init__()

        def block(c_in, c_out, pool):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                    nn.MaxPool2d(pool)]

        self.backbone = nn.Sequential(*block(1, 32, 2), *block(32, 64, 2), *block(64, 128, (2, 1)),
                                      *block(128, 128, (4, 1)))
        self.rnn = nn.LSTM(128, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        f = self.backbone(x)  # N x 128 x 1 x W/4
        seq = f.squeeze(2).permute(0, 2, 1)  # N x T x 128
        return self.fc(self.rnn(seq)[0])


def cases() -> dict:
    """name -> (module factory, input shape, whether it is one recurrent module: the tools' figures apply)."""
    return {
        "lstm_1layer": (lambda: BatchFirst(nn.LSTM(32, 64, batch_first=True)), (1, 12, 32), True),
        "lstm_2layer_bidir": (lambda: BatchFirst(nn.LSTM(32, 48, num_layers=2, bidirectional=True,
                                                         batch_first=True)), (1, 10, 32), True),
        "lstm_seqfirst_nobias": (lambda: SequenceFirst(nn.LSTM(32, 40, num_layers=2, bias=False)), (1, 9, 32),
                                 True),
        "lstm_states": (WithStates, (1, 8, 32), False),
        "gru_1layer": (lambda: BatchFirst(nn.GRU(32, 40, batch_first=True)), (1, 12, 32), True),
        "gru_2layer_bidir": (lambda: BatchFirst(nn.GRU(32, 40, num_layers=2, bidirectional=True, batch_first=True)),
                             (1, 10, 32), True),
        "rnn_tanh_2layer": (lambda: BatchFirst(nn.RNN(32, 24, num_layers=2, batch_first=True)), (1, 12, 32), True),
        "rnn_relu_bidir": (lambda: SequenceFirst(nn.RNN(32, 24, nonlinearity="relu", bidirectional=True)),
                           (1, 12, 32), True),
        "gru_learned_h0": (LearnedState, (1, 10, 32), False),
        "lstm_learned_h0_c0": (lambda: LearnedState("lstm", layers=1, bidirectional=False), (1, 10, 32), False),
        "rnn_learned_h0": (lambda: LearnedState("rnn", layers=1), (1, 10, 32), False),
        "crnn": (CRNN, (1, 1, 32, 128), False),
        "sequencer2d_s": (lambda: __import__("timm").create_model("sequencer2d_s", pretrained=False), (1, 3, 224, 224),
                          False),
    }


def onednn_macs(model, x) -> tuple:
    """FlopCounterMode's total halved as torch runs by default on CPU (oneDNN on), and the recurrent aten ops run."""
    from torch.utils.flop_counter import FlopCounterMode

    counter, seen = FlopCounterMode(display=False), torch_truth._OpsSeen()
    with torch.no_grad(), counter, seen:
        model(x)
    return counter.get_total_flops() // 2, sorted(op for op in seen.ops if "rnn" in op or "lstm" in op or "gru" in op)


def tools(model, x) -> dict:
    from tool_flops import tool_flops

    return {tool: tool_flops(tool, model, x) for tool in ("fvcore", "ptflops", "thop")}


def proj_size_exports() -> str:
    import contextlib
    import io

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            torch.onnx.export(BatchFirst(nn.LSTM(8, 16, proj_size=4, batch_first=True)), (torch.randn(1, 5, 8),),
                              os.path.join(tempfile.mkdtemp(), "proj.onnx"), opset_version=17, dynamo=False)
    except Exception as e:  # noqa: BLE001 - what the exporter says is the record
        return f"refused: {str(e).splitlines()[0][:160]}"
    return "exported"


def measure(name: str, case: tuple, model, x, full: str) -> dict:
    """torch's figures for one case (oneDNN off, and on: `macs_onednn`) and its opset-17 export at `full`."""
    factory, shape, single = case
    with torch.backends.mkldnn.flags(enabled=False):
        truth = torch_truth.measure(model, x, modules=False)
    onednn = onednn_macs(model, x)
    torch.onnx.export(model, (x,), full, opset_version=17, dynamo=False, input_names=["x"], output_names=["y"])
    entry = {"params": truth["params"], "params_in_file": folded_params(factory().eval(), x, full),
             "macs": truth["macs"], "macs_by_op": truth["macs_by_op"], "macs_onednn": onednn[0],
             "ops_onednn": onednn[1], "input": list(shape), "outputs": truth["outputs"]}
    if single:
        entry["tools"] = tools(factory().eval(), x)
    return entry


def main() -> int:
    return truth_cases.run(__doc__, "recurrent", cases(), measure, tolerance=(1e-4, 1e-5),
                           extra=lambda: {"_proj_size": proj_size_exports()})


if __name__ == "__main__":
    sys.exit(main())
