"""`costcalc view`: a View (costcalc.analysis.view) as one JSON document, and that document inside one self-contained
HTML page (costcalc/report/view/: the template, its script and style, and the vendored layout library, dagre).

    {"format": "costcalc-view/1", "model", "path", "input", "convention", "memory_access_unit", "settings",
     "header", "totals": {counts, "latency_s"?, "measured_s"?}, "totals_text": [[label, text]],
     "open_depth", "max_depth", "nodes_at_depth": [n at depth 1, ...], "layout": {dagre's options, "node_height"},
     "palette": [colour of bin 0, ...], "no_value": colour,
     "metrics": [{"key", "label", "additive", "total", "legend": [{"color", "label"}]}],
     "columns": [the report table's titles], "footer": [its totals row],
     "nodes": [{"id", "name", "kind", "parent", "depth", "label", "op", "width", "record", "fused_into"?,
                "measured_fused_into"?, "module"? (imported files), "bins": [per metric], "bars": [per metric: share
                of its block], "violations": [ids], "inside": violations at it or below}],
     "records": [{"counts", "layers", "latency_s"?, "measured_s"?, "cells": [the report table's cells after the
                  name], "details": [[label, text]]}]: what nodes share (the layers of a repeated block),
     "edges": [[from id, to id]], "violations": [[node id, finding id]],
     "findings": [{"guideline", "title", "why", "evidence", "figures", "where"? (when not the node's name),
                   "latency"? (estimated)}], "notes": [...]}

Every figure is computed in analysis; here it is only written as text, with the report table's own formatters.
"""

from __future__ import annotations

import json
from importlib import resources

from costcalc.analysis.view import BLOCK, INPUT
from costcalc.report.as_json import counts_dict, shapes
from costcalc.report.as_table import evidence_text, header, latency_footnote, report_columns
from costcalc.report.units import duration, human, shape, share

FORMAT = "costcalc-view/1"
# Bins 0 (smallest share) to 6 (largest): pale yellow to dark red; no figure: grey.
PALETTE = ("#fff5c4", "#fee08b", "#fdc066", "#f99350", "#e8603c", "#c42a2a", "#7f0d1f")
NO_VALUE = "#e4e4e4"
LAYOUT = {"rankdir": "TB", "nodesep": 14, "ranksep": 22, "edgesep": 8, "marginx": 12, "marginy": 12}
NODE_HEIGHT, CHAR_WIDTH, NODE_PADDING, MIN_WIDTH = 34, 7, 22, 64


def document(view) -> dict:
    report = view.report
    rows = [n.row for n in view.nodes if n.row is not None]
    columns = report_columns(report, rows, exact=False)
    records = _Records(view, columns)
    return {
        "format": FORMAT,
        "model": report.model, "path": report.path, "input": shapes(report.input),
        "convention": report.convention, "memory_access_unit": report.memory_unit, "settings": list(report.settings),
        "header": header(report),
        "totals": {**counts_dict(report.totals), **_times(report.latency_s, _measured_total(view))},
        "totals_text": _totals_text(view),
        "open_depth": view.open_depth, "max_depth": report.max_depth, "nodes_at_depth": list(view.nodes_at_depth),
        "layout": {**LAYOUT, "node_height": NODE_HEIGHT},
        "palette": list(PALETTE), "no_value": NO_VALUE,
        "metrics": [_metric(m) for m in view.metrics], "metric": view.metric,
        "columns": [c.title for c in columns], "footer": [c.footer for c in columns],
        "nodes": [_node(view, n, records) for n in view.nodes],
        "records": records.records,
        "edges": [list(e) for e in view.edges],
        **dict(zip(("violations", "findings"), _violations(view))),
        "notes": _notes(view),
    }


def render_json(view) -> str:
    return json.dumps(document(view), separators=(",", ":")) + "\n"


def render_html(view) -> str:
    """The page: the template with its style, dagre, its script and the document inlined; nothing is fetched."""
    files = resources.files("costcalc.report") / "view"
    data = json.dumps(document(view), separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")
    page = (files / "page.html").read_text(encoding="utf-8")
    parts = {"/*STYLE*/": (files / "view.css").read_text(encoding="utf-8"),
             "/*DAGRE*/": (files / "vendor" / "dagre.min.js").read_text(encoding="utf-8"),
             "/*SCRIPT*/": (files / "view.js").read_text(encoding="utf-8"),
             "/*DATA*/": data, "/*TITLE*/": _escape(f"{report_name(view)} - costcalc view")}
    for marker, text in parts.items():
        head, found, tail = page.partition(marker)
        page = head + text + tail if found else page
    return page


def report_name(view) -> str:
    return view.report.model


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _times(latency_s, measured_s) -> dict:
    return {**({"latency_s": latency_s} if latency_s is not None else {}),
            **({"measured_s": measured_s} if measured_s is not None else {})}


def _measured_total(view):
    return view.measured.latency_s if view.measured is not None else None


def _totals_text(view) -> list:
    report, totals = view.report, view.report.totals
    lines = [["layers", f"{len(report.layers):,}"], ["params", human(totals.params)], ["FLOPs", human(totals.flops)],
             ["element-wise FLOPs", human(totals.elementwise_flops)],
             [f"memory access ({report.memory_unit})", human(totals.memory_access)],
             ["activations", human(totals.activations)]]
    if report.latency is not None:
        lines.append(["latency (estimate)", duration(report.latency_s)])
    if view.measured is not None:
        lines.append([f"measured ({view.measured.runtime}, {view.measured.threads} thread(s))",
                      duration(view.measured.latency_s)])
    if report.guidelines is not None:
        lines.append(["guideline violations", str(len(view.violations))])
    return lines


def _metric(metric) -> dict:
    return {"key": metric.key, "label": metric.label, "additive": metric.additive, "total": metric.total,
            "legend": [{"color": color, "label": _range(metric, k)} for k, color in enumerate(PALETTE)]}


def _range(metric, k: int) -> str:
    low, high = metric.bounds[k], metric.bounds[k + 1]
    if metric.additive:
        return f"{_percent(low)} - {_percent(high)} of the total"
    return f"{low:.3g} - {high:.3g} FLOPs per element"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.2g}%" if fraction < 0.01 else f"{fraction * 100:.3g}%"


class _Records:
    """The distinct rows of the page: what a node shows apart from its name (the table's cells but the first, its
    figures, its estimate). The layers of a repeated block share theirs: a 33,339-layer network has a few dozen."""

    def __init__(self, view, columns):
        self.view, self.columns, self.records, self.index = view, columns, [], {}

    def of(self, node) -> int:
        row = node.row
        key = (node.kind, row.op, row.output, row.counts, row.layers, id(row.layer.args) if row.layer else None,
               node.latency_s, node.fused_into is not None, node.measured_s, node.measured_fused_into is not None)
        k = self.index.get(key)
        if k is None:
            k = self.index[key] = len(self.records)
            self.records.append({"counts": counts_dict(row.counts), "layers": row.layers,
                                 **_times(node.latency_s, node.measured_s),
                                 "cells": [c.cell(row) for c in self.columns[1:]],
                                 "details": _details(self.view, node)})
        return k


def _node(view, node, records) -> dict:
    row = node.row
    label = node.name.rpartition(".")[2] if node.kind != INPUT else node.name
    out = {"id": node.index, "name": node.name, "kind": node.kind, "parent": node.parent, "depth": node.depth,
           "label": label}
    if row is None:
        out.update(op="input", details=_details(view, node))
    else:
        out["record"] = k = records.of(node)
        out["op"] = records.records[k]["cells"][0]
        if node.fused_into:
            out["fused_into"] = node.fused_into
        if node.measured_fused_into:
            out["measured_fused_into"] = node.measured_fused_into
        if view.report.path.endswith(".onnx") and node.kind != BLOCK:
            out["module"] = node.name.replace(".", "/")
    out["width"] = max(MIN_WIDTH, NODE_PADDING + CHAR_WIDTH * max(len(label), len(out["op"])))
    out["bins"] = [m.bins[node.index] for m in view.metrics]
    out["bars"] = [round(m.shares[node.index], 3) if m.shares[node.index] is not None else None
                   for m in view.metrics]
    if node.violations_inside:
        out["violations"], out["inside"] = list(node.violations), node.violations_inside
    return out


def _details(view, node) -> list:
    """A node's figures beyond the table's cells (the page shows both): what it is, its args, its shares."""
    report, row = view.report, node.row
    if row is None:
        return [["input", node.name], ["shape", shape(report.input[node.name] if isinstance(report.input, dict)
                                                      else report.input)]]
    totals, c = report.totals, row.counts
    out = [["kind", f"block of {row.layers:,} layers" if node.kind == BLOCK else "layer"]]
    if row.layer is not None and row.layer.args:
        out.append(["args", ", ".join(f"{k}={_arg(v)}" for k, v in row.layer.args.items())])
    out += [["params", f"{human(c.params)} ({share(c.params, totals.params)})"],
            ["FLOPs", f"{human(c.flops)} ({share(c.flops, totals.flops)})"],
            ["element-wise FLOPs", human(c.elementwise_flops)],
            ["memory access", f"{human(c.memory_access)} ({share(c.memory_access, totals.memory_access)})"]]
    intensity = next((m for m in view.metrics if m.key == "intensity"), None)
    if intensity is not None and intensity.values[node.index] is not None:
        out.append(["intensity", f"{intensity.values[node.index]:.2f} FLOPs per element"])
    out.append(["activations", human(c.activations)])
    if node.latency_s is not None and not node.fused_into:
        out.append(["latency (estimate)", duration(node.latency_s)])
    if view.measured is not None and not node.measured_fused_into:
        out.append(["measured", duration(node.measured_s) if node.measured_s is not None else "no kernel"])
    return out


def _arg(value) -> str:
    if isinstance(value, (tuple, list)):
        return "x".join(str(v) for v in value)
    return str(value)


def _violations(view) -> tuple:
    """([[node, finding], ...], the distinct findings): the units of a repeated block break a guideline alike."""
    findings, index, pairs = [], {}, []
    for v in view.violations:
        f = v.finding
        where = f.where if f.where != view.nodes[v.node].name else None
        record = {"guideline": v.guideline, "title": v.title, "why": f.why, "evidence": evidence_text(f),
                  "figures": dict(f.evidence), **({"where": where} if where else {}),
                  **({"latency": duration(v.latency_s) + " (estimate)"} if v.latency_s is not None else {})}
        key = json.dumps(record, sort_keys=True)
        k = index.get(key)
        if k is None:
            k = index[key] = len(findings)
            findings.append(record)
        pairs.append([v.node, k])
    return pairs, findings


def _notes(view) -> list:
    report, notes = view.report, []
    if report.latency is not None:
        notes.append(latency_footnote(report))
    if view.measured is not None:
        notes.append(f"measured: {view.measured.path}, each layer's min kernel time over runs in "
                     f"{view.measured.runtime}; blocks sum their layers")
    return notes
