"""Importers: read a model file of another format and produce a costcalc spec (costcalc.spec.model.Spec).

The file's extension selects the importer; any other file is read as a YAML spec.
"""

from __future__ import annotations

import os

IMPORTERS = {".onnx": "costcalc.importers.onnx"}


def importer_for(path: str):
    """The importer module for `path`, or None when it is a YAML spec."""
    name = IMPORTERS.get(os.path.splitext(path)[1].lower())
    if name is None:
        return None
    import importlib

    return importlib.import_module(name)


def read_model(path: str, input_shape: tuple | None = None):
    """The Spec of `path`: imported when its extension names a format costcalc imports, else read as YAML.
    `input_shape` (per sample) is the resolution an import is made at (a YAML spec takes it later, in the walk)."""
    module = importer_for(path)
    if module is None:
        from costcalc.spec.reader import read_spec

        return read_spec(path)
    return module.read_spec(path, input_shape)
