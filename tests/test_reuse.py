"""The walker's reuse (costcalc.reuse): a replayed block, or an op entry evaluated once for many, gives exactly
the graph a walk of every entry gives."""

from __future__ import annotations

import pathlib

import pytest

from costcalc import graph, reuse
from costcalc.errors import SpecError
from costcalc.graph import load

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def walked(monkeypatch, path, overrides=None, input_shape=None):
    """(graph with reuse, graph walked entry by entry) of the same spec."""
    with_reuse = load(str(path), overrides, input_shape)
    with monkeypatch.context() as m:
        m.setattr(reuse, "MAX_RECORDINGS", 0)
        m.setattr(reuse, "MAX_RESULTS", 0)
        plain = load(str(path), overrides, input_shape)
    return with_reuse, plain


def same(a, b) -> None:
    assert a.tensors == b.tensors and a.output == b.output and a.inputs == b.inputs
    assert len(a.nodes) == len(b.nodes)
    for x, y in zip(a.nodes, b.nodes):
        assert x == y, (x.name, y.name)


def replays(path, overrides=None) -> int:
    """How many block calls of a walk were replayed (their layers appended from a recording)."""
    from costcalc.spec.reader import read_spec

    walker = graph._Walker(read_spec(str(path)), 1)
    calls = []
    original = reuse.replay

    def counting(*args):
        calls.append(args[2])
        return original(*args)

    reuse.replay = counting
    try:
        walker.run(overrides or {}, None)
    finally:
        reuse.replay = original
    return len(calls)


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_shipped_spec_walks_to_the_same_graph(monkeypatch, path):
    same(*walked(monkeypatch, path))


@pytest.mark.parametrize("overrides, shape", [({"depth": 1001}, None), ({"depth": 164}, (3, 40, 24))])
def test_deep_preact_resnet_is_the_same_graph_and_replays_its_units(monkeypatch, overrides, shape):
    path = ROOT / "specs" / "preact_resnet_cifar.yaml"
    same(*walked(monkeypatch, path, overrides, shape))
    units = (overrides["depth"] - 2) // 9
    # per stage: units - 1 identical `unit` calls, the first walked; the `body` of each first unit walked too
    assert replays(path, overrides) == 3 * (units - 2)


def test_a_block_is_replayed_only_for_the_same_arguments_and_input_shape(monkeypatch, tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(
        "input: [8, 16, 16]\n"
        "blocks:\n"
        "  unit:\n"
        "    args: {c: ~, s: 1}\n"
        "    layers:\n"
        "      - {op: conv, out: c, k: 3, pad: 1, stride: s}\n"
        "      - {op: relu, if: in_height > 4}\n"
        "layers:\n"
        "  - {block: unit, args: {c: 8}, repeat: 3}\n"  # the same three times: two replays
        "  - {block: unit, args: {c: 8, s: 2}, repeat: 3}\n"  # a new shape each time: no replay
        "  - {block: unit, args: {c: 8.0}}\n"  # 8.0 is not 8: its own recording
        "  - {block: unit, args: {c: 4}, first: {c: 8}, repeat: 2}\n"
    )
    a, b = walked(monkeypatch, path)
    same(a, b)
    assert [n.name for n in a.nodes][:4] == ["unit_0.0.conv_0", "unit_0.0.relu_1", "unit_0.1.conv_0",
                                             "unit_0.1.relu_1"]
    assert replays(path) == 2
    # the strided units' relus read heights 8, 4, 2: the last two are switched off
    assert [n.op for n in a.nodes if n.path[0] == "unit_1"] == ["conv", "relu", "conv", "conv"]


def test_a_replayed_block_inside_a_recursion_still_fails(tmp_path):
    """`c` is first walked outside `b`; called again inside `b`, whose second call it makes, it must fail."""
    path = tmp_path / "rec.yaml"
    path.write_text(
        "input: [4, 8, 8]\n"
        "blocks:\n"
        "  b:\n"
        "    args: {deep: 0}\n"
        "    layers:\n"
        "      - {block: c, if: deep == 1}\n"
        "      - relu\n"
        "  c:\n"
        "    layers:\n"
        "      - {block: b}\n"
        "layers:\n"
        "  - {block: c}\n"
        "  - {block: b, args: {deep: 1}}\n"
    )
    with pytest.raises(SpecError, match="block 'b' uses itself"):
        load(str(path))


@pytest.mark.parametrize("limit, message", [("MAX_NODES", "more than the limit of 50 layers"),
                                            ("MAX_STEPS", "more than the limit of 50 layer entries")])
def test_a_replay_past_a_limit_is_walked_and_fails_where_a_walk_does(monkeypatch, tmp_path, limit, message):
    path = tmp_path / "long.yaml"
    path.write_text("input: [4, 8, 8]\nblocks:\n  unit: [relu, bn, relu]\n"
                    "layers:\n  - {name: body, block: unit, repeat: 30}\n")
    monkeypatch.setattr(graph, limit, 50)
    with pytest.raises(SpecError, match=message) as with_reuse:
        load(str(path))
    monkeypatch.setattr(reuse, "MAX_RECORDINGS", 0)
    monkeypatch.setattr(reuse, "MAX_RESULTS", 0)
    with pytest.raises(SpecError, match=message) as plain:
        load(str(path))
    assert str(with_reuse.value) == str(plain.value)


def test_op_entries_of_one_text_and_shape_share_their_evaluation(monkeypatch, tmp_path):
    path = tmp_path / "flat.yaml"
    path.write_text("input: [4, 8, 8]\nvars: {c: 4}\nlayers:\n" + "".join(
        ["  - {op: conv, out: c, k: 3, pad: 1}\n", "  - bn\n", "  - {op: conv, out: in_channels * 2, k: 1}\n",
         "  - {op: conv, out: in_channels // 2, k: 1}\n"] * 50))
    a, b = walked(monkeypatch, path)
    same(a, b)
    convs = [n for n in a.nodes if n.op == "conv"]
    assert len({id(n.args) for n in convs}) == 3 and len({id(n.args) for n in b.nodes if n.op == "conv"}) == 150
    assert a.tensors[a.output] == (4, 8, 8)


def test_a_sweep_replaying_its_walk_checks_the_dimensions_read_inside_replayed_blocks(tmp_path):
    """At an even size both branches feed `unit` the same shape, so the second call is replayed; at an odd size
    the ceil-mode branch's is a row taller, and only the dimension read inside that replayed call shows that its
    `if:` now decides otherwise: the sweep must walk again instead of replaying the first walk."""
    import costcalc
    from costcalc.analysis import analyse

    path = tmp_path / "branches.yaml"
    path.write_text(
        "input: [8, 24, 24]\n"
        "blocks:\n"
        "  unit:\n"
        "    layers:\n"
        "      - {op: conv, out: in_channels, k: 3, pad: 1}\n"
        "      - {op: relu, if: in_height > 12}\n"
        "      - gap\n"
        "      - flatten\n"
        "layers:\n"
        "  - {name: stem, op: conv, out: 8, k: 1}\n"
        "  - {name: a0, op: maxpool, k: 2, stride: 2, from: stem}\n"
        "  - {name: a, block: unit}\n"
        "  - {name: b0, op: maxpool, k: 2, stride: 2, ceil_mode: true, from: stem}\n"
        "  - {name: b, block: unit}\n"
        "  - {op: concat, from: [a, b]}\n"
    )
    model = costcalc.load(str(path))
    for size in (24, 25, 24, 26, 27):
        expected = analyse(load(str(path), None, (8, size, size))).totals
        assert model.totals(input=(8, size, size)) == expected, size
    assert replays(path) == 1
