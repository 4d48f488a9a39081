"""The rich table of `costcalc report`: one row per layer or block, totals last."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from costcalc.report.units import human, ratio, shape

PIPED_WIDTH = 160  # fixed, so that piped output is the same on every machine


def header(report) -> str:
    n, *chw = report.input
    unit = "elements" if report.memory_unit == "elements" else f"bytes ({report.bytes_per_element} per element)"
    return (f"{report.model} | input {shape(tuple(report.input))} | convention: {report.convention} "
            f"(FLOPs = conv + fc multiply-adds) | memory access in {unit}")


def render(report, rows: list, options) -> str:
    table = Table(show_footer=True, header_style="bold")
    totals = report.totals
    h = lambda n: human(n, options.exact)  # noqa: E731 - one formatter for every cell
    table.add_column("Layer", footer="total", no_wrap=True)
    table.add_column("Op", no_wrap=True)
    table.add_column("Output", no_wrap=True)
    table.add_column("Params", justify="right", footer=h(totals.params))
    table.add_column("FLOPs", justify="right", footer=h(totals.flops))
    table.add_column("Elem. FLOPs", justify="right", footer=h(totals.elementwise_flops))
    table.add_column("MAC (mem. access)", justify="right", footer=h(totals.memory_access))
    table.add_column("Intensity", justify="right",
                     footer=ratio(totals.flops + totals.elementwise_flops, totals.memory_access))
    for row in rows:
        c = row.counts
        table.add_row(row.name, row.op, shape(row.output if len(row.output) > 1 else row.output[0]),
                      h(c.params), h(c.flops), h(c.elementwise_flops), h(c.memory_access),
                      ratio(c.flops + c.elementwise_flops, c.memory_access))
    buffer = io.StringIO()
    console = Console(file=buffer, width=options.width or PIPED_WIDTH, color_system="standard" if options.color else None,
                      force_terminal=options.color, no_color=not options.color, highlight=False)
    console.print(Text(header(report)), soft_wrap=True)  # spec text is never read as console markup
    console.print(table)
    return buffer.getvalue()
