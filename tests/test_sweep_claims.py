"""`--jobs N`: this process and N - 1 workers claim the sweep's pieces from one counter; every piece once."""

from __future__ import annotations

import multiprocessing

import costcalc
from conftest import SPECS
from costcalc.analysis.sweep import _claim, chunks, evaluate, grid_points, parse_grid, run


def test_one_process_claims_every_piece_in_order_and_counts_the_points():
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    points = grid_points(parse_grid(["width=0.5,1.0", "input=3x64x64,3x96x96,3x128x128"]))
    pieces = chunks(points, 2)
    claimed, done, seen = multiprocessing.Value("q", 0), multiprocessing.Value("q", 0), []
    rows = _claim(model, pieces, claimed, done, 1, None, seen.append)
    assert rows == evaluate(model, points) and [row.index for row in rows] == list(range(len(points)))
    assert done.value == len(points) and seen[-1] == len(points) and claimed.value == len(pieces) + 1


def test_three_processes_give_the_rows_of_one():
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    points = grid_points(parse_grid(["width=0.35,0.5,0.75,1.0,1.4", "input=3x64x64,3x96x96"]))
    seen: list = []
    rows = run(model, points, jobs=3, progress=seen.append)
    assert rows == run(costcalc.load(SPECS / "mobilenet_v2.yaml"), points)
    assert seen[-1] == len(points) and seen == sorted(seen)
