"""The Python form of `costcalc sweep`, beside costcalc.api: a spec read once (`costcalc.api.load`), its points
drawn or listed, evaluated and ranked by costcalc.analysis.sweep."""

from __future__ import annotations

from dataclasses import replace

from costcalc.analysis.sweep import (INPUT, Draw, Sweep, check_names, expand_elements, grid_points, pareto_columns,
                                     parse_ranges, random_points, run, run_rendered, sweep_result)
from costcalc.api import device_profile, load
from costcalc.errors import OptionError
from costcalc.options import format_shape, parse_shape
from costcalc.util import gc_paused

__all__ = ["sweep", "swept"]


def sweep(spec, *, grid: dict | None = None, random: int | None = None, ranges: dict | None = None, seed: int = 0,
          batch: int = 1, jobs: int = 1, scheduler: str | None = None, pareto=(), top: int | None = None,
          sort: str | None = None, device=None) -> Sweep:
    """The Python form of `costcalc sweep`: `grid` maps names to values ({"width": [0.5, 1.0], "input":
    ["3x160x160", (3, 224, 224)]}) swept as their product, or with `random` N points drawn from `ranges`
    ({"width": (0.25, 2.0), "n[*]": (1, 4), "expand": (2, 6, 2), "k[*]": [3, 5, 7]}: a range, a stepped range,
    choices; `n[*]` each element of a list variable) and the grid's values; `pareto` names two or more totals to
    minimise; `device` (a profile's path or a DeviceProfile) adds each point's estimated latency, `latency_s`."""
    axes = [(name, tuple(format_shape(parse_shape(v)) if name == INPUT else str(v) for v in values))
            for name, values in (grid or {}).items()]
    spans = parse_ranges([f"{name}={','.join(map(str, span)) if isinstance(span, list) else ':'.join(map(str, span))}"
                          for name, span in (ranges or {}).items()])
    columns = pareto_columns(pareto if isinstance(pareto, str) else ",".join(pareto), device is not None)
    return swept(spec, axes, spans, random=random, seed=seed, batch=batch, jobs=jobs, scheduler=scheduler,
                 columns=columns, top=top, sort=sort, device=device)


def swept(spec, axes: list, spans: list, *, random: int | None = None, seed: int = 0, batch: int = 1, jobs: int = 1,
          scheduler: str | None = None, columns: tuple = (), top: int | None = None, sort: str | None = None,
          device=None, progress=None, fmt: str | None = None) -> Sweep:
    """The sweep of `spec` over `axes` ([(name, values as text)], as costcalc.analysis.sweep.parse_grid gives them:
    their product, or with `random` the choices of N points) and `spans` (parse_ranges': drawn); the Pareto front
    of `columns`; `progress(done, total)` as points are evaluated. What `costcalc sweep` calls. With `fmt` (csv,
    jsonl or json: what the sweep will be rendered as), over processes or a cluster and with no front or ranking,
    each process renders the rows it evaluates: the Sweep has their texts (`lines`) instead of its rows."""
    profile, device_path = device_profile(device)
    model = load(spec)
    spans, axes = expand_elements(model, spans), expand_elements(model, axes)
    if spans and random is None:
        raise OptionError("ranges are drawn from: give random=N")
    rendered = fmt in ("csv", "jsonl", "json") and (jobs > 1 or scheduler is not None) and not (columns or top or sort)
    if rendered and random is not None and scheduler is None:
        points = Draw(random, spans, axes, seed)  # drawn by each process (costcalc.analysis.sweep_jobs)
    else:
        with gc_paused():  # many small acyclic tuples
            points = random_points(random, spans, axes, seed) if random is not None else grid_points(axes)
    names = tuple(name for name, *_ in spans) + tuple(name for name, _ in axes)
    check_names(model, names)  # an ONNX model is read here: its errors come before any point
    told = (lambda done: progress(done, len(points))) if progress is not None else None
    if rendered:
        from costcalc.report.as_sweep import row_lines

        lines, failed = run_rendered(model, points, row_lines(fmt, names, profile is not None), batch, jobs,
                                     scheduler, told, profile)
        return replace(sweep_result(model, points, [], names, batch, device=device_path), lines=tuple(lines),
                       failed=failed)
    rows = run(model, points, batch, jobs, scheduler, told, profile)
    return sweep_result(model, points, rows, names, batch, columns, top, sort, device_path)
