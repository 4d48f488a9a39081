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


def _folding(dynamic: bool):
    """nn.Unfold, a Linear per block, F.fold back: VOLO's outlook attention in small. `dynamic`: the fold's size
    taken from the input's shape, as timm's VOLO writes it (TorchScript's opset-18 Col2Im needs a constant size)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Fold(nn.Module):
        def __init__(self):
            super().__init__()
            self.mix = nn.Linear(8 * 9, 8 * 9)

        def forward(self, x):
            size = x.shape[-2:] if dynamic else (12, 12)
            cols = self.mix(F.unfold(x, 3, padding=1, stride=2).transpose(1, 2)).transpose(1, 2)
            return F.fold(cols, size, 3, padding=1, stride=2)

    torch.manual_seed(0)
    return Fold()


@pytest.mark.parametrize("dynamic", [False, True])
def test_a_fold_exports_at_opset_18_and_reads_torchs_own_counts(dynamic):
    """nn.Fold exports from opset 18 on: the opset-17 export fails and the module is read at 18 (TorchScript's, or
    dynamo's when the fold's size comes from the input)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from torch.utils.flop_counter import FlopCounterMode

    module = _folding(dynamic)
    with FlopCounterMode(display=False) as counter:
        module.eval()(torch.zeros(1, 8, 12, 12))
    report = costcalc.analyze(module, input="8x12x12")
    assert report.totals.params == sum(p.numel() for p in module.parameters())
    assert report.totals.flops == counter.get_total_flops() // 2
    assert "col2im" in {layer.op for layer in report.layers}


def test_a_module_no_exporter_writes_names_the_first_failure_first():
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")

    class Sorts(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.svd(x)[1]

    with pytest.raises(SpecError) as e:
        costcalc.analyze(Sorts(), input="3x4x4")
    message = str(e.value)
    assert message.startswith("<module>:1:1: error: torch could not export Sorts to ONNX: the TorchScript exporter "
                              "at opset 17: ") and "\n" not in message
