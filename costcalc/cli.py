"""The `costcalc` command: thin click commands that parse options, call the library, and hand results to a
reporter. Data goes to stdout, diagnostics to stderr; a bad spec is one located error line and exit code 2."""

from __future__ import annotations

import os
import sys

import click

from costcalc import __version__
from costcalc.errors import CostcalcError, Loc, SpecError

CONVENTIONS_HELP = """
\b
Counting conventions:
  FLOPs        multiply-adds of conv and fc layers, bias not counted (the papers' and
               torchvision's convention). Every other op's arithmetic is in its own
               column, element-wise FLOPs (bias add, batchnorm, activations, pooling,
               add, mul), outside the headline number.
  Params       every learnable parameter: weights, biases, batchnorm scale and shift
               (running statistics are buffers, not parameters).
  MAC          memory access cost of ShuffleNet V2 (not multiply-accumulates): elements
               read and written, each input and parameter read once, each output written
               once; a 1x1 conv costs hw(c1+c2) + c1*c2/g. The batch multiplies
               activations, never parameters. JSON key: memory_access.
"""


MAX_TABLE_ROWS = 10_000


def _fail(error: CostcalcError):
    click.echo(str(error), err=True)
    sys.exit(2)


def _parse_sets(values: tuple) -> dict:
    overrides = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise click.BadParameter(f"'{item}': write NAME=VALUE, e.g. --set width=0.5", param_hint="--set")
        overrides[name.strip()] = value.strip()
    return overrides


def _parse_input(value: str | None):
    if value is None:
        return None
    parts = value.lower().replace("*", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) not in (1, 3) or any(d < 1 for d in dims):
        raise click.BadParameter(f"'{value}': write CxHxW (3x160x160), or one number for F", param_hint="--input")
    return dims


def spec_options(command):
    """--set, --input and --batch: the options that change what a spec describes."""
    command = click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                           help="Batch size N: multiplies activations, FLOPs and memory access, not params.")(command)
    command = click.option("--input", "input_shape", metavar="CxHxW",
                           help="Override the spec's input, e.g. 3x160x160.")(command)
    command = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                           help="Override a spec variable (repeatable), e.g. --set width=0.5.")(command)
    return command


def load_graph(path: str, sets: tuple, input_shape: str | None, batch: int):
    from costcalc.graph import load

    return load(path, _parse_sets(sets), _parse_input(input_shape), batch)


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="costcalc")
def main():
    """Analytic cost of CNN architectures: FLOPs, parameters and memory access, from YAML layer specs."""


@main.command(epilog=CONVENTIONS_HELP)
@click.argument("spec")
@spec_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--depth", default="2", show_default=True, metavar="N|all",
              help="Sum layers into their block at this depth of the name (1: stages); 'all': every layer.")
@click.option("--top", type=click.IntRange(min=1), help="Show only the K most expensive rows.")
@click.option("--sort", type=click.Choice(["flops", "elementwise_flops", "params", "memory_access", "activations"]),
              default="flops", show_default=True, help="What --top ranks by.")
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
@click.option("--bytes", "bytes_per_element", type=click.IntRange(min=1), metavar="N",
              help="Memory access in bytes, N bytes per element (default: elements).")
def report(spec, sets, input_shape, batch, fmt, depth, top, sort, exact, bytes_per_element):
    """Per-layer FLOPs, params and memory access of SPEC, with totals."""
    from costcalc.analysis import analyse, rows
    from costcalc.report import Format, Options, render

    if depth != "all" and not (depth.isdigit() and int(depth) >= 1):
        raise click.BadParameter(f"'{depth}': a depth is a whole number from 1, or 'all'", param_hint="--depth")
    try:
        result = analyse(load_graph(spec, sets, input_shape, batch), bytes_per_element)
    except CostcalcError as e:
        _fail(e)
    except (RecursionError, MemoryError) as e:  # a last guard: the limits should stop any spec before these
        _fail(SpecError(f"the spec is too large or too deeply nested to process ({type(e).__name__})", Loc(spec)))
    color = _color()
    width = os.get_terminal_size().columns if color else None
    selected = rows(result, None if depth == "all" else int(depth), top, sort)
    if fmt == "table" and len(selected) > MAX_TABLE_ROWS:  # a table renders ~2,500 rows a second
        click.echo(f"note: the table shows the first {MAX_TABLE_ROWS:,} of {len(selected):,} rows (totals cover "
                   "all); use --depth, --top or --format json", err=True)
        selected = selected[:MAX_TABLE_ROWS]
    click.echo(render(Format(fmt), result, selected, Options(exact=exact, color=color, width=width)), nl=False)
