"""`costcalc verify`: a spec through the numpy reference forward pass, each layer's shape and counts checked against
the analytic figures; or, with --against onnxruntime, the reference and onnxruntime on the same network."""

from __future__ import annotations

import sys

import click

from costcalc.cli import color, library_errors, parse_input, parse_sets, spec_options, warn, width


@click.command("verify")
@click.argument("spec")
@spec_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random input and weights.")
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
@click.option("--failures", "failures_only", is_flag=True, help="List only the layers that disagree.")
@click.option("--against", type=click.Choice(["analytic", "onnxruntime"]), default="analytic", show_default=True,
              help="onnxruntime: run the reference and onnxruntime on the same exported network (same weights, "
                   "same input) and compare their outputs (needs the [runtime] extra).")
def command(spec, sets, input_shape, batch, seed, exact, failures_only, against):
    """Run SPEC through a numpy reference forward pass with random weights, and check each layer's output shape,
    FLOPs, memory access and params against the analytic figures. Exit 0 when all agree, 1 on any mismatch,
    2 on a bad spec. Use --input 3x64x64 for a quick run at reduced resolution."""
    from costcalc.api import walk

    with library_errors():
        graph = walk(spec, parse_sets(sets), parse_input(input_shape), batch, input_shape)
        warn(graph.warnings)
        if against == "onnxruntime":
            from costcalc.analysis.verify_runtime import verify_against_onnxruntime
            from costcalc.report.as_verify import render_runtime

            result = verify_against_onnxruntime(graph, seed)
            click.echo(render_runtime(result), nl=False)
            sys.exit(0 if result.passed else 1)
    result = _verified(graph, seed)
    from costcalc.report.as_verify import render

    click.echo(render(result, exact, failures_only, color(), width()), nl=False)
    sys.exit(0 if result.passed else 1)


def _verified(graph, seed: int):
    """costcalc.analysis.verify's result, with a progress bar on a terminal (stderr)."""
    from costcalc.analysis.verify import verify

    if not sys.stderr.isatty():
        return verify(graph, seed)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=len(graph.nodes))
        return verify(graph, seed, lambda done, name: bar.update(task, completed=done, description=name))
