"""Issue 25: parts keyed by what each block reads (costcalc.analysis.parts_reads), element by element and expression by
expression. Every point is checked against a fresh `costcalc report` of its setting; the walks a point makes are
counted, to show that a change of one element walks only what reads it."""

from __future__ import annotations

import pathlib
import random

import pytest

import costcalc
from costcalc import reuse
from costcalc.analysis import parts
from costcalc.errors import CostcalcError

SPECS = pathlib.Path(__file__).resolve().parent.parent / "specs"
MOBILENET = SPECS / "mobilenet_v2.yaml"


def fresh(spec, setting: dict, shape=None):
    try:
        return costcalc.analyze(spec, set=setting, input=shape).totals
    except CostcalcError as e:
        return str(e)


def memoised(model, setting: dict, shape=None):
    try:
        return model.totals(set=setting, input=shape)
    except CostcalcError as e:
        return str(e)


@pytest.fixture
def walks(monkeypatch):
    """block name -> how many times a walk remembered a part of it (walked it, rather than taking a part)."""
    counted: dict = {}
    remember = parts._PartsWalker.remember

    def counting(self, key, *args):
        counted[key[0]] = counted.get(key[0], 0) + 1
        return remember(self, key, *args)

    monkeypatch.setattr(parts._PartsWalker, "remember", counting)
    return counted


def test_a_change_of_one_element_walks_only_the_stage_that_reads_it(walks):
    """MobileNet V2's stage `row` reads n[row], k[row], t[row], c[row], s[row] and the width through
    make_divisible(c[row] * width, 8): a point that changes one element of `n` or `k` walks that stage alone."""
    model = costcalc.load(MOBILENET)

    def walked(block):
        return walks.get(block, 0)

    base = {"width": 0.75, "n": [1, 2, 3, 4, 3, 3, 1], "k": [3] * 7}
    assert memoised(model, base) == fresh(MOBILENET, base)
    assert walked("stage") == 7
    for step, (name, row, value) in enumerate([("n", 3, 2), ("k", 5, 7), ("n", 0, 4), ("k", 0, 5), ("n", 6, 2)]):
        point = {**base, name: [value if i == row else v for i, v in enumerate(base[name])]}
        assert memoised(model, point) == fresh(MOBILENET, point), point
        assert walked("stage") == 7 + step + 1, point  # this stage's new part, and no other
    narrower = {**base, "width": 0.7501}  # the same channels everywhere: every stage and layer taken
    assert memoised(model, narrower) == fresh(MOBILENET, narrower)
    assert walked("stage") == 12


def mutations(rng, count: int):
    """A random walk over MobileNet V2's search space, each step changing one element of a list or the width."""
    point = {"width": 1.0, "n": [1, 2, 3, 4, 3, 3, 1], "k": [3] * 7, "t": [1, 6, 6, 6, 6, 6, 6]}
    for _ in range(count):
        name = rng.choice(["n", "k", "t", "width"])
        if name == "width":
            point = {**point, "width": round(rng.uniform(0.35, 1.4), 4)}
        else:
            values = list(point[name])
            values[rng.randrange(7)] = rng.choice({"n": [1, 2, 3, 4], "k": [3, 5, 7], "t": [1, 3, 6]}[name])
            point = {**point, name: values}
        yield point


def test_points_that_change_one_element_at_a_time_equal_fresh_reports():
    model = costcalc.load(MOBILENET)
    for point in mutations(random.Random(2525), 60):
        assert memoised(model, point) == fresh(MOBILENET, point), point


SHADOWS = """
name: shadows
input: [8, 16, 16]
vars: {k: 3, m: 1, b: 5, width: 1.0, y: 2}
blocks:
  unit:                   # `k` and `b` are its arguments and the spec's variables too; `m` and `width` only variables
    args: {k: ~, b: ~, x: "y + 1", y: 4}    # the default of x reads the variable y: the argument y comes after it
    layers:
      - {op: conv, out: "8 * (k + m)", k: 1}
      - {op: conv, out: "b if width > 1 else 8", k: 1}   # reads the argument b only when width > 1
      - {op: conv, out: "x * 4", k: 1}
      - {op: conv, out: "y * 4", k: 1}
layers:
  - {block: unit, args: {k: 3, b: 16}}
  - {block: unit, args: {k: "k", b: "b * 2"}}
  - gap
"""


@pytest.mark.parametrize("order", [0, 1, 2])
def test_an_argument_named_like_a_variable_is_the_blocks_own(order):
    """A block's argument that shares a variable's name is read as the argument; a branch not taken before reads an
    argument the part does not know, so it is walked; a default reads the variables as they are where it is
    evaluated."""
    settings = [{}, {"k": 4, "m": 0}, {"m": 0}, {"width": 2.0}, {"width": 2.0, "b": 6}, {"b": 8}, {"y": 5},
                {"k": 3, "m": 1, "y": 2}, {"width": 1.5, "b": 5}, {"k": 2, "m": 2}, {"width": 2.0, "b": 8}]
    rng = random.Random(order)
    model = costcalc.load(SHADOWS)
    for setting in rng.sample(settings, len(settings)) * 2:
        assert memoised(model, setting) == fresh(SHADOWS, setting), setting


TWINS = """
name: twins
input: [8, 16, 16]
vars: {c: 4, deep: false}
layers:
  - {name: a, op: conv, out: "c * 2", k: 1}
  - {name: b, op: conv, out: "c * 2", k: 1, from: input}   # the same text, scope and input: evaluated once a walk
  - {name: add, op: add, from: [a, b]}
  - {op: relu, if: deep}
  - {op: conv, out: "input_height // 2", k: 1}               # the network's input size, read like a variable
  - gap
"""


def test_top_level_entries_are_parts_keyed_by_what_they_read():
    model = costcalc.load(TWINS)
    for setting, shape in [({}, None), ({"c": 8}, None), ({}, None), ({"deep": True}, None), ({"c": 8}, (8, 32, 32)),
                           ({"c": 4}, (8, 32, 32)), ({}, (8, 16, 24)), ({"c": 8}, None)]:
        assert memoised(model, setting, shape) == fresh(TWINS, setting, shape), (setting, shape)


WHOLE = """
name: whole
input: [8, 16, 16]
vars: {n: [1, 2, 3], row: 0}
blocks:
  sums:
    args: {r: ~}
    layers:
      - {op: conv, out: "8 * sum(n)", k: 1}        # reads the whole list
      - {op: conv, out: "8 * n[r]", k: 1}          # one element, by an argument
      - {op: conv, out: "8 * n[-1]", k: 1}         # one element, by a constant
layers:
  - {block: sums, args: {r: row}}
  - {block: sums, args: {r: 1}}
  - gap
"""


def test_whole_lists_elements_and_lists_of_other_lengths():
    """A block reading a whole list is walked when any element changes; one reading an element, only when that one
    does; a list of another length makes an index fail where a report fails."""
    model = costcalc.load(WHOLE)
    for setting in [{}, {"n": [1, 2, 4]}, {"n": [2, 2, 3]}, {"n": [1, 2, 3], "row": 2}, {"n": [1, 5]},
                    {"n": [1, 2]}, {"n": [1, 2, 3, 4]}, {"row": 3}, {"n": [3, 2, 1], "row": 2}, {}]:
        assert memoised(model, setting) == fresh(WHOLE, setting), setting


def test_reads_are_dropped_with_the_parts(monkeypatch):
    """When the memo passes its size, parts, entries and reads go together, and points still equal reports."""
    monkeypatch.setattr(parts, "MAX_PARTS", 60)
    model = costcalc.load(MOBILENET)
    for point in mutations(random.Random(7), 12):
        assert memoised(model, point) == fresh(MOBILENET, point), point


def test_a_model_is_sent_to_a_worker_without_its_parts():
    """A sweep's worker (a process, a Dask worker) receives the parsed spec alone and makes its own parts: the
    model's memo is never pickled, so it cannot be read while another thread adds to it."""
    import pickle

    model = costcalc.load(MOBILENET)
    point = {"width": 0.5, "n": [1, 2, 2, 2, 1, 1, 1]}
    before = model.totals(set=point)
    copy = pickle.loads(pickle.dumps(model))
    assert model._cache is not None and copy._cache is None
    assert copy.totals(set=point) == before == fresh(MOBILENET, point)


@pytest.fixture
def chains(monkeypatch):
    """How many points took their top level as a chain of parts (costcalc.analysis.parts_chain), and how many
    looked one up and walked instead."""
    counted = {"taken": 0, "walked": 0}
    chained = parts.chained

    def counting(walker, entries):
        out = chained(walker, entries)
        counted["walked" if out is reuse.MISS else "taken"] += 1
        return out

    monkeypatch.setattr(parts, "chained", counting)
    return counted


def test_a_point_whose_every_entry_was_met_is_a_chain_of_parts(chains, walks):
    """MobileNet V2's top level is a chain: a point whose stages and layers were all met takes them in one look-up
    each and walks nothing; a point with one new stage looks them up, walks, and remembers that stage."""
    model = costcalc.load(MOBILENET)
    base = {"width": 0.75, "n": [1, 2, 3, 4, 3, 3, 1], "k": [3] * 7}
    assert memoised(model, base) == fresh(MOBILENET, base) and chains == {"taken": 0, "walked": 1}
    narrower = {**base, "width": 0.7501}  # the same channels everywhere
    assert memoised(model, narrower) == fresh(MOBILENET, narrower) and chains == {"taken": 1, "walked": 1}
    deeper = {**base, "n": [1, 2, 3, 4, 3, 3, 2]}
    assert memoised(model, deeper) == fresh(MOBILENET, deeper) and chains == {"taken": 1, "walked": 2}
    assert walks["stage"] == 8
    both = {**deeper, "width": 0.7501, "k": [3] * 7}
    assert memoised(model, both) == fresh(MOBILENET, both) and chains == {"taken": 2, "walked": 2}
    assert walks["stage"] == 8


def test_a_top_level_that_is_not_a_chain_is_walked_entry_by_entry(chains):
    """A `from:` or an inline `layers:` at the top level: no chain is looked up, the totals are the same."""
    spec = MOBILENET.read_text().replace("  - {name: bn_last, op: bn}", "  - {name: bn_last, op: bn, from: conv_last}")
    assert spec != MOBILENET.read_text()
    model = costcalc.load(spec)
    for width in (0.5, 0.75, 0.5001, 0.75):
        assert memoised(model, {"width": width}) == fresh(spec, {"width": width})
    assert chains == {"taken": 0, "walked": 0}


def test_a_chain_over_the_walks_limits_is_walked_to_its_error(chains, monkeypatch):
    """Each part within the limit of layers, the chain of them over it: walked, to fail where the walk fails."""
    import costcalc.graph as graph

    spec = """
name: limit
input: [4, 8, 8]
vars: {a: 1, b: 1}
blocks:
  unit: [{op: conv, out: 4, k: 1}, relu]
layers:
  - {block: unit, repeat: a}
  - {block: unit, repeat: b}
"""
    monkeypatch.setattr(graph, "MAX_NODES", 20)
    monkeypatch.setattr(parts, "MAX_NODES", 20)
    model = costcalc.load(spec)
    for setting in [{"a": 6, "b": 1}, {"a": 1, "b": 6}, {"a": 6, "b": 6}, {"a": 6, "b": 6}, {"a": 1, "b": 1}]:
        assert memoised(model, setting) == fresh(spec, setting), setting
    assert "more than the limit of 20 layers" in memoised(model, {"a": 6, "b": 6})
    assert chains == {"taken": 1, "walked": 5}  # (1, 1) takes (1, 6)'s first part and (6, 1)'s second
