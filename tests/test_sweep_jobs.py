"""`--jobs N` (and `--scheduler`) writes, byte for byte, what one process writes: random searches (the points handed
out by width; each process renders its own rows in CSV, JSON lines or JSON and this one puts the texts in order,
costcalc.analysis.sweep_jobs), with the latency estimate, with points that fail, grids whose inputs come first, the
front and the ranking (rows sent back as plain values). Run as whole processes, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys

import pytest

from conftest import ROOT
from costcalc.analysis.sweep_points import parse_grid, parse_ranges, random_points

PROFILE = "devices/epyc-2cpu-onnxruntime-1.32-1thread.yaml"
MOBILENET = ["specs/mobilenet_v2.yaml", "--range", "width=0.35:1.4", "--range", "n[*]=1:4", "--range", "k[*]=3,5,7"]
RESNET = ["specs/resnet50.yaml", "--range", "depths[*]=1:6", "--range", "width_per_group=16,32,48,64", "--range",
          "groups=1,2,4,8,32"]


def sweep(*args) -> bytes:
    done = subprocess.run([sys.executable, "-m", "costcalc", "sweep", *args], cwd=ROOT, capture_output=True,
                          check=True)
    return done.stdout


@pytest.mark.parametrize("args", [
    [*MOBILENET, "--random", "3000", "--format", "csv"],
    [*RESNET, "--random", "2000", "--seed", "3", "--format", "csv"],
    [*MOBILENET, "--random", "600", "--device", PROFILE, "--format", "csv"],
    [*MOBILENET, "--random", "800", "--range", "t[6]=0,6", "--pareto", "flops,memory_access", "--sort", "params",
     "--format", "json"],
    ["specs/mobilenet_v2.yaml", "--grid", "input=3x96x96,3x128x128,3x160x160", "--grid", "width=0.5,0.75,1.0,1.4",
     "--format", "csv"],
    [*MOBILENET, "--random", "700", "--range", "t[6]=0,6", "--format", "csv"],
    [*MOBILENET, "--random", "700", "--range", "t[6]=0,6", "--device", PROFILE, "--format", "jsonl"],
    [*RESNET, "--random", "900", "--seed", "5", "--format", "jsonl"],
    [*MOBILENET, "--random", "500", "--range", "t[6]=0,6", "--device", PROFILE, "--format", "json"],
    ["specs/mobilenet_v2.yaml", "--grid", "width=0.5,0.75,1.0,1.4", "--grid", "input=3x96x96,3x128x128",
     "--format", "json"],
], ids=["mobilenet", "resnet50", "device", "errors-front-sort", "grid-input-first", "errors-csv",
        "errors-device-jsonl", "resnet50-jsonl", "errors-device-json", "grid-json"])
def test_jobs_write_what_one_process_writes(args):
    one = sweep(*args)
    assert one.count(b"\n") > 10
    assert sweep(*args, "--jobs", "2") == one
    assert sweep(*args, "--jobs", "3") == one


def test_the_draw_is_the_plain_one_of_randint_uniform_and_choice():
    """random_points draws an integer range as the choice of its texts: the very draws of randint."""
    ranges = parse_ranges(["width=0.35:1.4", "n=1:4", "wide=0:100000", "k=3,5,7", "e=2:6:2"])
    axes = parse_grid(["input=3x96x96,3x128x128"])
    rng = random.Random(5)
    expected = []
    for _ in range(500):
        point = [("width", repr(round(rng.uniform(0.35, 1.4), 4))), ("n", str(rng.randint(1, 4))),
                 ("wide", str(rng.randint(0, 100000))), ("k", rng.choice(("3", "5", "7"))),
                 ("e", rng.choice(("2", "4", "6"))), ("input", rng.choice(("3x96x96", "3x128x128")))]
        expected.append(tuple(point))
    assert random_points(500, ranges, axes, seed=5) == expected


def test_sampled_rows_of_a_search_over_processes_are_each_a_fresh_costcalc_report():
    """Issue 25's check as a user would make it: a whole `costcalc sweep --random ... --jobs 2 --device` process,
    and for a random sample of its rows a fresh `costcalc report --set ... --device ... --format json` process of
    that point: the same five totals and the same estimate, to the last bit."""
    rows = list(csv.DictReader(io.StringIO(sweep(*MOBILENET, "--random", "3000", "--seed", "11", "--jobs", "2",
                                                 "--device", PROFILE, "--format", "csv").decode())))
    assert len(rows) == 3000
    for row in random.Random(25).sample(rows, 4):
        settings = [f"width={row['width']}"] + [f"{name}=[{','.join(row[f'{name}[{i}]'] for i in range(7))}]"
                                                for name in ("n", "k")]
        report = subprocess.run([sys.executable, "-m", "costcalc", "report", "specs/mobilenet_v2.yaml",
                                 *(arg for setting in settings for arg in ("--set", setting)), "--device", PROFILE,
                                 "--format", "json"], cwd=ROOT, capture_output=True, check=True)
        totals = json.loads(report.stdout)["totals"]
        assert {field: int(row[field]) for field in totals if field != "latency_s"} == \
            {field: value for field, value in totals.items() if field != "latency_s"}
        assert float(row["latency_s"]) == totals["latency_s"] and not row["error"]


def test_the_plain_draw_is_the_one_used_where_this_python_draws_otherwise(monkeypatch):
    """random_points' own loop is checked once against random.Random's methods; where they differ it draws with
    the methods: the same points either way here."""
    from costcalc.analysis import sweep_points

    ranges = parse_ranges(["width=0.35:1.4", "n=1:4", "wide=0:100000", "k=3,5,7", "one=8"])
    inline = random_points(300, ranges, parse_grid(["input=3x96x96,3x128x128"]), seed=9)
    assert sweep_points._inline_draws()
    monkeypatch.setattr(sweep_points, "_inline_draws", lambda: False)
    assert random_points(300, ranges, parse_grid(["input=3x96x96,3x128x128"]), seed=9) == inline
