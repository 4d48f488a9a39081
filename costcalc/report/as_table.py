"""The rich table of `costcalc report`: one row per layer or block, totals last."""

from __future__ import annotations

from costcalc.report.base import Reporter
from costcalc.report.labels import op_label
from costcalc.report.layout import Column, box, fit
from costcalc.report.lines import published_text, wrap_fields, wrap_text  # noqa: F401 - also theirs
from costcalc.report.units import duration, human, percent, ratio, shape, share, signed, signed_duration

PIPED_WIDTH = 160  # fixed, so that piped output is the same on every machine


def model_label(model: str, settings: tuple) -> str:
    """'resnet50 (--set width=0.5, --input 3x160x160)': the model and what changed it."""
    return f"{model} ({', '.join(settings)})" if settings else model


def header(report) -> str:
    unit = "elements" if report.memory_unit == "elements" else f"bytes ({report.bytes_per_element} per element)"
    return (f"{model_label(report.model, report.settings)} | input {shape(report.input)} | convention: "
            f"{report.convention} ({report.convention_summary}) | memory access in {unit}{latency_note(report)}")


def latency_note(report) -> str:
    """' | latency: estimated on profile.yaml (1 thread)', or '' without a device profile."""
    if report.latency is None:
        return ""
    threads = report.latency.threads
    return f" | latency: estimated on {report.device_path} ({threads} thread{'s' if threads != 1 else ''})"


def latency_footnote(report) -> str:
    from costcalc.latency.provenance import batch_note, describe

    shape = report.input if isinstance(report.input, tuple) else next(iter(report.input.values()))
    note = batch_note(report.device, shape[0])
    return (f"latency: an estimate, not a measurement; the total includes {duration(report.latency.run_overhead_s)} "
            f"per run of the network; the profile was {describe(report.device)} (`costcalc calibrate --check "
            f"{report.device_path or 'PROFILE.yaml'}` says whether it still holds here)"
            + (f"; {note}" if note else ""))


def shows_intensity(report) -> bool:
    """Arithmetic intensity needs costcalc's complete count: FLOPs + element-wise FLOPs under `paper`, FLOPs alone
    under `full`. A tool's partial count per element moved is no intensity, so other conventions omit the column."""
    return report.convention in ("paper", "full")


def arithmetic(report, counts) -> int:
    return counts.flops + (counts.elementwise_flops if report.convention == "paper" else 0)


def output_text(row) -> str:
    return shape(row.output if len(row.output) > 1 else row.output[0])


# Dropped in this order as the width shrinks (docs/report.md): the ranks of report_columns' `drop`.
REPORT_DROP_ORDER = ("Intensity", "Elem. FLOPs", "Output", "MAC %", "FLOPs %", "Guidelines", "Params")


def _rank(title: str) -> int:
    return REPORT_DROP_ORDER.index(title) + 1


def report_columns(report, rows: list, exact: bool) -> list:
    """The report table's columns, as data: the table fits them to the width, Markdown shows them all."""
    totals = report.totals
    h = lambda n: human(n, exact)  # noqa: E731 - one formatter for every cell
    flops = "FLOPs" if report.convention == "paper" else f"FLOPs ({report.convention})"
    columns = [
        Column("Layer", lambda r: r.name, footer="total", right=False, squeeze=True),
        Column("Op", op_label, right=False, squeeze=True),
        Column("Output", output_text, right=False, drop=_rank("Output")),
        Column("Params", lambda r: h(r.counts.params), footer=h(totals.params), drop=_rank("Params")),
        Column(flops, lambda r: h(r.counts.flops), footer=h(totals.flops), short="FLOPs"),
        Column("FLOPs %", lambda r: share(r.counts.flops, totals.flops), footer=share(totals.flops, totals.flops),
               short="FLOPs%", drop=_rank("FLOPs %")),
        Column("Elem. FLOPs", lambda r: h(r.counts.elementwise_flops), footer=h(totals.elementwise_flops),
               short="Elem.", drop=_rank("Elem. FLOPs")),
        Column("MAC (mem. access)", lambda r: h(r.counts.memory_access), footer=h(totals.memory_access),
               short="Mem. acc."),
        Column("MAC %", lambda r: share(r.counts.memory_access, totals.memory_access),
               footer=share(totals.memory_access, totals.memory_access), short="MAC%", drop=_rank("MAC %")),
    ]
    if shows_intensity(report):
        columns.append(Column("Intensity", lambda r: ratio(arithmetic(report, r.counts), r.counts.memory_access),
                              footer=ratio(arithmetic(report, totals), totals.memory_access), short="Int.",
                              drop=_rank("Intensity")))
    if report.latency is not None:
        fused = {layer.name for layer in report.latency.layers if layer.fused_into}
        columns.append(Column("Latency (est.)", lambda r: "fused" if r.name in fused else duration(r.latency_s),
                              footer=duration(report.latency_s), short="Est. time"))
    if report.guidelines is not None:
        marks = row_markers(report.guidelines, rows)
        columns.append(Column("Guidelines", lambda r: marks.get(r.name, ""), right=False, short="Guide.",
                              drop=_rank("Guidelines")))
    return columns


def selection_note(rows) -> str:
    """'top 5 of 175 rows by flops (the total covers all)' when --top kept some rows, else ''."""
    of, sort = getattr(rows, "of", len(rows)), getattr(rows, "sort", None)
    if sort is None or of == len(rows):
        return ""
    return f"top {len(rows)} of {of} rows by {sort} (the total covers all)"


def render(report, rows: list, options) -> str:
    """The table of `rows`; when the report carries guidelines, a marker column saying which guidelines each row's
    layers violate, and the guideline panel after the table."""
    width = options.width or PIPED_WIDTH
    layout = fit(report_columns(report, rows, options.exact), rows, width)
    parts = [wrap_fields(header(report), width) + "\n", box(layout, options.color)]
    for line in (selection_note(rows), wrap_text(published_text(report.published, options.exact), width, 2)):
        if line:
            parts.append(line + "\n")
    if report.latency is not None:
        parts.append(wrap_text(latency_footnote(report), width, 2) + "\n")
    if report.guidelines is not None:
        parts.append("\n" + panel(report.guidelines, options, costs=report.latency_costs) + "\n")
    return "".join(parts)


def row_markers(guidelines, rows: list) -> dict:
    """Row name -> the guidelines violated by the layers it covers ('G1 G4'), or ''. A row covers the layer of
    its name and every layer whose name continues it after a dot (a block covers its layers)."""
    index = {row.name: i for i, row in enumerate(rows)}
    found = [set() for _ in rows]
    for layer, ids in guidelines.markers().items():
        parts = layer.split(".")
        for n in range(1, len(parts) + 1):
            i = index.get(".".join(parts[:n]))
            if i is not None:
                found[i].update(ids)
    return {row.name: " ".join(sorted(ids)) for row, ids in zip(rows, found)}


WORST = 5  # worst offenders shown per guideline


def _figures(finding, h) -> str:
    f = finding.figures
    if finding.guideline == "G1":
        widths = "+".join(map(str, f["parts"])) if "parts" in f else f["out_channels"]  # a packed q/k/v projection
        return (f"c1:c2 {f['in_channels']}:{widths} (1:{f['ratio']:.2f})  MAC {h(f['memory_access'])}  "
                f"bound {h(f['bound'])}  excess {h(f['excess'])} (+{f['excess_ratio']:.1%})")
    if finding.guideline == "G2":
        k = "x".join(str(d) for d in f["kernel"])
        return (f"g {f['groups']}  {k} conv {f['in_channels']}->{f['out_channels']}  MAC {h(f['memory_access'])}  "
                f"g=1 same FLOPs {h(f['memory_access_g1'])}  excess {h(f['excess'])} (+{f['excess_ratio']:.1%})")
    if finding.guideline == "G3":
        return (f"{f['branches']} branches  {f['fragments']} fragments  {f['layers']} layers  "
                f"({f['fork']} -> {f['join']})")
    return f"{f['op']}  MAC {h(f['memory_access'])}  {f['share']:.1%} of all MAC"


def evidence_text(finding, exact: bool = False) -> str:
    """A violation's figures as the panel writes them (for `costcalc view`'s details)."""
    return _figures(finding, lambda n: human(n, exact))


def panel(guidelines, options, worst: int = WORST, costs: dict | None = None) -> str:
    """The guideline panel: per guideline pass or its violations, and the worst offenders with their evidence;
    with `costs` ((guideline, where) -> estimated seconds), what each costs in time."""
    h = lambda n: human(n, options.exact)  # noqa: E731
    columns = options.width or PIPED_WIDTH
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
        else:
            checked = result.subject or what[result.guideline]
            verdict = (f"FAIL: {len(violations)} of {result.checked} {checked}" if violations
                       else f"pass: {result.checked} {checked}")
        lines.append(wrap_text(f"{result.guideline} {result.title}: {verdict} (limits: {limits})", columns, 3))
        shown = violations[:worst]
        width = max((len(f.where) for f in shown), default=0)
        rows = []
        for finding in shown:
            cost = costs.get((finding.guideline, finding.where)) if costs else None
            time = "" if cost is None else f"  est. {duration(cost)}"
            why = finding.why if result.guideline != "G4" else None  # G4's reason is the network's share, above
            rows.append((finding.where, f"{_figures(finding, h)}{time}", why))
        side_by_side = all(len(f"   {where:<{width}}  {figures}") <= columns
                           and (why is None or len(f"   {'':<{width}}  why: {why}") <= columns)
                           for where, figures, why in rows)
        for where, figures, why in rows:
            if side_by_side:
                lines.append(f"   {where:<{width}}  {figures}")
                if why is not None:
                    lines.append(f"   {'':<{width}}  why: {why}")
            else:  # too narrow for the name beside its figures: the figures under it
                lines += [f"   {where}", wrap_text(f"      {figures}", columns, 8)]
                if why is not None:
                    lines.append(wrap_text(f"      why: {why}", columns, 11))
        if len(violations) > worst:
            lines.append(f"   ... and {len(violations) - worst} more")
    return "\n".join(lines)


def render_guidelines(report, options) -> str:
    """`costcalc guidelines`: the header line and the guideline panel alone."""
    return (wrap_fields(header(report), options.width or PIPED_WIDTH) + "\n"
            + panel(report.guidelines, options, costs=report.latency_costs) + "\n")


TOTAL_NAMES = (("flops", "FLOPs"), ("elementwise_flops", "Elem. FLOPs"), ("params", "Params"),
               ("memory_access", "Memory access"), ("activations", "Activations"))


def diff_name(diff) -> str:
    """The row's name; for a match by position, A's name and B's."""
    if diff.a is not None and diff.b is not None and diff.a.name != diff.b.name:
        return f"{diff.a.name} ~ {diff.b.name}"
    return (diff.a or diff.b).name


def diff_op(diff) -> str:
    """What the row is (labels.op_label); 'A's -> B's' when they differ."""
    if diff.a is not None and diff.b is not None:
        a, b = op_label(diff.a), op_label(diff.b)
        return a if a == b else f"{a} -> {b}"
    return op_label(diff.a or diff.b)


def diff_mark(diff) -> str:
    """'only A', 'only B', 'by position' (a match by position within the block), or '' (matched by name)."""
    if diff.status != "both":
        return {"only_a": "only A", "only_b": "only B"}[diff.status]
    return "by position" if diff.matched_by == "position" else ""


def compare_header(comparison) -> str:
    return (f"A: {comparison.label_a} | B: {comparison.label_b} | deltas are B - A | convention: "
            f"{comparison.a.convention} | memory access in {comparison.a.memory_unit}"
            f"{latency_note(comparison.a) if comparison.has_latency else ''}")


# Dropped in this order as the width shrinks (docs/report.md); the B - A columns of FLOPs and MAC always stay.
COMPARE_DROP_ORDER = ("Params A", "Params B", "MAC A", "MAC B", "Params B - A", "FLOPs A", "FLOPs B")
COMPARED = (("FLOPs", "flops"), ("Params", "params"), ("MAC", "memory_access"))


def _side_cell(side: str, key: str, h):
    return lambda d: h(getattr(getattr(d, side).counts, key)) if getattr(d, side) is not None else ""


def compare_columns(exact: bool, timed: bool = False) -> list:
    """The row-by-row diff's columns, as data; `timed`: the estimated latency's too."""
    h = lambda n: human(n, exact)  # noqa: E731
    columns = [Column("Layer", diff_name, right=False, squeeze=True), Column("Op", diff_op, right=False, squeeze=True),
               Column("Match", diff_mark, right=False)]
    for metric, key in COMPARED:
        for side in ("A", "B"):
            title = f"{metric} {side}"
            columns.append(Column(title, _side_cell(side.lower(), key, h), drop=COMPARE_DROP_ORDER.index(title) + 1))
        title = f"{metric} B - A"
        rank = COMPARE_DROP_ORDER.index(title) + 1 if title in COMPARE_DROP_ORDER else 0
        columns.append(Column(title, lambda d, key=key: signed(getattr(d.delta, key), exact), short=f"{metric} B-A",
                              drop=rank))
    if timed:
        side = lambda name: lambda d: duration(getattr(d, name).latency_s) if getattr(d, name) else ""  # noqa: E731
        columns += [Column("Est. time A", side("a"), drop=1), Column("Est. time B", side("b"), drop=1),
                    Column("Est. time B - A", lambda d: signed_duration(d.latency_delta), short="Est. B-A")]
    return columns


def totals_columns(comparison, exact: bool) -> tuple:
    """The totals table of a comparison: its columns and rows (one per total)."""
    a, b, delta, relative = comparison.a.totals, comparison.b.totals, comparison.delta, comparison.relative()
    h = lambda n: human(n, exact)  # noqa: E731
    seconds, fraction = comparison.latency_delta()
    timed = {"latency_s": (duration(comparison.a.latency_s), duration(comparison.b.latency_s),
                           signed_duration(seconds), percent(fraction))} if comparison.has_latency else {}
    names = {**dict(TOTAL_NAMES), "latency_s": "Latency (est.)"}
    columns = [Column("Total", lambda key: names[key], right=False),
               Column("A", lambda key: timed[key][0] if key in timed else h(getattr(a, key))),
               Column("B", lambda key: timed[key][1] if key in timed else h(getattr(b, key))),
               Column("B - A", lambda key: timed[key][2] if key in timed else signed(getattr(delta, key), exact)),
               Column("%", lambda key: timed[key][3] if key in timed else percent(relative[key]))]
    return columns, [key for key, _ in TOTAL_NAMES] + list(timed)


def render_compare(comparison, options) -> str:
    width = options.width or PIPED_WIDTH
    columns, keys = totals_columns(comparison, options.exact)
    parts = [wrap_fields(compare_header(comparison), width) + "\n", "Totals\n", box(fit(columns, keys, width), options.color, False)]
    if comparison.rows:
        parts += ["Rows (matched by name, then by position in their block)\n",
                  box(fit(compare_columns(options.exact, comparison.has_latency), comparison.rows, width), options.color,
                      False)]
    else:
        parts.append("no rows differ\n")
    if comparison.guideline_changes is not None:
        lines = guideline_change_lines(comparison.guideline_changes, costs=change_costs(comparison))
        parts.append("\n" + "\n".join(wrap_text(line, width, 6) if line.startswith("   ")  # a finding: by words
                                       else wrap_text(line, width, 3, (", ",)) for line in lines) + "\n")
    return "".join(parts)


CHANGES_SHOWN = 10  # findings listed per direction; the rest are counted


def change_costs(comparison) -> tuple:
    """(A's, B's) estimated time of each guideline violation ((guideline, where) -> seconds; empty without
    --device): what a violation that appears in B costs there, and what one that disappears from A cost in A."""
    return comparison.a.latency_costs or {}, comparison.b.latency_costs or {}


def guideline_change_lines(changes, shown: int = CHANGES_SHOWN, costs: tuple = ({}, {})) -> list:
    """ShuffleNet V2 guideline violations per guideline in A and B, then those that appear in B and those that
    disappear from A (matched by guideline and layer or block name), each with its estimated time in B or in A
    when `costs` (change_costs) has it."""
    counts = ", ".join(f"{g} {a} -> {b}" for g, a, b in changes.counts)
    network = "; ".join(f"{g} element-wise share of MAC {a:.1%} ({'pass' if ok_a else 'FAIL'}) -> {b:.1%} "
                        f"({'pass' if ok_b else 'FAIL'}), limit {limit:.0%}"
                        for g, a, b, limit, ok_a, ok_b in changes.network)
    lines = [f"Guideline violations (ShuffleNet V2), A -> B: {counts}", *([network] if network else [])]
    for title, findings, side in (("appear in B", changes.appeared, costs[1]),
                                  ("disappear from A", changes.disappeared, costs[0])):
        if not findings:
            lines.append(f"none {title}")
            continue
        lines.append(f"{len(findings)} {title}:")
        for f in findings[:shown]:
            cost = side.get((f.guideline, f.where))
            lines.append(f"   {f.guideline} {f.where}: {f.why}" + ("" if cost is None else f" (est. {duration(cost)})"))
        if len(findings) > shown:
            lines.append(f"   ... and {len(findings) - shown} more")
    return lines


class TableReporter(Reporter):
    """The human format: rich tables, K/M/G (or exact) numbers."""

    def report(self, report, rows, options):
        return render(report, rows, options)

    def compare(self, comparison, options):
        return render_compare(comparison, options)

    def check(self, run, options):
        from costcalc.report.check_text import render_check

        return render_check(run, options)

    def guidelines(self, report, options):
        return render_guidelines(report, options)
