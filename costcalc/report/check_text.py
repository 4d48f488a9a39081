"""The text of `costcalc check`: one line per spec saying which gates it passed and which it failed (budget,
baseline, guidelines, published), a line of its published figures, and a summary that names the gates."""

from __future__ import annotations

from costcalc.report.lines import published_text, wrap_text
from costcalc.report.units import duration, human, percent

UNWRAPPED = 10**6  # the width of piped output: check's lines are read by scripts and CI logs, never broken there
GATE_WORDS = {"budget": "over budget", "baseline": "over the baseline", "guidelines": "fails guidelines",
              "published": "differs from its published figures"}


def verdict_text(verdict, exact: bool) -> str:
    if verdict.limit.field == "latency_s":
        return latency_verdict_text(verdict)
    # a total and a limit that round to the same K/M/G text are shown exactly, so that "4.09G > 4.09G" never shows
    exact = exact or human(verdict.actual) == human(verdict.limit.value)
    h = lambda n: human(n, exact)  # noqa: E731
    name = verdict.limit.field  # as the budget: section and the JSON spell it
    where = _where(verdict)
    if verdict.ok:
        return f"{name} {h(verdict.actual)} of {h(verdict.limit.value)}{where}"
    share = percent(verdict.over / verdict.limit.value) if verdict.limit.value else "-"
    if share == "+0.00%":
        share = "+<0.01%"
    return f"{name} {h(verdict.actual)} > {h(verdict.limit.value)}{where} by {h(verdict.over)} ({share})"


def latency_verdict_text(verdict) -> str:
    """'latency 8.12 ms (est.) of 10.00 ms (--max)' or 'latency 12.3 ms (est.) > 10.00 ms (--max) by 2.30 ms
    (+23.00%)'."""
    actual, limit, where = duration(verdict.actual), duration(verdict.limit.value), _where(verdict)
    if verdict.ok:
        return f"latency {actual} (est.) of {limit}{where}"
    return (f"latency {actual} (est.) > {limit}{where} by {duration(verdict.over)} "
            f"({percent(verdict.over / verdict.limit.value)})")


def _where(verdict) -> str:
    """'' for the spec's own budget, ' (--max)' for a command-line limit, ' (<text>)' for a baseline's."""
    return {"spec": "", "command line": " (--max)"}.get(verdict.limit.source, f" ({verdict.limit.text})")


def failed_words(check) -> str:
    """'over budget', 'fails guidelines', 'over budget and fails guidelines', ..."""
    return " and ".join(GATE_WORDS[gate] for gate in check.failed)


def check_line(check, exact: bool) -> str:
    """One line per spec: within / which gates failed (by how much) / no budget / could not be read."""
    status = check.status
    if status == "error":
        return f"{check.path}: could not be read: {check.error}"
    if status == "no budget":
        return f"{check.path}: no budget (add a budget: section or --max-* options)"
    over = [verdict_text(v, exact) for v in check.verdicts if not v.ok]
    within = [verdict_text(v, exact) for v in check.verdicts if v.ok]
    if check.guidelines_checked and not check.guideline_violations:
        within.append(f"guidelines {', '.join(check.guidelines_checked)} pass")
    if check.published_checked and check.published is not None and check.published.ok:
        within.append("published figures agree")
    failures = over + ([violations_text(check)] if check.guideline_violations else [])
    if "published" in check.failed:
        failures.append("see its published line")
    if not failures:
        return f"{check.path}: within budget: {', '.join(within)}"
    rest = f" (within: {', '.join(within)})" if within else ""
    return f"{check.path}: {failed_words(check)}: {'; '.join(failures)}{rest}"


def violations_text(check) -> str:
    """'G1 violated by 3 layers (worst: layer2.0.conv1); G2 ...'"""
    by_guideline: dict = {}
    for finding in check.guideline_violations:
        by_guideline.setdefault(finding.guideline, []).append(finding)
    return "; ".join(f"{g} violated by {len(found)} {'block' if g == 'G3' else 'layer'}{'s' if len(found) > 1 else ''}"
                     f" (worst: {found[0].where})" for g, found in by_guideline.items())


def check_summary(run) -> str:
    """'3 specs: 1 within, 1 over budget, 1 fails guidelines': each failing spec counted under the gates it
    failed, so that a reader sees which gate stopped the build."""
    counts: dict = {}
    for check in run.checks:
        status = check.status
        key = failed_words(check) if status == "over" else ("unreadable" if status == "error" else status)
        counts[key] = counts.get(key, 0) + 1
    order = ["within", *sorted(k for k in counts if k not in ("within", "no budget", "unreadable")), "no budget",
             "unreadable"]
    parts = [f"{counts[k]} {k}" for k in order if k in counts]
    n = len(run.checks)
    under = f" ({', '.join(run.settings)})" if run.settings else ""
    return f"{n} spec{'s' if n != 1 else ''}{under}: {', '.join(parts) or 'none'}"


def render_check(run, options) -> str:
    # an unreadable spec's located error line goes to stderr (the CLI prints it); stdout names the file only
    lines = []
    for check in run.checks:
        if check.status == "error":
            lines.append(f"{check.path}: could not be read (the error is on stderr)")
            continue
        width = options.width or UNWRAPPED  # piped (CI logs, grep): one line per spec, as ever
        lines.append(wrap_text(check_line(check, options.exact), width, 3))
        published = published_text(check.published, options.exact)
        if published:
            lines.append(wrap_text(f"   {published}", width, 6))
        lines += [wrap_text(f"   note: {note}", width, 6) for note in check.notes]
    return "\n".join(lines + [check_summary(run)]) + "\n"
