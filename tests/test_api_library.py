"""Issue 28, thin commands: the library work the commands did in cli.py (a graph with its options' blame, a report
with its thresholds and estimate) is costcalc.api's, and the commands' output is what it returns."""

import pytest

from conftest import ROOT
from costcalc.api import checked, walk
from costcalc.errors import SpecError

PROFILE = str(next((ROOT / "devices").glob("*.yaml")))


def test_walk_reads_zoo_names_and_blames_the_option():
    assert walk("resnet18").name == "resnet18"
    with pytest.raises(SpecError) as error:
        walk("specs/shufflenet_v1.yaml", {"groups": "5"})
    assert str(error.value).endswith("(from --set groups=5)")
    with pytest.raises(SpecError, match=r"\(from --input 3x1x1\)$"):
        walk("examples/first.yaml", shape=(3, 1, 1))


def test_checked_attaches_thresholds_and_the_estimate(run):
    graph = walk("specs/resnet50.yaml")
    assert not checked(graph).guidelines["G1"].passed  # ResNet-50's 1:4 bottleneck convs
    report = checked(graph, {"G1.max_ratio": 5, "G1.max_excess": 0.5})
    assert report.guidelines["G1"].passed and report.latency is None
    timed = checked(graph, device=PROFILE)
    assert timed.latency is not None and timed.latency_costs
    cli = run("report", "specs/resnet50.yaml", "--device", PROFILE, "--format", "json")
    import json

    assert json.loads(cli.stdout)["totals"]["latency_s"] == timed.latency_s


def _imported_by(module: str) -> set:
    import subprocess
    import sys

    code = f"import sys, {module}; print(' '.join(sorted(m for m in sys.modules if m.startswith('costcalc'))))"
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=ROOT).stdout.split())


def test_importing_the_cli_imports_no_command():
    """cli.py holds the group and the shared options: the commands are imported when named, and import those."""
    assert {m for m in _imported_by("costcalc.cli") if m.startswith("costcalc.commands")} == set()
