"""`costcalc view`: a View (costcalc.analysis.view) as one JSON document, and that document inside one self-contained
HTML page (costcalc/report/view/: the template, its script and style, and the vendored layout library, dagre).

    {"format": "costcalc-view/1", "model", "path", "input", "convention", "memory_access_unit", "settings",
     "header", "totals": {counts, "latency_s"?, "measured_s"?}, "totals_text": [[label, text]],
     "open_depth", "max_depth", "nodes_at_depth": [n at depth 1, ...], "layout": {dagre's options, "node_height"},
     "palette": [colour of bin 0, ...], "no_value": colour,
     "metrics": [{"key", "label", "kind", "additive", "total", "legend": [{"color", "label", "dark"}]}],
     "columns": [the report table's titles], "footer": [its totals row],
     "nodes": [{"id", "name", "kind", "parent", "depth", "label", "op", "width", "record", "fused_into"?,
                "measured_fused_into"?, "module"? (imported files), "bins": [per metric], "bars": [per metric: share
                of its block], "violations": [ids], "inside": violations at it or below}],
     "records": [{"counts", "layers", "latency_s"?, "measured_s"?, "cells": [the report table's cells after the
                  name], "details": [[label, text]]}]: what nodes share (the layers of a repeated block),
     "compare"? {"side": "a"|"b", "label_a", "label_b", "partner": [counterpart id on the other side, or null],
                 "deltas": [per node [[label, text]]], "other": the other side's document (side A only)},
     "edges": [[from id, to id]], "violations": [[node id, finding id]],
     "findings": [{"guideline", "title", "why", "evidence", "figures", "where"? (when not the node's name),
                   "latency"? (estimated)}], "notes": [...]}

Every figure is computed in analysis; here it is only written as text, with the report table's own formatters.
"""

from __future__ import annotations

import json
import math
from importlib import resources

from costcalc.analysis.view import BLOCK, INPUT
from costcalc.report.as_json import counts_dict, shapes
from costcalc.report.as_table import evidence_text, header, latency_footnote, report_columns
from costcalc.report.units import duration, human, percent, shape, signed, signed_duration

FORMAT = "costcalc-view/1"
# Bins 0 (smallest share) to 6 (largest): pale yellow to dark red; no figure: grey.
PALETTE = ("#fff5c4", "#fee08b", "#fdc066", "#f99350", "#e8603c", "#c42a2a", "#7f0d1f")
DARK = (5, 6)  # bins whose colour takes white text
# Comparisons, (B - A) / A from much less to much more: blue, white about equal, red.
DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")
DIVERGING_DARK = (0, 6)
NO_VALUE = "#e4e4e4"
# dagre's options; open blocks are drawn as boxes (dagre's compound layout, several times slower) up to
# compound_max nodes, and a larger graph is ranked by the faster tight-tree ranker; the page lays out at most
# max_nodes (dagre takes seconds at 1,000 and overflows the browser's stack on a chain of about 2,000)
LAYOUT = {"rankdir": "TB", "nodesep": 14, "ranksep": 22, "edgesep": 8, "marginx": 12, "marginy": 12,
          "ranker": "network-simplex", "compound_max": 100, "large_ranker": "tight-tree", "max_nodes": 1000}
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
        **({"compare": _compare(view)} if view.compare is not None else {}),
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
             "/*DATA*/": data, "/*TITLE*/": _escape(f"{view.report.model} - costcalc view")}
    for marker, text in parts.items():
        head, found, tail = page.partition(marker)
        page = head + text + tail if found else page
    return page


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
    palette, dark = (DIVERGING, DIVERGING_DARK) if metric.kind == "delta" else (PALETTE, DARK)
    return {"key": metric.key, "label": metric.label, "kind": metric.kind, "additive": metric.additive,
            "total": metric.total, "legend": [{"color": color, "label": _range(metric, k), "dark": k in dark}
                                              for k, color in enumerate(palette)]}


def _range(metric, k: int) -> str:
    low, high = metric.bounds[k], metric.bounds[k + 1]
    if metric.kind == "delta":
        if low == -math.inf:
            return f"B below A by more than {-high:.0%}"
        if high == math.inf:
            return f"B above A by more than {low:.0%}"
        return "within 1%" if low < 0 < high else f"{low:+.0%} to {high:+.0%}"
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
            out["module"] = node.name  # the importer names a layer after its module's path
    out["width"] = max(MIN_WIDTH, NODE_PADDING + CHAR_WIDTH * max(len(label), len(out["op"])))
    out["bins"] = [m.bins[node.index] for m in view.metrics]
    out["bars"] = [round(m.shares[node.index], 3) if m.shares[node.index] is not None else None
                   for m in view.metrics]
    if node.violations_inside:
        out["violations"], out["inside"] = list(node.violations), node.violations_inside
    return out


def _details(view, node) -> list:
    """A node's figures beyond the report table's cells (the page lists both): what it is, its args, its
    activations, its measured time."""
    report, row = view.report, node.row
    if row is None:
        return [["input", node.name], ["shape", shape(report.input[node.name] if isinstance(report.input, dict)
                                                      else report.input)]]
    out = [["kind", f"block of {row.layers:,} layers" if node.kind == BLOCK else "layer"]]
    if row.layer is not None and row.layer.args:
        out.append(["args", ", ".join(f"{k}={_arg(v)}" for k, v in row.layer.args.items())])
    out.append(["activations", human(row.counts.activations)])
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
        key = (v.guideline, f.why, f.evidence, where, v.latency_s)
        k = index.get(key)
        if k is None:
            k = index[key] = len(findings)
            findings.append(record)
        pairs.append([v.node, k])
    return pairs, findings


def _compare(view) -> dict:
    """The other side: its labels, each node's counterpart there and its deltas as text, and (on side A) the other
    side's whole document."""
    side = view.compare
    deltas = [m for m in view.metrics if m.kind == "delta"]
    lines = []
    for node in view.nodes:
        if side.partner[node.index] is None:
            lines.append([["counterpart", f"none: only in {side.side.upper()}"]])
            continue
        lines.append([[m.label, _signed(m, node.index)] for m in deltas if m.values[node.index] is not None])
    out = {"side": side.side, "label_a": side.label_a, "label_b": side.label_b, "partner": list(side.partner),
           "deltas": lines}
    if side.other is not None:
        a, b = view.report.totals, side.other.report.totals
        out["totals"] = [[f"{label}: B - A", f"{signed(getattr(b, key) - getattr(a, key))} "
                                             f"({percent(_fraction(getattr(b, key) - getattr(a, key), getattr(a, key)))})"]
                         for key, label in (("params", "params"), ("flops", "FLOPs"),
                                            ("memory_access", "memory access"))]
        out["other"] = document(side.other)
    return out


def _fraction(delta: int, base: int):
    return delta / base if base else None


def _signed(metric, i: int) -> str:
    value, rel = metric.values[i], metric.relative[i]
    text = signed_duration(value) if metric.key == "delta_latency" else signed(value)
    return f"{text} ({percent(rel)})" if rel is not None else (text if value == 0 else f"{text} (A is 0)")


def _notes(view) -> list:
    report, notes = view.report, []
    if report.latency is not None:
        notes.append(latency_footnote(report))
    if view.measured is not None:
        notes.append(f"measured: {view.measured.path}, each layer's min kernel time over runs in "
                     f"{view.measured.runtime}; blocks sum their layers")
    return notes
