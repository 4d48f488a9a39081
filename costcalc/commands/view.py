"""`costcalc view`: one self-contained HTML page of a spec's graph, its costs and its guideline violations (or the
JSON document the page draws)."""

from __future__ import annotations

import sys

import click

from costcalc.cli import _depth, _fail, analyse_checked, load_graph, settings, spec_options, threshold_option
from costcalc.commands.device import device_option
from costcalc.errors import CostcalcError

METRICS = ("flops", "memory_access", "intensity", "params", "latency", "measured")

VIEW_HELP = """
\b
The page opens offline (everything is inlined: no server, no network):
  - the graph, laid out top to bottom by dagre; blocks open and close
    (double-click, or the depth buttons: 1 shows the stages);
  - nodes coloured by --metric (a menu on the page switches it), with a
    legend; the bar under a node is its share of its block;
  - guideline violations outlined in red, their evidence on click;
  - a node's details on click, the totals and the report's table beside
    the graph, in sync with the selection.
--format json writes the document the page draws instead.
"""


@click.command(epilog=VIEW_HELP)
@click.argument("spec")
@spec_options
@click.option("-o", "--output", metavar="FILE", help="Write the page (or the JSON) to FILE (default: stdout).")
@click.option("--format", "fmt", type=click.Choice(["html", "json"]), default="html", show_default=True)
@click.option("--depth", metavar="N|all", help="Open the blocks down to this depth (default: the deepest level "
                                                "that shows at most 200 nodes; 1: the stages).")
@click.option("--metric", type=click.Choice(METRICS), default="flops", show_default=True,
              help="What the nodes are coloured by first (latency needs --device, measured --measured).")
@click.option("--measured", metavar="MEASURE.json", type=click.Path(dir_okay=False),
              help="Layer times from `costcalc measure SPEC --format json`: adds the measured-time colouring.")
@click.option("--bytes", "bytes_per_element", type=click.IntRange(min=1), metavar="N",
              help="Memory access in bytes, N bytes per element (default: elements).")
@threshold_option
@device_option
def view(spec, sets, input_shape, batch, output, fmt, depth, metric, measured, bytes_per_element, thresholds,
         device):
    """Write SPEC's graph as one self-contained HTML page: blocks that open and close, nodes coloured by a cost,
    guideline violations marked, details on click, the totals and the report's table beside it."""
    from dataclasses import replace

    from costcalc.analysis.measured import read_measured
    from costcalc.analysis.view import build
    from costcalc.report.as_view import render_html, render_json

    level = _depth(depth) if depth is not None else None
    if metric == "latency" and device is None:
        raise click.UsageError("--metric latency colours by the estimated latency: give --device PROFILE.yaml")
    if metric == "measured" and measured is None:
        raise click.UsageError("--metric measured colours by measured time: give --measured MEASURE.json")
    try:
        graph = load_graph(spec, sets, input_shape, batch)
        report = replace(analyse_checked(graph, thresholds, bytes_per_element, device=device),
                         settings=settings(sets, input_shape))
        times = read_measured(measured) if measured is not None else None
        result = build(report, times, open_depth=level if depth != "all" else report.max_depth, metric=metric)
    except CostcalcError as e:
        _fail(e)
    text = render_json(result) if fmt == "json" else render_html(result)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        click.echo(f"{output}: error: cannot write: {e.strerror or e}", err=True)
        sys.exit(2)
    click.echo(f"wrote {output} ({len(text.encode()):,} bytes, {len(result.nodes):,} nodes, opens at depth "
               f"{result.open_depth})", err=True)
