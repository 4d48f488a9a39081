"""A torch.nn.Module, read without a file: exported with the user's own torch into a temporary ONNX file, then
imported like any ONNX file (module paths kept as the layers' names). costcalc never imports torch itself: only a
module the caller built with it brings it here.

The export keeps what the module holds: no constant folding (batchnorms stay separate layers, a relative-position
bias table stays a table gathered by its index), the weights left out of the file (`export_params=False`: their
shapes are all costcalc reads), the module in eval mode (its training mode is restored after). The exporter's own
warnings (constant folding it skipped, tracing a Python value) are not shown: they are about the file, which the
caller never sees, and costcalc's report says what it read. The file lists the module's parameters by name (as
the dynamo exporter's graph signature does), so that a one-value parameter of the top module (`self.alpha`) counts
as learned, which its plain name alone would not tell (costcalc.importers.onnx.batch.learned_number)."""

from __future__ import annotations

import os
import tempfile
import warnings

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
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), path, dynamo=False, opset_version=OPSET, export_params=False,
                              do_constant_folding=False, input_names=["input"], output_names=["output"])
    except Exception as e:
        os.remove(path)
        raise SpecError(f"torch could not export {type(module).__name__} to ONNX ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''})", Loc("<module>")) from None
    finally:
        module.train(training)
    _list_parameters(path, module)
    return path


def _list_parameters(path: str, module) -> None:
    """Write the names of `module`'s parameters (shared ones under each name) into the file's metadata."""
    import onnx

    from costcalc.importers.onnx.batch import MODULE_PARAMETERS

    model = onnx.load(path)
    entry = model.graph.metadata_props.add()
    entry.key = MODULE_PARAMETERS
    entry.value = "\n".join(name for name, _ in module.named_parameters(remove_duplicate=False))
    onnx.save(model, path)
