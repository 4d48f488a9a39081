"""`costcalc sweep`: a spec's totals over a grid or random samples of its variables and input, with the front."""

from __future__ import annotations

import io
import sys

import click

from costcalc.cli import color, device_option, width
from costcalc.errors import CostcalcError, OptionError

SWEEP_HELP = """
\b
Examples:
  costcalc sweep specs/mobilenet_v2.yaml --grid width=0.5,0.75,1.0 --grid input=3x160x160,3x224x224
  costcalc sweep specs/mobilenet_v2.yaml --random 200 --seed 1 --range width=0.25:2.0 \\
      --grid input=3x160x160,3x224x224 --pareto flops,params --top 10 --sort flops
  costcalc sweep specs/mobilenet_v2.yaml --random 10000 --range width=0.35:1.4 --range 'n[*]=1:4' \\
      --range 'k[*]=3,5,7' --format csv
  search.py | costcalc sweep specs/mobilenet_v2.yaml --candidates - | ...   (JSON lines in, JSON lines out)
  costcalc sweep specs/mobilenet_v2.yaml --candidates found.jsonl --jobs 2   (a file: over 2 processes)
A point that cannot be evaluated (a width that breaks a divisibility) is a row with its error.
Exit code 0 when the sweep ran (whatever its points), 2 when the spec or an option is bad.
"""

COUNT_CHOICES = ("flops", "elementwise_flops", "params", "memory_access", "activations")


@click.command("sweep", epilog=SWEEP_HELP)
@click.argument("spec")
@click.option("--grid", "grid", multiple=True, metavar="NAME=V1,V2,...",
              help="Values of a variable, or input=CxHxW,...; several --grid sweep their product (repeatable).")
@click.option("--random", "random_count", type=click.IntRange(min=1), metavar="N",
              help="Draw N points instead of the product: each --range uniformly, each --grid by choice.")
@click.option("--range", "ranges", multiple=True, metavar="NAME=LOW:HIGH",
              help="With --random: a variable drawn in [LOW, HIGH] (integers when both bounds are), from LOW:HIGH:STEP, "
                   "or from V1,V2,...; NAME[i] is one element of a list variable, NAME[*] each (repeatable).")
@click.option("--candidates", metavar="FILE.jsonl|-",
              help="Evaluate the settings of a JSON-lines file (or standard input), one object a line, and stream "
                   "one JSON line out per candidate as it is evaluated (a file with --jobs N: over N processes, "
                   "written in the file's order).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size N.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "jsonl"]), default=None,
              help="table (default), csv, json, or jsonl (one JSON line a point; what --candidates prints).")
@click.option("--pareto", metavar="COL,COL", help="Mark the Pareto front minimising these totals, e.g. flops,params.")
@click.option("--top", type=click.IntRange(min=1), metavar="K", help="Show only the first K rows (after --sort).")
@click.option("--sort", metavar="KEY", help=f"Sort by a total ({', '.join(COUNT_CHOICES)}), ascending; "
                                            "-KEY for descending. Failed points go last.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Evaluate the points on this Dask cluster (needs the [dask] extra).")
@click.option("--plot", "plot_file", metavar="FILE.png|.svg",
              help="Also draw the points and their front (needs --pareto with two totals, and the [plot] extra).")
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G in the table.")
@device_option
def command(spec, grid, random_count, ranges, candidates, seed, batch, fmt, pareto, top, sort, jobs, scheduler,
            plot_file, exact, device):
    """Totals of SPEC at every point of a grid (--grid, the product) or of --random samples (--range, --grid):
    one row per point with its values, FLOPs, params, memory access and activations (and with --device, the
    estimated latency)."""
    from costcalc.analysis import sweep as sweeping

    if candidates is not None:
        if grid or ranges or random_count or pareto or top or sort or plot_file or scheduler or \
                fmt not in (None, "jsonl"):
            raise click.UsageError("--candidates writes a JSON line out per candidate, in their order: it takes "
                                   "no --grid, --random, --range, --pareto, --sort, --top, --plot, --scheduler or "
                                   "--format other than jsonl")
        _candidates(spec, candidates, batch, device, jobs)
        return
    fmt = fmt or "table"
    try:
        axes = sweeping.parse_grid(grid)
        spans = sweeping.parse_ranges(ranges)
        columns = sweeping.pareto_columns(pareto, timed=device is not None)
        sortable = COUNT_CHOICES + ((sweeping.LATENCY,) if device else ())
        if sort is not None and sort.lstrip("-") not in sortable:
            raise OptionError(f"'{sort}': one of {', '.join(sortable)}, or -KEY for descending"
                              + ("" if device else f" ({sweeping.LATENCY} with --device)"))
    except OptionError as e:
        raise click.UsageError(str(e)) from None
    if spans and random_count is None:
        raise click.UsageError("--range draws random points: give --random N")
    if plot_file and len(columns) != 2:
        raise click.UsageError("--plot draws the front of two totals: give --pareto with two of them")
    if random_count is None and not axes:
        raise click.UsageError("give --grid NAME=V1,V2,... (the product), or --random N with --range / --grid")
    from costcalc.api_sweep import swept

    try:
        with _progress() as progress:
            result = swept(spec, axes, spans, random=random_count, seed=seed, batch=batch, jobs=jobs,
                           scheduler=scheduler, columns=columns, top=top, sort=sort, device=device, progress=progress,
                           fmt=fmt)
    except OptionError as e:
        raise click.UsageError(str(e)) from None
    except CostcalcError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
    from costcalc.report import Options
    from costcalc.report.as_sweep import render

    if result.invalid:
        click.echo(f"note: {result.invalid} of {result.points} points could not be evaluated (their rows say why)",
                   err=True)
    text = render(fmt, result, Options(exact=exact, color=color(), width=width()))
    # piped, click.echo strips ANSI codes with a pass over the whole text (a twentieth of a second for 50,000
    # points): told the text has none, it writes it as it is
    click.echo(text, nl=False, color=True if "\x1b" not in text else None)
    if plot_file:
        _plot(result, plot_file)


def _candidates(spec, candidates: str, batch: int, device, jobs: int) -> None:
    """Each candidate's row, one JSON line. From a file with --jobs N: read whole, evaluated over N processes, the
    lines written in the file's order (costcalc.analysis.sweep.run_candidates). From standard input or a pipe:
    each line written as soon as it is evaluated, in this process (a search may wait for it to write the next)."""
    from costcalc.analysis.sweep_points import read_candidates
    from costcalc.api import load
    from costcalc.latency.profile import load as load_profile

    try:
        profile = load_profile(device) if device is not None else None
        model = load(spec)
        model.variables  # an ONNX model is read here: its errors come before any candidate
        stream = sys.stdin if candidates == "-" else open(candidates, encoding="utf-8")  # noqa: SIM115
    except OSError as e:
        click.echo(f"{candidates}: error: cannot read the candidates: {e.strerror}", err=True)
        sys.exit(2)
    except CostcalcError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
    read = read_candidates(stream, "<stdin>" if candidates == "-" else candidates, model)
    with stream:
        if jobs > 1 and _regular(stream):
            _over_processes(model, read, batch, profile, jobs)
            return
        if jobs > 1:
            click.echo(f"note: --jobs {jobs}: candidates from standard input or a pipe are evaluated in this "
                       "process, each as it comes", err=True)
        _stream(model, read, batch, profile)


def _regular(stream) -> bool:
    """Whether `stream` reads a regular file (not a terminal, a pipe or a socket), which can be read whole first."""
    import os
    import stat

    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False


def _stream(model, read, batch: int, profile) -> None:
    """Each candidate's row, one JSON line, written as soon as it is evaluated."""
    from costcalc.analysis.sweep import evaluate_settings
    from costcalc.report.as_sweep import json_line

    try:
        for row in evaluate_settings(model, read, batch, profile):
            click.echo(json_line(row, profile is not None))
            sys.stdout.flush()
    except CostcalcError as e:
        click.echo(str(e), err=True)
        sys.exit(2)


def _over_processes(model, read, batch: int, profile, jobs: int) -> None:
    """The candidates read up to the first bad line, evaluated over `jobs` processes; their lines in the file's
    order, then the bad line's located error: what _stream writes, byte for byte."""
    from costcalc.analysis.sweep import run_candidates
    from costcalc.report.as_sweep import row_lines

    settings: list = []
    error = None
    try:
        settings.extend(read)
    except CostcalcError as e:
        error = e
    texts, _ = run_candidates(model, settings, row_lines("jsonl", (), profile is not None), batch, jobs, profile)
    click.echo("".join(texts), nl=False)
    if error is not None:
        sys.stdout.flush()
        click.echo(str(error), err=True)
        sys.exit(2)


class _progress:
    """A progress bar over the points on a terminal (stderr), told (done, total); nothing when piped."""

    def __init__(self):
        self.bar = None

    def __enter__(self):
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("sweeping"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("", total=None)
        return lambda done, total: self.bar.update(task, completed=done, total=total)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False


def _plot(result, path: str) -> None:
    from costcalc.analysis.series import pareto
    from costcalc.plot import draw

    try:
        draw("pareto", pareto(result), path)
    except CostcalcError as e:
        click.echo(str(e), err=True)
        sys.exit(2)

