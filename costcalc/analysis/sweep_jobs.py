"""`--jobs N`: a sweep's points over this process and N - 1 worker processes.

Where --jobs 2 lost against one process on random searches (MobileNet V2, 10,000 and 50,000 points; timestamps
per phase and the collector's callbacks, docs/sweep.md "Where --jobs lost"):
- each process met nearly every part of the search: pieces were claimed in turn, so both processes saw points of
  every width, and the parts a point is made of (costcalc.analysis.parts: a stage under its channels, depth and
  kernel) were walked once in each;
- this process evaluated a first piece (625 points) alone before it forked the worker;
- the rows came back as pickled SweepRow and Counts objects: pickled by the worker after its last piece, read
  here after this process's last, and making 25,000 of them here set off a full collection of the cyclic garbage
  collector over every part this process remembered (a quarter second at 50,000 points).
So:

- The points are handed out in an order that keeps alike points together (`locality_order`): by their whole
  variables (the width, the groups), then their list elements (each row's depth and kernel). The order is cut
  into one segment per process, each segment into pieces (`segments`). A process takes the pieces of its own
  segment from its front; when none is left, it takes the last piece of the segment with the most left (`take`).
  The parts of one range of widths are then met by one process, which learns them once, and a process slowed by
  other work on the machine still ends with the others.
- Where workers are forked, this process evaluates a few points first (`WARM`): the modules imported on first use
  and the expressions compiled (costcalc.spec.codegen) are then the workers' too, without a serial piece.
  (gc.freeze before the fork, to keep the pages shared, made the workers slower: with objects frozen,
  costcalc.util.gc_paused leaves what a walk makes in the youngest generation, which each collection traverses.)
- A worker sends its rows back as tuples of plain values (`compact`): index, the five counts, the error, the
  latency; this process makes the rows of them (`expand`), with the points it already has and the collector
  paused.

Every point is evaluated by the same `evaluate` as in one process, from the parts of its own process; the rows
are put back in point order, so the output is the one process's, byte for byte (tests/test_sweep_jobs.py).
"""

from __future__ import annotations

from costcalc.analysis.sweep_points import INPUT
from costcalc.ops import COUNT_FIELDS, Counts
from costcalc.util import gc_paused

WARM = 8  # points this process evaluates before it forks the workers
PIECES_PER_JOB = 16


def locality_order(points: list) -> list:
    """The indexes of `points` in the order they are handed out: sorted by the texts of their whole variables'
    values, then of their list elements' (a text's order is a number's where the integer parts are as long:
    only the grouping matters, never the result); points alike, and the inputs of one setting, come together and
    equal keys keep their order."""
    names = [name for name, _ in points[0]] if points else []
    keyed = [i for i, name in enumerate(names) if name != INPUT and name[-1:] != "]"] + \
        [i for i, name in enumerate(names) if name[-1:] == "]"]
    try:
        keys = ["\0".join([point[i][1] for i in keyed]) for point in points]
    except IndexError:  # points of different names (from Python): in their own order
        return list(range(len(points)))
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
    try:
        rows = claim(evaluate, *state)
        with gc_paused():
            result = ([compact(row) for row in rows], None)
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
    for job in range(1, jobs):
        receive, send = context.Pipe(duplex=False)
        state = (model, pieces, shared_bounds, job, done, batch, profile)
        process = context.Process(target=_worker, args=(send, evaluate, *state), daemon=True)
        process.start()
        send.close()
        workers.append((process, receive))
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
            with gc_paused():  # a full collection here would traverse every part remembered (a quarter second)
                rows.extend([expand(sweep_row, points, values) for values in part])
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
