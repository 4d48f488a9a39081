"""`--jobs N`: this process and N - 1 workers claim the sweep's pieces, each its own run first, then the others'
last ones; every piece once."""

from __future__ import annotations

import multiprocessing

import costcalc
from conftest import SPECS
from costcalc.analysis.sweep import _claim, claim_ranges, evaluate, grid_points, parse_grid, run


def test_a_process_claims_its_run_then_the_last_pieces_of_the_others():
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    points = grid_points(parse_grid(["width=0.5,0.75,1.0", "input=3x64x64,3x96x96,3x128x128"]))
    pieces = [(0, points[0:3]), (3, points[3:6]), (6, points[6:9])]  # a width each
    ranges, done, seen = claim_ranges(multiprocessing, len(pieces), 3), multiprocessing.Value("q", 0), []
    assert list(ranges) == [0, 1, 1, 2, 2, 3]
    rows = _claim(model, pieces, ranges, 1, done, 1, None, seen.append)  # as the second process, alone
    assert [row.index for row in rows] == [3, 4, 5, 0, 1, 2, 6, 7, 8]  # its run, then the others, from the back
    assert sorted(rows, key=lambda row: row.index) == evaluate(model, points)
    assert done.value == len(points) and seen == [3, 6, 9] and list(ranges) == [0, 0, 2, 2, 2, 2]


def test_three_processes_give_the_rows_of_one():
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    points = grid_points(parse_grid(["width=0.35,0.5,0.75,1.0,1.4", "input=3x64x64,3x96x96"]))
    seen: list = []
    rows = run(model, points, jobs=3, progress=seen.append)
    assert rows == run(costcalc.load(SPECS / "mobilenet_v2.yaml"), points)
    assert seen[-1] == len(points) and seen == sorted(seen)
