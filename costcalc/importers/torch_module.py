"""A torch.nn.Module, read without a file: exported with the user's own torch into a temporary ONNX file, then
imported like any ONNX file (module paths kept as the layers' names). costcalc never imports torch itself: only a
module the caller built with it brings it here.

The export keeps what the module holds: no constant folding (batchnorms stay separate layers, a relative-position
bias table stays a table gathered by its index), the weights left out of the file (`export_params=False`: their
shapes are all costcalc reads), the module in eval mode (its training mode is restored after)."""

from __future__ import annotations

import os
import tempfile

from costcalc.errors import Loc, SpecError

TORCH_HINT = "a torch.nn.Module is exported with torch's own ONNX exporter, which needs torch and onnx installed"
OPSET = 17


def is_module(obj) -> bool:
    """Whether `obj` is a torch.nn.Module (checked by its classes' names: torch is not imported here)."""
    return any(c.__name__ == "Module" and c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def exported(module, input_shape: tuple, batch: int = 1) -> str:
    """The path of a temporary ONNX file of `module` at (batch, *input_shape); the caller removes it."""
    try:
        import torch
    except ImportError:  # pragma: no cover - a module without torch cannot exist
        raise SpecError(TORCH_HINT, Loc("<module>")) from None
    if not input_shape:
        raise SpecError("a torch module needs its input's shape: costcalc.analyze(module, input='3x224x224')",
                        Loc("<module>"))
    handle, path = tempfile.mkstemp(suffix=".onnx", prefix=f"{type(module).__name__}_")
    os.close(handle)
    training = module.training
    module.eval()
    try:
        example = torch.zeros(batch, *input_shape)
        with torch.no_grad():
            torch.onnx.export(module, (example,), path, dynamo=False, opset_version=OPSET, export_params=False,
                              do_constant_folding=False, input_names=["input"], output_names=["output"])
    except Exception as e:
        os.remove(path)
        raise SpecError(f"torch could not export {type(module).__name__} to ONNX ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''})", Loc("<module>")) from None
    finally:
        module.train(training)
    return path
