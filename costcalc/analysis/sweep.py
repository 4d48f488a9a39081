"""A sweep over a spec's design space: points (a grid's product, or random samples), their totals, the Pareto front.

A point sets some of the spec's variables (`width=0.5`) and perhaps the input (`input=3x160x160`). Each point is
evaluated with `Model.totals` — parsed once, walks remembered and replayed (costcalc.analysis.totals) — in this
process, in `jobs` worker processes, or on a Dask cluster (costcalc.analysis.sweep_dask). A point that cannot be
evaluated is a row carrying its located error, never the end of the sweep. Everything here is data: rows of Python
ints, the front as flags; the reporters and the plot only show it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from costcalc.analysis.sweep_points import (INPUT, MAX_POINTS, Draw, check_names, expand_elements,  # noqa: F401
                                            grid_points, parse_grid, parse_ranges, random_points, settings,
                                            split_values)
from costcalc.errors import CostcalcError, OptionError
from costcalc.ops import COUNT_FIELDS, Counts
from costcalc.options import format_shape, parse_shape

LATENCY = "latency_s"  # the estimated latency's column, with a device profile


@dataclass(frozen=True)
class SweepRow:
    """One point: its values (name -> text, in the sweep's order), and its totals or its error."""

    index: int
    values: tuple  # ((name, value text), ...)
    totals: Counts | None = None
    error: str | None = None
    pareto: bool = False  # on the Pareto front of the sweep's `pareto` columns
    latency_s: float | None = None  # the estimated seconds of the batch, with a device profile

    def value(self, column: str):
        """A column's value: a count (int), or a variable's text; None for a count of a failed point."""
        if column in COUNT_FIELDS:
            return None if self.totals is None else getattr(self.totals, column)
        if column == LATENCY:
            return self.latency_s
        return dict(self.values).get(column)


@dataclass(frozen=True)
class Sweep:
    model: str
    path: str
    names: tuple  # the swept names, in order ("input" among them when swept)
    rows: tuple  # tuple[SweepRow], in point order unless sorted
    points: int  # how many points were evaluated (rows may be fewer after `top`)
    batch: int = 1
    pareto: tuple = ()  # the columns the front minimises
    sort: str | None = None
    device: str = ""  # the device profile the latency was estimated on ("" without one)
    every: tuple = ()  # every row, when `top` keeps only some of them in `rows`
    lines: tuple = ()  # instead of `rows`: each row's text, rendered where it was evaluated (run_rendered)
    failed: int = 0  # with `lines`: the points that could not be evaluated

    @property
    def front(self) -> tuple:
        """The rows on the Pareto front, of every point (shown or not)."""
        return tuple(row for row in (self.every or self.rows) if row.pareto)

    @property
    def invalid(self) -> int:
        """The points that could not be evaluated, shown or not."""
        return self.failed + sum(1 for row in (self.every or self.rows) if row.error is not None)

    @property
    def errors(self) -> int:
        return sum(1 for row in self.rows if row.error is not None)


# ---- evaluation ---------------------------------------------------------------------------------------------


def evaluate(model, points, batch: int = 1, start: int = 0, profile=None) -> list:
    """The rows of `points` (numbered from `start`) under `model` (a costcalc.api.Model), in this process; with
    `profile` (a DeviceProfile), each with its estimated latency too (a walk of the whole graph per point)."""
    return evaluate_items(model, list(enumerate(points, start)), batch, profile)


def evaluate_items(model, items: list, batch: int = 1, profile=None) -> list:
    """The rows of `items` ((index, point) pairs, in the order given) under `model`, in this process."""
    rows = []
    written = model.variables if items and any(name[-1] == "]" for name, _ in items[0][1]) else None
    for position, (index, point) in enumerate(items):
        variables, shape = settings(point, written)
        following = items[position + 1][1] if position + 1 < len(items) else None
        # more inputs of these variables follow (a grid): walked once, replayed; the very point again is not that
        more = following is not None and following != point and (_swept_input(point) or _swept_input(following)) \
            and _variables(following) == _variables(point)
        rows.append(_row(model, index, point, variables, shape, batch, profile, more))
    return rows


def _row(model, index: int, values: tuple, variables: dict, shape, batch: int, profile, more: bool = False):
    """One point's row: its totals (and with `profile` its estimated latency), or its located error."""
    try:
        if profile is None:
            return SweepRow(index, values, model.totals(set=variables, input=shape, batch=batch, more=more))
        totals, latency = model.timed(profile, set=variables, input=shape, batch=batch)
        return SweepRow(index, values, totals, latency_s=latency)
    except CostcalcError as e:
        return SweepRow(index, values, error=str(e))
    except (RecursionError, MemoryError) as e:
        return SweepRow(index, values, error=f"{model.path}: error: the point is too large to evaluate "
                                             f"({type(e).__name__})")


def evaluate_settings(model, settings, batch: int = 1, profile=None):
    """Yield the row of each setting ({name: value}; "input" for the input shape) as it is evaluated."""
    for index, setting in enumerate(settings):
        if not isinstance(setting, dict):
            raise OptionError(f"setting {index}: a mapping of names to values, not {type(setting).__name__}")
        yield _setting_row(model, index, setting, batch, profile)


def evaluate_candidates(model, items: list, batch: int = 1, profile=None) -> list:
    """The rows of `items` ((index, the items of a setting) pairs), each as evaluate_settings makes it."""
    return [_setting_row(model, index, dict(setting), batch, profile) for index, setting in items]


def _setting_row(model, index: int, setting: dict, batch: int, profile):
    variables = {name: value for name, value in setting.items() if name != INPUT}
    shape = setting.get(INPUT)
    try:
        shape = parse_shape(shape) if shape is not None else None
    except OptionError as e:
        return SweepRow(index, tuple(setting.items()), error=str(e))
    return _row(model, index, tuple(setting.items()), variables, shape, batch, profile)


def run_candidates(model, settings: list, render, batch: int = 1, jobs: int = 1, profile=None) -> tuple:
    """(each setting's text, in the settings' order; the settings that could not be evaluated): the rows
    evaluate_settings gives, rendered by `render` (rows -> a text each), over `jobs` processes where there are
    more (costcalc.analysis.sweep_jobs: the settings cut in their own order, not regrouped; each process renders
    the rows it evaluates, and this one puts the texts in order)."""
    points = [tuple(setting.items()) for setting in settings]
    if jobs > 1 and len(points) > 1:
        from costcalc.analysis.sweep_jobs import evaluate_parallel, input_order

        return evaluate_parallel(evaluate_candidates, SweepRow, model, points, batch, jobs, chunks, None, profile,
                                 render, order=input_order)
    rows = evaluate_candidates(model, list(enumerate(points)), batch, profile)
    return render(rows), sum(row.error is not None for row in rows)


def chunks(points: list, parts: int, size: int | None = None) -> list:
    """(start, points) pieces: about 8 per worker, at most 2,000 points each (or of `size`), for even progress and
    balance. A piece
    ends where the variables change: the points that differ only in their input (a group) stay together, so that one
    worker walks once and replays the rest (costcalc.analysis.totals). Consecutive groups share a piece while it
    stays within the size; a group over twice the size is cut into pieces of the size."""
    size = size or max(1, min(2000, -(-len(points) // (parts * 8))))
    if not (points and _swept_input(points[0])):  # no input swept: nothing to replay, pieces of the size
        return [(start, points[start:start + size]) for start in range(0, len(points), size)]
    pieces: list = []
    piece_start = 0
    for group_start, group_end in _groups(points):
        if group_start > piece_start and group_end - piece_start > size:
            pieces.append((piece_start, points[piece_start:group_start]))
            piece_start = group_start
        if group_end - group_start > 2 * size:
            for cut in range(group_start, group_end, size):
                pieces.append((cut, points[cut:min(cut + size, group_end)]))
            piece_start = group_end
    if piece_start < len(points):
        pieces.append((piece_start, points[piece_start:]))
    return pieces


def _groups(points: list):
    """(start, end) of each run of consecutive points with the same variables."""
    keys = [_variables(point) for point in points]
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            yield start, i
            start = i


def _swept_input(point: tuple) -> bool:
    """Whether the point sets the input: two different points that do not differ only in their input."""
    return any(name == INPUT for name, _ in point)


def _variables(point: tuple) -> tuple:
    return tuple(item for item in point if item[0] != INPUT)


def evaluate_parallel(model, points: list, batch: int, jobs: int, progress=None, profile=None, render=None):
    """The rows of `points` over `jobs` processes (costcalc.analysis.sweep_jobs), in point order; with `render`,
    (their texts in point order, the points that failed)."""
    from costcalc.analysis.sweep_jobs import evaluate_parallel as over_processes

    return over_processes(evaluate_items, SweepRow, model, points, batch, jobs, chunks, progress, profile, render)


def run_rendered(model, points, render, batch: int = 1, jobs: int = 1, scheduler: str | None = None,
                 progress=None, profile=None) -> tuple:
    """(each point's text, in point order; the points that could not be evaluated): what `run` gives, rendered by
    `render` (rows -> a text each, costcalc.report.as_sweep.row_lines). Over processes or a cluster, each renders
    the rows it evaluates and this process only puts the texts in order: no row is made here. `points` is a list,
    or a Draw, which each process of `jobs` draws itself."""
    if scheduler is not None:
        from costcalc.analysis.sweep_dask import evaluate_on_cluster

        return evaluate_on_cluster(model, points, batch, scheduler, progress, profile, evaluate=evaluate_items,
                                   chunks=chunks, render=render)
    if jobs > 1 and len(points) > 1:
        return evaluate_parallel(model, points, batch, jobs, progress, profile, render)
    rows = run(model, points() if isinstance(points, Draw) else points, batch, 1, None, progress, profile)
    return render(rows), sum(row.error is not None for row in rows)


def run(model, points: list, batch: int = 1, jobs: int = 1, scheduler: str | None = None, progress=None,
        profile=None) -> list:
    """Every point's row, in point order: in process, in `jobs` processes, or on the Dask `scheduler`; with
    `profile`, with the estimated latency of each."""
    if scheduler is not None:
        from costcalc.analysis.sweep_dask import evaluate_on_cluster

        return evaluate_on_cluster(model, points, batch, scheduler, progress, profile, evaluate=evaluate_items,
                                   chunks=chunks, sweep_row=SweepRow)
    if jobs > 1 and len(points) > 1:
        return evaluate_parallel(model, points, batch, jobs, progress, profile)
    rows = []
    for start, piece in chunks(points, 1):
        rows.extend(evaluate(model, piece, batch, start, profile))
        if progress is not None:
            progress(len(rows))
    return rows


# ---- the front, ranking -------------------------------------------------------------------------------------


def pareto_columns(text: str | None, timed: bool = False) -> tuple:
    """The columns of --pareto; `latency_s` among them only when a device profile gives it (`timed`)."""
    if not text:
        return ()
    columns = tuple(c.strip() for c in text.split(","))
    for column in columns:
        if column == LATENCY and not timed:
            raise OptionError(f"'{column}': the estimated latency needs a device profile (--device PROFILE.yaml)")
        if column not in COUNT_FIELDS and column != LATENCY:
            raise OptionError(f"'{column}': the front minimises totals: {', '.join(COUNT_FIELDS)} (and {LATENCY} "
                              "with a device profile)")
    if len(columns) < 2 or len(set(columns)) != len(columns):
        raise OptionError(f"'{text}': name two or more different totals, e.g. --pareto flops,params")
    return columns


def pareto_front(rows, columns: tuple) -> set:
    """Indexes of the rows no other row dominates (as small or smaller in every column, smaller in one); rows with
    an error are never on it, and of equal points only the first is."""
    valid = sorted((row for row in rows if row.totals is not None),
                   key=lambda row: (tuple(row.value(c) for c in columns), row.index))
    front: list = []
    indexes = set()
    for row in valid:  # in this order, whatever dominates a row comes before it, and so does a front row
        point = tuple(row.value(c) for c in columns)
        if not any(all(f <= p for f, p in zip(other, point)) for other in front):
            front.append(point)
            indexes.add(row.index)
    return indexes


def sweep_result(model, points: list, rows: list, names: tuple, batch: int = 1, pareto: tuple = (),
                 top: int | None = None, sort: str | None = None, device: str = "") -> Sweep:
    """The Sweep of evaluated `rows`: the front marked, then with `sort`, valid rows in ascending order of that
    column ('-flops': descending) and failed ones last; with `top`, the first `top` rows only."""
    if pareto:
        front = pareto_front(rows, pareto)
        rows = [replace(row, pareto=row.index in front) for row in rows]
    if sort is not None:
        column = sort.lstrip("-")
        if column not in COUNT_FIELDS and not (column == LATENCY and device):
            raise OptionError(f"--sort '{sort}': one of {', '.join(COUNT_FIELDS)} (with '-' for descending; "
                              f"{LATENCY} with a device profile)")
        sign = -1 if sort.startswith("-") else 1
        rows = sorted(rows, key=lambda row: (row.totals is None, sign * (row.value(column) or 0), row.index))
    every = tuple(rows) if top is not None and top < len(rows) else ()
    if top is not None:
        rows = rows[:top]
    return Sweep(model.name, model.path, tuple(names), tuple(rows), len(points), batch, pareto, sort, device, every)
