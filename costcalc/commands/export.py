"""`costcalc export SPEC -o model.onnx`: the walked spec as a standard ONNX file (costcalc.exporters.onnx)."""

from __future__ import annotations

import sys

import click

from costcalc.cli import library_errors, parse_input, parse_sets, spec_options, warn


@click.command("export")
@click.argument("spec")
@click.option("-o", "--output", metavar="FILE", required=True, help="The ONNX file to write.")
@click.option("--opset", type=int, default=17, show_default=True, help="ONNX opset version (13 or later).")
@click.option("--weights", type=click.Choice(["random", "zeros", "none"]), default="random", show_default=True,
              help="random: seeded values the network runs with; zeros; none: a tiny graph-only file whose "
                   "initializers keep their dims and point to external data that is not written.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random weights.")
@spec_options
def command(spec, output, opset, weights, seed, sets, input_shape, batch):
    """Write SPEC as an ONNX model that onnxruntime runs and Netron shows: node names are the spec's layer
    paths, every op maps to standard ONNX ops. `costcalc report FILE` gives the same totals as the spec."""
    from costcalc.api import walk
    from costcalc.exporters.onnx import export as build, save

    with library_errors():
        graph = walk(spec, parse_sets(sets), parse_input(input_shape), batch, input_shape)
        warn(graph.warnings)
        model = build(graph, opset=opset, weights=weights, seed=seed)
    try:
        save(model, output)
    except OSError as e:
        click.echo(f"{output}: error: cannot write: {e.strerror or e}", err=True)
        sys.exit(2)
    note = (f"; its {len(model.graph.initializer)} initializers point to absent external data"
            if weights == "none" else "")
    click.echo(f"wrote {output}: {graph.name}, {len(model.graph.node)} ONNX nodes for {len(graph.nodes)} layers, "
               f"opset {opset}, weights {weights}{note}", err=True)
