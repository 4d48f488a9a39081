"""The JSON report's layout: indented like json.dumps(indent=1), each record of a list on one line; the text
always parses back to exactly the document."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from costcalc.analysis import analyse
from costcalc.graph import load
from costcalc.report.as_json import document, pretty, render
from conftest import SPECS

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                      max_leaves=30)


@given(values)
def test_pretty_parses_back_to_the_value(value):
    assert json.loads(pretty(value)) == value


def test_records_in_lists_are_one_line_and_the_rest_is_indented():
    text = pretty({"specs": [{"path": "a", "limits": [{"total": "flops", "ok": True}]}], "input": [1, 3]})
    assert text.splitlines() == [
        "{",
        ' "specs": [',
        "  {",
        '   "path": "a",',
        '   "limits": [',
        '    {"total": "flops", "ok": true}',
        "   ]",
        "  }",
        " ],",
        ' "input": [',
        "  1,",
        "  3",
        " ]",
        "}",
    ]


def test_a_report_renders_to_its_document_with_one_line_per_layer():
    report = analyse(load(str(SPECS / "shufflenet_v2_x0_5.yaml")))
    text = render(report)
    assert json.loads(text) == json.loads(json.dumps(document(report)))
    layer_lines = [line for line in text.splitlines() if line.startswith('  {"name": ')]
    assert len(layer_lines) == len(report.layers)
