"""The one-line JSON records of a report's layers and guideline findings, each distinct content encoded once.

A deep network repeats its blocks: the 1,110 units of a pre-act ResNet-10001 stage differ in their layers' names
and inputs, not in their shapes, arguments or counts, which a replayed block shares as objects (costcalc.reuse,
costcalc.analysis). So a line is assembled from its encoded name (and inputs) and the encoded rest of the record,
cached by the identity of what it is made of; every object keyed by its id is alive in the report while it renders.
Each line is exactly the C encoder's text of the record (`compact(record)`); a test compares them over the zoo.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _text  # how json's encoder (ensure_ascii) writes a str


def layer_lines(layers, compact, record) -> list:
    """compact(record(layer)) for each layer, `record` giving {"name", "op", "inputs", "output", ...}."""
    rests: dict = {}  # (op, ids of outputs, args, counts) -> the record's text after its inputs
    lines = []
    for layer in layers:
        key = (layer.op, id(layer.outputs), id(layer.args), id(layer.counts))
        rest = rests.get(key)
        if rest is None:
            full = record(layer)
            del full["name"], full["op"], full["inputs"]
            rest = rests[key] = compact(full)[1:]
        lines.append(f'{{"name": {_text(layer.name)}, "op": {_text(layer.op)}, "inputs": '
                     f'[{", ".join(map(_text, layer.inputs))}], {rest}')
    return lines


def finding_lines(findings, compact, record) -> list:
    """compact(record(finding)) for each finding, `record` giving {"layer" or "block", "why", ...}."""
    rests: dict = {}  # (ids of why and evidence, violated) -> the record's text after its name
    lines = []
    for finding in findings:
        key = (id(finding.why), id(finding.evidence), finding.violated)
        rest = rests.get(key)
        if rest is None:
            full = record(finding)
            del full[next(iter(full))]
            rest = rests[key] = compact(full)[1:]
        where = "block" if finding.guideline == "G3" else "layer"
        lines.append(f'{{"{where}": {_text(finding.where)}, {rest}')
    return lines
