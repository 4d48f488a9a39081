"""One reporter per output format behind one small interface: `render(report, rows, options) -> str`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Format(str, Enum):
    TABLE = "table"
    JSON = "json"


@dataclass(frozen=True)
class Options:
    exact: bool = False  # whole integers instead of K/M/G
    color: bool = False
    width: int | None = None  # None: the terminal's, or a wide fixed width when piped


def render(fmt: Format, report, rows: list, options: Options = Options()) -> str:
    """Render `report` (and, for formats that show a chosen view, its `rows`) as text. A report carrying
    `guidelines` also gets the guideline panel and row markers (table) or the "guidelines" key (JSON)."""
    if fmt is Format.JSON:
        from costcalc.report import as_json

        return as_json.render(report)
    from costcalc.report import as_table

    return as_table.render(report, rows, options)


def render_guidelines(fmt: Format, report, options: Options = Options()) -> str:
    """`costcalc guidelines`: only the guideline panel of `report.guidelines` (table), or the model, its input and
    the "guidelines" object (JSON)."""
    if fmt is Format.JSON:
        from costcalc.report import as_json

        return as_json.render_guidelines(report)
    from costcalc.report import as_table

    return as_table.render_guidelines(report, options)
