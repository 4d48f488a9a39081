"""Spec writing: the imported layers as a spec document (YMap / YList located at the ONNX nodes) and as YAML
text."""

from __future__ import annotations

import json
import os
import re

from costcalc.errors import Loc
from costcalc.importers.onnx.hierarchy import nest
from costcalc.importers.onnx.naming import YAML_WORDS, module_classes, spec_name
from costcalc.ops import OPS
from costcalc.spec.loader import YList, YMap

PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")  # a string YAML reads back as itself, unquoted


def document(imp, sample: tuple) -> YMap:
    """The spec document of the imported layers (`imp.layers`), at input `sample` (per sample), nested following
    the model's hierarchy (`hierarchy.nest`)."""
    loc = Loc(imp.path)
    name = os.path.splitext(os.path.basename(imp.path))[0]  # exporters' graph names say little: main_graph
    producer = imp.model.producer_name + (f" {imp.model.producer_version}" if imp.model.producer_version else "")
    source = (f"ONNX file {os.path.basename(imp.path)} (graph '{imp.graph.name}', opset {imp.opset}"
              + (f", {producer})" if producer else ")"))
    if imp.folded_batchnorms:  # the exporter's changes to the parameters, in the header (a name: 128 at most)
        restored = f"; {imp.restored_biases:,} dropped zero biases counted" if imp.restored_biases else ""
        note = (f" [batchnorm folded into {imp.folded_batchnorms} convs: {imp.folded_params:,} params fewer if "
                f"they had no bias{restored}]")
        name = name[:max(16, 128 - len(note))] + note
    classes = {}
    for node in imp.nodes:
        classes.update(module_classes(node))
    entries, blocks = nest(imp.layers, imp.output_ref, classes)
    doc = _ymap({"name": spec_name(name) if not imp.folded_batchnorms else name, "source": source,
                 "input": list(sample)}, loc)
    if blocks:
        section = YMap()
        section.loc, section.key_locs, section.value_locs = loc, {}, {}
        for block in blocks:
            body = _ymap({"args": block.args} if block.args else {}, loc)
            body["layers"] = _entry_list(block.layers, loc)
            body.key_locs["layers"] = body.value_locs["layers"] = loc
            section[block.name] = body
            section.key_locs[block.name] = section.value_locs[block.name] = loc
        doc["blocks"] = section
        doc.key_locs["blocks"] = doc.value_locs["blocks"] = loc
    doc["layers"] = _entry_list(entries, loc)
    doc.key_locs["layers"] = doc.value_locs["layers"] = loc
    return doc


def _entry_list(entries: list, loc: Loc) -> YList:
    items = _NotedList(_entry_map(e, e.loc or loc) for e in entries)
    items.loc, items.item_locs = loc, [e.loc or loc for e in entries]
    items.notes = [e.note for e in entries]
    return items


def _entry_map(e, loc: Loc) -> YMap:
    fields: dict = {"name": e.name}
    if e.sources is not None:
        fields["from"] = e.sources[0] if len(e.sources) == 1 else list(e.sources)
    if e.cond is not None:
        fields["if"] = e.cond
    if e.layers is not None:
        m = _ymap(fields, loc)
        m["layers"] = _entry_list(e.layers, loc)
        m.key_locs["layers"] = m.value_locs["layers"] = loc
        return m
    if e.block is not None:
        fields.update({"block": e.block, "repeat": e.repeat})
        if e.block_args:
            fields["args"] = e.block_args
        if e.first:
            fields["first"] = e.first
        return _ymap(fields, loc)
    fields["op"] = e.op
    if e.shares is not None:
        fields["shares"] = e.shares
    if e.repeat is not None:
        fields["repeat"] = e.repeat
    fields.update(_doc_args(e.op, e.args))
    return _ymap(fields, loc)


def _ymap(items: dict, loc: Loc) -> YMap:
    m = YMap()
    m.loc, m.key_locs, m.value_locs = loc, {}, {}
    for k, v in items.items():
        if isinstance(v, dict):
            v = _ymap({a: (list(b) if isinstance(b, tuple) else b) for a, b in v.items()}, loc)
        elif isinstance(v, (list, tuple)):
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
        kind = definition.args[key].kind if key in definition.args else None
        if isinstance(value, tuple) and kind in ("pair", "pad") and len(set(value)) == 1:
            value = value[0]
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and not (PLAIN.match(value) and value.lower() not in YAML_WORDS - {"input"}):
        return json.dumps(value)
    return str(value)


class _NotedList(YList):
    """An imported layer list, with the ONNX node each layer came from (for the comments of `write_yaml`)."""

    __slots__ = ("notes",)


def write_yaml(doc: YMap) -> str:
    """The document as YAML text: one flow mapping per layer with the ONNX node it came from in a comment, nested
    lists and blocks as block mappings."""
    lines = [
        f"# Imported by costcalc from {_printable(doc['source'])}.",
        "# Layers are named after the model's modules, as the exporter recorded them (the comment names each ONNX",
        "# node and its op type). Counts are those of the ONNX file.",
        f"name: {_scalar(doc['name'])}",
        f"source: {json.dumps(doc['source'])}",
        f"input: {_scalar(doc['input'])}",
    ]
    if "blocks" in doc:
        lines.append("blocks:")
        for name, body in doc["blocks"].items():
            lines.append(f"  {name}:")
            if "args" in body:
                lines.append(f"    args: {_scalar(dict(body['args']))}")
            lines.append("    layers:")
            _write_entries(lines, body["layers"], 6)
    lines.append("layers:")
    _write_entries(lines, doc["layers"], 2)
    return "\n".join(lines) + "\n"


def _write_entries(lines: list, entries, indent: int) -> None:
    pad = " " * indent
    for entry, note in zip(entries, entries.notes):
        note = _printable(" ".join(note.split()))
        comment = f"   # {note}" if note else ""
        if "layers" in entry:
            keys = [k for k in entry if k != "layers"]
            lines.append(f"{pad}- {keys[0]}: {_scalar(entry[keys[0]])}{comment}")
            lines.extend(f"{pad}  {k}: {_scalar(_plain(entry[k]))}" for k in keys[1:])
            lines.append(f"{pad}  layers:")
            _write_entries(lines, entry["layers"], indent + 4)
        else:
            body = ", ".join(f"{k}: {_scalar(_plain(v))}" for k, v in entry.items())
            lines.append(f"{pad}- {{{body}}}{comment}")


def _printable(text: str) -> str:
    """`text` with the characters a YAML file may not hold (control characters, U+FFFE, ...) escaped as
    Python writes them: a comment names the ONNX node as it is, `\\x12` and all."""
    return "".join(c if c == " " or (c.isprintable() and c not in "\ufeff") else ascii(c)[1:-1] for c in text)


def _plain(value):
    return dict(value) if isinstance(value, YMap) else value
