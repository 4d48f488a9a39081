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


def render(fmt: Format, report, rows: list, options: Options = Options(), guidelines=None) -> str:
    """Render `report` (and, for formats that show a chosen view, its `rows`) as text; with `guidelines` (from
    costcalc.analysis.guidelines.check), the guideline panel and markers, or the JSON "guidelines" key."""
    if fmt is Format.JSON:
        from costcalc.report import as_json

        return as_json.render(report, guidelines)
    from costcalc.report import as_table

    return as_table.render(report, rows, options, guidelines)


def render_guidelines(fmt: Format, report, guidelines, options: Options = Options()) -> str:
    """Only the guideline panel (table) or the "guidelines" object with the model and input (JSON)."""
    if fmt is Format.JSON:
        from costcalc.report import as_json

        return as_json.render_guidelines(report, guidelines)
    from costcalc.report import as_table

    return as_table.render_guidelines(report, guidelines, options)
