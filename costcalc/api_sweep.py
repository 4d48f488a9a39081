"""The Python form of `costcalc sweep`, beside costcalc.api: a spec read once (`costcalc.api.load`), its points
drawn or listed, evaluated and ranked by costcalc.analysis.sweep."""

from __future__ import annotations

from costcalc.analysis.sweep import (INPUT, Sweep, check_names, expand_elements, grid_points, pareto_columns,
                                     parse_ranges, random_points, run, sweep_result)
from costcalc.api import device_profile, load
from costcalc.errors import OptionError
from costcalc.options import format_shape, parse_shape

__all__ = ["sweep"]


def sweep(spec, *, grid: dict | None = None, random: int | None = None, ranges: dict | None = None, seed: int = 0,
          batch: int = 1, jobs: int = 1, scheduler: str | None = None, pareto=(), top: int | None = None,
          sort: str | None = None, device=None) -> Sweep:
    """The Python form of `costcalc sweep`: `grid` maps names to values ({"width": [0.5, 1.0], "input":
    ["3x160x160", (3, 224, 224)]}) swept as their product, or with `random` N points drawn from `ranges`
    ({"width": (0.25, 2.0), "n[*]": (1, 4), "expand": (2, 6, 2), "k[*]": [3, 5, 7]}: a range, a stepped range,
    choices; `n[*]` each element of a list variable) and the grid's values; `pareto` names two or more totals to
    minimise; `device` (a profile's path or a DeviceProfile) adds each point's estimated latency, `latency_s`."""
    profile, device_path = device_profile(device)
    model = load(spec)
    axes = []
    for name, values in (grid or {}).items():
        values = [format_shape(parse_shape(v)) if name == INPUT else str(v) for v in values]
        axes.append((name, tuple(values)))
    spans = parse_ranges([f"{name}={','.join(map(str, span)) if isinstance(span, list) else ':'.join(map(str, span))}"
                          for name, span in (ranges or {}).items()])
    spans, axes = expand_elements(model, spans), expand_elements(model, axes)
    if spans and random is None:
        raise OptionError("ranges are drawn from: give random=N")
    points = random_points(random, spans, axes, seed) if random is not None else grid_points(axes)
    columns = pareto_columns(pareto if isinstance(pareto, str) else ",".join(pareto), profile is not None)
    names = tuple(name for name, *_ in spans) + tuple(name for name, _ in axes)
    check_names(model, names)
    rows = run(model, points, batch, jobs, scheduler, profile=profile)
    return sweep_result(model, points, rows, names, batch, columns, top, sort, device_path)
