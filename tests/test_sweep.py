"""`costcalc sweep` and costcalc.sweep: points, rows equal to independent evaluations, errors as rows, the front,
ranking, worker processes, and the replayed walks behind the speed (costcalc.analysis.totals)."""

import csv
import io
import json

import pytest

import costcalc
from conftest import SPECS
from costcalc.analysis.sweep import (SweepRow, grid_points, parse_grid, parse_ranges, pareto_front, random_points,
                                     split_values)
from costcalc.analysis.totals import Cache, totals
from costcalc.errors import OptionError
from costcalc.ops import Counts

TINY = """\
name: tiny
input: [3, 16, 16]
vars: {width: 8, groups: 1}
layers:
  - {name: conv1, op: conv, out: width, k: 3, pad: 1}
  - {name: conv2, op: conv, out: width, k: 3, pad: 1, groups: groups}
  - relu
  - {name: pool, op: gap}
  - flatten
  - {name: fc, op: fc, out: 10}
"""


def tiny_flops(width: int, hw: int, groups: int = 1) -> int:
    return hw * hw * width * 27 + hw * hw * width * 9 * width // groups + width * 10


# ---- points ---------------------------------------------------------------------------------------------------


def test_values_and_grids():
    assert split_values("0.5, 0.75,[3, 4],max(1, 2)") == ["0.5", "0.75", "[3, 4]", "max(1, 2)"]
    axes = parse_grid(["width=0.5,1.0", "input=3*160*160,3x224x224"])
    assert axes == [("width", ("0.5", "1.0")), ("input", ("3x160x160", "3x224x224"))]
    assert grid_points(axes) == [
        (("width", "0.5"), ("input", "3x160x160")), (("width", "0.5"), ("input", "3x224x224")),
        (("width", "1.0"), ("input", "3x160x160")), (("width", "1.0"), ("input", "3x224x224"))]
    for bad in (["width"], ["width=0.5,,1"], ["input=3x0x4"], ["width=1", "width=2"]):
        with pytest.raises(OptionError):
            parse_grid(bad)
    for bad in (["width=2:1"], ["width=a:b"], ["width=1:2:0"], ["width=1:2:3:4"], ["width=1,,2"], ["input=1:2"]):
        with pytest.raises(OptionError):
            parse_ranges(bad)


def test_random_points_are_seeded_and_in_range():
    ranges = parse_ranges(["width=0.25:2.0", "depth=1:4"])
    axes = parse_grid(["input=3x32x32,3x64x64"])
    points = random_points(200, ranges, axes, seed=3)
    assert points == random_points(200, ranges, axes, seed=3) != random_points(200, ranges, axes, seed=4)
    widths = [float(dict(p)["width"]) for p in points]
    depths = [int(dict(p)["depth"]) for p in points]
    assert all(0.25 <= w <= 2.0 for w in widths) and set(depths) == {1, 2, 3, 4}
    assert {dict(p)["input"] for p in points} == {"3x32x32", "3x64x64"}


# ---- rows -----------------------------------------------------------------------------------------------------


def test_grid_rows_equal_closed_forms_and_reports(run, write_spec):
    path = write_spec(TINY)
    result = run("sweep", path, "--grid", "width=4,8,16", "--grid", "input=3x8x8,3x16x16", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["names"] == ["width", "input"] and doc["points"] == 6 and len(doc["rows"]) == 6
    for row in doc["rows"]:
        width, size = int(row["values"]["width"]), int(row["values"]["input"].split("x")[1])
        assert row["totals"]["flops"] == tiny_flops(width, size)
        report = costcalc.analyze(path, set={"width": width}, input=row["values"]["input"])
        assert row["totals"] == {f: getattr(report.totals, f) for f in row["totals"]}


def test_an_invalid_point_is_a_row_with_its_error(run, write_spec):
    path = write_spec(TINY)
    result = run("sweep", path, "--grid", "groups=1,3,2", "--format", "csv")
    assert result.exit_code == 0
    assert "note: 1 of 3 points could not be evaluated" in result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["groups"] for r in rows] == ["1", "3", "2"]
    assert rows[1]["flops"] == "" and rows[1]["error"].startswith(f"{path}:6:")
    assert "groups=3 does not divide in_channels=8" in rows[1]["error"]
    assert int(rows[2]["flops"]) == tiny_flops(8, 16, 2) and rows[2]["error"] == ""


def test_pareto_front_by_definition():
    def row(i, flops, params, error=None):
        return SweepRow(i, (), None if error else Counts(flops=flops, params=params), error)

    rows = [row(0, 10, 5), row(1, 5, 10), row(2, 10, 10), row(3, 7, 7), row(4, 5, 10), row(5, 1, 1, "bad"),
            row(6, 12, 4)]
    assert pareto_front(rows, ("flops", "params")) == {0, 1, 3, 6}  # 4 equals 1, 2 is dominated, 5 failed


def test_pareto_top_and_sort_on_a_real_sweep():
    result = costcalc.sweep(SPECS / "mobilenet_v2.yaml", random=40, seed=2, ranges={"width": (0.3, 1.4)},
                            grid={"input": ["3x96x96", "3x128x128", "3x160x160"]}, pareto="flops,memory_access")
    rows = [r for r in result.rows if r.totals is not None]
    front = {r.index for r in result.front}

    def dominated(r):
        return any(o.totals.flops <= r.totals.flops and o.totals.memory_access <= r.totals.memory_access
                   and (o.totals.flops, o.totals.memory_access) != (r.totals.flops, r.totals.memory_access)
                   for o in rows)

    assert front and front == {r.index for r in rows if not dominated(r)}
    ranked = costcalc.sweep(SPECS / "mobilenet_v2.yaml", random=40, seed=2, ranges={"width": (0.3, 1.4)},
                            grid={"input": ["3x96x96", "3x128x128", "3x160x160"]}, top=5, sort="-params")
    params = sorted((r.totals.params for r in rows), reverse=True)[:5]
    assert [r.totals.params for r in ranked.rows] == params and ranked.points == 40


def test_table_and_usage_errors(run, write_spec):
    path = write_spec(TINY)
    result = run("sweep", path, "--grid", "width=4,8", "--pareto", "flops,params", "--exact")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "tiny | batch 1 | 2 points, 1 on the Pareto front of flops, params"
    assert f"{tiny_flops(4, 16):,}" in result.stdout and "*" in result.stdout
    for args in ([], ["--range", "width=1:2"], ["--grid", "width=1", "--pareto", "flops"],
                 ["--grid", "width=1", "--sort", "speed"], ["--grid", "width"]):
        result = run("sweep", path, *args)
        assert result.exit_code == 2 and "Error" in result.stderr
    result = run("sweep", path + ".missing.yaml", "--grid", "width=1")
    assert result.exit_code == 2 and result.stderr.startswith(f"{path}.missing.yaml:1:1: error: cannot read")


def test_jobs_give_the_same_rows():
    points = grid_points(parse_grid(["width=0.5,0.75,1.0,1.3", "input=3x96x96,3x128x128"]))
    one = costcalc.sweep(SPECS / "mobilenet_v2.yaml", grid={"width": [0.5, 0.75, 1.0, 1.3],
                                                            "input": ["3x96x96", "3x128x128"]})
    two = costcalc.sweep(SPECS / "mobilenet_v2.yaml", grid={"width": [0.5, 0.75, 1.0, 1.3],
                                                            "input": ["3x96x96", "3x128x128"]}, jobs=2)
    assert one.rows == two.rows and [r.values for r in one.rows] == points


# ---- replayed walks -------------------------------------------------------------------------------------------

SHAPE_DEPENDENT = """\
name: shape_dependent
input: [3, 32, 32]
vars: {width: 8}
layers:
  - {name: conv, op: conv, out: width, k: 3, pad: 1}
  - {name: down, op: maxpool, k: 2, if: in_height > 16}
  - {name: extra, op: conv, out: "width * 2 if in_width % 2 else width", k: 1}
  - flatten
  - {name: fc1, op: fc, out: in_channels // 4}
  - {name: fc2, op: fc, out: 10}
"""


@pytest.mark.parametrize("sizes", [(32, 16, 17, 33, 32, 64, 8), (8, 9, 64, 63)])
def test_a_replay_is_never_trusted_when_the_walk_read_a_changed_dimension(sizes):
    """`if: in_height > 16`, an `out` computed from in_width, and in_channels of a flat input (C*H*W) all read
    the input's size: each point's totals are those of a full walk, whatever order the sizes come in."""
    model = costcalc.load(SHAPE_DEPENDENT)
    cache = Cache()
    for size in sizes:
        fast = totals(model.spec(), {}, (3, size, size), 1, cache)
        assert fast == costcalc.analyze(SHAPE_DEPENDENT, input=(3, size, size)).totals
    assert cache.walks >= 2


def test_replays_happen_and_agree_across_the_zoo():
    for name in ("mobilenet_v2", "shufflenet_v2_x1_0", "resnet50", "densenet121", "efficientnet_b0"):
        model = costcalc.load(SPECS / f"{name}.yaml")
        cache = Cache()
        for size in (96, 128, 224, 160):
            shape = (3, size, size)
            assert totals(model.spec(), {}, shape, 2, cache, more=True) == model.analyze(input=shape, batch=2).totals
        assert cache.replays == 3 and cache.walks == 1


def test_an_op_refusing_a_replayed_shape_gives_the_walks_located_error():
    model = costcalc.load(SHAPE_DEPENDENT.replace("k: 2, if: in_height > 16", "k: 5"))
    assert model.totals(input=(3, 32, 32)) == costcalc.analyze(model, input=(3, 32, 32)).totals
    with pytest.raises(costcalc.SpecError) as error:
        model.totals(input=(3, 4, 4))  # the 5x5 pool no longer fits: replay refuses, the walk says where
    assert str(error.value).startswith("<string>:6:") and "larger than the padded input" in str(error.value)


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_reaches_every_point(jobs):
    """What the progress bar shows: the count of points done, rising to all of them, in process and with --jobs."""
    from costcalc.analysis.sweep import run

    points = grid_points(parse_grid(["width=0.5,0.75,1.0", "input=3x64x64,3x96x96,3x128x128"]))
    seen = []
    rows = run(costcalc.load(SPECS / "mobilenet_v2.yaml"), points, jobs=jobs, progress=seen.append)
    assert len(rows) == 9 and seen == sorted(seen) and seen[-1] == 9 and len(seen) >= 2


# ---- with a device profile ------------------------------------------------------------------------------------

PROFILE = SPECS.parent / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml"


def test_device_adds_each_points_estimate_as_analyze_gives_it(run):
    grid = {"width": [0.5, 1.0], "input": ["3x96x96", "3x128x128"]}
    timed = costcalc.sweep(SPECS / "mobilenet_v2.yaml", grid=grid, device=PROFILE, pareto="flops,latency_s")
    for row in timed.rows:
        values = dict(row.values)
        alone = costcalc.analyze(SPECS / "mobilenet_v2.yaml", set={"width": values["width"]},
                                 input=values["input"], device=PROFILE)
        assert row.latency_s == alone.latency_s and row.totals == alone.totals
    assert timed.front and all(r.latency_s is not None for r in timed.rows)
    two = costcalc.sweep(SPECS / "mobilenet_v2.yaml", grid=grid, device=PROFILE, pareto="flops,latency_s", jobs=2)
    assert two.rows == timed.rows
    plain = costcalc.sweep(SPECS / "mobilenet_v2.yaml", grid=grid)
    assert [r.totals for r in plain.rows] == [r.totals for r in timed.rows]
    assert all(r.latency_s is None for r in plain.rows)

    result = run("sweep", SPECS / "mobilenet_v2.yaml", "--grid", "width=0.5,1.0", "--device", PROFILE,
                 "--format", "json", "--sort", "-latency_s")
    doc = json.loads(result.stdout)
    assert doc["latency"] == {"estimate": True, "profile": str(PROFILE)}
    latencies = [row["latency_s"] for row in doc["rows"]]
    assert latencies == sorted(latencies, reverse=True) and latencies[0] > latencies[1] > 0
    csv_rows = list(csv.DictReader(io.StringIO(run("sweep", SPECS / "mobilenet_v2.yaml", "--grid", "width=0.5",
                                                   "--device", PROFILE, "--format", "csv").stdout)))
    assert float(csv_rows[0]["latency_s"]) == pytest.approx(costcalc.analyze(
        SPECS / "mobilenet_v2.yaml", set={"width": 0.5}, device=PROFILE).latency_s)
    table = run("sweep", SPECS / "mobilenet_v2.yaml", "--grid", "width=0.5", "--device", PROFILE).stdout
    assert "Latency (est.)" in table and "latency: estimated on" in table


def test_latency_columns_need_a_device(run):
    for args in (["--pareto", "flops,latency_s"], ["--sort", "latency_s"]):
        result = run("sweep", SPECS / "mobilenet_v2.yaml", "--grid", "width=0.5", *args)
        assert result.exit_code == 2 and "--device" in result.stderr
    with pytest.raises(OptionError, match="device"):
        costcalc.sweep(SPECS / "mobilenet_v2.yaml", grid={"width": [0.5]}, pareto="flops,latency_s")
