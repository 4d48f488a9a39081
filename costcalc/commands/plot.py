"""`costcalc plot`: a picture of a spec's costs (roofline, stages, layers), drawn from series the analysis computes."""

from __future__ import annotations

import sys

import click

from costcalc.cli import device_option
from costcalc.errors import CostcalcError, OptionError

KINDS = ("roofline", "stages", "layers")

PLOT_HELP = """
\b
Kinds:
  roofline  every layer as a point: arithmetic intensity (FLOPs per element
            moved) against its FLOPs, coloured by op class, the heaviest numbered;
            with --device, every kernel: FLOPs per byte against estimated
            FLOPs per second, under the profile's ceilings
  stages    each row at --depth (1: stages) as its share of the network's
            FLOPs and of its memory access (and estimated latency with
            --device), side by side
  layers    every layer's FLOPs and memory access, in graph order
Needs the [plot] extra (matplotlib): pip install 'costcalc[plot]'.
"""


@click.command("plot", epilog=PLOT_HELP)
@click.argument("spec")
@click.option("--kind", type=click.Choice(KINDS), default="roofline", show_default=True)
@click.option("-o", "--output", required=True, metavar="FILE.png|FILE.svg", help="The picture to write.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a spec variable (repeatable).")
@click.option("--input", "input_shape", metavar="CxHxW", help="Override the spec's input, e.g. 3x160x160.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size N.")
@click.option("--depth", type=click.IntRange(min=1), default=1, show_default=True,
              help="stages: sum layers into their block at this depth of the name.")
@click.option("--label", "labelled", type=click.IntRange(min=0), default=5, show_default=True,
              help="roofline: how many of the heaviest layers to number.")
@device_option
def command(spec, kind, output, sets, input_shape, batch, depth, labelled, device):
    """Draw SPEC's costs as a picture: --kind roofline, stages or layers, to -o FILE (.png or .svg)."""
    from costcalc.analysis import series
    from costcalc.api import analyze
    from costcalc.plot import draw

    try:
        report = analyze(spec, set=list(sets), input=input_shape, batch=batch, device=device)
        data = {"roofline": lambda: series.roofline(report, labelled), "stages": lambda: series.stages(report, depth),
                "layers": lambda: series.layers(report)}[kind]()
        draw(kind, data, output)
    except OptionError as e:
        raise click.UsageError(str(e)) from None
    except CostcalcError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
    click.echo(f"wrote {output}", err=True)
