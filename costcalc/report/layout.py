"""Columns as data, and a plain-text box table that fits them to a width without ever cutting a number.

A reporter describes its table as a list of `Column`s (title, how to write a row's cell, footer, alignment, a
short title and a drop rank); `fit` decides which columns and titles a width allows, `box` draws the result. As the
width shrinks, the table gives up, in this order, until it fits:

1. the long titles: every column's `short` title instead ("MAC (mem. access)" -> "Mem. acc.");
2. whole columns, by `drop` rank, 1 first (each reporter lists its order; rank 0 is never dropped);
3. characters of `squeeze` columns (text: names, then ops), left to right: the middle of a long text becomes '…',
   down to `SQUEEZED` characters.

A number is never shortened: if even that does not fit, the table is wider than asked. Drawn by hand, not by rich:
a 20,000-row table costs a string join per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rich.cells import cell_len

SQUEEZED = 10  # the narrowest a squeezed text gets
BOLD, RESET = "\x1b[1m", "\x1b[0m"


@dataclass(frozen=True)
class Column:
    title: str
    cell: Callable  # row -> the cell's text
    footer: str = ""
    right: bool = True  # numbers align right, text left
    short: str = ""  # the title where space is short ("" : the title itself)
    drop: int = 0  # 0: always shown; otherwise dropped as the width shrinks, rank 1 first
    squeeze: bool = False  # text that may lose its middle to '…' when nothing else is left to give up


def width_of(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - width_of(text))
    return gap + text if right else text + gap


def squeeze(text: str, width: int) -> str:
    """'layer3.0.downsample.conv' in 12 -> 'layer3…e.conv': the start and the end of a name are what identify it."""
    if width_of(text) <= width or not text.isascii():
        return text
    tail = (width - 1) // 2
    return text[:width - 1 - tail] + "…" + text[len(text) - tail:]


@dataclass(frozen=True)
class Layout:
    columns: list  # the Columns kept
    titles: list
    widths: list
    cells: list  # per row, the kept columns' texts (squeezed where the layout squeezes)


def table_width(widths: list) -> int:
    return sum(w + 3 for w in widths) + 1  # '│ ' before each cell, ' ' after it, and the closing '│'


def _widest(texts: list) -> int:
    if "".join(texts).isascii():  # one check per column, not per cell: a 20,000-row table stays fast
        return max(map(len, texts), default=0)
    return max(map(width_of, texts), default=0)


def fit(columns: list, rows: list, width: int) -> Layout:
    """The columns, titles and widths that fit `width` (see the module docstring for the order of what goes)."""
    by_column = [[column.cell(row) for row in rows] for column in columns]
    need = [max(_widest(texts), width_of(c.footer)) for texts, c in zip(by_column, columns)]
    kept = list(range(len(columns)))
    titles = [c.title for c in columns]

    def widths() -> list:
        return [max(need[k], width_of(titles[k])) for k in kept]

    if table_width(widths()) > width:
        titles = [c.short or c.title for c in columns]
    for k in sorted((k for k, c in enumerate(columns) if c.drop), key=lambda k: columns[k].drop):
        if table_width(widths()) <= width:
            break
        kept.remove(k)
    final = widths()
    excess = table_width(final) - width
    for i, k in enumerate(kept):
        if excess <= 0:
            break
        if columns[k].squeeze:
            floor = max(SQUEEZED, width_of(titles[k]), width_of(columns[k].footer))
            give = min(excess, final[i] - floor)
            if give > 0:
                final[i] -= give
                excess -= give
                by_column[k] = [squeeze(text, final[i]) for text in by_column[k]]
    cells = [list(line) for line in zip(*(by_column[k] for k in kept))]
    return Layout([columns[k] for k in kept], [titles[k] for k in kept], final, cells)


def box(layout: Layout, color: bool = False, footer: bool = True) -> str:
    """The table drawn as rich's default box (heavy head, light body, a rule above the footer)."""
    w, columns = layout.widths, layout.columns

    def line(left, fill, sep, right):
        return left + sep.join(fill * (n + 2) for n in w) + right

    fast = " │ ".join(("{:>%d}" if c.right else "{:<%d}") % n for n, c in zip(w, columns))
    fast = "│ " + fast + " │"

    def row(texts, bar="│", bold=False):
        if bar == "│" and not bold and "".join(texts).isascii():
            return fast.format(*texts)
        cells = (_pad(t, n, c.right) for t, n, c in zip(texts, w, columns))
        if bold:
            cells = (BOLD + cell + RESET for cell in cells)
        return f"{bar} " + f" {bar} ".join(cells) + f" {bar}"

    head = row(layout.titles, "┃", color)
    lines = [line("┏", "━", "┳", "┓"), head, line("┡", "━", "╇", "┩")]
    lines += [row(texts) for texts in layout.cells]
    if footer:
        lines += [line("├", "─", "┼", "┤"), row([c.footer for c in columns], bold=color)]
    lines.append(line("└", "─", "┴", "┘"))
    return "\n".join(lines) + "\n"
