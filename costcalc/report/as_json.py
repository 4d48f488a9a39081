"""The JSON report: a stable schema, every count a JSON integer, every layer listed whatever the table's depth.

    {"model", "input": [N, C, H, W] (a network of several inputs: {name: [N, C, H, W], ...}), "convention", "memory_access_unit", "variables", "settings",
     "totals": {"flops", "elementwise_flops", "params", "memory_access", "activations"},
     "layers": [{"name", "op", "inputs", "output", "args", "flops", "elementwise_flops", "params",
                 "memory_access", "activations"}]}

`output` is [N, C, H, W] (or [N, F]); for a split it is a list of such shapes, one per output. `settings` lists
what the command line changed, as written: ["--set width=0.5", "--input 3x160x160"] ([] when nothing).
"""

from __future__ import annotations

import json

from costcalc.ops import COUNT_FIELDS
from costcalc.report.base import Reporter
from costcalc.report.json_lines import finding_lines, layer_lines
from costcalc.util import gc_paused


def shapes(value):
    """A network's input as JSON: [N, C, H, W], or {name: [N, C, H, W]} for several inputs."""
    if isinstance(value, dict):
        return {name: list(dims) for name, dims in value.items()}
    return list(value)


def counts_dict(counts) -> dict:
    return {name: getattr(counts, name) for name in COUNT_FIELDS}


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def finding_dict(finding, costs: dict | None = None) -> dict:
    key = "block" if finding.guideline == "G3" else "layer"
    cost = costs.get((finding.guideline, finding.where)) if costs else None
    return {key: finding.where, "why": finding.why, **dict(finding.evidence),  # tuples: JSON lists
            **({"latency_s": cost} if cost is not None else {})}


def _measured(finding) -> dict:
    return {**finding_dict(finding), "violated": finding.violated}


def guidelines_dict(guidelines, costs: dict | None = None, encoded: bool = False) -> dict:
    """{"G1": {"title", "threshold", "checked", "passed", "violations": [...worst first], "measured": [...]}, ...};
    G4 adds "elementwise_share" (0..1), "elementwise_memory_access" and "total_memory_access". `encoded`: the
    findings as Lines of their JSON text, for `pretty`."""
    out = {}
    for result in guidelines.results:
        out[result.guideline] = {
            "title": result.title,
            **dict(result.summary),
            "threshold": dict(result.thresholds),
            "checked": result.checked,
            "passed": result.passed,
            "violations": _findings(result.violations, lambda f: finding_dict(f, costs), encoded and not costs),
            "measured": _findings(result.findings, _measured, encoded),
        }
    return out


def _findings(findings, record, encoded: bool) -> list:
    if encoded:
        return Lines(finding_lines(findings, _compact, record))
    return [record(f) for f in findings]


def document(report) -> dict:
    """The report as one JSON-ready dict (what `render` writes, one layer at a time)."""
    return {**_head(report), "layers": [_layer(layer, t) for layer, t in zip(report.layers, _timed(report))],
            **_tail(report)}


def _tail(report, encoded: bool = False) -> dict:
    tail = ({"guidelines": guidelines_dict(report.guidelines, report.latency_costs, encoded)}
            if report.guidelines is not None else {})
    if report.published is not None:
        tail["published"] = published_dict(report.published)
    if report.latency is not None:
        tail["latency"] = latency_dict(report)
    return tail


def latency_dict(report) -> dict:
    """What the latency figures are: an estimate on a device profile, never a measurement."""
    device = report.device
    from costcalc.latency.provenance import fitted

    return {"estimate": True, "profile": report.device_path, "device": device.device, "runtime": device.runtime,
            "threads": device.threads, "run_overhead_s": report.latency.run_overhead_s, "fitted_on": fitted(device),
            "batch": device.calibration.get("batch", 1)}  # the batch the profile covers (its calibration's)


def _latency_totals(report) -> dict:
    return {"latency_s": report.latency_s} if report.latency is not None else {}


def _head(report) -> dict:
    return {
        "model": report.model,
        "input": shapes(report.input),
        "convention": report.convention,
        "memory_access_unit": report.memory_unit,
        "variables": {k: _plain(v) for k, v in report.variables.items()},
        "settings": list(report.settings),
        "totals": {**counts_dict(report.totals), **_latency_totals(report)},
    }


def _layer(layer, timed=None) -> dict:
    """A layer's record (with its estimated latency when `timed`); its tuples stay tuples, which JSON writes as
    lists."""
    return {
        "name": layer.name,
        "op": layer.op,
        "inputs": layer.inputs,
        "output": layer.outputs[0] if len(layer.outputs) == 1 else layer.outputs,
        "args": layer.args,
        **counts_dict(layer.counts),
        **({"latency_s": timed.latency_s, "fused_into": timed.fused_into} if timed is not None else {}),
    }


def _timed(report) -> list:
    return list(report.latency.layers) if report.latency is not None else [None] * len(report.layers)


_compact = json.JSONEncoder(separators=(", ", ": ")).encode  # json's C encoder: one line


class Lines(list):
    """Records already encoded, one line each (costcalc.report.json_lines): `pretty` writes them as they are."""


def pretty(value, pad: str = "") -> str:
    """JSON indented by one space a level, as json.dumps(value, indent=1) writes it, except that a record in a
    list (a mapping that holds no list of mappings itself: a layer, a finding, a compared row, a limit) is one line
    of its own. The indenting encoder of the standard library is pure Python and was most of the time of a deep
    report; a record is encoded by its C encoder, and a diff of two reports shows one line per changed layer."""
    inner = pad + " "
    if isinstance(value, Lines):
        return "[\n" + ",\n".join(inner + line for line in value) + "\n" + pad + "]" if value else "[]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{\n" + ",\n".join(f"{inner}{_compact(str(k))}: {pretty(v, inner)}" for k, v in value.items()) \
            + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + (_compact(v) if _is_record(v) else pretty(v, inner)) for v in value) \
            + "\n" + pad + "]"
    return _compact(value)


def _is_record(value) -> bool:
    return isinstance(value, dict) and not any(_holds_mappings(v) for v in value.values())


def _holds_mappings(value) -> bool:
    if isinstance(value, dict):
        return any(_holds_mappings(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, dict) or _holds_mappings(v) for v in value)
    return False


def render(report) -> str:
    """The text of pretty(document(report)), encoded one layer at a time: a network of 100,000 layers never holds
    its whole JSON tree and the encoder's pieces at once."""
    with gc_paused():
        return _render(report)


def _render(report) -> str:
    if not report.layers:
        return pretty(document(report)) + "\n"
    head = pretty({**_head(report), "layers": []})  # ends in `"layers": []\n}`
    if report.latency is None:  # each distinct record encoded once
        layers = ",\n".join("  " + line for line in layer_lines(report.layers, _compact, _layer))
    else:  # each layer has its own estimate
        layers = ",\n".join("  " + _compact(_layer(layer, t)) for layer, t in zip(report.layers, _timed(report)))
    tail = "".join(f',\n {_compact(key)}: ' + pretty(value, " ") for key, value in _tail(report, True).items())
    return f"{head[:-4]}[\n{layers}\n ]{tail}\n}}\n"


def guidelines_document(report) -> dict:
    """`costcalc guidelines --format json`: the model, its input and the "guidelines" object."""
    doc = {"model": report.model, "input": shapes(report.input), "memory_access_unit": report.memory_unit,
           "settings": list(report.settings), "guidelines": guidelines_dict(report.guidelines,
                                                                                    report.latency_costs)}
    return doc


def _row(row) -> dict | None:
    if row is None:
        return None
    return {"name": row.name, "op": row.op, "layers": row.layers,
            "output": _plain(row.output[0] if len(row.output) == 1 else row.output), **counts_dict(row.counts),
            **({"latency_s": row.latency_s} if row.latency_s is not None else {})}


def _compare_latency(comparison) -> dict:
    """{"latency_s": {"a", "b", "delta", "relative", "estimate": true, "profile"}} when both sides are estimated."""
    if not comparison.has_latency:
        return {}
    delta, relative = comparison.latency_delta()
    return {"latency_s": {"a": comparison.a.latency_s, "b": comparison.b.latency_s, "delta": delta,
                          "relative": relative, "estimate": True, "profile": comparison.a.device_path}}


def _side(report, label: str) -> dict:
    return {"label": label, "model": report.model, "path": report.path, "input": shapes(report.input),
            "variables": {k: _plain(v) for k, v in report.variables.items()}}


def compare_document(comparison) -> dict:
    """{"a": totals of A, "b": totals of B, "delta": B - A, "relative": (B - A) / A, "models": {"a", "b"},
    "depth", "layers": [{"name", "status", "matched_by", "a", "b", "delta"}]}."""
    return {
        "a": counts_dict(comparison.a.totals),
        "b": counts_dict(comparison.b.totals),
        "delta": counts_dict(comparison.delta),
        "relative": comparison.relative(),
        **_compare_latency(comparison),
        "models": {"a": _side(comparison.a, comparison.label_a), "b": _side(comparison.b, comparison.label_b)},
        "convention": comparison.a.convention,
        "memory_access_unit": comparison.a.memory_unit,
        "depth": "all" if comparison.depth is None else comparison.depth,
        "layers": [
            {"name": (diff.a or diff.b).name, "status": diff.status, "matched_by": diff.matched_by,
             "a": _row(diff.a), "b": _row(diff.b), "delta": {**counts_dict(diff.delta),
                                                            **({"latency_s": diff.latency_delta}
                                                               if diff.latency_delta is not None else {})}}
            for diff in comparison.rows
        ],
        **({"guidelines": _changes(comparison.guideline_changes, comparison.a.latency_costs,
                                   comparison.b.latency_costs)} if comparison.guideline_changes else {}),
    }


def _changes(changes, costs_a: dict | None = None, costs_b: dict | None = None) -> dict:
    """{"violations": {"G1": {"a", "b"}, ...}, "appeared": [...], "disappeared": [...]}; with a device profile each
    finding has its estimated `latency_s`, in B for those that appear, in A for those that disappear."""
    return {
        "violations": {g: {"a": a, "b": b} for g, a, b in changes.counts},
        "network": {g: {"a": {"elementwise_share": a, "passed": ok_a}, "b": {"elementwise_share": b, "passed": ok_b},
                        "max_share": limit} for g, a, b, limit, ok_a, ok_b in changes.network},
        "appeared": [{"guideline": f.guideline, **finding_dict(f, costs_b)} for f in changes.appeared],
        "disappeared": [{"guideline": f.guideline, **finding_dict(f, costs_a)} for f in changes.disappeared],
    }


def _loc(loc) -> dict | None:
    return None if loc is None else {"file": loc.file, "line": loc.line}


def check_document(run) -> dict:
    specs = []
    for check in run.checks:
        specs.append({
            "path": check.path,
            "model": check.model or None,
            "status": check.status,
            "totals": counts_dict(check.totals) if check.totals is not None else None,
            "limits": [
                {"total": v.limit.field, "limit": v.limit.value, "actual": v.actual, "over": v.over, "ok": v.ok,
                 "source": v.limit.source, "budget": _loc(v.limit.loc)}
                for v in check.verdicts
            ],
            "error": str(check.error) if check.error is not None else None,
            "failed": list(check.failed) if check.error is None else [],
            "published": published_dict(check.published),
            "notes": list(check.notes),
            "guidelines": {"checked": list(check.guidelines_checked),
                           "violations": [{"guideline": f.guideline, **finding_dict(f)}
                                          for f in check.guideline_violations]},
        })
    return {"exit_code": run.exit_code, "convention": run.convention, "memory_access_unit": run.memory_unit,
            "settings": list(run.settings), "specs": specs}


def published_dict(published) -> dict | None:
    """{"source", "ok", "figures": [{"total", "published", "computed", "difference", "tolerance", "ok"}]}"""
    if published is None:
        return None
    return {"source": published.source, "ok": published.ok,
            "figures": [{"total": f.field, "published": f.published, "computed": f.computed,
                         "difference": f.difference, "tolerance": float(f.tolerance), "ok": f.ok}
                        for f in published.figures]}


class JsonReporter(Reporter):
    """Machine format: every count a JSON integer; a report lists every layer whatever --depth is."""

    def report(self, report, rows, options):
        return render(report)

    def compare(self, comparison, options):
        return pretty(compare_document(comparison)) + "\n"

    def check(self, run, options):
        return pretty(check_document(run)) + "\n"

    def guidelines(self, report, options):
        return json.dumps(guidelines_document(report), indent=1) + "\n"
