"""What a CI system reads besides the text: GitHub Actions workflow commands (`::error file=...,line=...::`) that
annotate the spec's `budget:` line in a pull request, and a JUnit XML file (one test case per spec)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from costcalc.report.check_text import check_line, verdict_text


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(run) -> str:
    """One `::error` line per limit exceeded (at the `budget:` line for a spec's own budget, at the file for a
    command-line one) and per unreadable spec (at the error's position)."""
    lines = []
    for check in run.checks:
        if check.error is not None:
            loc = getattr(check.error, "loc", None)
            where = f"file={_escape_property(loc.file)},line={loc.line},col={loc.col}" if loc else \
                f"file={_escape_property(check.path)}"
            message = getattr(check.error, "message", str(check.error))
            lines.append(f"::error {where},title=costcalc check::{_escape_data(message)}")
            continue
        for verdict in check.verdicts:
            if verdict.ok:
                continue
            loc = verdict.limit.loc
            where = f"file={_escape_property(loc.file)},line={loc.line}" if loc else f"file={_escape_property(check.path)}"
            lines.append(f"::error {where},title=costcalc budget::"
                         f"{_escape_data(check.model + ': ' + _gate(verdict) + ': ' + verdict_text(verdict, False))}")
        for finding in check.guideline_violations:
            lines.append(f"::error file={_escape_property(check.path)},title=costcalc guidelines::"
                         f"{_escape_data(f'{check.model}: {finding.guideline} at {finding.where}: {finding.why}')}")
    return "".join(line + "\n" for line in lines)


def _gate(verdict) -> str:
    return "over the baseline" if verdict.limit.source == "baseline" else "over budget"


def junit_xml(run) -> str:
    """JUnit XML: a test suite 'costcalc check' with one test case per spec; over budget is a failure, an
    unreadable spec an error, a spec without a budget is skipped."""
    suite = ET.Element("testsuite", name="costcalc check", tests=str(len(run.checks)),
                       failures=str(sum(c.status == "over" for c in run.checks)),
                       errors=str(sum(c.status == "error" for c in run.checks)),
                       skipped=str(sum(c.status == "no budget" for c in run.checks)))
    for check in run.checks:
        case = ET.SubElement(suite, "testcase", classname="costcalc.check", name=check.path)
        line = check_line(check, False)
        if check.status == "over":
            failure = ET.SubElement(case, "failure", message=line, type="BudgetExceeded")
            failure.text = "\n".join([verdict_text(v, True) for v in check.verdicts if not v.ok]
                                      + [f"{f.guideline} at {f.where}: {f.why}" for f in check.guideline_violations])
        elif check.status == "error":
            ET.SubElement(case, "error", message=str(check.error), type="SpecError")
        elif check.status == "no budget":
            ET.SubElement(case, "skipped", message=line)
        else:
            ET.SubElement(case, "system-out").text = line
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
