"""The JSON Schema of spec files, for editors (completion, hover text, checking while typing): built from the
spec reader's sections and entry keys, the op registry with each op's arguments, the guideline thresholds and
the budget totals, so a new op or key is in the schema as soon as it is in the code.

`spec.schema.json` beside this module is the same schema written out (`costcalc schema >
costcalc/schema/spec.schema.json`), for the `# yaml-language-server: $schema=...` line of the shipped specs; a
test fails when it drifts.

The schema describes a spec's shape; the reader stays the authority (it evaluates expressions, checks shapes,
locates errors). Wherever the reader takes an expression, the schema takes a string.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("spec.schema.json")

_VALUE = {"$ref": "#/$defs/value"}
_TEXT = {"type": "string"}

# What the reader does with each key, for hover text; a key added to the reader and not described here is still
# in the schema (it takes any value) so that the schema never refuses what the reader accepts.
TOP_DOCS = {
    "name": (_TEXT, "The model's name (default: the file's name)."),
    "description": (_TEXT, "Free text: which paper table or library layout the spec follows."),
    "source": (_TEXT, "Where the layout comes from, e.g. torchvision.models.resnet50."),
    "extends": ({"type": "string", "pattern": r"\.ya?ml$"},
                "A spec file (relative path) this one starts from: its sections are inherited, this file's override "
                "them."),
    "input": ({"anyOf": [{"$ref": "#/$defs/shape"},
                         {"type": "object", "additionalProperties": {"$ref": "#/$defs/shape"}, "minProperties": 1}]},
              "The input shape [C, H, W] (or [F]); entries may be expressions of the variables. A network of several "
              "inputs names them: {image: [3, 224, 224], depth: [1, 224, 224]}, read with from: depth."),
    "vars": ({"type": "object", "additionalProperties": _VALUE},
             "Variables in order, each a number, a list, or an expression of the ones before it; --set overrides "
             "them."),
    "blocks": ({"type": "object", "additionalProperties": {"$ref": "#/$defs/block"}},
               "Named reusable blocks: `args` (defaults; ~ = required) and `layers`."),
    "layers": ({"$ref": "#/$defs/layers"}, "The network: a list of layer entries run in sequence."),
    "published": ({"$ref": "#/$defs/published"}, "The figures the model's source publishes; the tests check them."),
    "guidelines": ({"$ref": "#/$defs/guidelines"}, "Thresholds of the ShuffleNet V2 guidelines for this spec."),
    "budget": ({"$ref": "#/$defs/budget"}, "Limits on the totals, checked by `costcalc check`."),
}
ENTRY_DOCS = {
    "name": ({"type": "string"}, "The layer's name; names build hierarchical paths such as layer2.0.conv2."),
    "op": ({"$ref": "#/$defs/op"}, "An op and, as the entry's other keys, its arguments."),
    "block": (_TEXT, "A block of the `blocks` section, or an expression choosing one: "
                     "\"basic if expansion == 1 else bottleneck\"."),
    "layers": ({"$ref": "#/$defs/layers"}, "An inline sequence of layer entries."),
    "from": ({"anyOf": [_TEXT, {"type": "array", "items": _TEXT, "minItems": 1}]},
             "The input(s): earlier names in the same list or the lists around it, `input` (`input.k` in a block "
             "of several inputs), or `name.k` (output k of a split). Default: the previous entry."),
    "repeat": (_VALUE, "Run the op or block N times in sequence; repetitions are named .0, .1, ..."),
    "parallel": ({"type": "boolean"}, "With repeat: the repetitions of a block or inline sequence read the same "
                                      "input side by side (one branch per rate: `args: {rate: \"rates[i]\"}`); "
                                      "the entry's outputs are name.0, name.1, ..."),
    "args": ({"type": "object", "additionalProperties": _VALUE}, "A block's arguments."),
    "first": ({"type": "object", "additionalProperties": _VALUE},
              "Block arguments of the first repetition only (stride 2 opening a stage)."),
    "if": (_VALUE, "A condition; when false the entry is an identity and its name stands for its input."),
    "shares": (_TEXT, "An op layer only: the earlier layer whose parameters this one uses (one module applied "
                      "twice): a name of this list, or a full name from the top. Its params are 0; its FLOPs and "
                      "memory access are counted."),
}
MAX_RANK = 8  # costcalc.ops.tensor.MAX_RANK: dims per sample (the schema module imports no op code at load)


def _int_list(minimum: int) -> dict:
    """A list of whole numbers of at least `minimum` (at most one per axis, the batch included), or an expression."""
    return {"anyOf": [{"type": "array", "maxItems": MAX_RANK + 1,
                       "items": {"anyOf": [{"type": "integer", "minimum": minimum}, _TEXT]}}, _TEXT]}


ARG_KINDS = {  # costcalc.ops.Arg.kind -> what the value may be (an expression string is always allowed)
    "int": {"anyOf": [{"type": "integer", "minimum": 1}, _TEXT]},
    "pair": {"anyOf": [{"type": "integer", "minimum": 1}, _TEXT,  # one per spatial axis of a 1-D, 2-D, 3-D window
                       {"type": "array", "items": _VALUE, "minItems": 1, "maxItems": 3}]},
    "pad": {"anyOf": [{"type": "integer", "minimum": 0}, _TEXT,
                      {"type": "array", "items": _VALUE, "minItems": 1, "maxItems": 3}]},
    "bool": {"anyOf": [{"type": "boolean"}, _TEXT]},
    "number": {"anyOf": [{"type": "number"}, _TEXT]},
    "ints": {"anyOf": [{"type": "array", "items": _VALUE}, _TEXT]},
    "index": {"anyOf": [{"type": "integer", "minimum": 0}, _TEXT]},
    "choice": _TEXT,  # narrowed to the Arg's choices below
    "text": _TEXT,  # an einsum equation
    "axis": {"anyOf": [{"type": "integer", "minimum": -MAX_RANK}, _TEXT]},  # framework-numbered, batch = 0
    "axes": _int_list(-MAX_RANK),
    "perm": _int_list(0),
    "dims": _int_list(-1),  # a reshape target: one -1 takes the rest
    "shape": _int_list(1),
    "counts": _int_list(0),  # pad amounts of any axes
}


def _entry_keys() -> tuple:
    from costcalc.spec.model import ENTRY_KEYS

    return ENTRY_KEYS


def _described(docs: dict, keys) -> dict:
    out = {}
    for key in keys:
        schema, text = docs.get(key, ({}, ""))
        out[key] = {**schema, "description": text} if text else dict(schema)
    return out


def _op_rules() -> list:
    """One if/then per op (aliases too): the keys an entry of that op may carry, with each argument's value."""
    from costcalc.ops import ALIASES, OPS

    entry_keys = list(_entry_keys())
    rules = []
    for name in [*OPS, *ALIASES]:
        op = OPS[ALIASES.get(name, name)]
        args = {}
        for arg, spec in op.keys.items():  # the op's arguments and `call`
            kind = getattr(spec, "kind", None)
            args[arg] = {"enum": list(spec.choices)} if kind == "choice" else dict(ARG_KINDS.get(kind, {}))
            if getattr(spec, "doc", ""):
                args[arg]["description"] = spec.doc
        rules.append({"if": {"properties": {"op": {"const": name}}, "required": ["op"]},
                      "then": {"properties": args, "propertyNames": {"enum": entry_keys + list(args)}}})
    return rules


def _op_schema() -> dict:
    from costcalc.ops import ALIASES, OPS

    docs = [f"{n}: {getattr(OPS[n], 'doc', '')}".rstrip(": ") for n in OPS]
    docs += [f"{a}: {t}" for a, t in ALIASES.items()]
    return {"anyOf": [{"enum": [*OPS, *ALIASES]},
                      {"type": "string", "pattern": r"\s", "description": "an expression choosing the op"}],
            "description": "The op: " + "; ".join(docs) + "."}


def _guidelines() -> dict:
    from costcalc.analysis.guidelines import GUIDELINE_IDS, Thresholds

    out = {}
    for guideline in GUIDELINE_IDS:
        prefix = guideline.lower() + "_"
        names = {f.name[len(prefix):]: f for f in fields(Thresholds) if f.name.startswith(prefix)}
        out[guideline] = {"type": "object", "additionalProperties": False,
                          "properties": {n: {"type": "number", "minimum": 0,
                                             "description": f"default {getattr(Thresholds(), f.name)}"}
                                         for n, f in names.items()}}
    return {"type": "object", "additionalProperties": False, "properties": out}


def _budget() -> dict:
    from costcalc.analysis.budget import BUDGET_FIELDS, DURATION_UNITS, LATENCY_KEY, SUFFIXES

    suffixes = "".join(s for s in SUFFIXES if s)
    limit = {"anyOf": [{"type": "integer", "minimum": 0},
                       {"type": "string", "pattern": rf"^\s*\d+(_\d+)*(\.\d+)?\s*[{suffixes}]?\s*$"}]}
    units = "|".join(DURATION_UNITS)
    latency = {"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                         {"type": "string", "pattern": rf"^\s*\d+(\.\d+)?\s*({units})?\s*$"}],
               "description": "limit on the estimated latency of the batch, e.g. 10ms (s, ms, us; checked by "
                              "`check --device PROFILE.yaml`)"}
    return {"type": "object", "additionalProperties": False,
            "properties": {**{f: {**limit, "description": f"limit on the total {f}, e.g. 4.5G (K, M, G, T: powers "
                                                          "of 1000)"} for f in BUDGET_FIELDS},
                           LATENCY_KEY: latency}}


def spec_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a spec file."""
    from costcalc.spec.model import TOP_KEYS

    entry = {"type": "object", "properties": _described(ENTRY_DOCS, _entry_keys()),
             "oneOf": [{"required": ["op"]}, {"required": ["block"]}, {"required": ["layers"]}],
             "allOf": _op_rules()}
    entry["allOf"].append({"if": {"not": {"required": ["op"]}},
                           "then": {"propertyNames": {"enum": list(_entry_keys())}}})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "costcalc spec",
        "description": "A CNN architecture as a costcalc layer spec (docs/spec-language.md).",
        "type": "object",
        "properties": _described(TOP_DOCS, TOP_KEYS),
        "additionalProperties": False,
        "$defs": {
            "value": {"anyOf": [{"type": "number"}, {"type": "boolean"}, {"type": "string"}, {"type": "null"},
                                {"type": "array", "items": {"$ref": "#/$defs/value"}}],
                      "description": "a number, a boolean, an expression, or a list of those"},
            "shape": {"type": "array", "items": _VALUE, "minItems": 1, "maxItems": 3},
            "op": _op_schema(),
            "entry": {"anyOf": [{"$ref": "#/$defs/op", "description": "a bare op name: short for {op: NAME}"},
                                entry]},
            "layers": {"type": "array", "items": {"$ref": "#/$defs/entry"}},
            "block": {"anyOf": [{"$ref": "#/$defs/layers"},
                                {"type": "object", "additionalProperties": False, "required": ["layers"],
                                 "properties": {"args": {"type": "object", "additionalProperties": _VALUE,
                                                         "description": "arguments and defaults (~ = required)"},
                                                "layers": {"$ref": "#/$defs/layers"}}}]},
            "published": {"type": "object",
                          "properties": {"params": {"type": "integer", "minimum": 0},
                                         "flops": {"type": "integer", "minimum": 0},
                                         "source": _TEXT,
                                         "tolerance": {"anyOf": [{"type": "number", "minimum": 0},
                                                                 {"type": "object",
                                                                  "additionalProperties": {"type": "number"}}],
                                                       "description": "a fraction for every figure, or per figure"}}},
            "guidelines": _guidelines(),
            "budget": _budget(),
        },
    }


def schema_text() -> str:
    """The schema as costcalc writes it: indented JSON, keys in a fixed order, ending in a newline."""
    return json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"
