"""A torch.nn.Module, read without a file: exported with the user's own torch into a temporary ONNX file, then
imported like any ONNX file (module paths kept as the layers' names). costcalc never imports torch itself: only a
module the caller built with it brings it here.

The export keeps what the module holds: no constant folding (batchnorms stay separate layers, a relative-position
bias table stays a table gathered by its index), the weights left out of the file (`export_params=False`: their
shapes are all costcalc reads), the module in eval mode (its training mode is restored after). The exporter's own
warnings (constant folding it skipped, tracing a Python value) are not shown: they are about the file, which the
caller never sees, and costcalc's report says what it read. It is written at opset 17, or, when that fails, at 18
(torch writes nn.Fold only from 18 on, as Col2Im), by the dynamo exporter when TorchScript's fails there too; when
every one fails, the error names each failure, the first first. The file lists the module's parameters by name (as
the dynamo exporter's graph signature does), so that a one-value parameter of the top module (`self.alpha`) counts
as learned, which its plain name alone would not tell (costcalc.importers.onnx.batch.learned_number)."""

from __future__ import annotations

import os
import tempfile
import warnings

from costcalc.errors import Loc, SpecError

TORCH_HINT = "a torch.nn.Module is exported with torch's own ONNX exporter, which needs torch and onnx installed"
# the first that exports: opset 17; nn.Fold (aten::col2im) from 18 on, where ONNX has Col2Im, which the
# TorchScript exporter writes only for a constant output size (timm's VOLO folds to the size of its input: dynamo)
ATTEMPTS = (("TorchScript", 17), ("TorchScript", 18), ("dynamo", 18))


def is_module(obj) -> bool:
    """Whether `obj` is a torch.nn.Module (checked by its classes' names: torch is not imported here)."""
    return any(c.__name__ == "Module" and c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def exported(module, input_shape: tuple, batch: int = 1) -> str:
    """The path of a temporary ONNX file of `module` at (batch, *input_shape); the caller removes it (`remove`)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - a module without torch cannot exist
        raise SpecError(TORCH_HINT, Loc("<module>")) from None
    if not input_shape:
        raise SpecError("a torch module needs its input's shape: costcalc.analyze(module, input='3x224x224')",
                        Loc("<module>"))
    folder = tempfile.mkdtemp(prefix="costcalc-module-")
    path = os.path.join(folder, f"{type(module).__name__}.onnx")
    training = module.training
    module.eval()
    failures = []
    try:
        example = torch.zeros(batch, *input_shape)
        for exporter, opset in ATTEMPTS:
            try:
                _export(torch, module, example, path, exporter, opset)
                break
            except Exception as e:  # noqa: BLE001 - the exporter's own error is the message
                failures.append(f"{exporter} exporter at opset {opset}: {type(e).__name__}: "
                                f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}")
        else:
            remove(path)
            raise SpecError(f"torch could not export {type(module).__name__} to ONNX: the "
                            + "; nor the ".join(failures), Loc("<module>"))
    finally:
        module.train(training)
    _list_parameters(path, module)
    return path


def _export(torch, module, example, path: str, exporter: str, opset: int) -> None:
    """One export of `module` to `path`: TorchScript without the weights' values, or dynamo with them in a file
    beside it (its graph-only form drops the initializers altogether), unoptimised (its optimiser folds batchnorms)."""
    with torch.no_grad(), warnings.catch_warnings(), _quiet():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            torch.onnx.export(module, (example,), path, dynamo=True, opset_version=opset, external_data=True,
                              optimize=False, input_names=["input"], output_names=["output"])
        else:
            torch.onnx.export(module, (example,), path, dynamo=False, opset_version=opset, export_params=False,
                              do_constant_folding=False, input_names=["input"], output_names=["output"])


class _quiet:
    """Standard output and error sent nowhere, down to the file descriptors: torch's exporters print their
    progress and, when they fail, the whole graph from C++; the error costcalc raises says what failed."""

    def __enter__(self):
        import sys

        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        self.saved = [os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        import sys

        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)


def remove(path: str) -> None:
    """Remove an exported file, the weights' file beside it (dynamo's) and their temporary folder."""
    import shutil

    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def _list_parameters(path: str, module) -> None:
    """Write the names of `module`'s parameters (shared ones under each name) into the file's metadata."""
    import onnx

    from costcalc.importers.onnx.batch import MODULE_PARAMETERS

    model = onnx.load(path, load_external_data=False)
    entry = model.graph.metadata_props.add()
    entry.key = MODULE_PARAMETERS
    entry.value = "\n".join(name for name, _ in module.named_parameters(remove_duplicate=False))
    onnx.save(model, path)
