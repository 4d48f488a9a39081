"""`costcalc sweep` as text: a table, CSV or JSON, one row per point with its values and totals (or its error).

    JSON: {"model", "path", "batch", "names": [...], "points", "pareto": [columns], "sort",
           "rows": [{"index", "values": {name: text}, "totals": {flops, ...} | null, "error": text | null,
                     "pareto": bool}]}
CSV: index, the swept names, the five totals (empty for a failed point), pareto (1/0), error.
"""

from __future__ import annotations

import csv
import io
import json

from costcalc.ops import COUNT_FIELDS
from costcalc.report import Options
from costcalc.report.units import human

PIPED_WIDTH = 200  # fixed, so that piped output is the same on every machine
HEADINGS = {"flops": "FLOPs", "elementwise_flops": "Elem. FLOPs", "params": "Params",
            "memory_access": "MAC (mem. access)", "activations": "Activations"}


def document(sweep) -> dict:
    return {
        "model": sweep.model,
        "path": sweep.path,
        "batch": sweep.batch,
        "names": list(sweep.names),
        "points": sweep.points,
        "pareto": list(sweep.pareto),
        "sort": sweep.sort,
        "rows": [{"index": row.index, "values": dict(row.values),
                  "totals": None if row.totals is None else {f: getattr(row.totals, f) for f in COUNT_FIELDS},
                  "error": row.error, "pareto": row.pareto} for row in sweep.rows],
    }


def render_json(sweep, options=None) -> str:
    return json.dumps(document(sweep), indent=1) + "\n"


def render_csv(sweep, options=None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["index", *sweep.names, *COUNT_FIELDS, "pareto", "error"])
    for row in sweep.rows:
        values = dict(row.values)
        counts = [getattr(row.totals, f) if row.totals is not None else "" for f in COUNT_FIELDS]
        writer.writerow([row.index, *(values.get(n, "") for n in sweep.names), *counts, int(row.pareto),
                         row.error or ""])
    return buffer.getvalue()


def render_table(sweep, options) -> str:
    from rich.console import Console
    from rich.table import Table

    exact = options is not None and options.exact
    table = Table(header_style="bold")
    table.add_column("#", justify="right")
    for name in sweep.names:
        table.add_column(name, no_wrap=True)
    for field in COUNT_FIELDS:
        table.add_column(HEADINGS[field], justify="right")
    if sweep.pareto:
        table.add_column("Pareto", justify="center")
    if sweep.errors:
        table.add_column("Error")
    for row in sweep.rows:
        values = dict(row.values)
        cells = [str(row.index), *(values.get(n, "") for n in sweep.names)]
        cells += [human(getattr(row.totals, f), exact) if row.totals is not None else "-" for f in COUNT_FIELDS]
        if sweep.pareto:
            cells.append("*" if row.pareto else "")
        if sweep.errors:
            cells.append(row.error or "")
        table.add_row(*cells)
    options = options or Options()
    buffer = io.StringIO()
    console = Console(file=buffer, width=options.width or PIPED_WIDTH, color_system="standard" if options.color
                      else None, force_terminal=options.color, no_color=not options.color, highlight=False)
    front = f", {len(sweep.front)} on the Pareto front of {', '.join(sweep.pareto)}" if sweep.pareto else ""
    failed = f", {sweep.errors} invalid" if sweep.errors else ""
    shown = f" ({len(sweep.rows)} shown)" if len(sweep.rows) != sweep.points else ""
    console.print(f"{sweep.model} | batch {sweep.batch} | {sweep.points} points{shown}{front}{failed}",
                  soft_wrap=True)
    console.print(table)
    return buffer.getvalue()


RENDERERS = {"table": render_table, "csv": render_csv, "json": render_json}


def render(fmt: str, sweep, options=None) -> str:
    return RENDERERS[fmt](sweep, options)
