"""Torch's own figures for a module: the ground truth the ONNX importer and the spec language are tested against.

Shared by scripts/make_onnx_handwritten_fixtures.py, scripts/onnx_model_truth.py and scripts/hybrid_truth.py (run
by hand in the venv with torch; never a dependency of costcalc). For one module and one input it measures:

- `params`: torch's `sum(p.numel() for p in model.parameters())`.
- `macs`: multiply-adds, `torch.utils.flop_counter.FlopCounterMode`'s total halved. FlopCounterMode counts
  2 x multiply-adds for aten's convolution (and transposed convolution), mm, addmm, bmm, baddbmm and its fused
  attention kernels, nothing else (no bias, no element-wise op, no normalisation, no pooling).
- `macs_by_op`: the same per aten op, and `macs_by_module` / `params_by_module`: per module path (a module called
  twice counts twice; the root is "").
- `outputs`: the output shapes (a tuple or dict of outputs in order).

Attention is counted as its matmuls: the forward runs under `sdpa_kernel(SDPBackend.MATH)` (on CPU,
`scaled_dot_product_attention` otherwise runs `_scaled_dot_product_flash_attention_for_cpu`, which FlopCounterMode
has no formula for: it would count 0), with `torch.backends.mha` fast path off (nn.MultiheadAttention's
`_native_multi_head_attention` is not counted either) and timm's fused attention off (`TIMM_FUSED_ATTN=0`, set
before timm is imported). Every aten op the forward runs is recorded, and one whose name says attention or
matmul-like work that FlopCounterMode did not count is an error, not a silent zero.
"""

from __future__ import annotations

import os

os.environ.setdefault("TIMM_FUSED_ATTN", "0")  # read by timm when it is imported

import torch  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

# aten ops that multiply two tensors (or hide such products): each one run must be one FlopCounterMode counted
PRODUCTS = {"matmul", "einsum", "linear", "mm", "bmm", "addmm", "baddbmm", "addbmm", "addmv", "mv", "dot", "vdot",
            "tensordot", "convolution", "_convolution", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
            "conv_transpose2d", "conv_transpose3d", "_scaled_mm", "_int_mm", "bilinear", "_trilinear"}


def _product(op: str) -> bool:
    return "attention" in op or op in PRODUCTS or op.startswith(("mkldnn_conv", "mkldnn_linear", "cudnn_conv",
                                                                  "_slow_conv", "slow_conv", "thnn_conv"))


class _OpsSeen(TorchDispatchMode):
    """Every aten op that reaches the dispatcher during the forward (below FlopCounterMode's view)."""

    def __init__(self):
        super().__init__()
        self.ops: set = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(str(func.overloadpacket))
        return func(*args, **(kwargs or {}))


def fused_attention_off() -> None:
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        import timm.layers

        timm.layers.set_fused_attn(False)
    except ImportError:
        pass


def shapes(output) -> list:
    if isinstance(output, torch.Tensor):
        return [list(output.shape)]
    if isinstance(output, dict):
        return [s for v in output.values() for s in shapes(v)]
    if isinstance(output, (tuple, list)):
        return [s for v in output for s in shapes(v)]
    return []


def params_by_module(model) -> dict:
    return {name: sum(p.numel() for p in module.parameters()) for name, module in model.named_modules()}


def measure(model, x, modules: bool = True, depth: int | None = None, device: str = "cpu") -> dict:
    """Torch's figures for `model(x)` (batch of one). `device="meta"` runs the forward on meta tensors (shapes only:
    no arithmetic, no memory for activations); FlopCounterMode counts the same there."""
    fused_attention_off()
    model = model.eval()
    if device == "meta":
        model = model.to("meta")
        x = x.to("meta")
    counter = FlopCounterMode(display=False, depth=None)
    seen = _OpsSeen()
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter, seen:
        out = model(x)
    counts = counter.get_flop_counts()
    counted = {str(op.overloadpacket) if hasattr(op, "overloadpacket") else str(op) for op in counts.get("Global", {})}
    missed = sorted(op for op in seen.ops if _product(op.split(".")[-1]) and op not in counted)
    if missed:
        raise RuntimeError(f"aten ops that multiply tensors but FlopCounterMode did not count: {missed}")
    total = counter.get_total_flops()
    assert total % 2 == 0, total
    result = {
        "params": sum(p.numel() for p in model.parameters()),
        "macs": total // 2,
        "macs_by_op": {str(op): n // 2 for op, n in sorted(counts.get("Global", {}).items(), key=str)},
        "outputs": shapes(out),
        "device": device,
    }
    if modules:
        root = type(model).__name__
        per_module = {}
        for key, ops in counts.items():
            if key == "Global":
                continue
            path = "" if key == root else key[len(root) + 1:] if key.startswith(root + ".") else key
            if depth is not None and path and path.count(".") >= depth:
                continue
            per_module[path] = sum(ops.values()) // 2
        p = params_by_module(model)
        if depth is not None:
            p = {k: v for k, v in p.items() if not k or k.count(".") < depth}
        result["macs_by_module"] = dict(sorted(per_module.items()))
        result["params_by_module"] = p
    return result


def versions() -> dict:
    import torchvision

    v = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    for name in ("timm", "onnx", "onnxscript", "onnxruntime"):
        try:
            v[name] = __import__(name).__version__
        except ImportError:
            pass
    return v
