"""GitHub-flavoured Markdown, to paste into (or post as) a pull-request comment: pipe tables with numbers aligned
right, the totals row in bold, long per-row diffs folded in a <details> block. Plain text otherwise, so that it
reads the same raw."""

from __future__ import annotations

from costcalc.report.base import Reporter
from costcalc.report.as_table import (TOTAL_NAMES, change_costs, compare_header, diff_mark, diff_name, diff_op,
                                      guideline_change_lines, header, latency_footnote, panel, published_text,
                                      report_columns, selection_note)
from costcalc.report.check_text import GATE_WORDS, check_line, check_summary, verdict_text, violations_text
from costcalc.report.units import human, percent, signed

FOLD_ROWS = 20  # more rows than this go into a <details> block


def cell(text) -> str:
    """Text safe in a table cell: pipes escaped, no line breaks, Markdown emphasis characters escaped."""
    text = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "*_`<>[]~":
        text = text.replace(ch, "\\" + ch)
    return text


def table(head: list, align: list, rows: list) -> list:
    """Lines of a pipe table; `align` holds 'l' or 'r' per column."""
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if a == "r" else ":---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _fold(summary: str, lines: list, rows: int) -> list:
    if rows <= FOLD_ROWS:
        return lines
    return [f"<details><summary>{summary}</summary>", ""] + lines + ["", "</details>"]


def render_report(report, rows: list, options) -> str:
    """The table's columns (as_table.report_columns), all of them: a PR comment scrolls sideways."""
    columns = report_columns(report, rows, options.exact)
    body = [[cell(c.cell(row)) for c in columns] for row in rows]
    body.append([f"**{cell(c.footer)}**" if c.footer else "" for c in columns])
    lines = [cell(header(report)), ""]
    lines += table([c.title for c in columns], ["r" if c.right else "l" for c in columns], body)
    for note in (selection_note(rows), published_text(report.published, options.exact)):
        if note:
            lines += ["", cell(note)]
    if report.latency is not None:
        lines += ["", cell(latency_footnote(report))]
    if report.guidelines is not None:
        lines += ["", *guideline_panel(report, options)]
    return "\n".join(lines) + "\n"


def guideline_panel(report, options) -> list:
    """The guideline panel of the table format, as a fenced block: it keeps its alignment in a PR comment."""
    return ["```text", *panel(report.guidelines, options, costs=report.latency_costs).splitlines(), "```"]


def render_compare(comparison, options) -> str:
    h = lambda n: human(n, options.exact)  # noqa: E731
    a, b, delta, relative = comparison.a.totals, comparison.b.totals, comparison.delta, comparison.relative()
    totals = [[title, h(getattr(a, key)), h(getattr(b, key)), signed(getattr(delta, key), options.exact),
               percent(relative[key])] for key, title in TOTAL_NAMES]
    lines = [cell(compare_header(comparison)), ""]
    lines += table(["Total", "A", "B", "B - A", "%"], list("lrrrr"), totals)
    body = []
    for diff in comparison.rows:
        cells = []
        for key in ("flops", "params", "memory_access"):
            cells += [h(getattr(diff.a.counts, key)) if diff.a else "", h(getattr(diff.b.counts, key)) if diff.b else "",
                      signed(getattr(diff.delta, key), options.exact)]
        body.append([cell(diff_name(diff)), cell(diff_op(diff)), diff_mark(diff), *cells])
    lines.append("")
    if body:
        head = ["Layer", "Op", "Match"] + [f"{m} {s}" for m in ("FLOPs", "Params", "MAC") for s in ("A", "B", "B - A")]
        lines += _fold(f"{len(body)} rows (matched by name, then by position in their block)",
                       table(head, list("lll") + ["r"] * 9, body), len(body))
    else:
        lines.append("No rows differ.")
    if comparison.guideline_changes is not None:
        lines.append("")
        lines += [cell(line) if not line.startswith("   ") else f"- {cell(line.strip())}"
                  for line in guideline_change_lines(comparison.guideline_changes, costs=change_costs(comparison))]
    return "\n".join(lines) + "\n"


STATUS = {"within": "within budget", "no budget": "no budget", "error": "**unreadable**"}


def _status(check) -> str:
    """'within budget', or the gates failed in bold: '**over budget and fails guidelines**'."""
    if check.status == "over":
        return "**" + " and ".join(GATE_WORDS[gate] for gate in check.failed) + "**"
    return STATUS[check.status]


def render_check(run, options) -> str:
    body = []
    for check in run.checks:
        if check.status in ("error", "no budget"):
            detail = check_line(check, options.exact).partition(": ")[2]
        else:
            detail = "; ".join([verdict_text(v, options.exact) for v in check.verdicts]
                               + ([violations_text(check)] if check.guideline_violations else [])
                               + [published_text(check.published, options.exact)] * (check.published is not None)
                               + list(check.notes))
        body.append([f"`{check.path}`", _status(check), cell(detail)])
    lines = [cell(check_summary(run)), ""] + table(["Spec", "Status", "Totals against limits"], list("lll"), body)
    return "\n".join(lines) + "\n"


class MarkdownReporter(Reporter):
    def report(self, report, rows, options):
        return render_report(report, rows, options)

    def compare(self, comparison, options):
        return render_compare(comparison, options)

    def check(self, run, options):
        return render_check(run, options)

    def guidelines(self, report, options):
        return "\n".join([cell(header(report)), "", *guideline_panel(report, options)]) + "\n"
