"""`costcalc report`: per-layer FLOPs, params and memory access with totals, then the guideline panel."""

from __future__ import annotations

import click

from costcalc.cli import (CONVENTION_NAMES, CONVENTIONS_HELP, device_option, library_errors, output_options,
                          parse_depth, parse_input, parse_sets, parse_thresholds, spec_options, threshold_option, warn)
from costcalc.report import FORMATS

MAX_TABLE_ROWS = 100_000  # a table renders ~50,000 rows a second; past this, --format json or csv


@click.command("report", epilog=CONVENTIONS_HELP)
@click.argument("spec", required=False)
@spec_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="json lists every layer whatever --depth is.")
@click.option("--depth", metavar="N|all",
              help="Sum layers into their block at this depth of the name (1: stages); 'all': every layer. "
                   "Default: 2 for table and markdown, all for csv.")
@click.option("--top", type=click.IntRange(min=1), help="Show only the K most expensive rows.")
@click.option("--sort", type=click.Choice(["flops", "elementwise_flops", "params", "memory_access", "activations"]),
              default="flops", show_default=True, help="What --top ranks by.")
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
@click.option("--bytes", "bytes_per_element", type=click.IntRange(min=1), metavar="N",
              help="Memory access in bytes, N bytes per element (default: elements).")
@click.option("--convention", type=click.Choice(CONVENTION_NAMES), default="paper", show_default=True,
              help="What the FLOPs column counts: paper (conv + fc + matmul multiply-adds), full (plus every "
                   "element-wise op), 2xmac (twice paper), or the count of fvcore 0.1.5, ptflops 0.7.5, thop 0.1.1, "
                   "yolo (thop x 2, as ultralytics prints), deepspeed (0.19.8's profiler) or calflops 0.3.2.")
@click.option("--explain-conventions", is_flag=True,
              help="Print, per op, what each convention counts (and, with SPEC, its FLOPs per op type), then exit.")
@click.option("--guidelines/--no-guidelines", "with_guidelines", default=True, show_default=True,
              help="Check the ShuffleNet V2 guidelines: a marker column and the panel after the table.")
@threshold_option
@device_option
def command(spec, sets, input_shape, batch, fmt, depth, top, sort, exact, bytes_per_element, convention,
            explain_conventions, with_guidelines, thresholds, device):
    """Per-layer FLOPs, params and memory access of SPEC, with totals, then the ShuffleNet V2 guideline panel."""
    from costcalc.api import report_of
    from costcalc.report import Format, render

    if explain_conventions:
        _explain_conventions(spec, sets, input_shape, batch, exact, fmt)
        return
    if spec is None:
        raise click.UsageError("Missing argument 'SPEC'.")
    level = parse_depth(depth if depth is not None else ("all" if fmt == "csv" else "2"))
    if thresholds and not with_guidelines:
        raise click.UsageError("--threshold sets the guidelines' thresholds: drop --no-guidelines or --threshold")
    with library_errors():
        result = report_of(spec, parse_sets(sets), parse_input(input_shape), batch,
                           thresholds=parse_thresholds(thresholds), bytes_per_element=bytes_per_element,
                           convention=convention, device=device, guidelines=with_guidelines, input_text=input_shape)
    warn(result.warnings)
    selected = result.rows(level, top, sort) if fmt != "json" else []  # the JSON lists every layer
    if fmt == "table" and len(selected) > MAX_TABLE_ROWS:
        click.echo(f"note: the table shows the first {MAX_TABLE_ROWS:,} of {len(selected):,} rows (totals cover "
                   "all); use --depth, --top or --format json", err=True)
        selected = type(selected)(selected[:MAX_TABLE_ROWS], selected.of, selected.sort)
    click.echo(render(Format(fmt), result, selected, output_options(exact)), nl=False)


def _explain_conventions(spec, sets, input_shape, batch, exact, fmt):
    from costcalc.analysis.conventions import explain
    from costcalc.api import walk
    from costcalc.report.as_conventions import render, render_json

    with library_errors():
        graph = walk(spec, parse_sets(sets), parse_input(input_shape), batch, input_shape) if spec else None
        explanation = explain(graph)
    if graph is not None:
        warn(graph.warnings)
    model = graph.name if graph else None
    text = render_json(explanation, model) if fmt == "json" else render(explanation, model, exact)
    click.echo(text, nl=False)
