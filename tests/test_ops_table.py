"""docs/ops.md, the op table README links to: every op of the registry (and every alias) is in its argument table
and in its counting-rule table, and the per-element costs the rule table states are the ones costcalc counts."""

import re

import pytest

from conftest import ROOT
from costcalc.ops import ALIASES, OPS, REQUIRED

PAGE = (ROOT / "docs" / "ops.md").read_text()
ARGUMENTS, RULES = (section for section in PAGE.split("## Counting rules"))
X = (8, 6, 6)
N = 8 * 6 * 6


def _rows(text: str) -> dict:
    """First cell's op names -> the row's other cells, for every table row naming ops in backquotes."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            first, *rest = [cell.strip() for cell in line.strip("|").split("|")]
            rows[tuple(re.findall(r"`(\w+)`", first))] = rest
    return rows


def test_every_op_and_alias_is_in_the_argument_table():
    named = {name for names in _rows(ARGUMENTS) for name in names}
    assert set(OPS) <= named and set(ALIASES) <= named


def test_every_op_has_a_counting_rule():
    named = {name for names in _rows(RULES) for name in names}
    assert set(OPS) <= named


def _per_element(cell: str) -> list:
    """'n / 2n / 2n' -> [1, 2, 2]; '2n (scale, shift)' -> [2]."""
    return [int(m.group(1) or 1) for m in re.finditer(r"(?:^|/ )(\d*)n\b", cell)]


SIMPLE = [(names, cells[1]) for names, cells in _rows(RULES).items()
          if all(name in OPS and OPS[name].min_inputs == 1
                  and all(arg.default is not REQUIRED for arg in OPS[name].args.values()) for name in names)
          and re.match(r"\d*n\b", cells[1])]


@pytest.mark.parametrize("names, cell", SIMPLE, ids=["/".join(n) for n, _ in SIMPLE])
def test_the_stated_per_element_costs_are_the_counted_ones(names, cell):
    stated = _per_element(cell)
    stated = stated * len(names) if len(stated) == 1 else stated  # one cost stated for every op of the row
    assert len(stated) == len(names), cell
    for name, per_element in zip(names, stated):
        binary = "param" in OPS[name].args and "value" in OPS[name].args  # the second operand: a constant
        result = OPS[name].apply([X], {"value": 2.0} if binary else {})
        assert result.elementwise_flops == per_element * N, name


def test_the_simple_rows_cover_the_activations():
    covered = {name for names, _ in SIMPLE for name in names}
    assert {"bn", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "swish", "hardsigmoid", "hardswish",
            "mish", "layer_scale"} <= covered
