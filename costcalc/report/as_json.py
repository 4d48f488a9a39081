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


def finding_dict(finding) -> dict:
    key = "block" if finding.guideline == "G3" else "layer"
    return {key: finding.where, "why": finding.why, **{k: _plain(v) for k, v in finding.evidence}}


def guidelines_dict(guidelines) -> dict:
    """{"G1": {"title", "threshold", "checked", "passed", "violations": [...worst first], "measured": [...]}, ...};
    G4 adds "elementwise_share" (0..1), "elementwise_memory_access" and "total_memory_access"."""
    out = {}
    for result in guidelines.results:
        out[result.guideline] = {
            "title": result.title,
            **dict(result.summary),
            "threshold": dict(result.thresholds),
            "checked": result.checked,
            "passed": result.passed,
            "violations": [finding_dict(f) for f in result.violations],
            "measured": [{**finding_dict(f), "violated": f.violated} for f in result.findings],
        }
    return out


def document(report) -> dict:
    extra = {"guidelines": guidelines_dict(report.guidelines)} if report.guidelines is not None else {}
    return {
        "model": report.model,
        "input": list(report.input),
        "convention": report.convention,
        "memory_access_unit": report.memory_unit,
        "variables": {k: _plain(v) for k, v in report.variables.items()},
        "totals": counts_dict(report.totals),
        "layers": [
            {
                "name": layer.name,
                "op": layer.op,
                "inputs": list(layer.inputs),
                "output": _plain(layer.outputs[0] if len(layer.outputs) == 1 else layer.outputs),
                "args": {k: _plain(v) for k, v in layer.args.items()},
                **counts_dict(layer.counts),
            }
            for layer in report.layers
        ],
        **extra,
    }


def render(report) -> str:
    return json.dumps(document(report), indent=1) + "\n"


def render_guidelines(report) -> str:
    """`costcalc guidelines --format json`: the model, its input and the "guidelines" object."""
    doc = {"model": report.model, "input": list(report.input), "memory_access_unit": report.memory_unit,
           "guidelines": guidelines_dict(report.guidelines)}
    return json.dumps(doc, indent=1) + "\n"
