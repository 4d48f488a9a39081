"""One reporter per output format behind one small interface.

`render(fmt, result, rows, options) -> str` picks the format's Reporter from the Format enum and hands it the
result: a Report (with the rows of the chosen view), a Comparison, or a CheckRun. Every format is rendered from
those same objects; nothing here computes a cost.
"""

from __future__ import annotations

from costcalc.report.base import FORMATS, Format, Options, Reporter

__all__ = ["FORMATS", "Format", "Options", "Reporter", "render", "render_guidelines", "reporter"]


def reporter(fmt: Format) -> Reporter:
    """The reporter of `fmt` (its module is imported only when used)."""
    fmt = Format(fmt)
    if fmt is Format.JSON:
        from costcalc.report.as_json import JsonReporter as cls
    elif fmt is Format.CSV:
        from costcalc.report.as_csv import CsvReporter as cls
    elif fmt is Format.MARKDOWN:
        from costcalc.report.as_markdown import MarkdownReporter as cls
    else:
        from costcalc.report.as_table import TableReporter as cls
    return cls()


def render(fmt: Format, result, rows: list | None = None, options: Options = Options()) -> str:
    """Render `result` (a Report with the `rows` of the chosen view, a Comparison, or a CheckRun) as text."""
    from costcalc.analysis.report import Report
    from costcalc.util import gc_paused

    chosen = reporter(fmt)
    if isinstance(result, Report):  # checked first: `report` imports neither compare nor budget
        with gc_paused():  # a line per layer: many small acyclic objects
            return chosen.report(result, rows if rows is not None else [], options)
    from costcalc.analysis.budget import CheckRun
    from costcalc.analysis.compare import Comparison

    if isinstance(result, Comparison):
        return chosen.compare(result, options)
    if isinstance(result, CheckRun):
        return chosen.check(result, options)
    raise TypeError(f"no reporter for {type(result).__name__}")


def render_guidelines(fmt: Format, report, options: Options = Options()) -> str:
    """`costcalc guidelines`: only the guideline findings of `report.guidelines`, in format `fmt`."""
    return reporter(fmt).guidelines(report, options)
