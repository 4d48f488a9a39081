"""A spec file, validated in structure: top-level sections, blocks and layer entries, each value kept with its
position. Values stay unevaluated here (numbers or expression text); the graph walker evaluates them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from costcalc.errors import Collector, Loc, SpecError, did_you_mean, shown
from costcalc.spec.choice import is_op_expression
from costcalc.spec.loader import YList, YMap, load_file

TOP_KEYS = ("name", "description", "source", "extends", "input", "vars", "blocks", "layers", "published",
            "guidelines", "budget")
ENTRY_KEYS = ("name", "op", "block", "layers", "from", "repeat", "parallel", "args", "first", "if")
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


def read_spec(path: str) -> Spec:
    """Load and validate a spec file (following `extends:`). Independent errors (one per top-level section,
    variable, block and layer entry) are reported together, as a SpecErrors."""
    spec, errors = read_partial(path)
    errors.raise_any()
    return spec


def spec_from_document(path: str, doc: YMap) -> Spec:
    """A spec from a document already in memory (an importer's output), validated as a spec file is."""
    errors = _section_errors(doc)
    spec = _build(path, doc, None, errors)
    errors.raise_any()
    return spec


def read_partial(path: str, doc=None) -> tuple:
    """(spec, errors): the spec as far as it could be read — parts in error left out — and the errors of its
    parts, not yet raised, so that a later check can add its own (as `graph.load` does). Errors that leave
    nothing to read (YAML syntax, a broken `extends`) are raised at once. With `doc` (a document already parsed,
    e.g. from YAML text), `path` only names it in messages and `extends` is relative to the working directory."""
    return _read(path, (), partial=True, doc=doc)


def _read(path: str, chain: tuple, partial: bool = False, doc=None):
    real = os.path.realpath(path)
    doc = load_file(path) if doc is None else doc
    if not isinstance(doc, YMap):
        raise SpecError(f"a spec is a mapping of sections ({', '.join(TOP_KEYS[:8])}, ...), not {_kind(doc)}",
                        getattr(doc, "loc", Loc(path)))
    errors = _section_errors(doc)
    base = None
    if "extends" in doc:
        with errors.attempt():
            base = _extends(path, doc, chain + (real,))
        if base is None:
            errors.raise_any()
    spec = _build(path, doc, base, errors)
    if partial:
        return spec, errors
    errors.raise_any()
    return spec


def _section_errors(doc: YMap) -> Collector:
    """A collector holding an error for each unknown top-level section."""
    errors = Collector()
    for key in doc:
        if key not in TOP_KEYS:
            errors.add(SpecError(f"unknown section '{shown(key)}'{did_you_mean(key, TOP_KEYS)}", doc.key_locs[key]))
    return errors


def _extends(path: str, doc: YMap, chain: tuple) -> Spec:
    target = _string(doc, "extends")
    loc = doc.value_locs["extends"]
    if os.path.isabs(target) or not target.endswith((".yaml", ".yml")):
        raise SpecError(f"'extends' names a spec file by a relative path ending in .yaml, not '{shown(target)}'", loc)
    full = os.path.join(os.path.dirname(path), target)
    if os.path.realpath(full) in chain:
        raise SpecError(f"'extends' forms a cycle: '{shown(target)}' extends this file again", loc)
    if len(chain) > MAX_EXTENDS:
        raise SpecError(f"'extends' chain longer than the limit of {MAX_EXTENDS}", loc)
    if not os.path.isfile(full):
        raise SpecError(f"'extends': no spec file '{shown(target)}' (paths are relative to this file)", loc)
    return _read(full, chain)


def _build(path: str, doc: YMap, base: Spec | None, errors: Collector) -> Spec:
    """A Spec from `doc`, section by section, each section's errors recorded in `errors` (the Spec is complete
    only when none was)."""
    loc = doc.loc
    if base is None:
        for key in ("input", "layers"):
            if key not in doc:
                errors.add(SpecError(f"a spec needs '{key}'", loc))
    spec = Spec(path=path, name=base.name if base else os.path.splitext(os.path.basename(path))[0], loc=loc,
                input=base.input if base else None, description=base.description if base else "",
                source=base.source if base else "")
    for key in ("name", "description", "source"):
        if key in doc:
            with errors.attempt():
                setattr(spec, key, _string(doc, key))
    if "name" in doc and isinstance(doc["name"], str):
        with errors.attempt():
            _check_title(doc["name"], doc.value_locs["name"])
    if "input" in doc:
        spec.input = Value(doc["input"], doc.value_locs["input"])
    spec.vars = dict(base.vars) if base else {}
    spec.vars.update(_vars(doc, errors))
    spec.blocks = dict(base.blocks) if base else {}
    spec.blocks.update(_blocks(doc, _Entries(errors), spec.invalid_blocks))
    spec.layers = base.layers if base else []
    if "layers" in doc:
        with errors.attempt():
            spec.layers = _entries(doc, "layers", _Entries(errors))
    for key in ("published", "guidelines", "budget"):
        if key in doc:
            with errors.attempt():
                setattr(spec, key, _mapping(doc, key))
        elif base is not None:
            setattr(spec, key, getattr(base, key))
    spec.section_locs = dict(base.section_locs) if base else {}
    spec.section_locs.update(doc.key_locs)
    if base is not None and isinstance(doc.get("vars"), YMap):
        added = [name for name in doc["vars"] if name in spec.vars and name not in base.vars]
        if added:
            _unused_variables(spec, added, doc["vars"], errors)
    return spec


def _unused_variables(spec: Spec, added: list, section: YMap, errors: Collector) -> None:
    """A variable an `extends` child adds that no expression uses is a typo (`widht: 32` for `width`)."""
    from costcalc.spec.lint import used_names

    used = used_names(spec)
    for name in added:
        if name not in used:
            others = [v for v in spec.vars if v not in added or v in used]
            hint = did_you_mean(name, others) or f" (the variables: {', '.join(others) or 'none'})"
            errors.add(SpecError(f"variable '{name}' is used by nothing in this spec or the one it extends{hint}",
                                 section.key_locs[name]))


def _kind(value) -> str:
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YList):
        return "a list"
    if value is None:
        return "null"
    return f"{type(value).__name__} {shown(value)}"


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


def _check_title(title: str, loc: Loc) -> None:
    """The model's name heads every report: one line of printable text, of bounded length."""
    if not title.isprintable():
        raise SpecError(f"'name' must be one line of printable text, not {shown(repr(title))}", loc)
    if len(title) > MAX_NAME:
        raise SpecError(f"'name' is longer than the limit of {MAX_NAME} characters", loc)


def _check_name(name, loc: Loc, what: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise SpecError(f"{what} {shown(repr(name))} is not a name (letters, digits, _ and -, not starting with a digit)",
                        loc)
    if len(name) > MAX_NAME:
        raise SpecError(f"{what} '{shown(name)}' is longer than the limit of {MAX_NAME} characters", loc)
    return name


RESERVED_VARIABLES = ("in_channels", "in_height", "in_width", "input_channels", "input_height", "input_width", "i",
                      "True", "False")


def _check_variable(name, loc: Loc, what: str) -> str:
    """A variable or block argument: a name an expression can use (no '-', no Python keyword), not one of the
    names a layer's expressions already have."""
    _check_name(name, loc, what)
    import keyword

    if "-" in name or keyword.iskeyword(name):
        raise SpecError(f"{what} '{shown(name)}' cannot be used in an expression: use letters, digits and _", loc)
    if name in RESERVED_VARIABLES:
        raise SpecError(f"{what} '{name}' is reserved: expressions already use it", loc)
    return name


def _plain_value(m, key, loc: Loc, prefix: str = "") -> Value:
    """A number, bool, expression text, or a flat list of those."""
    raw = m[key]
    if isinstance(raw, YMap) or raw is None:
        raise SpecError(f"{prefix}'{shown(key)}' must be a number, an expression or a list, not {_kind(raw)}", loc)
    if isinstance(raw, YList):
        for item, item_loc in zip(raw, raw.item_locs):
            if isinstance(item, (YMap, YList)) or item is None:
                raise SpecError(f"{prefix}'{shown(key)}' must be a flat list of numbers or expressions, "
                                f"not hold {_kind(item)}", item_loc)
    return Value(raw, loc)


def _vars(doc: YMap, errors: Collector) -> dict:
    out = {}
    if "vars" not in doc:
        return out
    with errors.attempt():
        section = _mapping(doc, "vars")
        for name in section:
            with errors.attempt():
                _check_variable(name, section.key_locs[name], "variable")
                out[name] = _plain_value(section, name, section.value_locs[name])
    return out


class _Entries:
    """Reads layer entries, recording the errors of each entry apart; an entry met again through a YAML alias is
    read once (an alias bomb of layers costs no more than its text)."""

    def __init__(self, errors: Collector):
        self.errors = errors
        self.done: dict = {}  # id(YAML mapping) -> Entry, or None when it failed

    def read(self, items: YList, where: str) -> list:
        out = []
        for pos, (item, loc) in enumerate(zip(items, items.item_locs)):
            key = id(item)
            if key not in self.done:
                self.done[key] = None
                with self.errors.attempt():
                    self.done[key] = _entry(item, loc, where, pos, self)
            if self.done[key] is not None:
                out.append(self.done[key])
        return out


def _blocks(doc: YMap, entries: _Entries, invalid: set) -> dict:
    blocks = {}
    if "blocks" not in doc:
        return blocks
    errors = entries.errors
    with errors.attempt():
        section = _mapping(doc, "blocks")
        for name in section:
            invalid.add(name)
            with errors.attempt():
                blocks[name] = _block(section, name, entries)
                invalid.discard(name)
    return blocks


def _block(section: YMap, name: str, entries: _Entries) -> BlockDef:
    _check_name(name, section.key_locs[name], "block")
    loc = section.value_locs[name]
    body = section[name]
    if isinstance(body, YList):  # a block with no arguments may be given as its list of layers
        return BlockDef(name, loc, {}, entries.read(body, f"block '{name}'"))
    body = _mapping(section, name, f"block '{name}'")
    for key in body:
        if key not in ("args", "layers"):
            entries.errors.add(SpecError(f"block '{name}': unknown key '{shown(key)}'"
                                         f"{did_you_mean(key, ('args', 'layers'))}", body.key_locs[key]))
    if "layers" not in body:
        raise SpecError(f"block '{name}' needs 'layers'", loc)
    args = {}
    if "args" in body:
        arg_map = _mapping(body, "args", f"block '{name}': 'args'")
        for arg in arg_map:
            with entries.errors.attempt():
                _check_variable(arg, arg_map.key_locs[arg], "argument")
                args[arg] = None if arg_map[arg] is None else _plain_value(arg_map, arg, arg_map.value_locs[arg])
    return BlockDef(name, loc, args, _entries(body, "layers", entries, f"block '{name}'"))


def _entries(m: YMap, key: str, entries: _Entries, where: str = "") -> list:
    return entries.read(_list(m, key, f"{where + ': ' if where else ''}'{key}'"), where)


def _entry(item, loc: Loc, where: str, pos: int, entries: _Entries) -> Entry:
    if isinstance(item, str):  # `- relu` is short for `- {op: relu}`
        return Entry(loc=loc, op=item, op_loc=loc, op_expr=is_op_expression(item))
    within = f"{where}: " if where else ""
    if not isinstance(item, YMap):
        raise SpecError(f"{within}a layer is a mapping like {{op: conv, ...}} or an op name, not {_kind(item)}", loc)
    entry = Entry(loc=loc, key_locs=item.key_locs)
    if "name" in item:
        entry.name = _check_name(item["name"], item.value_locs["name"], f"{within}layer name")
        if entry.name in RESERVED:
            raise SpecError(f"{within}'{entry.name}' is reserved: it names the input of the enclosing block",
                            item.value_locs["name"])
    label = entry.name  # as the graph names it: unnamed entries after their op or block and position
    if label is None:
        kind = item.get("op", item.get("block", "layers"))
        label = f"{kind if isinstance(kind, str) and NAME.match(kind) else 'layer'}_{pos}"
    prefix = f"{within}layer '{shown(label)}': "
    kinds = [k for k in ("op", "block", "layers") if k in item]
    if len(kinds) != 1:
        said = " and ".join(f"'{k}'" for k in kinds) if kinds else "none of them"
        raise SpecError(f"{prefix}a layer has exactly one of 'op', 'block' or 'layers' (it has {said})", loc)
    kind = kinds[0]
    if kind == "layers":
        entry.layers = _entries(item, "layers", entries, prefix.rstrip(": "))
    else:
        value = item[kind]
        if not isinstance(value, str):
            raise SpecError(f"{prefix}'{kind}' must be a name, not {_kind(value)}", item.value_locs[kind])
        setattr(entry, kind, value)
        entry.op_loc = item.value_locs[kind]
        entry.op_expr = kind == "op" and is_op_expression(value)
        entry.block_expr = kind == "block" and is_op_expression(value)
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
        entry.repeat = _plain_value(item, "repeat", item.value_locs["repeat"], prefix)
    if "parallel" in item:
        entry.parallel = item["parallel"]
        if not isinstance(entry.parallel, bool):
            raise SpecError(f"{prefix}'parallel' is true or false, not {_kind(entry.parallel)}", item.value_locs["parallel"])
        if entry.parallel and kind == "op":
            raise SpecError(f"{prefix}'parallel' repeats a block or an inline 'layers' sequence side by side, not an op "
                            "(its repetitions would all be the same)", item.key_locs["parallel"])
        if entry.parallel and "repeat" not in item:
            raise SpecError(f"{prefix}'parallel' needs 'repeat': the number of branches", item.key_locs["parallel"])
    if "if" in item:
        entry.cond = _plain_value(item, "if", item.value_locs["if"], prefix)
    for key in ("args", "first"):
        if key in item:
            if kind == "op":
                raise SpecError(f"{prefix}'{key}' belongs to a block, not to op '{shown(entry.op)}'", item.key_locs[key])
            if kind == "layers":
                raise SpecError(f"{prefix}'{key}' belongs to a block: an inline 'layers' sequence takes no arguments",
                                item.key_locs[key])
            arg_map = _mapping(item, key, f"{prefix}'{key}'")
            setattr(entry, key, {a: _plain_value(arg_map, a, arg_map.value_locs[a], prefix) for a in arg_map})
    for key in item:
        if key in ENTRY_KEYS:
            continue
        if kind != "op":
            raise SpecError(f"{prefix}unknown key '{shown(key)}'{did_you_mean(key, ENTRY_KEYS)}", item.key_locs[key])
        entry.params[key] = _plain_value(item, key, item.value_locs[key], prefix)
    return entry
