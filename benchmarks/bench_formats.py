"""Speed of each output format on a 20,000-layer table (issue 17's goal: the table in under 2 s; it took 7.5 s
when rich drew it, JSON and CSV 1.3-2.2 s).

For N layers (benchmarks/big_specs.py's stress spec: conv / bn / relu in turn), each run measures, in-process:

- the baseline: reading and walking the spec alone (`graph.load`), which every format pays;
- `costcalc report SPEC --depth all --format F` end to end (click, load, analysis with the guideline checks,
  rendering, writing to a null stdout) for each format F;
- the rendering alone of each format, from the same analysed Report;
- a second baseline for the table: the same cells drawn by rich's Table, as costcalc did before issue 17.

CPU time of the process (time.process_time: costcalc is single-threaded, so on an idle machine it is the wall
time, and on a shared one it leaves out the time spent waiting for a core); medians over --runs runs,
interleaved. The ratios to the walk are printed too.

Run: python benchmarks/bench_formats.py [--layers 20000] [--runs 3] [--no-rich]
"""

from __future__ import annotations

import argparse
import io
import pathlib
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from big_specs import stress  # noqa: E402

FORMATS = ("table", "json", "csv", "markdown")


def timed(fn) -> float:
    """CPU seconds of this process spent in `fn` (on a machine shared with other jobs, wall time measures the
    queue; CPU time measures the work). One thread: the two agree on an idle machine."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def rich_table(report, selected) -> str:
    """The table as rich drew it before issue 17 (same columns and cells, rich's layout): the old renderer."""
    from rich.console import Console
    from rich.table import Table

    from costcalc.report.as_table import report_columns

    columns = report_columns(report, selected, False)
    table = Table(show_footer=True, header_style="bold")
    for column in columns:
        table.add_column(column.title, footer=column.footer, justify="right" if column.right else "left",
                         no_wrap=True)
    for row in selected:
        table.add_row(*(column.cell(row) for column in columns))
    buffer = io.StringIO()
    Console(file=buffer, width=160, color_system=None, no_color=True, highlight=False).print(table)
    return buffer.getvalue()


def cli(path: str, fmt: str, depth: tuple = ("--depth", "all")) -> None:
    from costcalc.cli import main

    with redirect_stdout(io.StringIO()):
        try:
            main(["report", path, *depth, "--format", fmt], standalone_mode=False)
        except SystemExit as e:  # pragma: no cover - a failure here is a bug to report
            if e.code:
                raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-rich", action="store_true", help="skip the rich baseline (about 30 s a run here)")
    args = parser.parse_args()

    from costcalc.analysis import rows
    from costcalc.api import checked
    from costcalc.graph import load
    from costcalc.report import Format, Options, render

    with tempfile.TemporaryDirectory() as tmp:
        path = str(pathlib.Path(tmp) / f"stress_{args.layers}.yaml")
        pathlib.Path(path).write_text(stress(args.layers))
        walk, old, whole, alone = [], [], {f: [] for f in FORMATS}, {f: [] for f in FORMATS}
        default = []  # `costcalc report SPEC`: the table at its default depth
        cli(path, "csv")  # warm imports and the file cache
        for _ in range(args.runs):
            walk.append(timed(lambda: load(path)))
            report = checked(load(path))
            selected = rows(report, None)
            if not args.no_rich:
                old.append(timed(lambda: rich_table(report, selected)))
            default.append(timed(lambda: cli(path, "table", ())))
            for fmt in FORMATS:
                whole[fmt].append(timed(lambda: cli(path, fmt)))
                alone[fmt].append(timed(lambda: render(Format(fmt), report, selected, Options())))
    base = statistics.median(walk)
    print(f"{args.layers:,} layers, CPU seconds, medians over {args.runs} runs")
    print(f"baseline: read + walk the spec                      {base:6.2f} s")
    for fmt in FORMATS:
        w, r = statistics.median(whole[fmt]), statistics.median(alone[fmt])
        print(f"report --depth all --format {fmt:<8} end to end  {w:6.2f} s ({w / base:4.2f}x the walk);"
              f" rendering alone {r:5.2f} s ({r / base:4.2f}x)")
    if old:
        rich = statistics.median(old)
        print(f"the table drawn by rich (before issue 17), rendering alone      {rich:5.2f} s ({rich / base:4.2f}x);"
              f" now {statistics.median(alone['table']) / rich:.1%} of that")
    table = statistics.median(default)
    print(f"report SPEC (the table, default --depth 2)  end to end  {table:6.2f} s ({table / base:4.2f}x the walk)")
    print(f"goal: the table end to end under 2 s: {'met' if table < 2 else 'NOT met'} ({table:.2f} s; "
          f"--depth all {statistics.median(whole['table']):.2f} s)")


if __name__ == "__main__":
    main()
