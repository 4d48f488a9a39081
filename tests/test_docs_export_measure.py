"""The Python examples of docs/export.md and docs/measure.md run (in a scratch directory where `specs/` is the
repository's); their shell commands are run by tests/test_docs_examples.py with every other page's."""

import os
import re

import pytest

from conftest import ROOT

pytest.importorskip("onnx")


def _blocks(page: str, language: str) -> list:
    text = (ROOT / "docs" / page).read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.fixture
def scratch(tmp_path):
    os.symlink(ROOT / "specs", tmp_path / "specs")
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)


def test_shown_python_runs(scratch):
    pytest.importorskip("onnxruntime")
    (code,) = _blocks("export.md", "python")
    exec(compile(code, "export.md", "exec"), {})
    (code,) = _blocks("measure.md", "python")
    code = code.replace("runs=10", "runs=1").replace("warmup=3", "warmup=0")  # the same calls, quicker
    exec(compile(code, "measure.md", "exec"), {})
