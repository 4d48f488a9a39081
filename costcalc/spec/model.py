"""A spec file, validated in structure: top-level sections, blocks and layer entries, each value kept with its
position. Values stay unevaluated here (numbers or expression text); the graph walker evaluates them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from costcalc.errors import Loc, SpecError, did_you_mean
from costcalc.spec.loader import YList, YMap, load_file

TOP_KEYS = ("name", "description", "source", "extends", "input", "vars", "blocks", "layers", "published",
            "guidelines", "budget")
ENTRY_KEYS = ("name", "op", "block", "layers", "from", "repeat", "args", "first", "if")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
RESERVED = ("input",)
MAX_EXTENDS = 16


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
    block: str | None = None
    layers: list | None = None  # list[Entry] for an inline sequence
    sources: list | None = None  # `from:` names
    sources_loc: Loc | None = None
    repeat: Value | None = None
    args: dict = field(default_factory=dict)  # block arguments: name -> Value
    first: dict = field(default_factory=dict)  # arguments of the first repetition
    cond: Value | None = None
    params: dict = field(default_factory=dict)  # op arguments: key -> Value
    key_locs: dict = field(default_factory=dict)


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


def read_spec(path: str) -> Spec:
    """Load and validate a spec file (following `extends:`)."""
    return _read(path, ())


def spec_from_document(path: str, doc: YMap) -> Spec:
    """A spec from a document already in memory (an importer's output), validated as a spec file is."""
    for key in doc:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown section '{key}'{did_you_mean(key, TOP_KEYS)}", doc.key_locs[key])
    return _build(path, doc, None)


def _read(path: str, chain: tuple) -> Spec:
    real = os.path.realpath(path)
    if real in chain:
        raise SpecError("'extends' forms a cycle", Loc(path))
    if len(chain) > MAX_EXTENDS:
        raise SpecError(f"'extends' chain longer than {MAX_EXTENDS}", Loc(path))
    doc = load_file(path)
    if not isinstance(doc, YMap):
        raise SpecError(f"a spec is a mapping of sections ({', '.join(TOP_KEYS[:8])}, ...), not {_kind(doc)}",
                        getattr(doc, "loc", Loc(path)))
    for key in doc:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown section '{key}'{did_you_mean(key, TOP_KEYS)}", doc.key_locs[key])
    base = None
    if "extends" in doc:
        target = _string(doc, "extends")
        base = _read(os.path.join(os.path.dirname(path), target), chain + (real,))
    return _build(path, doc, base)


def _build(path: str, doc: YMap, base: Spec | None) -> Spec:
    loc = doc.loc
    if base is None:
        for key in ("input", "layers"):
            if key not in doc:
                raise SpecError(f"a spec needs '{key}'", loc)
    spec = Spec(
        path=path,
        name=_string(doc, "name") if "name" in doc else (base.name if base else os.path.splitext(os.path.basename(path))[0]),
        loc=loc,
        input=Value(doc["input"], doc.value_locs["input"]) if "input" in doc else base.input,
        description=_string(doc, "description") if "description" in doc else (base.description if base else ""),
        source=_string(doc, "source") if "source" in doc else (base.source if base else ""),
    )
    spec.vars = dict(base.vars) if base else {}
    spec.vars.update(_vars(doc))
    spec.blocks = dict(base.blocks) if base else {}
    spec.blocks.update(_blocks(doc))
    spec.layers = _entries(doc, "layers") if "layers" in doc else base.layers
    for key in ("published", "guidelines", "budget"):
        if key in doc:
            setattr(spec, key, _mapping(doc, key))
        elif base is not None:
            setattr(spec, key, getattr(base, key))
    spec.section_locs = dict(base.section_locs) if base else {}
    spec.section_locs.update(doc.key_locs)
    return spec


def _kind(value) -> str:
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YList):
        return "a list"
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"


def _string(m: YMap, key: str) -> str:
    value = m[key]
    if not isinstance(value, str):
        raise SpecError(f"'{key}' must be text, not {_kind(value)}", m.value_locs[key])
    return value


def _mapping(m: YMap, key: str, what: str | None = None) -> YMap:
    value = m[key]
    if value is None:
        value = YMap()
        value.loc, value.key_locs, value.value_locs = m.value_locs[key], {}, {}
    if not isinstance(value, YMap):
        raise SpecError(f"{what or repr(key)} must be a mapping, not {_kind(value)}", m.value_locs[key])
    return value


def _list(m: YMap, key: str, what: str | None = None) -> YList:
    value = m[key]
    if not isinstance(value, YList):
        raise SpecError(f"{what or repr(key)} must be a list, not {_kind(value)}", m.value_locs[key])
    return value


def _check_name(name, loc: Loc, what: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise SpecError(f"{what} {name!r} is not a name (letters, digits, _ and -, not starting with a digit)", loc)
    return name


def _plain_value(m, key, loc: Loc) -> Value:
    """A number, bool, expression text, or a flat list of those."""
    raw = m[key]
    if isinstance(raw, YMap) or raw is None:
        raise SpecError(f"'{key}' must be a number, an expression or a list, not {_kind(raw)}", loc)
    if isinstance(raw, YList):
        for item, item_loc in zip(raw, raw.item_locs):
            if isinstance(item, (YMap, YList)) or item is None:
                raise SpecError(f"'{key}' must be a flat list of numbers or expressions, not hold {_kind(item)}", item_loc)
    return Value(raw, loc)


def _vars(doc: YMap) -> dict:
    if "vars" not in doc:
        return {}
    section = _mapping(doc, "vars")
    out = {}
    for name in section:
        _check_name(name, section.key_locs[name], "variable")
        out[name] = _plain_value(section, name, section.value_locs[name])
    return out


def _blocks(doc: YMap) -> dict:
    if "blocks" not in doc:
        return {}
    section = _mapping(doc, "blocks")
    blocks = {}
    for name in section:
        _check_name(name, section.key_locs[name], "block")
        loc = section.value_locs[name]
        body = section[name]
        if isinstance(body, YList):  # a block with no arguments may be given as its list of layers
            blocks[name] = BlockDef(name, loc, {}, _entry_list(body, f"block '{name}'"))
            continue
        body = _mapping(section, name, f"block '{name}'")
        for key in body:
            if key not in ("args", "layers"):
                raise SpecError(f"block '{name}': unknown key '{key}'{did_you_mean(key, ('args', 'layers'))}",
                                body.key_locs[key])
        if "layers" not in body:
            raise SpecError(f"block '{name}' needs 'layers'", loc)
        args = {}
        if "args" in body:
            arg_map = _mapping(body, "args", f"block '{name}': 'args'")
            for arg in arg_map:
                _check_name(arg, arg_map.key_locs[arg], "argument")
                args[arg] = None if arg_map[arg] is None else _plain_value(arg_map, arg, arg_map.value_locs[arg])
        blocks[name] = BlockDef(name, loc, args, _entries(body, "layers", f"block '{name}'"))
    return blocks


def _entries(m: YMap, key: str, where: str = "") -> list:
    return _entry_list(_list(m, key, f"{where + ': ' if where else ''}'{key}'"), where)


def _entry_list(items: YList, where: str) -> list:
    return [_entry(item, loc, where) for item, loc in zip(items, items.item_locs)]


def _entry(item, loc: Loc, where: str) -> Entry:
    if isinstance(item, str):  # `- relu` is short for `- {op: relu}`
        return Entry(loc=loc, op=item, op_loc=loc)
    prefix = f"{where}: " if where else ""
    if not isinstance(item, YMap):
        raise SpecError(f"{prefix}a layer is a mapping like {{op: conv, ...}} or an op name, not {_kind(item)}", loc)
    entry = Entry(loc=loc, key_locs=item.key_locs)
    if "name" in item:
        entry.name = _check_name(item["name"], item.value_locs["name"], "layer name")
        if entry.name in RESERVED:
            raise SpecError(f"'{entry.name}' is reserved: it names the input of the enclosing block", item.value_locs["name"])
        prefix = f"layer '{entry.name}': "
    kinds = [k for k in ("op", "block", "layers") if k in item]
    if len(kinds) != 1:
        said = " and ".join(f"'{k}'" for k in kinds) if kinds else "none of them"
        raise SpecError(f"{prefix}a layer has exactly one of 'op', 'block' or 'layers' (it has {said})", loc)
    kind = kinds[0]
    if kind == "layers":
        entry.layers = _entries(item, "layers", prefix.rstrip(": "))
    else:
        value = item[kind]
        if not isinstance(value, str):
            raise SpecError(f"{prefix}'{kind}' must be a name, not {_kind(value)}", item.value_locs[kind])
        setattr(entry, kind, value)
        entry.op_loc = item.value_locs[kind]
    if "from" in item:
        sources = item["from"]
        sources = list(sources) if isinstance(sources, YList) else [sources]
        for s in sources:
            if not isinstance(s, str):
                raise SpecError(f"{prefix}'from' names earlier layers, not {_kind(s)}", item.value_locs["from"])
        if not sources:
            raise SpecError(f"{prefix}'from' names no layer", item.value_locs["from"])
        entry.sources, entry.sources_loc = sources, item.value_locs["from"]
    if "repeat" in item:
        entry.repeat = _plain_value(item, "repeat", item.value_locs["repeat"])
    if "if" in item:
        entry.cond = _plain_value(item, "if", item.value_locs["if"])
    for key in ("args", "first"):
        if key in item:
            if kind == "op":
                raise SpecError(f"{prefix}'{key}' belongs to a block, not to op '{entry.op}'", item.key_locs[key])
            arg_map = _mapping(item, key, f"{prefix}'{key}'")
            setattr(entry, key, {a: _plain_value(arg_map, a, arg_map.value_locs[a]) for a in arg_map})
    for key in item:
        if key in ENTRY_KEYS:
            continue
        if kind != "op":
            raise SpecError(f"{prefix}unknown key '{key}'{did_you_mean(key, ENTRY_KEYS)}", item.key_locs[key])
        entry.params[key] = _plain_value(item, key, item.value_locs[key])
    return entry
