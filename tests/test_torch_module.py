"""`costcalc.analyze(module, input=...)`: a torch.nn.Module read without a file (costcalc/importers/torch_module.py).

Without torch (as in CI) only the errors are checked: a module-like object whose torch cannot be imported, and a
module without its input shape. Where torch and onnx are installed (the scripts' venv: `pip install pytest` there
and run `PYTHONPATH=. python -m pytest tests/test_torch_module.py`), a module written by hand in the styles people
use is analysed and its totals compared with torch's own: `sum(p.numel())` and `FlopCounterMode` halved."""

import sys
import warnings

import pytest

import costcalc
from costcalc.errors import SpecError


def _fake_module():
    """An object whose class derives from a class named Module of torch.nn, as a real module's does."""
    Module = type("Module", (), {"__module__": "torch.nn.modules.module"})
    return type("Net", (Module,), {})()


def test_a_module_without_torch_is_one_located_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    with pytest.raises(SpecError) as e:
        costcalc.analyze(_fake_module(), input="3x8x8")
    assert str(e.value).startswith("<module>:1:1: error: ") and "needs torch and onnx installed" in str(e.value)
    assert "\n" not in str(e.value)


def test_a_module_needs_its_input_shape():
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    import torch

    with pytest.raises(SpecError, match=r"needs its input's shape: costcalc.analyze\(module, input="):
        costcalc.analyze(torch.nn.Conv2d(3, 8, 3))


def _handwritten():
    """A small network in the styles of hand-written code: conv + batchnorm, a squeeze-excite through `view`,
    hardswish as x * relu6(x + 3) / 6, a learned scalar, attention over tokens with `@` and softmax, a LayerNorm, a
    Linear applied twice (one module at two places), mean pooling and a classifier."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class SE(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(c, c // 4), nn.Linear(c // 4, c)

        def forward(self, x):
            n, c = x.shape[:2]
            return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3))))).view(n, c, 1, 1))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
            self.se = SE(16)
            self.alpha = nn.Parameter(torch.ones(1))
            self.norm = nn.LayerNorm(16)
            self.qkv = nn.Linear(16, 48)
            self.mix = nn.Linear(16, 16)
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            x = self.stem(x)
            x = x * F.relu6(x + 3) / 6
            x = self.se(x) * self.alpha
            t = self.norm(x.flatten(2).transpose(1, 2))
            q, k, v = self.qkv(t).chunk(3, dim=-1)
            a = (q @ k.transpose(-2, -1) / 4).softmax(-1)
            t = self.mix(self.mix(a @ v)) + t
            return self.head(t.mean(1))

    torch.manual_seed(0)
    return Net()


def test_a_handwritten_module_reads_torchs_own_counts():
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from torch.utils.flop_counter import FlopCounterMode

    module = _handwritten()
    module.train()
    with FlopCounterMode(display=False) as counter:
        module.eval()(torch.zeros(1, 3, 32, 32))
    module.train()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the exporter's own warnings are not the caller's business
        report = costcalc.analyze(module, input="3x32x32")
    assert report.totals.params == sum(p.numel() for p in module.parameters())
    assert report.totals.flops == counter.get_total_flops() // 2
    assert module.training  # its mode restored
    names = {layer.name for layer in report.layers}  # the module paths, as the exporter's scopes name them
    assert {"stem", "se", "qkv", "mix", "head"} <= {name.split(".")[0] for name in names}, sorted(names)
    assert report.model == "Net (torch module)"
