"""Every shipped spec that carries published figures computes them: exact ones to the unit, others within
their stated tolerance."""

import pytest

from conftest import SPECS
from costcalc.analysis import analyse
from costcalc.graph import load
from costcalc.spec.model import read_spec

SPEC_FILES = sorted(p for p in SPECS.rglob("*.yaml"))
PUBLISHED = [p for p in SPEC_FILES if read_spec(str(p)).published]


def test_the_core_specs_carry_published_figures():
    names = {p.name for p in PUBLISHED}
    assert {"resnet50.yaml", "resnext50_32x4d.yaml", "shufflenet_v2_x1_0.yaml"} <= names


def tolerance_of(published, key: str) -> float:
    """`tolerance: 0.03` covers every figure; `tolerance: {flops: 0.02}` only the ones it names."""
    tolerance = published.get("tolerance", 0)
    return tolerance.get(key, 0) if isinstance(tolerance, dict) else tolerance


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: p.stem)
def test_published_figures(path):
    spec = read_spec(str(path))
    totals = analyse(load(str(path))).totals
    checked = 0
    for key in ("params", "flops"):
        if key not in spec.published:
            continue
        tolerance = tolerance_of(spec.published, key)
        want = spec.published[key]
        got = getattr(totals, key)
        assert isinstance(got, int)
        if tolerance:
            assert abs(got - want) <= tolerance * want, f"{key}: {got:,} vs published {want:,}"
        else:
            assert got == want, f"{key}: {got:,} vs published {want:,}"
        checked += 1
    assert checked


@pytest.mark.parametrize(
    "name, params, flops",
    [
        ("resnet50", 25_557_032, 4_089_184_256),
        ("resnext50_32x4d", 25_028_904, 4_230_479_872),
        ("shufflenet_v2_x1_0", 2_278_604, 144_907_992),
    ],
)
def test_core_issue_figures(name, params, flops):
    """The figures the core issue names, written here independently of the specs' own `published` sections."""
    totals = analyse(load(str(SPECS / f"{name}.yaml"))).totals
    assert (totals.params, totals.flops) == (params, flops)
