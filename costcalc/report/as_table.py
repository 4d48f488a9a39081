"""The rich table of `costcalc report`: one row per layer or block, totals last."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from costcalc.report.units import human, ratio, shape

PIPED_WIDTH = 160  # fixed, so that piped output is the same on every machine


def header(report) -> str:
    n, *chw = report.input
    unit = "elements" if report.memory_unit == "elements" else f"bytes ({report.bytes_per_element} per element)"
    return (f"{report.model} | input {shape(tuple(report.input))} | convention: {report.convention} "
            f"({report.convention_summary}) | memory access in {unit}")


def _intensity(report) -> bool:
    """Arithmetic intensity needs costcalc's complete count: FLOPs + element-wise FLOPs under `paper`, FLOPs alone
    under `full`. A tool's partial count per element moved is no intensity, so other conventions omit the column."""
    return report.convention in ("paper", "full")


def _arithmetic(report, counts) -> int:
    return counts.flops + (counts.elementwise_flops if report.convention == "paper" else 0)


def render(report, rows: list, options) -> str:
    table = Table(show_footer=True, header_style="bold")
    totals = report.totals
    h = lambda n: human(n, options.exact)  # noqa: E731 - one formatter for every cell
    table.add_column("Layer", footer="total", no_wrap=True)
    table.add_column("Op", no_wrap=True)
    table.add_column("Output", no_wrap=True)
    table.add_column("Params", justify="right", footer=h(totals.params))
    flops = "FLOPs" if report.convention == "paper" else f"FLOPs ({report.convention})"
    table.add_column(flops, justify="right", footer=h(totals.flops))
    table.add_column("Elem. FLOPs", justify="right", footer=h(totals.elementwise_flops))
    table.add_column("MAC (mem. access)", justify="right", footer=h(totals.memory_access))
    intensity = _intensity(report)
    if intensity:
        table.add_column("Intensity", justify="right",
                         footer=ratio(_arithmetic(report, totals), totals.memory_access))
    for row in rows:
        c = row.counts
        cells = [row.name, row.op, shape(row.output if len(row.output) > 1 else row.output[0]),
                 h(c.params), h(c.flops), h(c.elementwise_flops), h(c.memory_access)]
        if intensity:
            cells.append(ratio(_arithmetic(report, c), c.memory_access))
        table.add_row(*cells)
    buffer = io.StringIO()
    console = Console(file=buffer, width=options.width or PIPED_WIDTH, color_system="standard" if options.color else None,
                      force_terminal=options.color, no_color=not options.color, highlight=False)
    console.print(header(report), soft_wrap=True)
    console.print(table)
    return buffer.getvalue()
