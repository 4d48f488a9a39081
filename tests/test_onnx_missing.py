"""Without the onnx package (the optional extra), an .onnx file is one located error naming the extra to install,
and YAML specs work as before. Runs whether or not onnx is installed: the package is hidden from the import."""

import sys

from costcalc.errors import SpecError


def test_onnx_file_without_the_onnx_package(tmp_path, run, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    path = tmp_path / "model.onnx"
    path.write_bytes(b"")
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == f"{path}:1:1: error: reading ONNX files needs the onnx package: pip install 'costcalc[onnx]'\n"
    assert run("report", "specs/resnet50.yaml").exit_code == 0


def test_the_error_is_typed(tmp_path, monkeypatch):
    import pytest

    from costcalc.graph import load

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(SpecError):
        load(str(tmp_path / "absent.onnx"))
