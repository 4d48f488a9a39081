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
    if sweep.lines:  # the rows rendered where they were evaluated (row_lines): put in the document as they are
        return _spliced(document(sweep), sweep.lines)
    return json.dumps(document(sweep), indent=1) + "\n"


def render_csv(sweep, options=None) -> str:
    timed = bool(sweep.device)
    return csv_header(sweep.names, timed) + "".join(sweep.lines or row_lines("csv", sweep.names, timed)(sweep.rows))


def csv_header(names, timed: bool) -> str:
    out: list = []
    csv.writer(_Appender(out.append), lineterminator="\n").writerow(
        ["index", *names, *COUNT_FIELDS, *(["latency_s"] if timed else []), "pareto", "error"])
    return out[0]


def row_lines(fmt: str, names, timed: bool):
    """A function making the text of rows in `fmt` (csv, jsonl or json): one string per row, each what the renderer
    of that format writes for it, so that the processes of a sweep can render their own rows and this process
    only put the texts in point order (Sweep.lines): a CSV line; a JSON line; a row of the JSON document, as it
    is indented there, without the comma between rows."""
    if fmt not in ("csv", "jsonl", "json"):
        raise ValueError(f"no rows of their own in format {fmt!r}")
    return RowLines(fmt, tuple(names), timed)


class RowLines:
    """rows -> [text of each row] in one format (a class, not a closure: a spawned worker receives it pickled)."""

    def __init__(self, fmt: str, names: tuple, timed: bool):
        self.fmt, self.names, self.timed = fmt, names, timed

    def __call__(self, rows) -> list:
        timed = self.timed
        if self.fmt == "jsonl":
            return [json_line(row, timed) + "\n" for row in rows]
        if self.fmt == "json":
            return ["  " + json.dumps({**row_document(row, timed), "pareto": row.pareto}, indent=1)
                    .replace("\n", "\n  ") for row in rows]
        out: list = []
        writer = csv.writer(_Appender(out.append), lineterminator="\n")
        names = self.names
        for row in rows:
            values = dict(row.values)
            counts = [getattr(row.totals, f) for f in COUNT_FIELDS] if row.totals is not None else _EMPTY
            latency = [row.latency_s if row.latency_s is not None else ""] if timed else []
            writer.writerow([row.index, *(values.get(n, "") for n in names), *counts, *latency, int(row.pareto),
                             row.error or ""])
        return out


_EMPTY = [""] * len(COUNT_FIELDS)


class _Appender:
    """A file for csv.writer whose every write (one row's line) is appended to a list."""

    def __init__(self, append):
        self.write = append


def _spliced(doc: dict, lines) -> str:
    """The JSON document of `doc` (its rows left out) with the rendered `lines` as its rows: what json.dumps of
    the whole document with indent=1 writes (a raw line break is only ever json's own, between items)."""
    text = json.dumps({**doc, "rows": []}, indent=1) + "\n"
    head, tail = text.split('\n "rows": []', 1)
    return head + '\n "rows": [\n' + ",\n".join(lines) + "\n ]" + tail if lines else text


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
    return "".join(sweep.lines or row_lines("jsonl", sweep.names, bool(sweep.device))(sweep.rows))


RENDERERS = {"table": render_table, "csv": render_csv, "json": render_json, "jsonl": render_jsonl}


def render(fmt: str, sweep, options=None) -> str:
    return RENDERERS[fmt](sweep, options)
