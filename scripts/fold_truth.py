"""Torch's own figures for networks with nn.Fold (ONNX's Col2Im) -> graph-only ONNX fixtures and the truth
costcalc's `col2im` is tested against (tests/test_col2im.py).

Run by hand in the venv with torch and timm (never dependencies of costcalc):

    nice -n 10 /work/TV/bin/python scripts/fold_truth.py [--only NAME,...]

For nn.Fold alone (and what fvcore 0.1.5, ptflops 0.7.5 and thop 0.1.1 print for it, `tools`: the truth of the
tool conventions' col2im rules), a hand-written module (nn.Unfold, a per-block Linear, nn.Fold: VOLO's outlook
attention in small) and timm's volo_d1_224 it records in tests/fixtures/onnx/fold/expected.json `params` (`sum(p.numel())`) and `macs`
(torch.utils.flop_counter.FlopCounterMode's total halved, timm's fused attention off: scripts/torch_truth.py), what
torch's TorchScript exporter says at opset 17 (`opset17`: it refuses aten::col2im there), and keeps the opset-18
export (TorchScript's; dynamo's, unoptimised, where TorchScript's fails: VOLO folds to its input's size, which
TorchScript's Col2Im cannot write), checked by onnxruntime against torch's output, stripped to its graph
(make_onnx_fixtures.strip) as tests/fixtures/onnx/fold/NAME.onnx.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_truth  # noqa: E402  (sets TIMM_FUSED_ATTN before anything imports timm)
import truth_cases  # noqa: E402  (main(): the cases run, checked, kept as fixtures)


class FoldBlocks(nn.Module):
    """3x3 blocks of a 16-channel map (stride 2, padding 1) through a Linear per block, folded back and summed."""

    def __init__(self, c=16, k=3):
        super().__init__()
        self.unfold = nn.Unfold(k, padding=1, stride=2)
        self.mix = nn.Linear(c * k * k, c * k * k)
        self.fold = nn.Fold((14, 14), k, padding=1, stride=2)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x):
        cols = self.unfold(x)  # N x C*9 x L
        cols = self.mix(cols.transpose(1, 2)).transpose(1, 2)
        return self.proj(self.fold(cols))


def cases() -> dict:
    """name -> (module factory, input shape); `fold_only` is nn.Fold alone: what the tools print for it is recorded."""
    return {"fold_only": (lambda: nn.Fold((14, 14), 3, padding=1, stride=2), (1, 144, 49)),
            "fold_blocks": (FoldBlocks, (1, 16, 14, 14)),
            "volo_d1_224": (lambda: __import__("timm").create_model("volo_d1_224", pretrained=False),
                            (1, 3, 224, 224))}


def measure(name: str, case: tuple, model, x, full: str) -> dict:
    """torch's figures for one case, what TorchScript says at opset 17, and its opset-18 export at `full`."""
    truth = torch_truth.measure(model, x, modules=False)
    try:
        torch.onnx.export(model, (x,), full, opset_version=17, dynamo=False)
        opset17 = "exported"
    except Exception as e:  # noqa: BLE001 - what the exporter says is the record
        opset17 = f"refused: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
    try:  # TorchScript writes Col2Im for a constant output size only; dynamo otherwise (timm's VOLO)
        torch.onnx.export(model, (x,), full, opset_version=18, dynamo=False, input_names=["x"], output_names=["y"])
        exporter = "TorchScript opset 18"
    except Exception:  # noqa: BLE001 - then the dynamo exporter, as costcalc.analyze(module) does
        torch.onnx.export(model, (x,), full, opset_version=18, dynamo=True, external_data=True, optimize=False,
                          input_names=["x"], output_names=["y"])
        exporter = "dynamo opset 18 (TorchScript's opset 18 fails: the fold's size is the input's)"
    entry = {"params": truth["params"], "macs": truth["macs"], "macs_by_op": truth["macs_by_op"],
             "input": list(x.shape), "outputs": truth["outputs"], "opset17": opset17, "exporter": exporter}
    if name == "fold_only":
        from tool_flops import tool_flops

        entry["tools"] = {tool: tool_flops(tool, case[0]().eval(), x) for tool in ("fvcore", "ptflops", "thop")}
    return entry


def main() -> int:
    return truth_cases.run(__doc__, "fold", cases(), measure, tolerance=(1e-3, 1e-4))


if __name__ == "__main__":
    sys.exit(main())
