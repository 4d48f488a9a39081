"""`costcalc measure SPEC|model.onnx`: the network's measured time on this machine, in onnxruntime, in total and per
layer (costcalc.api_measure: the library function; report.as_measure: the text)."""

from __future__ import annotations

import sys

import click

from costcalc.cli import library_errors, output_options, parse_depth, parse_input, parse_sets, spec_options, warn
from costcalc.report import FORMATS


@click.command("measure")
@click.argument("spec", metavar="SPEC|MODEL.onnx")
@spec_options
@click.option("--runs", type=click.IntRange(min=1), default=10, show_default=True, help="Timed runs (after warm-up).")
@click.option("--budget", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop timing once this much time is spent (at least one run; at most --runs, default 1000 "
                   "with --budget).")
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True, help="Untimed runs first.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="onnxruntime's intra-op threads; 1 is the reproducible figure.")
@click.option("--depth", default="2", show_default=True, metavar="N|all",
              help="Sum layers into their block at this depth of the name (1: stages); 'all': every layer.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="json and csv list every layer whatever --depth is.")
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random weights and input.")
@click.option("--no-profile", "no_profile", is_flag=True, help="Total time only: no per-layer profiler run.")
def command(spec, sets, input_shape, batch, runs, budget, warmup, threads, depth, fmt, exact, seed, no_profile):
    """Run SPEC (exported with seeded random weights) or an ONNX file in onnxruntime on this machine: the total,
    the wall time of one run for the batch, min and median over --runs runs after --warmup runs with the profiler
    off; then per layer (an ONNX file's layers as costcalc imports them), from onnxruntime's profiler in a second,
    profiled pass whose overhead is stated (layers onnxruntime fused into another's kernel are marked). Needs the
    [runtime] extra."""
    from costcalc.api_measure import measure
    from costcalc.report.as_measure import render

    level = None if fmt in ("json", "csv") else parse_depth(depth)
    if budget is not None and runs == 10 and "--runs" not in sys.argv:
        runs = 1000
    if spec.lower().endswith(".onnx") and sets:
        raise click.UsageError("--set changes a spec's variables: an ONNX file has none")
    with library_errors(), _progress(runs) as progress:
        result = measure(spec, parse_sets(sets), parse_input(input_shape), batch, input_text=input_shape, runs=runs,
                         budget_s=budget, warmup=warmup, threads=threads, seed=seed, profile=not no_profile,
                         depth=level, progress=progress)
    warn(result.warnings)
    click.echo(render(fmt, result, output_options(exact)), nl=False)


class _progress:
    """A progress bar over the timed runs on a terminal (stderr); nothing when piped."""

    def __init__(self, total: int):
        self.total = total
        self.bar = None

    def __enter__(self):
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("measuring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("", total=self.total)
        return lambda done, total: self.bar.update(task, completed=done)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False
