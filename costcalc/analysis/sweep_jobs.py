"""`--jobs N`: a sweep's points over this process and N - 1 worker processes.

Where two processes lost against one on a random search (MobileNet V2, 10,000 points, a point about 0.15 ms once
its parts are known; timestamps per phase, docs/sweep.md): each process met every part of the search, because
the pieces were claimed in turn and each process saw points of every width, so the parts a point is made of
(costcalc.analysis.parts: a stage under its channels, depth and kernel) were walked once in every process; this
process walked a first piece of 625 points alone before it started the worker; and the rows came back as pickled
SweepRow and Counts objects (a tenth of the run, pickled by the worker and read by this process after the end).
So:

- The points are handed out in an order that keeps alike points together (`locality_order`): by the values of
  their whole variables (the width, the groups), then of their list elements (each row's depth and kernel), then
  their input. The order is cut into one segment per process, each segment into pieces. A process takes the
  pieces of its own segment from its front; when none is left, it takes the last piece of the segment with the
  most pieces left. The parts of one range of widths are then met by one process, which learns them once.
- Where workers are forked, this process evaluates a few points first (`WARM`): the modules imported on first
  use and the expressions compiled (costcalc.spec.codegen) are then the workers' too, without a serial piece.
- A worker sends its rows back as tuples of plain values (`compact`): index, the five counts, the error, the
  latency; this process makes the rows of them, with the points it already has.

Every point is evaluated by the same `evaluate` as in one process, from the parts of its own process; the rows
are put back in point order, so the output is the one process's, byte for byte (tests/test_sweep_jobs.py).
"""

from __future__ import annotations

import gc

from costcalc.analysis.sweep_points import INPUT
from costcalc.ops import COUNT_FIELDS, Counts

import os  # EXPERIMENT
WARM = int(os.environ.get("J25_WARM", 8))  # points this process evaluates before it forks the workers
PIECES_PER_JOB = int(os.environ.get("J25_PIECES", 16))
_LOCAL = os.environ.get("J25_LOCAL", "1") == "1"
_FREEZE = os.environ.get("J25_FREEZE", "1") == "1"


def locality_order(points: list) -> list:
    """The indexes of `points` in the order they are handed out: sorted by the texts of their whole variables'
    values, then of their list elements' (a text's order is a number's where the integer parts are as long:
    only the grouping matters, never the result); points alike, and the inputs of one setting, come together and
    equal keys keep their order."""
    if not _LOCAL:
        return list(range(len(points)))
    names = [name for name, _ in points[0]] if points else []
    keyed = [i for i, name in enumerate(names) if name != INPUT and name[-1:] != "]"] + \
        [i for i, name in enumerate(names) if name[-1:] == "]"]
    keys = ["\0".join([point[i][1] for i in keyed if i < len(point)]) for point in points]
    return sorted(range(len(points)), key=keys.__getitem__)


def segments(points: list, jobs: int, chunks, warm: int = 0) -> tuple:
    """(pieces, bounds): the pieces ([(index, point), ...]) of the points in locality order, cut where
    `chunks(points, parts)` cuts them (the points of one setting together), and for each of the `jobs` processes
    the [first, end) range of its pieces: about the same number of points each. With `warm`, the first piece
    starts with a piece of that many points (evaluated before the workers start)."""
    order = locality_order(points)
    ordered = [(index, points[index]) for index in order]
    cut = chunks([point for _, point in ordered], jobs * PIECES_PER_JOB // 8)
    pieces = [ordered[start:start + len(piece)] for start, piece in cut]
    if warm and pieces and len(pieces[0]) > warm:
        pieces[:1] = [pieces[0][:warm], pieces[0][warm:]]
    bounds, first, done = [], 0, 0
    for job in range(jobs):
        end = first
        while end < len(pieces) and (job == jobs - 1 or done + len(pieces[end]) / 2 <= len(points) * (job + 1) / jobs):
            done += len(pieces[end])
            end += 1
        bounds.extend((first, end))
        first = end
    return pieces, bounds


def take(bounds, own: int):
    """The index of the next piece process `own` evaluates: the first left of its own segment, else the last of the
    segment with the most left; None when every piece is taken. `bounds` is the shared [first, end, ...] array."""
    with bounds.get_lock():
        if bounds[2 * own] < bounds[2 * own + 1]:
            bounds[2 * own] += 1
            return bounds[2 * own] - 1
        left, other = max((bounds[2 * job + 1] - bounds[2 * job], job) for job in range(len(bounds) // 2))
        if left <= 0:
            return None
        bounds[2 * other + 1] -= 1
        return bounds[2 * other + 1]


def claim(evaluate, model, pieces: list, bounds, own: int, done, batch: int, profile, progress=None,
          most: int | None = None) -> list:
    """The rows of the pieces process `own` takes, until none is left (or it has taken `most`); `done` (shared)
    counts the points evaluated, told to `progress`."""
    rows: list = []
    while most is None or most > 0:
        index = take(bounds, own)
        if index is None:
            break
        piece = pieces[index]
        rows.extend(evaluate(model, piece, batch, profile))
        with done.get_lock():
            done.value += len(piece)
        if progress is not None:
            progress(done.value)
        most = None if most is None else most - 1
    return rows


def compact(row) -> tuple:
    """A row as plain values, for the pipe: (index, counts or None, error, latency_s)."""
    counts = None if row.totals is None else tuple(getattr(row.totals, field) for field in COUNT_FIELDS)
    return row.index, counts, row.error, row.latency_s


def expand(sweep_row, points: list, values: tuple):
    """The row of a compact tuple, its point's values from `points`."""
    index, counts, error, latency = values
    return sweep_row(index, points[index], None if counts is None else Counts(*counts), error, latency_s=latency)


def _worker(connection, evaluate, *state) -> None:
    """A worker process: its rows, compact (or what went wrong), sent back through `connection`."""
    gc.enable()
    try:
        result = ([compact(row) for row in claim(evaluate, *state)], None)
    except BaseException as e:  # noqa: BLE001 - handed to the sweep's process, which raises it
        result = (None, RuntimeError(f"a sweep worker failed: {type(e).__name__}: {e}"))
    connection.send(result)
    connection.close()


def evaluate_parallel(evaluate, sweep_row, model, points: list, batch: int, jobs: int, chunks, progress=None,
                      profile=None) -> list:
    """The rows of `points` over `jobs` processes: this one and jobs - 1 workers (forked where the system can:
    they inherit the parsed model and what it remembered; else spawned with it). `evaluate(model, [(index,
    point), ...], batch, profile)` gives a piece's rows; `sweep_row` makes a row of a worker's compact tuple."""
    import multiprocessing

    forked = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forked else "spawn")
    pieces, bounds = segments(points, jobs, chunks, WARM if forked else 0)
    shared_bounds = context.Array("q", bounds)
    done = context.Value("q", 0)
    first = claim(evaluate, model, pieces, shared_bounds, 0, done, batch, profile, progress, most=1) \
        if forked and len(pieces) > jobs else []
    workers = []
    collecting = gc.isenabled()
    if forked and _FREEZE:
        gc.disable()
        gc.freeze()  # the workers' collections leave what this process made alone: its pages stay shared
    try:
        for job in range(1, jobs):
            receive, send = context.Pipe(duplex=False)
            state = (model, pieces, shared_bounds, job, done, batch, profile)
            process = context.Process(target=_worker, args=(send, evaluate, *state), daemon=True)
            process.start()
            send.close()
            workers.append((process, receive))
    finally:
        if forked and _FREEZE:
            gc.unfreeze()
            if collecting:
                gc.enable()
    try:
        rows = first + claim(evaluate, model, pieces, shared_bounds, 0, done, batch, profile, progress)
        for process, receive in workers:
            try:
                part, error = receive.recv()
            except EOFError:
                process.join()
                part, error = None, RuntimeError(f"a sweep worker ended without its rows (exit code "
                                                 f"{process.exitcode})")
            if error is not None:
                raise error
            rows.extend(expand(sweep_row, points, values) for values in part)
    finally:
        for process, receive in workers:
            receive.close()
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    if progress is not None:
        progress(len(rows))
    rows.sort(key=lambda row: row.index)
    return rows
