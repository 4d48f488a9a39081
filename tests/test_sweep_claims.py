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


def _covers(pieces, points):
    assert [p for _, piece in pieces for p in piece] == points
    assert all(start == sum(len(piece) for _, piece in pieces[:i]) for i, (start, _) in enumerate(pieces))


def test_pieces_keep_the_points_of_one_setting_together():
    """22 widths x 17 inputs over 2 processes: 374 / 16 gives 24 points a piece, so each piece is one width (17),
    never a width split between two pieces (which would walk it twice)."""
    points = grid_points(parse_grid([f"width={','.join(str(10 + w) for w in range(22))}",
                                     f"input={','.join(f'3x{8 * (s + 1)}x{8 * (s + 1)}' for s in range(17))}"]))
    pieces = chunks(points, 2)
    _covers(pieces, points)
    assert [len(piece) for _, piece in pieces] == [17] * 22
    assert all(len({p[0] for p in piece}) == 1 for _, piece in pieces)


def test_small_groups_share_a_piece_and_a_large_group_is_cut():
    """1,000 points in groups of 3 over 2 processes: 63 points a piece, each piece whole groups. A group of 200
    points (among 239, 15 a piece) is cut into pieces of 15 (the last 5); the groups after it stay whole."""
    small = grid_points(parse_grid([f"width={','.join(str(w) for w in range(333))}", "input=3x8x8,3x16x16,3x24x24"]))
    small.append((("width", "333"), ("input", "3x8x8")))
    pieces = chunks(small, 2)
    _covers(pieces, small)
    assert max(len(piece) for _, piece in pieces) == 63 and all(len(piece) % 3 == 0 for _, piece in pieces[:-1])
    big = [(("width", "a"), ("input", f"3x{s}x{s}")) for s in range(1, 201)] + small[:39]
    pieces = chunks(big, 2)
    _covers(pieces, big)
    assert [len(piece) for start, piece in pieces if start < 200] == [15] * 13 + [5]
    assert [len(piece) for start, piece in pieces if start >= 200] == [15, 15, 9]


def test_a_worker_that_fails_is_an_error_of_the_sweep_not_a_hang(monkeypatch):
    """An unexpected exception in a worker (not a point's located error, which is a row) reaches the caller."""
    import time

    import pytest

    import costcalc.analysis.sweep as sweep

    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    points = grid_points(parse_grid(["width=0.5,0.75,1.0", "input=3x64x64,3x96x96"]))
    parent = multiprocessing.current_process().pid

    def failing(model, piece, batch=1, start=0, profile=None):
        if multiprocessing.current_process().pid != parent:
            raise ValueError("boom")
        time.sleep(0.5)  # the worker claims a piece while this process is busy with its own
        return evaluate(model, piece, batch, start, profile)

    monkeypatch.setattr(sweep, "evaluate", failing)
    with pytest.raises(RuntimeError, match="a sweep worker failed: ValueError: boom"):
        sweep.evaluate_parallel(model, points, 1, 2)


def test_a_point_drawn_twice_in_a_row_is_taken_from_parts_not_walked_into_a_program():
    """A random search may draw the very point twice, side by side: the second is the first's totals, and neither
    is walked into a replayable program (that is for more inputs of the same variables: a grid)."""
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    point = (("width", "0.5"), ("input", "3x96x96"))
    rows = evaluate(model, [point, point, (("width", "0.75"), ("input", "3x96x96"))])
    assert rows[0].totals == rows[1].totals == costcalc.load(SPECS / "mobilenet_v2.yaml").totals(
        set={"width": 0.5}, input="3x96x96")
    assert model._cache.walks == 2 and not model._cache.programs
