"""CSV for spreadsheets and scripts: one header row, then one row per layer or block (a report's rows follow
--depth, every layer by default, and end with a `total` row), per compared row (compare), or per limit checked
(check). Counts are whole integers. When --set or --input changed the spec, a first line `# model (--set ...)`
names them (pandas: read_csv(..., comment="#"))."""

from __future__ import annotations

import csv
import io

from costcalc.ops import COUNT_FIELDS
from costcalc.report.base import Reporter
from costcalc.report.as_table import model_label, row_markers
from costcalc.report.units import shape


def _table(header: list, rows: list) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _output(outputs: tuple) -> str:
    return shape(outputs if len(outputs) > 1 else outputs[0])


def _settings_line(report) -> str:
    return f"# {model_label(report.model, report.settings)}\n" if report.settings else ""


def render_report(report, selected: list) -> str:
    """One row per row of the view (`selected`: layers, or blocks at a depth), then the totals of the whole network;
    with guideline checks, a last column naming the guidelines the row's layers violate."""
    marks = row_markers(report.guidelines, selected) if report.guidelines is not None else None
    timed = report.latency is not None  # the estimated latency, seconds
    rows = [[row.name, row.op, _output(row.output), *(getattr(row.counts, f) for f in COUNT_FIELDS),
             *([row.latency_s] if timed else []), *([marks[row.name]] if marks is not None else [])]
            for row in selected]
    rows.append(["total", "", "", *(getattr(report.totals, f) for f in COUNT_FIELDS),
                 *([report.latency_s] if timed else []), *([""] if marks is not None else [])])
    header = ["name", "op", "output", *COUNT_FIELDS, *(["latency_s_estimate"] if timed else []),
              *(["guidelines"] if marks is not None else [])]
    return _settings_line(report) + _table(header, rows)


def render_compare(comparison) -> str:
    """One row per compared row; a first line `# A: ... | B: ...` when --set or --input changed either side."""
    labels = ""
    if (comparison.label_a, comparison.label_b) != (comparison.a.model, comparison.b.model):
        labels = f"# A: {comparison.label_a} | B: {comparison.label_b}\n"
    header = ["name", "status", "matched_by", "name_a", "name_b", "op_a", "op_b"]
    for f in COUNT_FIELDS:
        header += [f"{f}_a", f"{f}_b", f"{f}_delta"]
    timed = comparison.has_latency
    if timed:
        header += ["latency_s_estimate_a", "latency_s_estimate_b", "latency_s_estimate_delta"]
    rows = []
    for diff in comparison.rows:
        a, b, delta = diff.a, diff.b, diff.delta
        row = [(a or b).name, diff.status, diff.matched_by or "", a.name if a else "", b.name if b else "",
               a.op if a else "", b.op if b else ""]
        for f in COUNT_FIELDS:
            row += [getattr(a.counts, f) if a else "", getattr(b.counts, f) if b else "", getattr(delta, f)]
        if timed:
            row += [a.latency_s if a else "", b.latency_s if b else "", diff.latency_delta]
        rows.append(row)
    return labels + _table(header, rows)


def render_check(run) -> str:
    rows = []
    for check in run.checks:
        if not check.verdicts and not check.guideline_violations:
            error = str(check.error) if check.error is not None else ""
            rows.append([check.path, check.model, check.status, "", "", "", "", "", "", error])
            continue
        for v in check.verdicts:
            rows.append([check.path, check.model, "within" if v.ok else "over", v.limit.field, v.actual,
                         v.limit.value, v.over, v.limit.source, v.limit.loc.line if v.limit.loc else "", ""])
        for f in check.guideline_violations:  # one row per violation: the guideline as the "total" it fails
            rows.append([check.path, check.model, "over", f.guideline, "", "", "", "guideline", "",
                         f"{f.where}: {f.why}"])
    under = f"# checked with {', '.join(run.settings)}\n" if run.settings else ""
    return under + _table(["path", "model", "status", "total", "actual", "limit", "over", "source", "budget_line",
                           "error"], rows)


def render_guidelines(report) -> str:
    """One row per layer (G1, G2, G4) or block (G3) measured: violated or not, why, then each figure in its own
    column (the union of every guideline's figures, in the order they first appear; empty where a guideline has
    no such figure)."""
    findings = [(result.guideline, f) for result in report.guidelines.results for f in result.findings]
    figures: dict = {}
    for _, f in findings:
        figures.update((k, None) for k, _ in f.evidence)
    rows = []
    for guideline, f in findings:
        evidence = dict(f.evidence)
        rows.append([guideline, f.where, "yes" if f.violated else "no", f.why,
                     *(_figure(evidence[k]) if k in evidence else "" for k in figures)])
    return _settings_line(report) + _table(["guideline", "where", "violated", "why", *figures], rows)


def _figure(value) -> str:
    return shape(value) if isinstance(value, tuple) else value


class CsvReporter(Reporter):
    def report(self, report, rows, options):
        return render_report(report, rows)

    def compare(self, comparison, options):
        return render_compare(comparison)

    def check(self, run, options):
        return render_check(run)

    def guidelines(self, report, options):
        return render_guidelines(report)
