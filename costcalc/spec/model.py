"""The spec model: a spec file validated in structure (top-level sections, blocks and layer entries), each value
kept with its position. Values stay unevaluated here (numbers or expression text); the graph walker evaluates
them. costcalc.spec.reader builds these records from a YAML document (fields.py reads single values, entries.py
the layer entries and blocks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from costcalc.errors import Loc
from costcalc.spec.loader import YMap

TOP_KEYS = ("name", "description", "source", "extends", "input", "vars", "blocks", "layers", "published",
            "guidelines", "budget")
ENTRY_KEYS = ("name", "op", "block", "layers", "from", "repeat", "parallel", "args", "first", "if", "shares")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
RESERVED = ("input",)
MAX_EXTENDS = 16
MAX_NAME = 128  # characters of a layer, block, variable or argument name


@dataclass(frozen=True)
class Value:
    """A raw value from the spec (number, bool, expression text, or list of those) and where it stands."""

    raw: object
    loc: Loc


@dataclass
class Entry:
    """One item of a `layers:` list: an op, a block invocation, or an inline sequence of layers."""

    loc: Loc
    name: str | None = None
    op: str | None = None
    op_loc: Loc | None = None
    op_expr: bool = False  # `op:` is an expression choosing the op (costcalc.spec.choice)
    block: str | None = None
    block_expr: bool = False  # `block:` is an expression choosing the block (costcalc.spec.choice)
    layers: list | None = None  # list[Entry] for an inline sequence
    sources: list | None = None  # `from:` names
    sources_loc: Loc | None = None
    repeat: Value | None = None
    parallel: bool = False  # the repetitions read the same input side by side: outputs name.0, name.1, ...
    args: dict = field(default_factory=dict)  # block arguments: name -> Value
    first: dict = field(default_factory=dict)  # arguments of the first repetition
    cond: Value | None = None
    params: dict = field(default_factory=dict)  # op arguments: key -> Value
    key_locs: dict = field(default_factory=dict)
    shares: Value | None = None  # `shares:` the earlier layer whose parameters this op layer uses (costcalc.sharing)


def auto_name(entry: Entry, pos: int) -> str:
    """The name of an unnamed entry: its op, block or 'layers', '_', and its position in its list (`relu6_2`;
    `layer_2` when the op or block is an expression). Explicit names may take this form too; a clash is an error."""
    kind = entry.op if entry.op is not None else entry.block if entry.block is not None else "layers"
    prefix = _PREFIXES.get(kind)
    if prefix is None:
        prefix = kind if NAME.match(kind) else "layer"
        if len(_PREFIXES) < 10_000:
            _PREFIXES[kind] = prefix
    return f"{prefix}_{pos}"


_PREFIXES: dict = {}  # op or block -> the start of its automatic names (a regex match saved per layer)


def name_clash(entries: list, name: str) -> str:
    """Why a name is used twice in `entries`, when one of the two is an unnamed entry's automatic name."""
    for pos, entry in enumerate(entries):
        if not entry.name and auto_name(entry, pos) == name:
            return f" (the unnamed entry at position {pos} is named '{name}' after its kind and position)"
    return ""


@dataclass
class BlockDef:
    name: str
    loc: Loc
    args: dict  # name -> Value, or None when the argument is required
    layers: list  # list[Entry]


@dataclass
class Spec:
    path: str
    name: str
    loc: Loc
    input: Value
    vars: dict = field(default_factory=dict)  # name -> Value, in order
    blocks: dict = field(default_factory=dict)  # name -> BlockDef
    layers: list = field(default_factory=list)  # list[Entry]
    description: str = ""
    source: str = ""
    published: YMap | None = None
    guidelines: YMap | None = None
    budget: YMap | None = None
    section_locs: dict = field(default_factory=dict)  # top-level key -> Loc of its key
    invalid_blocks: set = field(default_factory=set)  # blocks left out for their errors (read_partial)
    warnings: list = field(default_factory=list)  # SpecWarning, set by graph.check
    shares: bool | None = None  # whether a layer entry says `shares:` (costcalc.sharing.uses_shares, when asked)
