"""`--jobs N`: the points handed out in locality order, one segment per process, the pieces of a segment taken
from its front by its process and from its back by the others once theirs are done; every piece once."""

from __future__ import annotations

import multiprocessing

import costcalc
from conftest import SPECS
from costcalc.analysis.sweep import (SweepRow, chunks, evaluate, evaluate_items, grid_points, parse_grid,
                                     parse_ranges, random_points, run)
from costcalc.analysis.sweep_jobs import Rows, claim, compact, expand, items, locality_order, segments, take
from costcalc.analysis.sweep_points import expand_elements

PROFILE = SPECS.parent / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml"


def test_a_process_takes_its_segment_from_the_front_then_the_others_from_their_back():
    bounds = multiprocessing.Array("q", [0, 3, 3, 6, 6, 7])
    assert [take(bounds, 1) for _ in range(3)] == [3, 4, 5]  # its own, in order
    assert take(bounds, 1) == 2  # then the last piece of the segment with the most left (0: 3 left, 2: 1 left)
    assert [take(bounds, 0) for _ in range(2)] == [0, 1]
    assert take(bounds, 0) == 6 and take(bounds, 2) is None and list(bounds) == [2, 2, 6, 6, 6, 6]


def test_one_process_takes_every_piece_and_counts_the_points():
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    points = grid_points(parse_grid(["width=0.5,1.0", "input=3x64x64,3x96x96,3x128x128"]))
    order, pieces, bounds = segments(points, 2, chunks)
    assert sorted(index for piece in pieces for index, _ in items(points, order, piece)) == list(range(len(points)))
    shared, done, seen = multiprocessing.Array("q", bounds), multiprocessing.Value("q", 0), []
    rows = claim(Rows(evaluate_items, model, 1, None), points, order, pieces, shared, 0, done, seen.append)
    assert sorted(rows, key=lambda row: row.index) == evaluate(model, points)
    assert done.value == len(points) and seen[-1] == len(points) and take(shared, 1) is None


def _search(count: int = 2000) -> list:
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    return random_points(count, expand_elements(model, parse_ranges(["width=0.35:1.4", "n[*]=1:4",
                                                                      "k[*]=3,5,7"])), (), 0)


def test_a_random_search_is_handed_out_by_width_so_each_process_meets_its_own_channels():
    """MobileNet V2's stages are parts keyed by their channels (the width's): with the points in locality order,
    the two segments of --jobs 2 share no width."""
    points = _search()
    order = locality_order(points)
    assert sorted(order) == list(range(len(points)))
    widths = [float(points[index][0][1]) for index in order]
    assert widths == sorted(widths)
    order, pieces, bounds = segments(points, 2, chunks)
    sizes = [end - start for start, end in pieces]
    assert bounds[1] == bounds[2] and bounds[0] == 0 and bounds[3] == len(pieces)
    first = [float(point[0][1]) for piece in pieces[:bounds[1]] for _, point in items(points, order, piece)]
    second = [float(point[0][1]) for piece in pieces[bounds[2]:] for _, point in items(points, order, piece)]
    assert max(first) <= min(second) and abs(len(first) - len(second)) <= max(sizes)


def test_a_row_goes_through_the_pipe_as_plain_values_and_comes_back_equal():
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    points = _search(50) + [_search(1)[0] + (("t[6]", "0"),)]
    rows = evaluate(model, points)
    assert any(row.error for row in rows) and any(row.totals for row in rows)
    for row in [*rows, *costcalc.sweep(SPECS / "mobilenet_v2.yaml", grid={"width": [0.5]}, device=PROFILE).rows]:
        values = compact(row)
        assert all(isinstance(value, (int, float, str, tuple, type(None))) for value in values)
        assert expand(SweepRow, {row.index: row.values}, values) == row


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

    def failing(model, items, batch=1, profile=None):
        if multiprocessing.current_process().pid != parent:
            raise ValueError("boom")
        time.sleep(0.5)  # the worker takes a piece while this process is busy with its own
        return evaluate_items(model, items, batch, profile)

    monkeypatch.setattr(sweep, "evaluate_items", failing)
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


def test_the_inputs_of_one_setting_come_together_whatever_the_grid_order():
    """A grid whose input varies slowest: handed out, the inputs of each setting (width and n[0]) are side by side,
    so that one process walks the setting once and replays its inputs."""
    points = grid_points(parse_grid(["input=3x64x64,3x96x96,3x128x128", "n[0]=1,2", "width=0.5,0.75,1.0"]))
    order = locality_order(points)
    settings = [tuple(item for item in points[index] if item[0] != "input") for index in order]
    assert len({settings[i] for i in range(0, len(settings), 3)}) == 6 and \
        all(len(set(settings[i:i + 3])) == 1 for i in range(0, len(settings), 3))


def test_a_search_is_keyed_by_its_whole_variables_and_keeps_the_draw_order_among_equal_ones():
    model = costcalc.load(SPECS / "resnet50.yaml")
    points = random_points(3000, expand_elements(model, parse_ranges(["depths[*]=1:6", "width_per_group=16,32",
                                                                      "groups=1,2,4"])), (), 0)
    order = locality_order(points)
    whole = [(dict(points[index])["width_per_group"], dict(points[index])["groups"]) for index in order]
    assert whole == sorted(whole) and all(a < b for a, b, x, y in zip(order, order[1:], whole, whole[1:]) if x == y)
