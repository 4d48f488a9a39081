"""Issue 13, the spec language: exp, log, log2, range, len, sum and list comprehensions, enough to compute
RegNet's quantised widths from its four parameters (checked against torchvision's layouts, recorded by
scripts/regnet_widths.py in tests/data/regnet_torchvision.json)."""

import json
import math
import pathlib

import pytest

from costcalc.graph import load
from costcalc.spec.expr import MAX_LIST, ExprError, evaluate

DATA = json.loads((pathlib.Path(__file__).parent / "data" / "regnet_torchvision.json").read_text())["models"]


def value(text, **env):
    return evaluate(text, env.__getitem__)


@pytest.mark.parametrize("text, expected", [
    ("exp(0)", 1.0), ("log(exp(2))", 2.0), ("log(8, 2)", 3.0), ("log2(1024)", 10.0), ("range(4)", [0, 1, 2, 3]),
    ("range(2, 10, 3)", [2, 5, 8]), ("len(range(7))", 7), ("sum([1, 2, 3])", 6), ("max([4, 9, 2])", 9),
    ("min(3, 5)", 3), ("[j * j for j in range(4)]", [0, 1, 4, 9]), ("[j for j in range(10) if j % 3 == 0]", [0, 3, 6, 9]),
    ("[a * 10 + b for a in range(2) for b in range(2)]", [0, 1, 10, 11]), ("[w // 2 for w in ws]", [4, 8]),
    ("[sum([1 for v in ws if v == w]) for w in ws]", [1, 1]), ("[j for j in range(3)][-1]", 2),
])
def test_new_functions_and_comprehensions(text, expected):
    assert value(text, ws=[8, 16]) == expected


def test_a_comprehension_variable_hides_a_spec_variable_only_inside():
    assert value("[j + 1 for j in range(2)][1] + j", j=5) == 7


@pytest.mark.parametrize("text, message", [
    ("log(0)", "log(): math domain error"),
    ("range(1.5)", "range(): takes whole numbers"),
    (f"range({MAX_LIST + 1})", f"more than the limit of {MAX_LIST:,}"),
    ("[j for j in range(200) for k in range(200)]", f"more than the limit of {MAX_LIST:,} steps"),
    ("[j for j in 3]", "a comprehension runs over a list"),
    ("[[j] for j in range(3)]", "a list is used where a number belongs"),
    ("[a for (a, b) in range(3)]", "a comprehension names one variable"),
    ("exp(ws)", "a list is used where a number belongs"),
    ("exp(1000)", "exp(): math range error"),
])
def test_bad_uses_are_expression_errors(text, message):
    with pytest.raises(ExprError) as e:
        value(text, ws=[8, 16])
    assert message in str(e.value)


# RegNet (Radosavovic et al. 2020, "Designing Network Design Spaces", section 3.3): block j has width
# w_0 + w_a * j, quantised to w_0 * w_m ** round(log((w_0 + w_a j) / w_0) / log(w_m)), rounded to a multiple of 8;
# blocks of one width form a stage; torchvision then makes each width divisible by its group width.
REGNET_VARS = """
vars:
  depth: {depth}
  w_0: {w_0}
  w_a: {w_a}
  w_m: {w_m}
  group_width: {group_width}
  block_widths: "[int(round(w_0 * w_m ** round(log((w_0 + w_a * j) / w_0) / log(w_m)) / 8) * 8) for j in range(depth)]"
  plain_widths: "[block_widths[j] for j in range(depth) if j == 0 or block_widths[j] != block_widths[j - 1]]"
  depths: "[sum([1 for w in block_widths if w == s]) for s in plain_widths]"
  group_widths: "[min(group_width, w) for w in plain_widths]"
  widths: "[make_divisible(plain_widths[s], group_widths[s]) for s in range(len(plain_widths))]"
  groups: "[widths[s] // group_widths[s] for s in range(len(widths))]"
"""


@pytest.mark.parametrize("model", sorted(DATA))
def test_regnet_stage_widths_are_computed_as_torchvision_does(write_spec, model):
    params = DATA[model]["init_params"]
    path = write_spec("input: [3, 8, 8]\n" + REGNET_VARS.format(**params) + "layers: [relu]\n")
    variables = load(path).variables
    assert variables["depths"] == DATA[model]["stage_depths"]
    assert variables["widths"] == DATA[model]["stage_widths"]
    assert variables["groups"] == DATA[model]["stage_groups"]
    assert sum(variables["depths"]) == params["depth"]


def test_regnet_x_400mf_is_the_one_the_issue_names():
    assert DATA["regnet_x_400mf"]["init_params"] == {"depth": 22, "w_0": 24, "w_a": 24.48, "w_m": 2.54,
                                                     "group_width": 16, "se_ratio": None}
    assert DATA["regnet_x_400mf"]["stage_widths"] == [32, 64, 160, 400]
    assert math.isclose(DATA["regnet_x_400mf"]["published"]["gflops"], 0.414)
