"""Reading the layer entries, blocks and variables of a spec document into the records of costcalc.spec.model."""

from __future__ import annotations

from costcalc.errors import Collector, Loc, SpecError, did_you_mean, shown
from costcalc.spec.choice import is_op_expression
from costcalc.spec.fields import check_name, check_variable, kind_of, list_value, mapping_value, plain_value
from costcalc.spec.loader import YList, YMap
from costcalc.spec.model import ENTRY_KEYS, NAME, RESERVED, BlockDef, Entry, Value


def read_vars(doc: YMap, errors: Collector) -> dict:
    out = {}
    if "vars" not in doc:
        return out
    with errors.attempt():
        section = mapping_value(doc, "vars")
        for name in section:
            with errors.attempt():
                check_variable(name, section.key_locs[name], "variable")
                out[name] = plain_value(section, name, section.value_locs[name])
    return out


class EntryReader:
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


def read_blocks(doc: YMap, entries: EntryReader, invalid: set) -> dict:
    blocks = {}
    if "blocks" not in doc:
        return blocks
    errors = entries.errors
    with errors.attempt():
        section = mapping_value(doc, "blocks")
        for name in section:
            invalid.add(name)
            with errors.attempt():
                blocks[name] = _block(section, name, entries)
                invalid.discard(name)
    return blocks


def _block(section: YMap, name: str, entries: EntryReader) -> BlockDef:
    check_name(name, section.key_locs[name], "block")
    loc = section.value_locs[name]
    body = section[name]
    if isinstance(body, YList):  # a block with no arguments may be given as its list of layers
        return BlockDef(name, loc, {}, entries.read(body, f"block '{name}'"))
    body = mapping_value(section, name, f"block '{name}'")
    for key in body:
        if key not in ("args", "layers"):
            entries.errors.add(SpecError(f"block '{name}': unknown key '{shown(key)}'"
                                         f"{did_you_mean(key, ('args', 'layers'))}", body.key_locs[key]))
    if "layers" not in body:
        raise SpecError(f"block '{name}' needs 'layers'", loc)
    args = {}
    if "args" in body:
        arg_map = mapping_value(body, "args", f"block '{name}': 'args'")
        for arg in arg_map:
            with entries.errors.attempt():
                check_variable(arg, arg_map.key_locs[arg], "argument")
                args[arg] = None if arg_map[arg] is None else plain_value(arg_map, arg, arg_map.value_locs[arg])
    return BlockDef(name, loc, args, read_entries(body, "layers", entries, f"block '{name}'"))


def read_entries(m: YMap, key: str, entries: EntryReader, where: str = "") -> list:
    return entries.read(list_value(m, key, f"{where + ': ' if where else ''}'{key}'"), where)


def _entry(item, loc: Loc, where: str, pos: int, entries: EntryReader) -> Entry:
    if isinstance(item, str):  # `- relu` is short for `- {op: relu}`
        return Entry(loc=loc, op=item, op_loc=loc, op_expr=is_op_expression(item))
    within = f"{where}: " if where else ""
    if not isinstance(item, YMap):
        raise SpecError(f"{within}a layer is a mapping like {{op: conv, ...}} or an op name, not {kind_of(item)}", loc)
    entry = Entry(loc=loc, key_locs=item.key_locs)
    if "name" in item:
        entry.name = check_name(item["name"], item.value_locs["name"], f"{within}layer name")
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
        entry.layers = read_entries(item, "layers", entries, prefix.rstrip(": "))
    else:
        value = item[kind]
        if not isinstance(value, str):
            raise SpecError(f"{prefix}'{kind}' must be a name, not {kind_of(value)}", item.value_locs[kind])
        setattr(entry, kind, value)
        entry.op_loc = item.value_locs[kind]
        entry.op_expr = kind == "op" and is_op_expression(value)
        entry.block_expr = kind == "block" and is_op_expression(value)
    if "from" in item:
        sources = item["from"]
        sources = list(sources) if isinstance(sources, YList) else [sources]
        for s in sources:
            if not isinstance(s, str):
                raise SpecError(f"{prefix}'from' names earlier layers, not {kind_of(s)}", item.value_locs["from"])
        if not sources:
            raise SpecError(f"{prefix}'from' names no layer", item.value_locs["from"])
        entry.sources, entry.sources_loc = sources, item.value_locs["from"]
    if "repeat" in item:
        entry.repeat = plain_value(item, "repeat", item.value_locs["repeat"], prefix)
    if "parallel" in item:
        entry.parallel = item["parallel"]
        if not isinstance(entry.parallel, bool):
            raise SpecError(f"{prefix}'parallel' is true or false, not {kind_of(entry.parallel)}", item.value_locs["parallel"])
        if entry.parallel and kind == "op":
            raise SpecError(f"{prefix}'parallel' repeats a block or an inline 'layers' sequence side by side, not an op "
                            "(its repetitions would all be the same)", item.key_locs["parallel"])
        if entry.parallel and "repeat" not in item:
            raise SpecError(f"{prefix}'parallel' needs 'repeat': the number of branches", item.key_locs["parallel"])
    if "if" in item:
        entry.cond = plain_value(item, "if", item.value_locs["if"], prefix)
    if "shares" in item:
        if kind != "op":
            raise SpecError(f"{prefix}'shares' belongs to an op layer: it names the layer whose parameters this one "
                            "uses", item.key_locs["shares"])
        if not isinstance(item["shares"], str) or not item["shares"]:
            raise SpecError(f"{prefix}'shares' names an earlier layer, not {kind_of(item['shares'])}",
                            item.value_locs["shares"])
        entry.shares = Value(item["shares"], item.value_locs["shares"])
    for key in ("args", "first"):
        if key in item:
            if kind == "op":
                raise SpecError(f"{prefix}'{key}' belongs to a block, not to op '{shown(entry.op)}'", item.key_locs[key])
            if kind == "layers":
                raise SpecError(f"{prefix}'{key}' belongs to a block: an inline 'layers' sequence takes no arguments",
                                item.key_locs[key])
            arg_map = mapping_value(item, key, f"{prefix}'{key}'")
            setattr(entry, key, {a: plain_value(arg_map, a, arg_map.value_locs[a], prefix) for a in arg_map})
    for key in item:
        if key in ENTRY_KEYS:
            continue
        if kind != "op":
            raise SpecError(f"{prefix}unknown key '{shown(key)}'{did_you_mean(key, ENTRY_KEYS)}", item.key_locs[key])
        entry.params[key] = plain_value(item, key, item.value_locs[key], prefix)
    return entry
