"""`costcalc compare`: two specs, or one spec under two settings, side by side."""

from __future__ import annotations

from dataclasses import replace

import click

from costcalc.cli import (CONVENTION_NAMES, CONVENTIONS_HELP, _depth, _fail, _options, _parse_sets, analyse_checked,
                          load_graph, settings, spec_options, threshold_option)
from costcalc.commands.device import device_option
from costcalc.errors import CostcalcError
from costcalc.report import FORMATS


def _side_sets(shared: tuple, side: tuple) -> tuple:
    """--set for both sides, then --set-a (or --set-b) over it: each given once within its own option."""
    merged = {**_parse_sets(shared), **_parse_sets(side)}
    return tuple(f"{name}={value}" for name, value in merged.items())


def _label(model: str, sets: tuple, input_shape: str | None) -> str:
    from costcalc.report.as_table import model_label

    return model_label(model, settings(sets, input_shape))


@click.command(epilog=CONVENTIONS_HELP)
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
def compare(spec_a, spec_b, sets, input_shape, batch, sets_a, sets_b, input_a, input_b, fmt, depth, changed, exact,
            bytes_per_element, convention, thresholds, device):
    """Compare two specs (A.yaml B.yaml), or one spec under two settings (A.yaml --set-a width=1.0 --set-b
    width=0.5): totals side by side with their deltas (B - A), a row-by-row diff matched by name, then by
    position within a block, and the guideline violations that appear in B or disappear from A."""
    from costcalc.analysis.compare import compare as compare_reports
    from costcalc.report import Format, render

    level = _depth(depth)
    if spec_b is None and not (sets_a or sets_b or input_a or input_b):
        raise click.UsageError("give B.yaml, or compare A.yaml with itself under --set-a/--set-b or "
                               "--input-a/--input-b")
    sets_a, sets_b = _side_sets(sets, sets_a), _side_sets(sets, sets_b)
    try:
        graph_a = load_graph(spec_a, sets_a, input_a or input_shape, batch)
        graph_b = load_graph(spec_b or spec_a, sets_b, input_b or input_shape, batch)
        result = compare_reports(analyse_checked(graph_a, thresholds, bytes_per_element, convention, device),
                                 analyse_checked(graph_b, thresholds, bytes_per_element, convention, device), level,
                                 _label(graph_a.name, sets_a, input_a or input_shape),
                                 _label(graph_b.name, sets_b, input_b or input_shape))
    except CostcalcError as e:
        _fail(e)
    if changed:
        result = replace(result, rows=tuple(row for row in result.rows if row.changed))
    click.echo(render(Format(fmt), result, None, _options(exact)), nl=False)
