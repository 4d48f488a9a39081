"""`costcalc measure SPEC|model.onnx`: the network's measured time on this machine, in onnxruntime, per layer
and in total (costcalc.runtime: the adapter; costcalc.analysis.measured: the rows; report.as_measure: the text)."""

from __future__ import annotations

import sys

import click

from costcalc.cli import _depth, _fail, _options, _parse_input, load_graph, spec_options
from costcalc.errors import CostcalcError
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
def measure(spec, sets, input_shape, batch, runs, budget, warmup, threads, depth, fmt, exact, seed, no_profile):
    """Run SPEC (exported with seeded random weights) or an ONNX file in onnxruntime on this machine: per layer
    (from onnxruntime's profiler; layers onnxruntime fused into another's kernel are marked) and in total, the
    wall time of one run for the batch, min and median over --runs runs after --warmup runs. Needs the
    [runtime] extra."""
    from costcalc.analysis.measured import measured_report
    from costcalc.report.as_measure import render
    from costcalc.runtime.ort import measure as run_measure

    level = _depth(depth)
    if fmt in ("json", "csv"):
        level = None
    if budget is not None and runs == 10 and "--runs" not in sys.argv:
        runs = 1000
    is_model = spec.lower().endswith(".onnx")
    if is_model and sets:
        raise click.UsageError("--set changes a spec's variables: an ONNX file has none")
    try:
        graph, model, shapes = None, spec, None
        if is_model:
            _check_runtime(spec)
            shapes = _file_shapes(spec, batch, _parse_input(input_shape))
        else:
            graph = load_graph(spec, sets, input_shape, batch)
            _check_runtime(spec)
            from costcalc.exporters.onnx import export

            model = export(graph, weights="random", seed=seed)
        with _progress(runs) as progress:
            measurement = run_measure(model, threads=threads, warmup=warmup, runs=runs, budget_s=budget,
                                      profile=not no_profile, input_shapes=shapes, seed=seed,
                                      progress=progress)
    except CostcalcError as e:
        _fail(e)
    result = measured_report(measurement, level, graph, model=spec, path=spec)
    click.echo(render(fmt, result, _options(exact)), nl=False)


def _check_runtime(path: str) -> None:
    from costcalc.errors import Loc
    from costcalc.runtime.ort import load_onnxruntime

    load_onnxruntime(Loc(path))


def _file_shapes(path: str, batch: int, dims) -> dict:
    """The shape fed to each input of an ONNX file: its own sizes where it fixes them, --batch for an open first
    axis (a dynamic batch), --input for the others of a one-input network (C x H x W; fixed ones must agree)."""
    from costcalc.errors import Loc, SpecError
    from costcalc.runtime.ort import model_proto

    loc = Loc(path)
    graph = model_proto(path, loc).graph
    inits = {i.name for i in graph.initializer}
    inputs = [v for v in graph.input if v.name not in inits]
    shapes = {}
    for value in inputs:
        sizes = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                 for d in value.type.tensor_type.shape.dim]
        if dims and len(inputs) == 1:
            if len(sizes) != len(dims) + 1:
                raise SpecError(f"--input {'x'.join(map(str, dims))}: input '{value.name}' has {len(sizes)} axes, "
                                f"N and {len(sizes) - 1} more", loc)
            for k, (own, given) in enumerate(zip(sizes[1:], dims), start=1):
                if own is not None and own != given:
                    raise SpecError(f"--input {'x'.join(map(str, dims))}: input '{value.name}' fixes axis {k} at "
                                    f"{own}", loc)
            sizes[1:] = dims
        if sizes and sizes[0] is None:
            sizes[0] = batch
        elif sizes and batch != 1 and sizes[0] != batch:
            raise SpecError(f"--batch {batch}: input '{value.name}' fixes the batch at {sizes[0]}", loc)
        shapes[value.name] = tuple(sizes)  # an axis still open is refused, by name, where the input is made
    return shapes


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
