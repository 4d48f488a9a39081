"""The zoo ships in the wheel: built from this tree, the wheel holds every spec of specs/ as costcalc/specs/...,
and installed elsewhere `costcalc report resnet50` finds it (.ci/run runs that part after `pip install .`)."""

import importlib.util
import pathlib
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, SPECS


@pytest.mark.slow
def test_the_wheel_holds_the_zoo(tmp_path):
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("wheel") is not None else []
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *isolation, str(ROOT), "-w",
                             str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    if result.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {result.stderr[-300:]}")
    (wheel,) = tmp_path.glob("costcalc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"costcalc/specs/{p.relative_to(SPECS).as_posix()}" for p in SPECS.rglob("*.yaml")}
    assert len(shipped) > 40 and shipped <= names
    assert "costcalc/zoo.py" in names and "costcalc/commands/check.py" in names
    assert "costcalc/schema/spec.schema.json" in names
    assert not any(name.startswith(("specs/", "tests/")) for name in names)


def test_zoo_lookup_prefers_the_installed_package_data(monkeypatch, tmp_path):
    """With costcalc.specs importable (an installed wheel), the zoo is its directory, not the source tree."""
    import importlib.util
    from types import SimpleNamespace

    import costcalc.zoo as zoo

    (tmp_path / "resnet50.yaml").write_text("layers: []\n")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: SimpleNamespace(
        submodule_search_locations=[str(tmp_path)]) if name == "costcalc.specs" else real(name, *a))
    assert zoo.zoo_dir() == tmp_path
    assert zoo.resolve("resnet50") == str(tmp_path / "resnet50.yaml")
