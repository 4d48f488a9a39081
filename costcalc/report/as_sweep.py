"""`costcalc sweep` as text: a table, CSV or JSON, one row per point with its values and totals (or its error).

    JSON: {"model", "path", "batch", "names": [...], "points", "pareto": [columns], "sort",
           "rows": [{"index", "values": {name: text}, "totals": {flops, ...} | null, "error": text | null,
                     "pareto": bool, "latency_s": seconds (with a device profile: an estimate)}],
     "latency": {"estimate": true, "profile": path} (with a device profile)}
JSON lines (`jsonl`): one {"index", "values", "totals", "error"(, "latency_s")} a line, in the rows' order.
CSV: index, the swept names, the five totals (empty for a failed point), latency_s (with a device profile), pareto
(1/0), error.
"""

from __future__ import annotations

import csv
import io
import json

from costcalc.ops import COUNT_FIELDS
from costcalc.report.base import Options
from costcalc.report.units import duration, human

PIPED_WIDTH = 200  # fixed, so that piped output is the same on every machine
HEADINGS = {"flops": "FLOPs", "elementwise_flops": "Elem. FLOPs", "params": "Params",
            "memory_access": "MAC (mem. access)", "activations": "Activations"}


def row_document(row, timed: bool) -> dict:
    """One point: {"index", "values", "totals" | null, "error" | null, "latency_s" (when `timed`)}."""
    return {"index": row.index, "values": dict(row.values),
            "totals": None if row.totals is None else {f: getattr(row.totals, f) for f in COUNT_FIELDS},
            "error": row.error, **({"latency_s": row.latency_s} if timed else {})}


def json_line(row, timed: bool) -> str:
    """A point as one line of JSON (`costcalc sweep --format jsonl`, `--candidates`)."""
    return json.dumps(row_document(row, timed), separators=(",", ":"))


def document(sweep) -> dict:
    doc = {
        "model": sweep.model,
        "path": sweep.path,
        "batch": sweep.batch,
        "names": list(sweep.names),
        "points": sweep.points,
        "pareto": list(sweep.pareto),
        **({"on_front": len(sweep.front)} if sweep.pareto else {}),  # of every point, also those --top leaves out
        "sort": sweep.sort,
        "rows": [{**row_document(row, bool(sweep.device)), "pareto": row.pareto} for row in sweep.rows],
    }
    if sweep.device:
        doc["latency"] = {"estimate": True, "profile": sweep.device}
    return doc


def render_json(sweep, options=None) -> str:
    return json.dumps(document(sweep), indent=1) + "\n"


def render_csv(sweep, options=None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    timed = ["latency_s"] if sweep.device else []
    writer.writerow(["index", *sweep.names, *COUNT_FIELDS, *timed, "pareto", "error"])
    for row in sweep.rows:
        values = dict(row.values)
        counts = [getattr(row.totals, f) if row.totals is not None else "" for f in COUNT_FIELDS]
        latency = [row.latency_s if row.latency_s is not None else ""] if timed else []
        writer.writerow([row.index, *(values.get(n, "") for n in sweep.names), *counts, *latency, int(row.pareto),
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
    if sweep.device:
        table.add_column("Latency (est.)", justify="right")
    if sweep.pareto:
        table.add_column("Pareto", justify="center")
    if sweep.errors:
        table.add_column("Error")
    for row in sweep.rows:
        values = dict(row.values)
        cells = [str(row.index), *(values.get(n, "") for n in sweep.names)]
        cells += [human(getattr(row.totals, f), exact) if row.totals is not None else "-" for f in COUNT_FIELDS]
        if sweep.device:
            cells.append(duration(row.latency_s) if row.latency_s is not None else "-")
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
    failed = f", {sweep.invalid} invalid" if sweep.invalid else ""
    shown = f" ({len(sweep.rows)} shown)" if len(sweep.rows) != sweep.points else ""
    timed = f" | latency: estimated on {sweep.device}" if sweep.device else ""
    console.print(f"{sweep.model} | batch {sweep.batch} | {sweep.points} points{shown}{front}{failed}{timed}",
                  soft_wrap=True)
    console.print(table)
    return buffer.getvalue()


def render_jsonl(sweep, options=None) -> str:
    return "".join(json_line(row, bool(sweep.device)) + "\n" for row in sweep.rows)


RENDERERS = {"table": render_table, "csv": render_csv, "json": render_json, "jsonl": render_jsonl}


def render(fmt: str, sweep, options=None) -> str:
    return RENDERERS[fmt](sweep, options)
