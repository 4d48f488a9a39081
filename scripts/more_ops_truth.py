"""What fvcore 0.1.5, ptflops 0.7.5 (pytorch backend) and thop 0.1.1 print for the torch forms of the generic tensor
layer's later ops (costcalc.ops.tensor_more, the unary thresholded_relu and shrink, lppool and rmsnorm): the truth the tool
conventions' rules for them are tested against (tests/test_more_ops.py).

Run by hand in the venv with torch and the tools (never dependencies of costcalc):

    nice -n 10 /work/TV/bin/python scripts/more_ops_truth.py

Each probe is one torch call on a 1 x 8 x 6 x 6 input (the spec op, its arguments and the call are recorded beside
the figures) and goes to tests/data/more_ops_tools.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tool_flops import Lambda, tool_flops  # noqa: E402

INDEX = torch.arange(4).view(1, 1, 4, 1).expand(1, 8, 4, 6).contiguous()  # a fixed index
SCATTER = torch.arange(5).view(1, 1, 1, 5).expand(1, 8, 6, 5).contiguous()

PROBES = {  # name -> (spec op, its arguments, the torch call, its source text)
    "cumsum": ("cumsum", {"axis": -1}, lambda x: torch.cumsum(x, -1), "torch.cumsum(x, -1)"),
    "cumprod": ("cumprod", {"axis": -1}, lambda x: torch.cumprod(x, -1), "torch.cumprod(x, -1)"),
    "hardmax": ("hardmax", {"axis": 1}, lambda x: F.one_hot(x.argmax(1), 8).permute(0, 3, 1, 2).float(),
                "F.one_hot(x.argmax(1), 8).permute(0, 3, 1, 2).float()"),
    "trilu": ("trilu", {}, lambda x: torch.triu(x), "torch.triu(x)"),
    "lp_normalization": ("lp_normalization", {"axis": 1, "p": 2}, lambda x: F.normalize(x, p=2.0, dim=1),
                         "F.normalize(x, p=2.0, dim=1)"),
    "lrn": ("lrn", {"size": 5}, nn.LocalResponseNorm(5), "nn.LocalResponseNorm(5)"),
    "gather_elements": ("gather_elements", {"axis": 2, "index": [8, 4, 6]}, lambda x: torch.gather(x, 2, INDEX),
                        "torch.gather(x, 2, index)"),
    "scatter": ("scatter", {}, lambda x: x.scatter(-1, SCATTER, x[..., :5]), "x.scatter(-1, index, x[..., :5])"),
    "topk": ("topk", {"k": 3, "axis": -1}, lambda x: torch.topk(x, 3, -1)[0], "torch.topk(x, 3, -1)"),
    "thresholded_relu": ("thresholded_relu", {}, nn.Threshold(1.0, 0.0), "nn.Threshold(1.0, 0.0)"),
    "shrink": ("shrink", {}, nn.Hardshrink(0.5), "nn.Hardshrink(0.5)"),
    "lppool": ("lppool", {"k": [3, 3], "stride": [2, 2], "p": 2}, nn.LPPool2d(2, 3, stride=2),
               "nn.LPPool2d(2, 3, stride=2)"),
    "lppool_p3": ("lppool", {"k": [2, 2], "p": 3}, nn.LPPool2d(3, 2), "nn.LPPool2d(3, 2)"),
    "rmsnorm": ("rmsnorm", {"axis": -1}, nn.RMSNorm(6), "nn.RMSNorm(6)"),
    "rmsnorm_plain": ("rmsnorm", {"axis": -2, "affine": False}, nn.RMSNorm([6, 6], elementwise_affine=False),
                      "nn.RMSNorm([6, 6], elementwise_affine=False)"),
}


def main() -> int:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    x = torch.randn(1, 8, 6, 6)
    out = {}
    for name, (op, args, call, text) in PROBES.items():
        model = call if isinstance(call, nn.Module) else Lambda(call)
        out[name] = {"op": op, "args": args, "torch": text, "input": list(x.shape[1:]),
                     "tools": {tool: tool_flops(tool, model, x) for tool in ("fvcore", "ptflops", "thop")}}
        print(name, out[name]["tools"], flush=True)
    out["_run"] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "torch": torch.__version__}
    path = os.path.join(HERE, "..", "tests", "data", "more_ops_tools.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
