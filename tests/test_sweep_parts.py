"""Issue 25: a point evaluated from parts remembered across points (costcalc.analysis.parts) has exactly the
totals, or the error, of a fresh `costcalc report` of that setting: checked on random points of the zoo's search
spaces, and on specs made to catch a part taken where its walk would differ (a block reading a variable that is
not its argument, a switch, a nested block, the walk's limits)."""

from __future__ import annotations

import pathlib
import random

import pytest

import costcalc
from costcalc.analysis import parts
from costcalc.errors import CostcalcError

SPECS = pathlib.Path(__file__).resolve().parent.parent / "specs"


def fresh(spec, setting: dict):
    """What `costcalc report --set ...` gives at `setting`: a new read, a new walk, the analysis's totals."""
    try:
        return costcalc.analyze(spec, set=setting).totals
    except CostcalcError as e:
        return str(e)


def memoised(model, setting: dict):
    try:
        return model.totals(set=setting)
    except CostcalcError as e:
        return str(e)


def mobilenet_point(rng):
    return {"width": round(rng.uniform(0.35, 1.4), 4), "n": [rng.randint(1, 4) for _ in range(7)],
            "k": [rng.choice([3, 5, 7]) for _ in range(7)], "t": [1] + [rng.choice([3, 6]) for _ in range(6)]}


def resnet_point(rng):
    return {"depths": [rng.randint(1, 6) for _ in range(4)], "width_per_group": rng.choice([16, 32, 48, 64]),
            "groups": rng.choice([1, 2, 3, 4, 8, 32])}  # groups 3 breaks some widths: an error row


def shufflenet_point(rng):
    return {"groups": rng.choice([1, 2, 3, 4, 5, 8]), "width": rng.choice([0.5, 1.0, 1.5])}


@pytest.mark.parametrize("name, draw, count", [("mobilenet_v2", mobilenet_point, 300),
                                               ("resnet50", resnet_point, 200),
                                               ("shufflenet_v1", shufflenet_point, 60)])
def test_a_random_sample_of_points_equals_a_fresh_report(name, draw, count):
    """All points go through one Model (parts shared); every fifth is checked against a fresh report."""
    rng = random.Random(25)
    model = costcalc.load(SPECS / f"{name}.yaml")
    points = [draw(rng) for _ in range(count)]
    results = [memoised(model, p) for p in points]
    for point, result in list(zip(points, results))[::5]:
        assert result == fresh(SPECS / f"{name}.yaml", point), point
    assert model._cache.memos[1].blocks  # parts were remembered (and, most points, taken)


READS_A_VARIABLE = """
name: reads
input: [8, 16, 16]
vars: {mult: 2, deep: false, kernel: 3, wide: 8}
blocks:
  inner:                  # reads `kernel` and `mult`, which are not its arguments
    args: {c: ~}
    layers:
      - {op: conv, out: c * mult, k: kernel, pad: kernel // 2}
      - {op: relu, if: deep}
  outer:                  # reads no variable itself: only through `inner`
    args: {c: ~, c2: 8}
    layers:
      - {block: inner, args: {c: c}}
      - {op: conv, out: c2, k: 1}
layers:
  - {block: outer, repeat: 2, args: {c: 8}}
  - {block: outer, args: {c: 8, c2: wide}}
  - gap
"""


def test_a_part_is_taken_only_where_the_variables_it_read_are_the_same():
    model = costcalc.load(READS_A_VARIABLE)
    settings = [{"mult": 2}, {"mult": 3}, {"deep": True}, {"kernel": 5}, {"mult": 3, "kernel": 5}, {},
                {"mult": 3, "deep": True}, {"kernel": 1}, {"mult": 2, "kernel": 3, "deep": False},
                {"wide": 16}, {"wide": 16, "mult": 3}]  # `outer` walked with `inner` taken, then met again
    for setting in settings * 2:
        assert memoised(model, setting) == fresh(READS_A_VARIABLE, setting), setting


def test_errors_inside_parts_are_the_walks_own():
    """A kernel of 0 fails inside `inner`: the error names the layer and position a report names, each time."""
    model = costcalc.load(READS_A_VARIABLE)
    assert memoised(model, {}) == fresh(READS_A_VARIABLE, {})
    for _ in range(2):
        error = memoised(model, {"kernel": 0})
        assert error == fresh(READS_A_VARIABLE, {"kernel": 0}) and "outer_0.0.inner_0.conv_0" in error


def test_the_walks_layer_limit_counts_the_layers_of_parts(monkeypatch):
    """Parts taken count toward MAX_NODES: a point over the limit fails as a fresh walk does."""
    import costcalc.graph as graph

    monkeypatch.setattr(graph, "MAX_NODES", 40)
    monkeypatch.setattr(parts, "MAX_NODES", 40)
    spec = READS_A_VARIABLE.replace("repeat: 2", "repeat: depth").replace("wide: 8}", "wide: 8, depth: 2}")
    model = costcalc.load(spec)
    for depth in (2, 9, 13, 20, 3):
        assert memoised(model, {"depth": depth}) == fresh(spec, {"depth": depth}), depth
    assert "more than the limit of 40 layers" in memoised(model, {"depth": 20})


def test_grids_still_replay_walks_across_inputs():
    """A group of points with the same variables is walked once into a program and replayed (the grid's way)."""
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    for size in (96, 128, 160):
        assert model.totals(set={"width": 0.5}, input=(3, size, size), more=True) == \
            costcalc.analyze(model, set={"width": 0.5}, input=(3, size, size)).totals
    assert model._cache.replays == 2


REPEATS = """
name: repeats
input: [8, 16, 16]
vars: {grow: 0, depth: 3}
blocks:
  unit:
    args: {c: ~, k: 3}
    layers:
      - {op: conv, out: c, k: k, pad: k // 2}
      - relu
layers:
  - {name: same, block: unit, repeat: depth, args: {c: 8}}                 # the same part each time
  - {name: odd, block: unit, repeat: depth, args: {c: 8, k: "3 + grow * (i % 2)"}}  # reads the repetition's number
  - {name: shaped, block: unit, repeat: depth, args: {c: "in_channels + 8"}} # its input's shape changes
  - gap
"""


@pytest.mark.parametrize("setting", [{}, {"grow": 2}, {"depth": 5, "grow": 4}, {"depth": 1}, {"grow": 2}])
def test_repetitions_take_the_part_before_only_when_their_arguments_would_repeat(setting):
    model = costcalc.load(REPEATS)
    for earlier in ({}, {"grow": 4}, {"depth": 4}):
        memoised(model, earlier)
    assert memoised(model, setting) == fresh(REPEATS, setting)


# ---- the latency estimate from parts (costcalc.analysis.parts_latency) ----------------------------------------

PROFILE = SPECS.parent / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml"


def fresh_timed(spec, setting: dict):
    try:
        report = costcalc.analyze(spec, set=setting, device=PROFILE)
        return report.totals, report.latency_s
    except CostcalcError as e:
        return str(e)


def memoised_timed(model, profile, setting: dict):
    try:
        return model.timed(profile, set=setting)
    except CostcalcError as e:
        return str(e)


@pytest.mark.parametrize("name, draw, count", [("mobilenet_v2", mobilenet_point, 120),
                                               ("resnet50", resnet_point, 80),
                                               ("shufflenet_v1", shufflenet_point, 30)])
def test_a_random_sample_of_timed_points_equals_a_fresh_report_with_device(name, draw, count):
    """The estimate assembled from parts is the very float `costcalc report --device` prints."""
    from costcalc.latency import load

    rng, profile = random.Random(7), load(str(PROFILE))
    model = costcalc.load(SPECS / f"{name}.yaml")
    points = [draw(rng) for _ in range(count)]
    results = [memoised_timed(model, profile, p) for p in points]
    for point, result in list(zip(points, results))[::5]:
        assert result == fresh_timed(SPECS / f"{name}.yaml", point), point
    assert model._cache.whole_estimates == 0  # every point assembled from parts


FUSION_AT_EDGES = """
name: edges
input: [3, 32, 32]
vars: {pre: true, post: true, c: 16}
blocks:
  preact:                 # starts with a batchnorm: the conv before it may take it in
    args: {c: ~}
    layers:
      - {op: bn, if: pre}
      - {op: conv, out: c, k: 3, pad: 1}
      - relu
  plain:                  # ends in a conv: a batchnorm or activation after it may be taken in
    args: {c: ~}
    layers:
      - {op: conv, out: c, k: 1}
layers:
  - {op: conv, out: c, k: 3, pad: 1}
  - {block: preact, repeat: 2, args: {c: c}}
  - {block: plain, args: {c: c}}
  - {op: bn, if: post}
  - {op: relu, if: post}
  - {block: plain, args: {c: 24}}
  - {block: plain, args: {c: 32}}
  - gap
"""


def test_fusion_across_a_parts_edge_is_estimated_from_the_whole_graph():
    from costcalc.latency import load

    profile = load(str(PROFILE))
    model = costcalc.load(FUSION_AT_EDGES)
    for setting in ({}, {"c": 32}, {"pre": False}, {"post": False}, {"c": 32, "post": False}, {"c": 16},
                    {"pre": False}):  # then only the conv ending `plain` meets the batchnorm after it
        assert memoised_timed(model, profile, setting) == fresh_timed(FUSION_AT_EDGES, setting), setting
    assert model._cache.whole_estimates > 0


RUN_AFTER_ACTIVATION = """
name: runs
input: [3, 32, 32]
vars: {c: 16, lead: 1}
blocks:
  unit:                   # ends in an activation: no kernel of it takes in what follows
    args: {c: ~}
    layers:
      - {op: conv, out: c, k: 3, pad: 1}
      - relu
layers:
  - {op: conv, out: c, k: 3, pad: 1, stride: 2}
  - {op: bn}
  - {op: relu}
  - {block: unit, args: {c: c}}
  - {op: bn, if: lead == 1}
  - {op: conv, out: 2 * c, k: 1}
  - {op: relu}
  - gap
"""


def test_runs_of_top_level_layers_are_taken_as_one_part_where_no_kernel_crosses_their_edges():
    """MobileNet V2's top level: conv, bn, relu6 before the stages, conv, bn, relu6, pooling and the classifier
    after them: each run is one part with the stages, and every point is assembled from parts. Where a run starts
    with a layer the kernel before could take in (a batchnorm after a block), its edge could be crossed: the
    points are walked with the top level laid out, as before, and still equal a fresh report."""
    from costcalc.analysis import parts_chain
    from costcalc.latency import load

    profile = load(str(PROFILE))
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    rng = random.Random(3)
    points = [mobilenet_point(rng) for _ in range(40)]
    for point in points + points[:10]:
        assert memoised_timed(model, profile, point) == fresh_timed(SPECS / "mobilenet_v2.yaml", point), point
    memo = model._cache.memos[(1, True)]
    assert memo.grouped and len(memo.runs) >= 2 and model._cache.whole_estimates == 0
    assert {len(run) for run, _ in memo.runs.values()} == {3, 7}  # conv1, bn1, relu1 | conv_last ... fc

    model = costcalc.load(RUN_AFTER_ACTIVATION)
    for setting in ({"lead": 2}, {"lead": 2, "c": 8}, {}, {"c": 8}, {}, {"lead": 2}):  # {} again: a chain
        assert memoised_timed(model, profile, setting) == fresh_timed(RUN_AFTER_ACTIVATION, setting), setting
    assert not model._cache.memos[(1, True)].grouped  # the batchnorm after `unit`: laid out from then on
    assert model._cache.whole_estimates == 0
    assert parts_chain.is_chain(costcalc.load(RUN_AFTER_ACTIVATION).spec().layers)


def test_evaluate_many_yields_each_result_as_its_setting_comes():
    """A generator of settings is read one at a time: the first result comes before the second setting is made."""
    asked = []

    def search():
        for width in (0.5, 0.75, 4.0, 1.0):
            asked.append(width)
            yield {"width": width, "n": [1, 2, 2, 2, 1, 1, 1]}
        yield {"input": "3x0x7"}

    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    results = model.evaluate_many(search())
    first = next(results)
    assert asked == [0.5] and first.index == 0 and first.totals == fresh(SPECS / "mobilenet_v2.yaml", first_setting := {
        "width": 0.5, "n": [1, 2, 2, 2, 1, 1, 1]}) and dict(first.values) == first_setting
    rest = list(results)
    assert [r.index for r in rest] == [1, 2, 3, 4] and rest[-1].totals is None and "3x0x7" in rest[-1].error
    assert all(r.totals == fresh(SPECS / "mobilenet_v2.yaml", dict(r.values)) for r in rest[:3])
    timed = list(model.evaluate_many([{"width": 0.5}], device=PROFILE))
    assert (timed[0].totals, timed[0].latency_s) == fresh_timed(SPECS / "mobilenet_v2.yaml", {"width": 0.5})


def test_every_shipped_spec_from_parts_equals_its_report():
    """Totals and estimate from parts, first walked then taken, for every spec of the zoo (parallel repeats, blocks
    of several inputs, dense concatenations, pre-activation units among them)."""
    from costcalc.latency import load

    profile = load(str(PROFILE))
    for path in sorted(SPECS.rglob("*.yaml")):
        model = costcalc.load(path)
        report = costcalc.analyze(model, device=profile)
        assert model.totals() == report.totals, path
        assert model.timed(profile) == model.timed(profile) == (report.totals, report.latency_s), path
