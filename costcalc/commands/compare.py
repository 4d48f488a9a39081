"""`costcalc compare`: two specs, or one spec under two settings, side by side."""

from __future__ import annotations

from dataclasses import replace

import click

from costcalc.cli import (CONVENTION_NAMES, CONVENTIONS_HELP, device_option, library_errors, output_options,
                          parse_depth, parse_input, parse_sets, parse_thresholds, spec_options, threshold_option, warn)
from costcalc.report import FORMATS


@click.command("compare", epilog=CONVENTIONS_HELP)
@click.argument("spec_a", metavar="A.yaml")
@click.argument("spec_b", metavar="[B.yaml]", required=False)
@spec_options
@click.option("--set-a", "sets_a", multiple=True, metavar="NAME=VALUE", help="Override a variable of A only.")
@click.option("--set-b", "sets_b", multiple=True, metavar="NAME=VALUE", help="Override a variable of B only.")
@click.option("--input-a", metavar="CxHxW", help="A's input (overrides --input).")
@click.option("--input-b", metavar="CxHxW", help="B's input (overrides --input).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--depth", default="2", show_default=True, metavar="N|all",
              help="Compare blocks at this depth of the name (1: stages); 'all': every layer.")
@click.option("--changed", is_flag=True, help="Hide rows that are equal in A and B.")
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
@click.option("--bytes", "bytes_per_element", type=click.IntRange(min=1), metavar="N",
              help="Memory access in bytes, N bytes per element (default: elements).")
@click.option("--convention", type=click.Choice(CONVENTION_NAMES), default="paper", show_default=True,
              help="What the FLOPs columns count, on both sides (see report --help).")
@threshold_option
@device_option
def command(spec_a, spec_b, sets, input_shape, batch, sets_a, sets_b, input_a, input_b, fmt, depth, changed, exact,
            bytes_per_element, convention, thresholds, device):
    """Compare two specs (A.yaml B.yaml), or one spec under two settings (A.yaml --set-a width=1.0 --set-b
    width=0.5): totals side by side with their deltas (B - A), a row-by-row diff matched by name, then by
    position within a block, and the guideline violations that appear in B or disappear from A."""
    from costcalc.api import compare, report_of
    from costcalc.report import Format, render

    level = parse_depth(depth)
    if spec_b is None and not (sets_a or sets_b or input_a or input_b):
        raise click.UsageError("give B.yaml, or compare A.yaml with itself under --set-a/--set-b or "
                               "--input-a/--input-b")
    options = dict(thresholds=parse_thresholds(thresholds), bytes_per_element=bytes_per_element,
                   convention=convention, device=device)
    shared = parse_sets(sets)  # --set for both sides, then --set-a (or --set-b) over it
    with library_errors():
        a = report_of(spec_a, {**shared, **parse_sets(sets_a)}, parse_input(input_a or input_shape), batch,
                      input_text=input_a or input_shape, **options)
        warn(a.warnings)
        b = report_of(spec_b or spec_a, {**shared, **parse_sets(sets_b)}, parse_input(input_b or input_shape), batch,
                      input_text=input_b or input_shape, **options)
        warn(b.warnings)
        result = compare(a, b, depth=level)
    if changed:
        result = replace(result, rows=tuple(row for row in result.rows if row.changed))
    click.echo(render(Format(fmt), result, None, output_options(exact)), nl=False)
