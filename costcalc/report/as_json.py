"""The JSON report: a stable schema, every count a JSON integer, every layer listed whatever the table's depth.

    {"model", "input": [N, C, H, W], "convention", "memory_access_unit", "variables",
     "totals": {"flops", "elementwise_flops", "params", "memory_access", "activations"},
     "layers": [{"name", "op", "inputs", "output", "args", "flops", "elementwise_flops", "params",
                 "memory_access", "activations"}]}

`output` is [N, C, H, W] (or [N, F]); for a split it is a list of such shapes, one per output.
"""

from __future__ import annotations

import json

from costcalc.ops import COUNT_FIELDS


def counts_dict(counts) -> dict:
    return {name: getattr(counts, name) for name in COUNT_FIELDS}


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def document(report) -> dict:
    return {**_head(report), "layers": [_layer(layer) for layer in report.layers]}


def _head(report) -> dict:
    return {
        "model": report.model,
        "input": list(report.input),
        "convention": report.convention,
        "memory_access_unit": report.memory_unit,
        "variables": {k: _plain(v) for k, v in report.variables.items()},
        "totals": counts_dict(report.totals),
    }


def _layer(layer) -> dict:
    return {
        "name": layer.name,
        "op": layer.op,
        "inputs": list(layer.inputs),
        "output": _plain(layer.outputs[0] if len(layer.outputs) == 1 else layer.outputs),
        "args": {k: _plain(v) for k, v in layer.args.items()},
        **counts_dict(layer.counts),
    }


def render(report) -> str:
    """The text of json.dumps(document(report), indent=1), encoded one layer at a time: a network of 100,000
    layers never holds its whole JSON tree and the encoder's pieces at once."""
    head = json.dumps({**_head(report), "layers": []}, indent=1)  # ends in `"layers": []\n}`
    if not report.layers:
        return head + "\n"
    layers = ",\n".join("  " + json.dumps(_layer(layer), indent=1).replace("\n", "\n  ") for layer in report.layers)
    return f"{head[:-4]}[\n{layers}\n ]\n}}\n"
