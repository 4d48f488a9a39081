"""The formats and the one small interface every reporter implements (costcalc.report picks one by its Format)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Format(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


FORMATS = tuple(f.value for f in Format)


@dataclass(frozen=True)
class Options:
    exact: bool = False  # whole integers instead of K/M/G
    color: bool = False
    width: int | None = None  # None: the terminal's, or a wide fixed width when piped


class Reporter:
    """What every format implements: one method per kind of result."""

    def report(self, report, rows: list, options: Options) -> str:
        raise NotImplementedError

    def compare(self, comparison, options: Options) -> str:
        raise NotImplementedError

    def check(self, run, options: Options) -> str:
        raise NotImplementedError

    def guidelines(self, report, options: Options) -> str:
        raise NotImplementedError
