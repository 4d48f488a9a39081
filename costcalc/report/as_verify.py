"""The table of `costcalc verify`: one row per layer checked with what the reference counted and pass/FAIL,
then a verdict and the first mismatch in full."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from costcalc.report.units import human, shape

PIPED_WIDTH = 160  # fixed, so that piped output is the same on every machine

_WHAT = {"flops": "FLOPs (multiply-adds)", "memory_access": "memory access (elements)", "params": "params",
         "output shape": "output shape"}


def _n(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return " + ".join(shape(s) for s in value) if isinstance(value, tuple) else str(value)


def describe(layer) -> str:
    """The first mismatch of a failing layer, in full, on one line."""
    m = layer.mismatches[0]
    where = f"layer '{layer.name}' ({layer.op})"
    if m.what == "reference":
        return f"{where}: {m.analytic}: nothing confirms its figures"
    text = f"{where}: {_WHAT[m.what]}: analytic {_n(m.analytic)} != counted {_n(m.counted)}"
    if isinstance(m.analytic, int):
        text += f" (counted - analytic = {m.counted - m.analytic:,})"
    if m.what == "memory_access":
        r = layer.measured
        text += (f"; the reference read {r.read:,} input elements and {r.params_read:,} parameter elements and "
                 f"wrote {r.written:,}")
        if r.buffers_read:
            text += f" (it also read {r.buffers_read:,} elements of buffers, which the convention leaves out)"
    if len(layer.mismatches) > 1:
        text += f"; also: {', '.join(_WHAT.get(x.what, x.what) for x in layer.mismatches[1:])}"
    return text


def verdict(result) -> str:
    checked = len(result.layers)
    if result.passed:
        return f"PASS: all {checked} layers agree (output shape, FLOPs, memory access, params)"
    failures = result.failures
    text = f"FAIL: {len(failures)} of {checked} layers checked disagree"
    if checked < result.total_layers:
        text += f"; {result.total_layers - checked} layers not run"
    return text + f"\nfirst mismatch: {describe(failures[0])}"


def render(result, exact: bool = False, failures_only: bool = False, color: bool = False,
           width: int | None = None) -> str:
    table = Table(header_style="bold")
    for title, justify in (("Layer", "left"), ("Op", "left"), ("Output", "left"), ("FLOPs", "right"),
                           ("MAC (mem. access)", "right"), ("Params", "right"), ("Check", "left")):
        table.add_column(title, justify=justify, no_wrap=True)
    for layer in result.layers:
        if failures_only and layer.passed:
            continue
        status = "pass" if layer.passed else "[red]FAIL[/red] " + ", ".join(m.what for m in layer.mismatches)
        table.add_row(layer.name, layer.op, shape(layer.output if len(layer.output) != 1 else layer.output[0]),
                      human(layer.flops, exact), human(layer.memory_access, exact), human(layer.params, exact),
                      status)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or PIPED_WIDTH, color_system="standard" if color else None,
                      force_terminal=color, no_color=not color, highlight=False)
    console.print(f"{result.model} | input {shape(result.input)} | seed {result.seed} | "
                  "numpy reference forward pass vs analytic counts", soft_wrap=True)
    if table.row_count:
        console.print(table)
    console.print(verdict(result), soft_wrap=True, markup=False)
    return buffer.getvalue()


def render_runtime(result) -> str:
    """`verify --against onnxruntime`: the two forward passes' outputs compared (costcalc.analysis.verify_runtime)."""
    from costcalc.analysis.verify_runtime import ATOL_SCALE, RTOL

    verdict = "agree" if result.passed else "DISAGREE"
    return (f"{result.model} | input {shape(result.input)} | seed {result.seed} | numpy reference vs "
            f"{result.runtime}, same weights and input\n"
            f"output {shape(result.output)}: max |difference| {result.max_abs_diff:.3g}, max |output| "
            f"{result.max_abs_reference:.3g}; tolerance {ATOL_SCALE:g} x max |output| + {RTOL:g} x |output| "
            f"per element, worst element at {result.worst_excess:.3g} of it\n"
            f"{verdict}: the two forward passes {'agree' if result.passed else 'differ'} within float32 tolerance\n")
