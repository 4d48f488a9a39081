"""Spec writing: the imported layers as a spec document (YMap / YList located at the ONNX nodes) and as YAML
text."""

from __future__ import annotations

import json
import os

from costcalc.errors import Loc
from costcalc.importers.onnx.naming import spec_name
from costcalc.ops import OPS
from costcalc.spec.loader import YList, YMap


def document(imp, sample: tuple) -> YMap:
    """The spec document of the imported layers (`imp.layers`), at input `sample` (per sample)."""
    loc = Loc(imp.path)
    name = os.path.splitext(os.path.basename(imp.path))[0]  # exporters' graph names say little: main_graph
    producer = imp.model.producer_name + (f" {imp.model.producer_version}" if imp.model.producer_version else "")
    source = (f"ONNX file {os.path.basename(imp.path)} (graph '{imp.graph.name}', opset {imp.opset}"
              + (f", {producer})" if producer else ")"))
    layers = []
    previous = "input"
    for layer in imp.layers:
        entry = {"name": layer.name}
        if layer.inputs != [previous]:
            entry["from"] = layer.inputs[0] if len(layer.inputs) == 1 else list(layer.inputs)
        entry["op"] = layer.op
        entry.update(_doc_args(layer.op, layer.args))
        layers.append((_ymap(entry, layer.loc), layer.loc, layer.note))
        previous = layer.name
    doc = _ymap({"name": spec_name(name), "source": source, "input": list(sample)}, loc)
    items = _NotedList(m for m, _, _ in layers)
    items.loc, items.item_locs = loc, [l for _, l, _ in layers]
    items.notes = [n for _, _, n in layers]
    doc["layers"] = items
    doc.key_locs["layers"] = doc.value_locs["layers"] = loc
    return doc


def _ymap(items: dict, loc: Loc) -> YMap:
    m = YMap()
    m.loc, m.key_locs, m.value_locs = loc, {}, {}
    for k, v in items.items():
        if isinstance(v, (list, tuple)):
            lst = YList(v)
            lst.loc, lst.item_locs = loc, [loc] * len(v)
            v = lst
        m[k] = v
        m.key_locs[k] = m.value_locs[k] = loc
    return m


def _doc_args(op: str, args: dict) -> dict:
    """An op's arguments as a spec writes them: pairs as one number when square, defaults left out."""
    definition = OPS[op]
    out = {}
    for key, value in args.items():
        default = definition.args[key].default if key in definition.args else None
        if key == "stride" and op in ("maxpool", "avgpool"):
            default = args["k"]
        if value == default or (key == "pad" and value == (0, 0)):
            continue
        if isinstance(value, tuple) and len(value) == 2:
            value = value[0] if value[0] == value[1] else list(value)
        out[key] = value
    return out


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class _NotedList(YList):
    """The imported layer list, with the ONNX node each layer came from (for the comments of `write_yaml`)."""

    __slots__ = ("notes",)


def write_yaml(doc: YMap) -> str:
    """The document as YAML text, one flow mapping per layer, with the ONNX node each layer came from."""
    lines = [
        f"# Imported by costcalc from {doc['source']}.",
        "# Layers are named after the ONNX nodes (the comment names each node and its op type); repeated",
        "# structures are written out flat. Counts are those of the ONNX file.",
        f"name: {_scalar(doc['name'])}",
        f"source: {json.dumps(doc['source'])}",
        f"input: {_scalar(doc['input'])}",
        "layers:",
    ]
    for entry, note in zip(doc["layers"], doc["layers"].notes):
        body = ", ".join(f"{k}: {_scalar(v)}" for k, v in entry.items())
        note = " ".join(note.split())
        lines.append(f"  - {{{body}}}" + (f"   # {note}" if note else ""))
    return "\n".join(lines) + "\n"
