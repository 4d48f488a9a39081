import gzip
import os
import pathlib

import pytest
from click.testing import CliRunner

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GOLDEN = ROOT / "tests" / "golden"


def assert_golden(name: str, text: str) -> None:
    """`text` equals tests/golden/<name>; COSTCALC_REFRESH_GOLDEN=1 rewrites the file on purpose instead."""
    path = GOLDEN / name
    if os.environ.get("COSTCALC_REFRESH_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"{name} missing: run COSTCALC_REFRESH_GOLDEN=1 pytest"
    assert text == path.read_text(), f"output differs from {path} (COSTCALC_REFRESH_GOLDEN=1 rewrites it)"


@pytest.fixture
def run():
    """Run the costcalc CLI in-process: run("report", "specs/x.yaml") -> click Result (exit_code, stdout, stderr)."""
    from costcalc.cli import main

    def invoke(*args, env=None):
        runner = CliRunner()
        old = os.getcwd()
        os.chdir(ROOT)
        try:
            # COLUMNS sets the table's width: unset unless a test gives it, so output is the piped width
            return runner.invoke(main, [str(a) for a in args], env={"COLUMNS": None, **(env or {})},
                                 catch_exceptions=False)
        finally:
            os.chdir(old)

    return invoke


@pytest.fixture
def write_spec(tmp_path):
    """write_spec("text") -> path of a spec file holding that text."""

    def write(text: str, name: str = "spec.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def pytest_addoption(parser):
    parser.addoption("--cases-every", type=int, default=1, metavar="N",
                     help="of each parametrized test, run only its cases 0, N, 2N, ... (every test function still "
                          "runs): CI's lowest-versions stage, whose every case the other stages run")


def pytest_collection_modifyitems(config, items):
    """Tests marked `fuzz` (the long fuzz run) run only when asked for: `pytest -m fuzz`. With --cases-every N,
    the cases of each parametrized test but every N-th are deselected (the same ones on every xdist worker)."""
    every = config.getoption("--cases-every")
    if every > 1:
        seen: dict = {}
        kept, dropped = [], []
        for item in items:
            if getattr(item, "callspec", None) is None:
                kept.append(item)
                continue
            key = (item.nodeid.split("::")[0], item.originalname)
            seen[key] = seen.get(key, -1) + 1
            (kept if seen[key] % every == 0 else dropped).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
    if "fuzz" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="long fuzz run: pytest -m fuzz")
    for item in items:
        if "fuzz" in item.keywords:
            item.add_marker(skip)


def onnx_fixture(folder, name: str, tmp_path) -> str:
    """The path of fixture NAME in `folder`: NAME.onnx, or NAME.onnx.gz unpacked into tmp_path (the large graphs
    are kept gzipped)."""
    path = folder / f"{name}.onnx"
    if path.exists():
        return str(path)
    unpacked = tmp_path / path.name
    unpacked.write_bytes(gzip.decompress((folder / f"{name}.onnx.gz").read_bytes()))
    return str(unpacked)
