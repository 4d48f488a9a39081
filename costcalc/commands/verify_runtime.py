"""`costcalc verify SPEC --against onnxruntime`: the numpy reference and onnxruntime on the same network."""

from __future__ import annotations

import click


def against_onnxruntime(graph, seed: int) -> int:
    """Run the check (costcalc.analysis.verify_runtime), print its verdict; the exit code (0 agree, 1 not)."""
    from costcalc.analysis.verify_runtime import ATOL_SCALE, RTOL, verify_against_onnxruntime
    from costcalc.report.units import shape

    result = verify_against_onnxruntime(graph, seed)
    verdict = "agree" if result.passed else "DISAGREE"
    click.echo(f"{result.model} | input {shape(result.input)} | seed {result.seed} | numpy reference vs "
               f"{result.runtime}, same weights and input")
    click.echo(f"output {shape(result.output)}: max |difference| {result.max_abs_diff:.3g}, max |output| "
               f"{result.max_abs_reference:.3g}; tolerance {ATOL_SCALE:g} x max |output| + {RTOL:g} x |output| "
               f"per element, worst element at {result.worst_excess:.3g} of it")
    click.echo(f"{verdict}: the two forward passes {'agree' if result.passed else 'differ'} within float32 tolerance")
    return 0 if result.passed else 1
