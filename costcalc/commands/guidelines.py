"""`costcalc guidelines`: where a spec breaks the four ShuffleNet V2 guidelines, by how much, and what it costs."""

from __future__ import annotations

import click

from costcalc.cli import (device_option, library_errors, output_options, parse_input, parse_sets, parse_thresholds,
                          spec_options, threshold_option, warn)
from costcalc.report import FORMATS

GUIDELINES_HELP = """
\b
The guidelines (ShuffleNet V2, Ma et al. 2018) and their thresholds (defaults):
  G1 equal channel width minimises MAC: every 1x1 conv of stride 1 and no padding
     and every fc over tokens (a packed q/k/v projection by its parts); flagged
     when c1:c2 is beyond 1:max_ratio (2) or its MAC is more than max_excess (0.1)
     over the bound 2*sqrt(hw*B*g) + B/hw.
  G2 excessive group convolution increases MAC: every grouped, non-depthwise conv;
     flagged when g > max_groups (2) or its MAC is more than max_excess (0.5) over
     the same-FLOPs conv with g = 1.
  G3 network fragmentation reduces parallelism: every fork-join block; flagged
     with more than max_branches (2) parallel branches (paths meeting in a matmul,
     as q, k and v, are one) or max_fragments (5) conv, fc, pooling or matmul ops.
  G4 element-wise operations are non-negligible: activations, add, mul, scale,
     batchnorm, layernorm, softmax, transposes that copy and depthwise convs;
     flagged when their share of all MAC is more than max_share (0.5).
Set them with --threshold G1.max_ratio=3 or a spec section guidelines: {G1: {max_ratio: 3}}.
"""


@click.command("guidelines", epilog=GUIDELINES_HELP)
@click.argument("spec")
@spec_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
@click.option("--bytes", "bytes_per_element", type=click.IntRange(min=1), metavar="N",
              help="Memory access in bytes, N bytes per element (default: elements).")
@threshold_option
@device_option
def command(spec, sets, input_shape, batch, fmt, exact, bytes_per_element, thresholds, device):
    """Where SPEC breaks the four ShuffleNet V2 guidelines, by how much, and what it costs in memory access (and,
    with --device, in estimated time)."""
    from costcalc.api import report_of
    from costcalc.report import Format, render_guidelines

    with library_errors():
        result = report_of(spec, parse_sets(sets), parse_input(input_shape), batch,
                           thresholds=parse_thresholds(thresholds), bytes_per_element=bytes_per_element,
                           device=device, input_text=input_shape)
    warn(result.warnings)
    click.echo(render_guidelines(Format(fmt), result, output_options(exact)), nl=False)
