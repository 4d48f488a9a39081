"""The rich table of `costcalc report`: one row per layer or block, totals last."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from costcalc.report import Reporter
from costcalc.report.units import duration, human, percent, ratio, shape, signed, signed_duration

PIPED_WIDTH = 160  # fixed, so that piped output is the same on every machine


def header(report) -> str:
    unit = "elements" if report.memory_unit == "elements" else f"bytes ({report.bytes_per_element} per element)"
    return (f"{report.model} | input {shape(tuple(report.input))} | convention: {report.convention} "
            f"({report.convention_summary}) | memory access in {unit}{latency_note(report)}")


def latency_note(report) -> str:
    """' | latency: estimated on profile.yaml (1 thread)', or '' without a device profile."""
    if report.latency is None:
        return ""
    threads = report.latency.threads
    return f" | latency: estimated on {report.device_path} ({threads} thread{'s' if threads != 1 else ''})"


def shows_intensity(report) -> bool:
    """Arithmetic intensity needs costcalc's complete count: FLOPs + element-wise FLOPs under `paper`, FLOPs alone
    under `full`. A tool's partial count per element moved is no intensity, so other conventions omit the column."""
    return report.convention in ("paper", "full")


def arithmetic(report, counts) -> int:
    return counts.flops + (counts.elementwise_flops if report.convention == "paper" else 0)


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
    flops = "FLOPs" if report.convention == "paper" else f"FLOPs ({report.convention})"
    table.add_column(flops, justify="right", footer=h(totals.flops))
    table.add_column("Elem. FLOPs", justify="right", footer=h(totals.elementwise_flops))
    table.add_column("MAC (mem. access)", justify="right", footer=h(totals.memory_access))
    intensity = shows_intensity(report)
    if intensity:
        table.add_column("Intensity", justify="right",
                         footer=ratio(arithmetic(report, totals), totals.memory_access))
    latency = report.latency is not None
    if latency:
        table.add_column("Latency (est.)", justify="right", footer=duration(report.latency_s))
        fused = {layer.name: layer.fused_into for layer in report.latency.layers if layer.fused_into}
    marks = row_markers(guidelines, rows) if guidelines is not None else None
    if marks is not None:
        table.add_column("Guidelines", no_wrap=True)
    for i, row in enumerate(rows):
        c = row.counts
        cells = [row.name, row.op, shape(row.output if len(row.output) > 1 else row.output[0]),
                 h(c.params), h(c.flops), h(c.elementwise_flops), h(c.memory_access)]
        if intensity:
            cells.append(ratio(arithmetic(report, c), c.memory_access))
        if latency:
            cells.append("fused" if row.name in fused else duration(row.latency_s))
        if marks is not None:
            cells.append(marks[i])
        table.add_row(*cells)
    buffer, console = _console(options)
    console.print(Text(header(report)), soft_wrap=True)  # spec text is never read as console markup
    console.print(table)
    if latency:
        console.print(Text(f"latency: an estimate, not a measurement; the total includes "
                           f"{duration(report.latency.run_overhead_s)} per run of the network"), soft_wrap=True)
    if guidelines is not None:
        console.print()
        console.print(panel(guidelines, options, costs=report.latency_costs), soft_wrap=True, markup=False)
    return buffer.getvalue()


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


def panel(guidelines, options, worst: int = WORST, costs: dict | None = None) -> str:
    """The guideline panel: per guideline pass or its violations, and the worst offenders with their evidence;
    with `costs` ((guideline, where) -> estimated seconds), what each costs in time."""
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
            cost = costs.get((finding.guideline, finding.where)) if costs else None
            time = "" if cost is None else f"  est. {duration(cost)}"
            lines.append(f"   {finding.where:<{width}}  {_figures(finding, h)}{time}")
            if result.guideline != "G4":  # G4's reason is the network's share, stated above
                lines.append(f"   {'':<{width}}  why: {finding.why}")
        if len(violations) > worst:
            lines.append(f"   ... and {len(violations) - worst} more")
    return "\n".join(lines)


def render_guidelines(report, options) -> str:
    """`costcalc guidelines`: the header line and the guideline panel alone."""
    buffer, console = _console(options)
    console.print(Text(header(report)), soft_wrap=True)  # spec text is never read as console markup
    console.print(panel(report.guidelines, options, costs=report.latency_costs), soft_wrap=True, markup=False)
    return buffer.getvalue()


def _console(options) -> tuple:
    buffer = io.StringIO()
    console = Console(file=buffer, width=options.width or PIPED_WIDTH, color_system="standard" if options.color else None,
                      force_terminal=options.color, no_color=not options.color, highlight=False)
    return buffer, console


TOTAL_NAMES = (("flops", "FLOPs"), ("elementwise_flops", "Elem. FLOPs"), ("params", "Params"),
               ("memory_access", "MAC (mem. access)"), ("activations", "Activations"))


def diff_name(diff) -> str:
    """The row's name; for a match by position, A's name and B's."""
    if diff.a is not None and diff.b is not None and diff.a.name != diff.b.name:
        return f"{diff.a.name} ~ {diff.b.name}"
    return (diff.a or diff.b).name


def diff_op(diff) -> str:
    if diff.a is not None and diff.b is not None and diff.a.op != diff.b.op:
        return f"{diff.a.op} -> {diff.b.op}"
    return (diff.a or diff.b).op


def diff_mark(diff) -> str:
    """'only A', 'only B', 'by position' (a match by position within the block), or '' (matched by name)."""
    if diff.status != "both":
        return {"only_a": "only A", "only_b": "only B"}[diff.status]
    return "by position" if diff.matched_by == "position" else ""


def compare_header(comparison) -> str:
    return (f"A: {comparison.label_a} | B: {comparison.label_b} | deltas are B - A | convention: "
            f"{comparison.a.convention} | memory access in {comparison.a.memory_unit}"
            f"{latency_note(comparison.a) if comparison.has_latency else ''}")


def render_compare(comparison, options) -> str:
    h = lambda n: human(n, options.exact)  # noqa: E731
    totals = Table(header_style="bold", title="Totals", title_justify="left")
    for title, justify in (("Total", "left"), ("A", "right"), ("B", "right"), ("B - A", "right"), ("%", "right")):
        totals.add_column(title, justify=justify, no_wrap=True)
    a, b, delta, relative = comparison.a.totals, comparison.b.totals, comparison.delta, comparison.relative()
    for key, title in TOTAL_NAMES:
        totals.add_row(title, h(getattr(a, key)), h(getattr(b, key)), signed(getattr(delta, key), options.exact),
                       percent(relative[key]))
    timed = comparison.has_latency
    if timed:
        seconds, share = comparison.latency_delta()
        totals.add_row("Latency (est.)", duration(comparison.a.latency_s), duration(comparison.b.latency_s),
                       signed_duration(seconds), percent(share))
    layers = Table(header_style="bold", title="Rows (matched by name, then by position in their block)",
                   title_justify="left")
    layers.add_column("Layer", no_wrap=True)
    layers.add_column("Op", no_wrap=True)
    layers.add_column("Match", no_wrap=True)
    for metric in ("FLOPs", "Params", "MAC") + (("Latency",) if timed else ()):
        for side in ("A", "B", "B - A"):
            layers.add_column(f"{metric} {side}", justify="right", no_wrap=True)
    for diff in comparison.rows:
        cells = []
        for key in ("flops", "params", "memory_access"):
            cells += [h(getattr(diff.a.counts, key)) if diff.a else "", h(getattr(diff.b.counts, key)) if diff.b else "",
                      signed(getattr(diff.delta, key), options.exact)]
        if timed:
            cells += [duration(diff.a.latency_s) if diff.a else "", duration(diff.b.latency_s) if diff.b else "",
                      signed_duration(diff.latency_delta)]
        layers.add_row(diff_name(diff), diff_op(diff), diff_mark(diff), *cells)
    buffer, console = _console(options)
    console.print(Text(compare_header(comparison)), soft_wrap=True)
    console.print(totals)
    if comparison.rows:
        console.print(layers)
    else:
        console.print("no rows differ")
    if comparison.guideline_changes is not None:
        console.print()
        console.print("\n".join(guideline_change_lines(comparison.guideline_changes)), soft_wrap=True, markup=False)
    return buffer.getvalue()


CHANGES_SHOWN = 10  # findings listed per direction; the rest are counted


def guideline_change_lines(changes, shown: int = CHANGES_SHOWN) -> list:
    """ShuffleNet V2 guideline violations per guideline in A and B, then those that appear in B and those that
    disappear from A (matched by guideline and layer or block name)."""
    counts = ", ".join(f"{g} {a} -> {b}" for g, a, b in changes.counts)
    lines = [f"Guideline violations (ShuffleNet V2), A -> B: {counts}"]
    for title, findings in (("appear in B", changes.appeared), ("disappear from A", changes.disappeared)):
        if not findings:
            lines.append(f"none {title}")
            continue
        lines.append(f"{len(findings)} {title}:")
        lines += [f"   {f.guideline} {f.where}: {f.why}" for f in findings[:shown]]
        if len(findings) > shown:
            lines.append(f"   ... and {len(findings) - shown} more")
    return lines


def verdict_text(verdict, exact: bool) -> str:
    if verdict.limit.field == "latency_s":
        return latency_verdict_text(verdict)
    # a total and a limit that round to the same K/M/G text are shown exactly, so that "4.09G > 4.09G" never shows
    exact = exact or human(verdict.actual) == human(verdict.limit.value)
    h = lambda n: human(n, exact)  # noqa: E731
    name = verdict.limit.field  # as the budget: section and the JSON spell it
    where = "" if verdict.limit.source == "spec" else " (--max)"
    if verdict.ok:
        return f"{name} {h(verdict.actual)} of {h(verdict.limit.value)}{where}"
    share = percent(verdict.over / verdict.limit.value) if verdict.limit.value else "-"
    if share == "+0.00%":
        share = "+<0.01%"
    return f"{name} {h(verdict.actual)} > {h(verdict.limit.value)}{where} by {h(verdict.over)} ({share})"


def latency_verdict_text(verdict) -> str:
    """'latency 8.12 ms (est.) of 10.00 ms (--max)' or 'latency 12.3 ms (est.) > 10.00 ms (--max) by 2.30 ms (+23.00%)'."""
    actual, limit = duration(verdict.actual), duration(verdict.limit.value)
    if verdict.ok:
        return f"latency {actual} (est.) of {limit} (--max)"
    return (f"latency {actual} (est.) > {limit} (--max) by {duration(verdict.over)} "
            f"({percent(verdict.over / verdict.limit.value)})")


def check_line(check, exact: bool) -> str:
    """One line per spec: within / over (by how much) / no budget / could not be read."""
    status = check.status
    if status == "error":
        return f"{check.path}: could not be read: {check.error}"
    if status == "no budget":
        return f"{check.path}: no budget (add a budget: section or --max-* options)"
    over = [verdict_text(v, exact) for v in check.verdicts if not v.ok]
    within = [verdict_text(v, exact) for v in check.verdicts if v.ok]
    if check.guidelines_checked and not check.guideline_violations:
        within.append(f"guidelines {', '.join(check.guidelines_checked)} pass")
    if check.guideline_violations:
        what = "over budget and fails guidelines" if over else "fails guidelines"
        text = "; ".join(over + [violations_text(check)])
    elif over:
        what, text = "over budget", "; ".join(over)
    else:
        return f"{check.path}: within budget: {', '.join(within)}"
    rest = f" (within: {', '.join(within)})" if within else ""
    return f"{check.path}: {what}: {text}{rest}"


def violations_text(check) -> str:
    """'G1 violated by 3 layers (worst: layer2.0.conv1); G2 ...'"""
    by_guideline: dict = {}
    for finding in check.guideline_violations:
        by_guideline.setdefault(finding.guideline, []).append(finding)
    return "; ".join(f"{g} violated by {len(found)} {'block' if g == 'G3' else 'layer'}{'s' if len(found) > 1 else ''}"
                     f" (worst: {found[0].where})" for g, found in by_guideline.items())


def check_summary(run) -> str:
    counts = {}
    for check in run.checks:
        counts[check.status] = counts.get(check.status, 0) + 1
    parts = [f"{counts[s]} {s if s != 'error' else 'unreadable'}" for s in ("within", "over", "no budget", "error")
             if s in counts]
    n = len(run.checks)
    return f"{n} spec{'s' if n != 1 else ''}: {', '.join(parts) or 'none'}"


def render_check(run, options) -> str:
    # an unreadable spec's located error line goes to stderr (the CLI prints it); stdout names the file only
    lines = [f"{check.path}: could not be read (the error is on stderr)" if check.status == "error"
             else check_line(check, options.exact) for check in run.checks]
    return "\n".join(lines + [check_summary(run)]) + "\n"


class TableReporter(Reporter):
    """The human format: rich tables, K/M/G (or exact) numbers."""

    def report(self, report, rows, options):
        return render(report, rows, options)

    def compare(self, comparison, options):
        return render_compare(comparison, options)

    def check(self, run, options):
        return render_check(run, options)

    def guidelines(self, report, options):
        return render_guidelines(report, options)
