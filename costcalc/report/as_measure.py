"""`costcalc measure` output, one function per format, all rendered from one MeasuredReport
(costcalc.analysis.measured). Times print in milliseconds in text and in seconds in JSON and CSV."""

from __future__ import annotations

import csv
import io
import json

from costcalc.report.base import Format
from costcalc.report.units import human, percent, shape

PIPED_WIDTH = 160


def render(fmt: Format, report, options) -> str:
    fmt = Format(fmt)
    if fmt is Format.JSON:
        return as_json(report)
    if fmt is Format.CSV:
        return as_csv(report)
    if fmt is Format.MARKDOWN:
        return as_markdown(report, options)
    return as_table(report, options)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def _rate(flops, seconds: float) -> str:
    """Effective G multiply-adds per second."""
    return f"{flops / seconds / 1e9:.1f}" if flops and seconds > 0 else "-"


def header(report) -> str:
    where = f" | input {shape(report.input)}" if report.input else ""
    return f"{report.model}{where} | {report.runtime} | {report.threads} thread(s)"


def summary(report) -> list:
    """The lines under the table: the total (timed without the profiler), where the rows come from and what the
    profiler cost, the effective rate."""
    lines = [f"total, wall time for the batch: min {_ms(report.latency_s)} ms, median {_ms(report.latency_median_s)} "
             f"ms over {report.runs} run(s) without the profiler, after {report.warmup} warm-up run(s); CPU time of "
             f"the calling thread: min {_ms(report.cpu_s)} ms" + (
                 " (at 1 thread every kernel runs on it: the time without the machine's other load)"
                 if report.threads == 1 else " (one of the threads only)")]
    if report.note:
        lines.append(report.note)
    if report.rows:
        lines.append(f"per layer: onnxruntime's profiler's kernel times (each row's min over runs) in a separate "
                     f"profiled pass of {report.runs} run(s), whose wall time was min {_ms(report.profiled_wall_s)} "
                     f"ms ({percent(report.profiler_overhead)} over the total: the profiler's overhead); the rows "
                     f"sum to {_ms(report.rows_latency_s)} ms, {report.accounted:.1%} of that pass's time (the rest "
                     "is onnxruntime's work between kernels, and time the process waited for a core)")
    if report.flops:
        lines.append(f"effective rate: {_rate(report.flops, report.latency_s)} G multiply-adds/s by the wall time, "
                     f"{_rate(report.flops, report.cpu_s)} by the CPU time ({human(report.flops)} FLOPs)")
    return lines


def _cells(report, row, exact: bool) -> list:
    note = f"fused into {row.fused_into}" if row.fused_into else ""
    share = f"{row.latency_s / report.rows_latency_s:.1%}" if report.rows_latency_s else "-"
    cells = [row.name, _ms(row.latency_s), _ms(row.latency_median_s), share]
    if report.flops is not None:
        cells += [human(row.flops, exact) if row.flops is not None else "-", _rate(row.flops, row.latency_s)]
    return cells + [note]


def _columns(report) -> list:
    columns = ["Layer", "profiled min (ms)", "profiled median (ms)", "share"]  # the per-layer pass, not the total
    if report.flops is not None:
        columns += ["FLOPs", "G MAC/s"]
    return columns + ["note"]


def as_table(report, options) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold", show_footer=True)
    footer = ["kernels, profiled", _ms(report.rows_latency_s), _ms(sum(r.latency_median_s for r in report.rows)), "100.0%"]
    if report.flops is not None:
        footer += [human(report.flops, options.exact), _rate(report.flops, report.rows_latency_s)]
    footer.append("")
    for name, foot in zip(_columns(report), footer):
        table.add_column(name, footer=foot, justify="left" if name in ("Layer", "note") else "right", no_wrap=True)
    for row in report.rows:
        table.add_row(*_cells(report, row, options.exact))
    buffer = io.StringIO()
    console = Console(file=buffer, width=options.width or PIPED_WIDTH, force_terminal=options.color,
                      color_system="auto" if options.color else None, highlight=False)
    console.print(Text(header(report)), soft_wrap=True)
    if report.rows:  # --no-profile: the total alone, no empty table
        console.print(table)
    for line in summary(report):
        console.print(Text(line))  # wrapped between words at the width
    return buffer.getvalue()


def as_markdown(report, options) -> str:
    columns = _columns(report)
    lines = [f"**{header(report)}**", ""]
    if report.rows:
        lines += ["| " + " | ".join(columns) + " |",
                  "|" + "|".join("---" if c in ("Layer", "note") else "---:" for c in columns) + "|"]
        for row in report.rows:
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in _cells(report, row, options.exact)) + " |")
        lines.append("")
    lines.extend(summary(report))
    return "\n".join(lines) + "\n"


def _layer(row) -> dict:
    item = {"name": row.name, "latency_s": row.latency_s, "latency_median_s": row.latency_median_s,
            "fused_into": row.fused_into}
    if row.layers != 1:
        item["layers"] = row.layers
    if row.flops is not None:
        item["flops"], item["memory_access"] = row.flops, row.memory_access
    return item


def as_json(report) -> str:
    totals = {"latency_s": report.latency_s, "latency_median_s": report.latency_median_s, "profiled": bool(report.rows),
              "profiled_s": report.profiled_s, "profiled_wall_s": report.profiled_wall_s,
              "profiler_overhead": report.profiler_overhead, "accounted": report.accounted, "cpu_s": report.cpu_s}
    if report.flops is not None:
        totals["flops"], totals["memory_access"] = report.flops, report.memory_access
    doc = {"model": report.model, "input": list(report.input) if report.input else None, "runtime": report.runtime,
           "threads": report.threads, "warmup": report.warmup, "runs": report.runs, "totals": totals,
           "layers": [_layer(row) for row in report.rows]}
    return json.dumps(doc, indent=1) + "\n"


def as_csv(report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "latency_s", "latency_median_s", "fused_into", "flops", "memory_access"])
    for row in report.rows:
        writer.writerow([row.name, repr(row.latency_s), repr(row.latency_median_s), row.fused_into or "",
                         "" if row.flops is None else row.flops, "" if row.memory_access is None else row.memory_access])
    writer.writerow(["total", repr(report.latency_s), repr(report.latency_median_s), "",
                     "" if report.flops is None else report.flops,
                     "" if report.memory_access is None else report.memory_access])
    return buffer.getvalue()
