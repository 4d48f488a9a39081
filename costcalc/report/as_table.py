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
            f"(FLOPs = conv + fc multiply-adds) | memory access in {unit}")


def render(report, rows: list, options) -> str:
    """The table of `rows`; when the report carries guidelines, a marker column saying which guidelines each row's
    layers violate, and the guideline panel after the table."""
    guidelines = report.guidelines
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
    marks = row_markers(guidelines, rows) if guidelines is not None else None
    if marks is not None:
        table.add_column("Guidelines", no_wrap=True)
    for i, row in enumerate(rows):
        c = row.counts
        cells = [row.name, row.op, shape(row.output if len(row.output) > 1 else row.output[0]),
                 h(c.params), h(c.flops), h(c.elementwise_flops), h(c.memory_access),
                 ratio(c.flops + c.elementwise_flops, c.memory_access)]
        table.add_row(*cells, *([marks[i]] if marks is not None else []))
    console, buffer = _console(options)
    console.print(header(report), soft_wrap=True)
    console.print(table)
    if guidelines is not None:
        console.print()
        console.print(panel(guidelines, options), soft_wrap=True, markup=False)
    return buffer.getvalue()


def _console(options):
    buffer = io.StringIO()
    console = Console(file=buffer, width=options.width or PIPED_WIDTH, color_system="standard" if options.color else None,
                      force_terminal=options.color, no_color=not options.color, highlight=False)
    return console, buffer


def row_markers(guidelines, rows: list) -> list:
    """For each row, the guidelines violated by the layers it covers ('G1 G4'), or ''. A row covers the layer of
    its name and every layer whose name continues it after a dot (a block covers its layers)."""
    index = {row.name: i for i, row in enumerate(rows)}
    found = [set() for _ in rows]
    for layer, ids in guidelines.markers().items():
        parts = layer.split(".")
        for n in range(1, len(parts) + 1):
            i = index.get(".".join(parts[:n]))
            if i is not None:
                found[i].update(ids)
    return [" ".join(sorted(ids)) for ids in found]


WORST = 5  # worst offenders shown per guideline


def _figures(finding, h) -> str:
    f = finding.figures
    if finding.guideline == "G1":
        return (f"c1:c2 {f['in_channels']}:{f['out_channels']} (1:{f['ratio']:.2f})  MAC {h(f['memory_access'])}  "
                f"bound {h(f['bound'])}  excess {h(f['excess'])} (+{f['excess_ratio']:.1%})")
    if finding.guideline == "G2":
        k = "x".join(str(d) for d in f["kernel"])
        return (f"g {f['groups']}  {k} conv {f['in_channels']}->{f['out_channels']}  MAC {h(f['memory_access'])}  "
                f"g=1 same FLOPs {h(f['memory_access_g1'])}  excess {h(f['excess'])} (+{f['excess_ratio']:.1%})")
    if finding.guideline == "G3":
        return (f"{f['branches']} branches  {f['fragments']} fragments  {f['layers']} layers  "
                f"({f['fork']} -> {f['join']})")
    return f"{f['op']}  MAC {h(f['memory_access'])}  {f['share']:.1%} of all MAC"


def panel(guidelines, options, worst: int = WORST) -> str:
    """The guideline panel: per guideline pass or its violations, and the worst offenders with their evidence."""
    h = lambda n: human(n, options.exact)  # noqa: E731
    unit = "elements" if guidelines.memory_unit == "elements" else "bytes"
    lines = [f"ShuffleNet V2 guidelines (Ma et al. 2018) | memory access in {unit}"]
    what = {"G1": "1x1 convs", "G2": "grouped convs", "G3": "fork-join blocks", "G4": "element-wise layers"}
    for result in guidelines.results:
        limits = ", ".join(f"{k} {v:g}" for k, v in result.thresholds.items())
        violations = result.violations
        if result.guideline == "G4":
            share = result.summary[0][1]
            verdict = (f"{'FAIL' if violations else 'pass'}: element-wise share {share:.1%} of MAC "
                       f"over {result.checked} {what['G4']}")
        elif violations:
            verdict = f"FAIL: {len(violations)} of {result.checked} {what[result.guideline]}"
        else:
            verdict = f"pass: {result.checked} {what[result.guideline]}"
        lines.append(f"{result.guideline} {result.title}: {verdict} (limits: {limits})")
        shown = violations[:worst]
        width = max((len(f.where) for f in shown), default=0)
        for finding in shown:
            lines.append(f"   {finding.where:<{width}}  {_figures(finding, h)}")
            if result.guideline != "G4":  # G4's reason is the network's share, stated above
                lines.append(f"   {'':<{width}}  why: {finding.why}")
        if len(violations) > worst:
            lines.append(f"   ... and {len(violations) - worst} more")
    return "\n".join(lines)


def render_guidelines(report, options) -> str:
    """`costcalc guidelines`: the header line and the guideline panel alone."""
    console, buffer = _console(options)
    console.print(header(report), soft_wrap=True)
    console.print(panel(report.guidelines, options), soft_wrap=True, markup=False)
    return buffer.getvalue()
