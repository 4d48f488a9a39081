"""Property-based fuzzing of the whole pipeline (issue 7): random structural mutations of every shipped spec —
delete a key, retype a value, insert an unknown op or key, duplicate or drop a layer, truncate or corrupt the
text — and random garbage. Every case must end in exit 0 or 2 with no traceback, one located line per error, and
within a time bound (tests/hostile.py).

The default run tries a few hundred cases. The long run: `pytest -m fuzz` (COSTCALC_FUZZ_EXAMPLES, default
100,000) or `python benchmarks/fuzz_long.py N`.
"""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile import check_promises

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "specs").rglob("*.yaml"))
TEXTS = {p: p.read_text() for p in SHIPPED}
DOCS = {p: yaml.safe_load(t) for p, t in TEXTS.items()}

ODD_VALUES = [None, "", "abc", -1, 0, 1, 10**30, -(10**30), 10**300, 1.5, 1e308, float("inf"), float("nan"), True, [], {},
              [1, 2], [[1]], {"a": 1}, "1/0", "2**9999", "9**9**9", "__import__('os').system('true')", "x.y",
              "'a' * 10**9", "in_channels * 10**12", "[1] * 10", "lambda: 1", "depths[99]", "sqrt(-1)",
              "make_divisible(1, 0)", "min()", "int(1e300)", "(" * 120 + "1" + ")" * 120, "i", "input",
              "conv", "relu", "layer1", "0x10", "\x1b[31mred", "[/bold]", "[link=x]y", ".inf", "a\nb", "é" * 3, "1" * 5000]
ODD_OPS = ["conv2", "transformer", "", "relu ", "CONV", "bottleneck", "input", "__class__", "split", "add"]
ODD_KEYS = ["foo", "from", "repeat", "if", "args", "first", "layers", "block", "op", "name", "groups", "k",
            "<<", "stride", "pad", "sizes", "parts", "extends"]

FUZZ_EXAMPLES = int(os.environ.get("COSTCALC_FUZZ_EXAMPLES", "100000"))
DEFAULT = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A copy of specs/ so that `extends:` of a mutated spec still finds its base."""
    target = tmp_path_factory.mktemp("fuzz")
    for path in SHIPPED:
        dest = target / path.relative_to(ROOT / "specs")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    return target


def _places(doc) -> list:
    """Every (container, key) of a parsed spec, depth first."""
    found = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, value in items:
            found.append((node, key))
            stack.append(value)
    return found


def _layer_lists(doc) -> list:
    return [c[k] for c, k in _places(doc) if k == "layers" and isinstance(c[k], list)]


@st.composite
def mutated_specs(draw):
    """(relative file name, text bytes) of a shipped spec changed by one to four mutations."""
    import copy

    path = draw(st.sampled_from(SHIPPED))
    name = str(path.relative_to(ROOT / "specs"))
    kind = draw(st.sampled_from(["structure", "structure", "structure", "truncate", "corrupt"]))
    if kind == "truncate":
        text = TEXTS[path].encode()
        return name, text[: draw(st.integers(0, len(text)))]
    if kind == "corrupt":
        text = bytearray(TEXTS[path].encode())
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(text) - 1))
            text[i] = draw(st.sampled_from(b"[]{}:-&*!|>#'\"\n \t,0129x\xff\x00"))
        return name, bytes(text)
    doc = copy.deepcopy(DOCS[path])
    for _ in range(draw(st.integers(1, 4))):
        places = _places(doc)
        action = draw(st.sampled_from(["delete", "retype", "retype", "unknown_op", "add_key", "duplicate",
                                       "drop_layer", "unknown_block"]))
        if action in ("unknown_op", "duplicate", "drop_layer", "unknown_block"):
            lists = _layer_lists(doc)
            if not lists:
                continue
            layers = draw(st.sampled_from(lists))
            if action == "unknown_op":
                layers.insert(draw(st.integers(0, len(layers))), {"op": draw(st.sampled_from(ODD_OPS))})
            elif action == "unknown_block":
                layers.insert(draw(st.integers(0, len(layers))), {"block": draw(st.sampled_from(ODD_OPS))})
            elif layers and action == "duplicate":
                i = draw(st.integers(0, len(layers) - 1))
                layers.insert(i, copy.deepcopy(layers[i]))
            elif layers:
                del layers[draw(st.integers(0, len(layers) - 1))]
            continue
        if not places:
            continue
        container, key = draw(st.sampled_from(places))
        if action == "delete":
            del container[key]
        elif action == "retype":
            container[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif isinstance(container, dict):
            container[draw(st.sampled_from(ODD_KEYS))] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
    return name, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()


garbage = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=2000).map(str.encode),
    st.text(alphabet="[]{}:-&*!|>#'\"\n abc012<", max_size=400).map(str.encode),
)


def _check(workdir, name: str, data: bytes, options: tuple):
    path = workdir / (name if name else "garbage.yaml")
    backup = path.read_bytes() if path.exists() else None
    path.write_bytes(data)
    try:
        check_promises(str(path), *options)
    finally:
        if backup is not None:
            path.write_bytes(backup)


OPTIONS = st.sampled_from([("--format", "json"), ("--format", "json"), ("--depth", "1"), ("--depth", "all", "--exact")])


@DEFAULT
@given(case=mutated_specs(), options=OPTIONS)
def test_mutated_shipped_specs(workdir, case, options):
    _check(workdir, *case, options)


@settings(DEFAULT, max_examples=100)
@given(data=garbage)
def test_garbage(workdir, data):
    _check(workdir, "", data, ("--format", "json"))


@pytest.mark.fuzz
@LONG
@given(case=st.one_of(mutated_specs(), garbage.map(lambda d: ("", d))), options=OPTIONS)
def test_fuzz_long(workdir, case, options):
    _check(workdir, *case, options)
