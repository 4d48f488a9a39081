"""Repeated blocks: the entry lists of a group's numbered children (`layer1.0`, `layer1.1`, ...) merged into one
block with `repeat:` where they differ only where a block argument can say so (`hierarchy` describes the rules),
and the entries both modules write."""

from __future__ import annotations

from dataclasses import dataclass, field

from costcalc.importers.onnx.naming import spec_name

# layers a repeated block may switch on and off by `if:` (ResNet's first bottleneck adds a downsample; a
# MobileNetV2 stage's first unit has no residual); numbered children differing in more are written one by one
MAX_SWITCHES = 2


@dataclass
class Entry:
    """One entry of a spec's layer list, before it is located and written."""

    name: str
    op: str | None = None  # a layer's op
    args: dict = field(default_factory=dict)  # the op's arguments in the op function's form
    sources: list | None = None  # `from:` names; None: the entry before it
    layers: list | None = None  # a nested list of entries
    block: str | None = None  # a block used with `repeat:`
    repeat: int | None = None
    block_args: dict = field(default_factory=dict)  # name -> value or expression text
    first: dict = field(default_factory=dict)
    cond: str | None = None  # `if:` expression
    loc: object = None
    note: str = ""
    origin: object = None  # the imported Layer of an op entry
    shares: object = None  # the Layer whose weights it reads (`shared`), its full name once nested


@dataclass
class Block:
    name: str
    args: dict  # name -> default
    layers: list  # [Entry]



def base_ref(ref: str) -> str:
    """The layer a ref names (`split.1` is output 1 of layer `split`)."""
    return ref.rpartition(".")[0] if ref.rpartition(".")[2].isdigit() and "." in ref else ref



def unique(name: str, used: set, suffixes: dict | None = None) -> str:
    """`name`, or `name_2`, `name_3`, ... the first not in `used` (then added to it). `suffixes` (base -> the
    next suffix to try), kept by a caller that names many, makes naming n equal bases linear, not quadratic."""
    candidate, k = name, (suffixes or {}).get(name, 2)
    if candidate in used:
        candidate = f"{name}_{k}"
        while candidate in used:
            k += 1
            candidate = f"{name}_{k}"
        if suffixes is not None:
            suffixes[name] = k + 1
    used.add(candidate)
    return candidate



def _effective_inputs(entries: list) -> dict:
    """name -> the names an entry reads (`from:`, or the entry before it)."""
    out, previous = {}, "input"
    for e in entries:
        out[e.name] = list(e.sources) if e.sources is not None else [previous]
        previous = e.name
    return out


def _same_group(a: Entry, b: Entry) -> bool:
    if (a.layers is None) != (b.layers is None) or a.block != b.block or a.repeat != b.repeat:
        return False
    if a.layers is None:
        return a.op == b.op and a.args == b.args and a.block_args == b.block_args and a.first == b.first
    return len(a.layers) == len(b.layers) and all(
        x.name == y.name and x.sources == y.sources and x.cond == y.cond and _same_group(x, y)
        for x, y in zip(a.layers, b.layers))


def repeat_block(name: str, lists: list, blocks: list, block_names: set, kind: str | None = None) -> Entry | None:
    """One block with `repeat:` for the repetitions' entry lists, or None when they differ beyond its arguments
    or share fewer layers than they switch; named after the module class `kind` when given."""
    per_rep: dict = {}
    layers = _merge(lists, per_rep, "")
    if layers is None:
        return None
    if _switches(layers) > MAX_SWITCHES:  # a list of different modules (torchvision's features): not one block
        return None
    block = Block(unique(spec_name(kind) if kind else f"{name}_block", block_names), {}, layers)
    first, given = {}, {}
    if any(isinstance(v, (list, tuple)) and len(set(map(str, values))) > 1 for values in per_rep.values()
           for v in values):  # a list varying by repetition (Inception-v4's 1x7 and 7x1 kernels): an expression
        return None         # indexes numbers only, so the repetitions are written out
    for arg, values in per_rep.items():
        rest = values[1:]
        if all(v == rest[0] for v in rest):
            block.args[arg] = rest[0]
            if values[0] != rest[0]:
                first[arg] = values[0]
        else:
            block.args[arg] = values[-1]
            given[arg] = "[" + ", ".join(_expr(v) for v in values) + "][i]"
    same = next((b for b in blocks if b.args == block.args and _form(b.layers) == _form(block.layers)), None)
    if same is not None:  # the block of an earlier repetition, or of an earlier stage
        block_names.discard(block.name)
        block = same
    else:
        blocks.append(block)
    return Entry(name, block=block.name, repeat=len(lists), block_args=given, first=first, loc=layers[0].loc)


def _switches(entries: list) -> int:
    """How many entries of a block's (nested) lists are switched by `if:`."""
    return sum((e.cond is not None) + (_switches(e.layers) if e.layers is not None else 0) for e in entries)


def _form(entries: list) -> tuple:
    """What a list of entries says, without where it came from: equal forms are the same layers."""
    return tuple((e.name, e.op, tuple(sorted((k, str(v)) for k, v in e.args.items())), tuple(e.sources or ()),
                  e.block, e.repeat, tuple(sorted(e.block_args.items())), tuple(sorted(e.first.items())), e.cond,
                  _form(e.layers) if e.layers is not None else None) for e in entries)


def _merge(lists: list, per_rep: dict, prefix: str) -> list | None:
    """The template entries of one list in every repetition (None for a repetition where the list's group is
    switched off), the differences made block arguments in `per_rep` (name -> one value per repetition)."""
    live = [entries for entries in lists if entries is not None]
    order = _union([[e.name for e in entries] for entries in live])
    if not order:
        return None
    versions_of = {n: [e for entries in live for e in entries if e.name == n] for n in order}
    t_inputs, previous, first_inputs = {}, "input", {}
    for entries in live:
        inputs = _effective_inputs(entries)
        for e in entries:
            first_inputs.setdefault(e.name, inputs[e.name])
    for n in order:  # an entry reads the entry before it, if it does so everywhere, else what it reads first
        t_inputs[n] = [previous] if all(v.sources is None for v in versions_of[n]) else first_inputs[n]
        previous = n
    previous = "input"
    for entries in live:
        present = {e.name for e in entries}
        inputs = _effective_inputs(entries)
        if any([_resolve(n, present, t_inputs) for n in t_inputs[e.name]] != inputs[e.name] for e in entries):
            return None
        if entries and _resolve(order[-1], present, t_inputs) != entries[-1].name:  # the list's output
            return None
    template = []
    for n in order:
        t = versions_of[n][0]
        sources = None if t_inputs[n] == [previous] else list(t_inputs[n])
        template.append(Entry(n, op=t.op, args=t.args, sources=sources, layers=t.layers, block=t.block,
                              repeat=t.repeat, block_args=t.block_args, first=t.first, cond=t.cond, loc=t.loc,
                              note=t.note))
        previous = n
    by_name = [None if entries is None else {e.name: e for e in entries} for entries in lists]
    merged = []
    for t in template:
        versions = [None if p is None else p.get(t.name) for p in by_name]
        entry = Entry(t.name, op=t.op, args=dict(t.args), sources=t.sources, layers=t.layers, block=t.block,
                      repeat=t.repeat, block_args=t.block_args, first=t.first, loc=t.loc, note=t.note)
        if any(p is not None and v is None for p, v in zip(by_name, versions)):
            if len(t_inputs[t.name]) != 1:  # switched off, a layer passes on its one input
                return None
            arg = _arg_name(f"with_{prefix}{t.name}", per_rep)
            per_rep[arg] = [0 if p is not None and v is None else 1 for p, v in zip(by_name, versions)]
            entry.cond = arg
        known = [v for v in versions if v is not None]
        if t.layers is not None:
            inner = _merge([v.layers if v is not None else None for v in versions], per_rep, f"{prefix}{t.name}_")
            if inner is None or any(v.layers is None for v in known):
                return None
            entry.layers = inner
        elif t.op is None:
            if not all(_same_group(t, v) for v in known):
                return None
        else:
            if any(v.op != t.op for v in known):
                return None
            for key in sorted({k for v in known for k in v.args}):
                values = [_square(v.args.get(key)) if v is not None else None for v in versions]
                present = [v for v in values if v is not None]
                if len(present) != len(known):
                    return None
                if all(v == present[0] for v in present):
                    continue
                arg = _arg_name(f"{prefix}{t.name}_{key}", per_rep)
                fill = present[-1]
                per_rep[arg] = [v if v is not None else fill for v in values]
                entry.args[key] = arg
        merged.append(entry)
    return merged


def _union(orders: list) -> list:
    """One order of all the names that keeps each repetition's order (a name met first is put after the name
    before it); [] when two repetitions order their common names differently."""
    merged: list = []
    for names in orders:
        at = 0
        for n in names:
            if n in merged:
                k = merged.index(n)
                if k < at:
                    return []
                at = k + 1
            else:
                merged.insert(at, n)
                at += 1
    return merged


def _resolve(name: str, present: set, t_inputs: dict, depth: int = 0):
    """What a name of the template stands for in a repetition where some entries are left out (switched off, an
    entry passes its one input on)."""
    base = base_ref(name)
    if name == "input" or base in present or depth > len(t_inputs) or base not in t_inputs:
        return name
    passed = t_inputs[base]
    return _resolve(passed[0], present, t_inputs, depth + 1) if len(passed) == 1 else None


def _arg_name(base: str, taken: dict) -> str:
    name = spec_name(base).replace("-", "_")
    return unique(name, set(taken))


def _square(value):
    """A pair as a spec writes it: one number when square."""
    if isinstance(value, tuple) and len(value) == 2:
        return value[0] if value[0] == value[1] else list(value)
    return value


def _expr(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value) if not isinstance(value, list) else "[" + ", ".join(map(str, value)) + "]"
