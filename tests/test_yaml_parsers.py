"""costcalc's own limits and words decide what a YAML error says, whichever parser PyYAML gives it: libyaml
(which has a nesting limit of its own since PyYAML 6.0.4, and reads ahead) or the pure-Python one."""

from __future__ import annotations

import pytest
import yaml

from costcalc.errors import SpecError
from costcalc.spec import loader

PARSERS = [pytest.param(yaml.SafeLoader, id="python")]
if getattr(yaml, "CSafeLoader", None) is not None:
    PARSERS.append(pytest.param(yaml.CSafeLoader, id="libyaml"))

CASES = [
    # (text, line:col, costcalc's words)
    ("layers: " + "[" * 100_000 + "]" * 100_000 + "\n", "1:72", "YAML nested deeper than the limit of 64 levels"),
    ("layers: " + "[" * 2_000 + "]" * 2_000 + "\n", "1:72", "YAML nested deeper than the limit of 64 levels"),
    ("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 70)), "65:129",
     "YAML nested deeper than the limit of 64 levels"),
    ("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 8, k: 3\n", "4:1",
     "YAML syntax: a '{' mapping is not closed by '}' (or a ',' is missing between its items)"),
    ("input: [3, 8, 8\nlayers: []\n", "2:7",
     "YAML syntax: a '[' list is not closed by ']' (or a ',' is missing between its items)"),
    ("input: [3, 8, 8]\n\tlayers: []\n", "2:1",
     "YAML syntax: a character that cannot start a YAML value (YAML indents with spaces, never tabs; quote text "
     "that starts with @ or `)"),
    ("input: \x01\n", "1:8", "YAML syntax: a character that YAML does not allow in a text file (character 0x1)"),
]


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("text, where, message", CASES, ids=range(len(CASES)))
def test_same_error_with_every_parser(monkeypatch, parser, text, where, message):
    monkeypatch.setattr(loader, "_Loader", parser)
    with pytest.raises(SpecError) as caught:
        loader.load_text(text, "x.yaml")
    assert str(caught.value) == f"x.yaml:{where}: error: {message}"


@pytest.mark.parametrize("parser", PARSERS)
def test_unknown_parser_problems_are_in_costcalcs_words(monkeypatch, parser):
    """A problem costcalc has no words for is still located, and says so in costcalc's words only."""
    monkeypatch.setattr(loader, "_Loader", parser)
    with pytest.raises(SpecError) as caught:
        loader.load_text("a: !<tag:x> [\n", "x.yaml")
    assert str(caught.value).startswith("x.yaml:") and ": error: YAML" in str(caught.value)
    assert loader._words("some words no parser of today uses") == "invalid YAML here"


@pytest.mark.parametrize("parser", PARSERS)
def test_a_good_spec_reads_the_same(monkeypatch, parser):
    monkeypatch.setattr(loader, "_Loader", parser)
    value = loader.load_text("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 8, k: 3}\n", "x.yaml")
    assert value == {"input": [3, 8, 8], "layers": [{"op": "conv", "out": 8, "k": 3}]}
    assert value.value_locs["layers"].line == 3
