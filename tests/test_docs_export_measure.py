"""Every command shown in docs/export.md and docs/measure.md runs, and the Python examples there run too (in a
scratch directory where `specs/` is the repository's)."""

import os
import re
import shlex

import pytest
from click.testing import CliRunner

from conftest import ROOT

pytest.importorskip("onnx")


def _blocks(page: str, language: str) -> list:
    text = (ROOT / "docs" / page).read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def _commands(page: str) -> list:
    lines = [line.split("#")[0].strip() for block in _blocks(page, "sh") for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("costcalc ")]


@pytest.fixture
def scratch(tmp_path):
    os.symlink(ROOT / "specs", tmp_path / "specs")
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)


@pytest.mark.parametrize("page", ["export.md", "measure.md"])
def test_shown_commands_run(page, scratch):
    if page == "measure.md":
        pytest.importorskip("onnxruntime")
    from costcalc.cli import main

    commands = _commands(page)
    assert commands
    for args in commands:
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.stderr)


def test_shown_python_runs(scratch):
    pytest.importorskip("onnxruntime")
    (code,) = _blocks("export.md", "python")
    exec(compile(code, "export.md", "exec"), {})
    (code,) = _blocks("measure.md", "python")
    code = code.replace("runs=10", "runs=1").replace("warmup=3", "warmup=0")  # the same calls, quicker
    exec(compile(code, "measure.md", "exec"), {})
