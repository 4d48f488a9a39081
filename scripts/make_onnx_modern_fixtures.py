"""Real ONNX exports of small modules built from the modern ops (GELU in both forms, Mish, GroupNorm, LayerNorm on
a channels-last tensor, torchvision's CNBlock with its layer scale and stochastic depth, ConvTranspose2d, resizing,
padding, softmax, hardtanh, index_select, a channel slice) -> graph-only test fixtures and torch's own figures.

Run by hand, in the venv with torch and torchvision (never dependencies of costcalc):

    /work/TV/bin/python scripts/make_onnx_modern_fixtures.py [--out tests/fixtures/onnx/modern]

Each module is exported by the TorchScript exporter at opsets 17 and 20 (Gelu has its own node from 20; before it
torch writes the formula) and by the dynamo exporter at opset 18, then stripped like the model fixtures
(scripts/make_onnx_fixtures.py). `expected.json` holds per file torch's parameter count and the multiply-adds of
every Conv2d, ConvTranspose2d and Linear from forward hooks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings

import torch
import torch.nn.functional as F
from torchvision.models.convnext import CNBlock, LayerNorm2d

sys.path.insert(0, os.path.dirname(__file__))
from make_onnx_fixtures import export, strip  # noqa: E402

STYLES = ("ts17", "ts20", "dyn18")
INPUT = (1, 3, 16, 16)


class Activations(torch.nn.Module):
    """conv, GELU (tanh), conv 1x1, GELU (erf), Mish, hardtanh, softmax over the channels."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.gelu_tanh = torch.nn.GELU(approximate="tanh")
        self.conv2 = torch.nn.Conv2d(8, 8, 1)
        self.gelu = torch.nn.GELU()
        self.mish = torch.nn.Mish()
        self.hardtanh = torch.nn.Hardtanh(-0.5, 0.7)
        self.softmax = torch.nn.Softmax(dim=1)

    def forward(self, x):
        x = self.gelu(self.conv2(self.gelu_tanh(self.conv1(x))))
        return self.softmax(self.hardtanh(self.mish(x)))


class Norms(torch.nn.Module):
    """conv, GroupNorm, dropout, LayerNorm2d (channels last inside), a CNBlock (7x7 depthwise conv, LayerNorm on the
    permuted tensor, Linear 4C, GELU, Linear C, layer scale, stochastic depth, residual), GroupNorm without
    affine parameters."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.groupnorm = torch.nn.GroupNorm(2, 8)
        self.dropout = torch.nn.Dropout(0.2)
        self.norm = LayerNorm2d(8, eps=1e-6)
        self.block = CNBlock(8, layer_scale=1e-6, stochastic_depth_prob=0.1)
        self.plain = torch.nn.GroupNorm(4, 8, affine=False)

    def forward(self, x):
        return self.plain(self.block(self.norm(self.dropout(self.groupnorm(self.conv(x))))))


class Resampling(torch.nn.Module):
    """conv, ConvTranspose2d (stride 2), nearest upsampling x2, bilinear resize to 40 x 24, constant padding of
    0.5, index_select of 5 channels, a channel slice, adaptive average pooling to 1 x 1, flatten, linear."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.up = torch.nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1)
        self.register_buffer("index", torch.tensor([5, 0, 3, 3, 1]))
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(3, 10)

    def forward(self, x):
        x = self.up(self.conv(x))
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = F.interpolate(x, size=(40, 24), mode="bilinear", align_corners=False)
        x = F.pad(x, (1, 2, 0, 3), value=0.5)
        x = torch.index_select(x, 1, self.index)[:, 1:4]
        return self.fc(torch.flatten(self.pool(x), 1))


MODULES = {"activations": Activations, "norms": Norms, "resampling": Resampling}


def torch_flops(model, x) -> int:
    """Multiply-adds of Conv2d, ConvTranspose2d and Linear from forward hooks (per sample)."""
    total = 0

    def conv(module, inputs, output):
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    def transposed(module, inputs, output):  # every input element times its out/groups x kh x kw weights
        nonlocal total
        kh, kw = module.kernel_size
        total += inputs[0].numel() * (module.out_channels // module.groups) * kh * kw

    def linear(module, inputs, output):
        nonlocal total
        total += output.numel() * module.in_features

    kinds = ((torch.nn.Conv2d, conv), (torch.nn.ConvTranspose2d, transposed), (torch.nn.Linear, linear))
    handles = [m.register_forward_hook(hook) for m in model.modules() for kind, hook in kinds if type(m) is kind]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total // x.shape[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx",
                                                      "modern"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="costcalc-modern-")
    expected = {}
    for name, cls in MODULES.items():
        torch.manual_seed(0)
        model = cls().eval()
        with torch.no_grad():  # trained-like values: the dynamo exporter's optimiser drops all-zero biases
            for p in model.parameters():
                p.uniform_(-0.5, 0.5)
        x = torch.randn(*INPUT)
        for style in STYLES:
            key = f"{name}_{style}"
            path = os.path.join(work, key + ".onnx")
            export(model, x, path, style)
            facts = strip(path, os.path.join(args.out, key + ".onnx"))
            expected[key] = {"module": name, "style": style, "input": list(INPUT[1:]), "opset": facts["opset"],
                             "params": sum(p.numel() for p in model.parameters()), "flops": torch_flops(model, x),
                             "producer": facts["producer"]}
            print(key, expected[key])
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
