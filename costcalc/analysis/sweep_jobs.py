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
And where, once the parts were handed out well, the last of the time went (ResNet-50's search, whose points cost
least to evaluate, at 68 % of what two copies of one process reach side by side): this process's own work, done
once for all, about 10 µs a point: drawing the points, ordering and cutting them, making rows of the workers'
values, writing the CSV. So:

- The points are handed out in an order that keeps alike points together (`locality_order`): by their whole
  variables (the width, the groups; by their list elements where none is swept, and then by them too where the
  input is, so that the inputs of one setting come together). The order is cut into one segment per process, each
  segment into pieces, each a range of the order (`segments`). A process takes the pieces of its own segment from
  its front; when none is left, it takes the last piece of the segment with the most left (`take`), and makes
  the (index, point) items of its pieces itself (`items`): making them all here would touch every point, the
  points scattered in memory. The parts of one range of widths are then met by one process, which learns them
  once, and a process slowed by other work on the machine still ends with the others.
- The workers are started first, and a random search's points are drawn by each process itself (a `Draw`), then
  ordered and cut (each process makes the same segments; the first ready writes their bounds, `_prepared`): the
  points are then no pages a worker shares with this process, each of which the first write (a reference
  counted) would copy, and no worker waits for this process's draw and order: each makes its own alongside.
  (Before, this process evaluated 8 points before it forked: as fast, where the workers compile
  their expressions alongside it. gc.freeze before the fork, to keep the pages shared, made the workers slower:
  with objects frozen, costcalc.util.gc_paused leaves what a walk makes in the youngest generation.)
- With `render` (what `costcalc sweep --format csv|jsonl|json` asks for), every process renders the rows it
  evaluates into their output texts (`Rendered`) and this one only puts the texts in point order (`place`): no
  row is made here of a worker's values. Without it (the Python API), a worker sends its rows as tuples of plain
  values (`compact`), made rows here (`expand`) with the collector paused.
- A worker sends each piece's texts (or values) as soon as it is done, and this process reads what is waiting
  between its own pieces (`_Received`): nothing large is left to pickle, send and read once both are done.

Every point is evaluated by the same `evaluate` as in one process, from the parts of its own process, and
rendered by the very function that renders one process's rows; the texts are put back in point order, so the
output is the one process's, byte for byte (tests/test_sweep_jobs.py).
"""

from __future__ import annotations

from costcalc.analysis.sweep_points import INPUT
from costcalc.ops import COUNT_FIELDS, Counts
from costcalc.util import gc_paused

PIECES_PER_JOB = 64


def locality_order(points: list) -> list:
    """The indexes of `points` in the order they are handed out: sorted by the texts of their whole variables'
    values (a text's order is a number's where the integer parts are as long: only the grouping matters, never
    the result); by their list elements' where no whole variable is swept, and after the whole variables' where
    the input is (so that the inputs of one setting come together). Equal keys keep their order."""
    names = [name for name, _ in points[0]] if points else []
    whole = [i for i, name in enumerate(names) if name != INPUT and name[-1:] != "]"]
    elements = [i for i, name in enumerate(names) if name[-1:] == "]"]
    keyed = whole + elements if INPUT in names or not whole else whole
    try:
        if len(keyed) == 1:
            keys = [point[keyed[0]][1] for point in points]
        else:
            keys = ["\0".join([point[i][1] for i in keyed]) for point in points]
    except IndexError:  # points of different names (from Python): in their own order
        return list(range(len(points)))
    return sorted(range(len(points)), key=keys.__getitem__)


def input_order(points: list) -> list:
    """The indexes of `points` as they come (candidates from a search: cut in their own order)."""
    return list(range(len(points)))


def segments(points: list, jobs: int, chunks, order=locality_order) -> tuple:
    """(order, pieces, bounds): the points' locality order (or what `order` gives); its pieces, each a [start, end)
    range of it, cut where `chunks(points, parts)` cuts the points in that order (the points of one setting
    together); and for each of the `jobs` processes the [first, end) range of its pieces: about the same number of
    points each. Where no input is swept, chunks cuts by count alone, and is given the points as they are (making
    them in order here would touch each point, scattered in memory: the processes make the items of their own
    pieces, `items`)."""
    with gc_paused():
        order = order(points)
        grouped = bool(points) and any(name == INPUT for name, _ in points[0])
        cut = chunks([points[index] for index in order] if grouped else points, jobs * PIECES_PER_JOB // 8)
    pieces = [(start, start + len(piece)) for start, piece in cut]
    bounds, first, done = [], 0, 0
    for job in range(jobs):
        end = first
        while end < len(pieces) and (job == jobs - 1 or
                                     done + (pieces[end][1] - pieces[end][0]) / 2 <= len(points) * (job + 1) / jobs):
            done += pieces[end][1] - pieces[end][0]
            end += 1
        bounds.extend((first, end))
        first = end
    return order, pieces, bounds


def items(points: list, order: list, piece: tuple) -> list:
    """The (index, point) pairs of a piece, a [start, end) range of `order`."""
    return [(index, points[index]) for index in order[piece[0]:piece[1]]]


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


def claim(work, points: list, order: list, pieces: list, bounds, own: int, done, progress=None, sent=None,
          after=None) -> list:
    """What `work(items)` gives (a list) for the items of each piece process `own` takes, until none is left, one
    list; or with `sent`, each piece's made ready for the pipe (`work.send`) and handed to
    `sent` as soon as it is done. `done` (shared) counts the points evaluated, told to `progress`; `after()` is
    called after each piece."""
    out: list = []
    while True:
        index = take(bounds, own)
        if index is None:
            break
        piece = items(points, order, pieces[index])
        if sent is None:
            out.extend(work(piece))
        else:
            sent(work.send(work(piece)))
        with done.get_lock():
            done.value += len(piece)
        if progress is not None:
            progress(done.value)
        if after is not None:
            after()
    return out


class Rows:
    """A piece's work: its rows (`evaluate(model, piece, batch, profile)`); a worker sends them as plain values
    (`compact`), made rows again here (`expand`)."""

    def __init__(self, evaluate, model, batch: int, profile):
        self.evaluate, self.model, self.batch, self.profile = evaluate, model, batch, profile

    def __call__(self, piece) -> list:
        return self.evaluate(self.model, piece, self.batch, self.profile)

    def send(self, rows) -> list:
        return [compact(row) for row in rows]

    def received(self, sweep_row, points: list, part: list) -> list:
        return [expand(sweep_row, points, values) for values in part]


class Rendered(Rows):
    """A piece's work: its rows rendered by `render` (rows -> one text each, costcalc.report.as_sweep.row_lines),
    as (indexes, texts, failed points): a worker sends the texts as they are, and this process only puts them in
    point order (`place`)."""

    def __init__(self, evaluate, model, batch: int, profile, render):
        super().__init__(evaluate, model, batch, profile)
        self.render = render

    def __call__(self, piece) -> list:
        rows = self.evaluate(self.model, piece, self.batch, self.profile)
        return [(tuple(index for index, _ in piece), self.render(rows), sum(row.error is not None for row in rows))]

    def send(self, parts) -> list:
        return parts

    def received(self, sweep_row, points: list, parts: list) -> list:
        return parts


def place(parts: list, count: int) -> tuple:
    """(the texts of `parts` in point order, the points that failed) of `count` points."""
    texts: list = [None] * count
    failed = 0
    with gc_paused():
        for indexes, lines, errors in parts:
            for index, line in zip(indexes, lines):
                texts[index] = line
            failed += errors
    return texts, failed


def compact(row) -> tuple:
    """A row as plain values, for the pipe: (index, counts or None, error, latency_s)."""
    counts = None if row.totals is None else tuple(getattr(row.totals, field) for field in COUNT_FIELDS)
    return row.index, counts, row.error, row.latency_s


def expand(sweep_row, points: list, values: tuple):
    """The row of a compact tuple, its point's values from `points`."""
    index, counts, error, latency = values
    return sweep_row(index, points[index], None if counts is None else Counts(*counts), error, latency_s=latency)


class _Received:
    """What the workers sent, read as it comes (`read`: what is waiting; `read(wait=True)`: all, to the end)."""

    def __init__(self, work, sweep_row, points: list, workers: list, out: list):
        self.work, self.sweep_row, self.points, self.out = work, sweep_row, points, out
        self.open = list(workers)

    def read(self, wait: bool = False) -> None:
        for process, receive in list(self.open):
            while wait or receive.poll():
                try:
                    part, error = receive.recv()
                except EOFError:
                    process.join()
                    part, error = None, RuntimeError(f"a sweep worker ended without its rows (exit code "
                                                     f"{process.exitcode})")
                if error is not None:
                    raise error
                if part is None:
                    self.open.remove((process, receive))
                    break
                with gc_paused():  # a full collection here would traverse every part remembered
                    self.out.extend(self.work.received(self.sweep_row, self.points, part))


def _prepared(points, jobs: int, chunks, bounds, order=locality_order) -> tuple:
    """(points, order, pieces) in a process of the sweep: the points drawn here where they are a Draw, their
    segments; the first process to be ready writes the segments' bounds in the shared `bounds` (every process
    makes the same), whose last entry says they are written."""
    if callable(points):
        with gc_paused():  # many small acyclic tuples
            points = points()
    order, pieces, own = segments(points, jobs, chunks, order)
    with bounds.get_lock():
        if not bounds[2 * jobs]:
            bounds[:2 * jobs] = own
            bounds[2 * jobs] = 1
    return points, order, pieces


def _worker(connection, work, points, jobs: int, chunks, bounds, own: int, done, order) -> None:
    """A worker process: what each of its pieces gave, sent back through `connection` as soon as it is done (so
    that it is read while this process evaluates, and nothing large is left to send at the end), then None; or
    what went wrong."""
    try:
        state = _prepared(points, jobs, chunks, bounds, order)
        claim(work, *state, bounds, own, done, sent=lambda part: connection.send((part, None)))
        result = (None, None)
    except BaseException as e:  # noqa: BLE001 - handed to the sweep's process, which raises it
        result = (None, RuntimeError(f"a sweep worker failed: {type(e).__name__}: {e}"))
    connection.send(result)
    connection.close()


def evaluate_parallel(evaluate, sweep_row, model, points, batch: int, jobs: int, chunks, progress=None,
                      profile=None, render=None, order=locality_order):
    """The rows of `points` (a list, or a costcalc.analysis.sweep_points.Draw, which each process draws itself)
    over `jobs` processes: this one and jobs - 1 workers, started first (forked where the system can: they
    inherit the parsed model and what it remembered; else spawned with it). `evaluate(model, [(index, point),
    ...], batch, profile)` gives a piece's rows; `sweep_row` makes a row of a worker's compact tuple. With `render`
    (rows -> their texts), (the texts of every row in point order, the points that failed) instead: each process
    renders its own rows. `order(points)` gives the order the points are cut in (alike points together, or
    `input_order`)."""
    import multiprocessing

    forked = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forked else "spawn")
    work = Rows(evaluate, model, batch, profile) if render is None else \
        Rendered(evaluate, model, batch, profile, render)
    bounds = context.Array("q", 2 * jobs + 1)
    done = context.Value("q", 0)
    workers = []
    for job in range(1, jobs):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(send, work, points, jobs, chunks, bounds, job, done, order),
                                  daemon=True)
        process.start()
        send.close()
        workers.append((process, receive))
    try:
        points, cut, pieces = _prepared(points, jobs, chunks, bounds, order)
        out: list = []
        received = _Received(work, sweep_row, points, workers, out)
        out.extend(claim(work, points, cut, pieces, bounds, 0, done, progress, after=received.read))
        received.read(wait=True)
    finally:
        for process, receive in workers:
            receive.close()
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    if progress is not None:
        progress(len(points))
    if render is not None:
        return place(out, len(points))
    out.sort(key=lambda row: row.index)
    return out
