"""`costcalc view`: one self-contained HTML page of a spec's graph, its costs and its guideline violations (or the
JSON document the page draws)."""

from __future__ import annotations

import click

from costcalc.cli import (device_option, library_errors, parse_depth, parse_input, parse_sets, parse_thresholds,
                          spec_options, threshold_option, warn, write_output)

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


@click.command("view", epilog=VIEW_HELP)
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
@click.option("--compare", "other", metavar="B", help="Draw SPEC (A) and B (a spec, zoo name or model file, at the "
              "same --input and --batch, without --set) side by side, each node coloured by its delta B - A.")
@click.option("--bytes", "bytes_per_element", type=click.IntRange(min=1), metavar="N",
              help="Memory access in bytes, N bytes per element (default: elements).")
@threshold_option
@device_option
def command(spec, sets, input_shape, batch, output, fmt, depth, metric, measured, other, bytes_per_element,
            thresholds, device):
    """Write SPEC's graph as one self-contained HTML page: blocks that open and close, nodes coloured by a cost,
    guideline violations marked, details on click, the totals and the report's table beside it."""
    from costcalc.analysis.measured import read_measured
    from costcalc.analysis.view import build
    from costcalc.api import report_of
    from costcalc.report.as_view import render_html, render_json

    level = parse_depth(depth) if depth is not None else None
    if metric == "latency" and device is None:
        raise click.UsageError("--metric latency colours by the estimated latency: give --device PROFILE.yaml")
    if metric == "measured" and measured is None:
        raise click.UsageError("--metric measured colours by measured time: give --measured MEASURE.json")
    def side(path, sets, times=None, first=metric):
        report = report_of(path, parse_sets(sets), parse_input(input_shape), batch,
                           thresholds=parse_thresholds(thresholds), bytes_per_element=bytes_per_element,
                           device=device, input_text=input_shape)
        warn(report.warnings)
        return build(report, times, open_depth=level if depth != "all" else report.max_depth, metric=first)

    with library_errors():
        result = side(spec, sets, read_measured(measured) if measured is not None else None)
        if other is not None:
            from costcalc.analysis.view_compare import compared
            from costcalc.report.as_table import model_label

            b = side(other, (), first="flops")  # the measured time is A's only; a comparison opens on a delta
            result = compared(result, b, model_label(result.report.model, result.report.settings),
                              model_label(b.report.model, b.report.settings))[0]
    text = render_json(result) if fmt == "json" else render_html(result)
    write_output(text, output)
    if output is not None:
        click.echo(f"wrote {output} ({len(text.encode()):,} bytes, {len(result.nodes):,} nodes, opens at depth "
                   f"{result.open_depth})", err=True)
