"""The model's hierarchy: the imported layers, each at its module path (`naming.module_path`), nested into the
groups a hand-written spec would have, and a group of identical numbered children (torch's `nn.Sequential`
stage `layer1.0`, `layer1.1`, ...) written as one block with `repeat:`.

A group is written as a nested `layers:` entry only where the spec language can say it: it reads one tensor from
outside (its input) and only its last layer's output is read outside it. A group that does not (DenseNet's dense
layers read every earlier one), or whose layers are not consecutive, is flattened into its parent, its layers'
names prefixed with its own.

Numbered children `0 .. n-1` become `{name: layer1, block: layer1_block, repeat: n}` when their layer lists
differ only where a block argument can say so: an argument's value (the first bottleneck's stride, as
`first: {conv2_stride: 2}`, or one value per repetition, `"[1, 2, 1][i]"`), or a layer present in some
repetitions only (the first bottleneck's `downsample`, switched by `if:`; a switched-off layer passes its input
on, as the other repetitions read it). Otherwise they are written one by one, named `layer1_0`, `layer1_1`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from costcalc.importers.onnx.naming import spec_name


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


@dataclass
class Block:
    name: str
    args: dict  # name -> default
    layers: list  # [Entry]


@dataclass
class _Group:
    name: str
    items: list = field(default_factory=list)  # _Group or Layer, in order


def nest(layers: list, output_ref: str) -> tuple:
    """(the top-level entries, the blocks they use) for the imported `layers`."""
    root = _tree(layers)
    readers = _readers(layers, output_ref)
    blocks: list = []
    return _scope(root.items, "input", readers, blocks, set()), blocks


def _paths(layers: list) -> list:
    """Each layer's path: its module's path; in a module that holds other modules too (a block's `add`), or at
    the top, the path goes on with the layer's costcalc op (`add`, `flatten`: the exporters' own names, `Add_3`,
    `view_1`, carry counters and aten's words); a name met twice in one place gets `_2`, `_3`, ..."""
    modules = [tuple(spec_name(c) if not c.isdigit() else c for c in layer.module[0]) for layer in layers]
    prefixes = {m[:k] for m in modules for k in range(len(m))}
    paths, seen = [], set()
    for layer, m in zip(layers, modules):
        if not m or m in prefixes:
            m = (*m, layer.op)
        path, k = m, 2
        while path in seen:
            path, k = (*m[:-1], f"{m[-1]}_{k}"), k + 1
        seen.add(path)
        paths.append(path)
    return paths


def _tree(layers: list) -> _Group:
    """Layers grouped by their paths' prefixes, a group per run of consecutive layers under one prefix."""
    root = _Group("")
    for layer, path in zip(layers, _paths(layers)):
        group = root
        for comp in path[:-1]:
            last = group.items[-1] if group.items else None
            if not (isinstance(last, _Group) and last.name == comp):
                last = _Group(comp)
                group.items.append(last)
            group = last
        layer.local = path[-1]
        group.items.append(layer)
    return root


def _readers(layers: list, output_ref: str) -> dict:
    """ref -> indices (in `layers`) of the layers reading it; the graph's output is read by index len(layers)."""
    readers: dict = {}
    for i, layer in enumerate(layers):
        layer.index = i
        for ref in layer.inputs:
            readers.setdefault(_base(ref), set()).add(i)
    readers.setdefault(_base(output_ref), set()).add(len(layers))
    return readers


def _base(ref: str) -> str:
    """The layer a ref names (`split.1` is output 1 of layer `split`)."""
    return ref.rpartition(".")[0] if ref.rpartition(".")[2].isdigit() and "." in ref else ref


def _members(item) -> list:
    return [item] if not isinstance(item, _Group) else [m for i in item.items for m in _members(i)]


def _boundary(group: _Group, readers: dict):
    """The group's one input ref, when it reads one tensor from outside and only its last layer is read outside;
    else None."""
    members = _members(group)
    inside = {m.name for m in members}
    indices = {m.index for m in members}
    outside = {ref for m in members for ref in m.inputs if _base(ref) not in inside}
    last = members[-1]
    if len(outside) != 1 or last.outputs != 1:
        return None
    for m in members[:-1]:
        if readers.get(m.name, set()) - indices:
            return None
    return next(iter(outside))


def _own_name(item) -> str:
    return item.name if isinstance(item, _Group) else item.local


def _scope(items: list, scope_input: str, readers: dict, blocks: list, block_names: set, parent: str = "") -> list:
    """The entries of one list: `items` (layers and groups) reading `scope_input` as `input`; a numbered item is
    named after `parent` (`layer1_0`)."""
    expanded: list = []  # (item, the name it has here)
    queue = [(item, _display(_own_name(item), parent)) for item in items]
    runs: dict = {}
    for item in items:
        if isinstance(item, _Group):
            runs[item.name] = runs.get(item.name, 0) + 1
    while queue:  # groups the spec language cannot say, or split in several runs, are flattened into this list
        item, name = queue.pop(0)
        if isinstance(item, _Group) and (runs.get(item.name, 0) > 1 or _boundary(item, readers) is None):
            queue[:0] = [(child, f"{name}_{_own_name(child)}") for child in item.items]
        else:
            expanded.append((item, name))
    names: dict = {scope_input: "input"}  # ref -> the name this list knows it by
    used: set = set()
    entries = []
    previous = scope_input
    for item, name in expanded:
        local = _unique(spec_name(name), used)
        if isinstance(item, _Group):
            source = _boundary(item, readers)
            entry = _group_entry(item, local, source, readers, blocks, block_names)
            inputs, out = [source], _members(item)[-1].name
        else:
            entry = Entry(local, op=item.op, args=item.args, loc=item.loc, note=item.note)
            inputs, out = item.inputs, item.name
        if inputs != [previous]:
            entry.sources = [_local_ref(ref, names) for ref in inputs]
        names[out] = local
        previous = out if isinstance(item, _Group) or item.outputs == 1 else None
        entries.append(entry)
    return entries


def _display(name: str, parent: str) -> str:
    if not name.isdigit():
        return name
    return f"{parent}_{name}" if parent else f"n{name}"


def _local_ref(ref: str, names: dict) -> str:
    if ref in names:
        return names[ref]
    base, _, k = ref.rpartition(".")
    return f"{names[base]}.{k}"


def _unique(name: str, used: set) -> str:
    candidate, k = name, 2
    while candidate in used:
        candidate, k = f"{name}_{k}", k + 1
    used.add(candidate)
    return candidate


def _group_entry(group: _Group, local: str, source: str, readers: dict, blocks: list, block_names: set) -> Entry:
    children = group.items
    first = _members(group)[0]
    numbered = all(isinstance(c, _Group) and c.name == str(k) for k, c in enumerate(children))
    if numbered and all(_boundary(c, readers) is not None for c in children):
        trial_blocks, trial_names = list(blocks), set(block_names)  # kept only if the repeat is written
        lists = [_scope(c.items, _boundary(c, readers), readers, trial_blocks, trial_names, c.name)
                 for c in children]
        repeated = _repeat(local, lists, trial_blocks, trial_names)
        if repeated is not None:
            blocks[:] = trial_blocks
            block_names.update(trial_names)
            return repeated
    if all(not isinstance(c, _Group) and c.local == str(k) for k, c in enumerate(children)):
        chained = all(c.inputs == [children[k - 1].name if k else source] for k, c in enumerate(children))
        if chained and all(c.op == first.op and c.args == first.args and c.outputs == 1 for c in children):
            return Entry(local, op=first.op, args=first.args, repeat=len(children), loc=first.loc, note=first.note)
    return Entry(local, layers=_scope(children, source, readers, blocks, block_names, local), loc=first.loc)


# ---- repeated blocks -------------------------------------------------------------------------------------------


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


def _repeat(name: str, lists: list, blocks: list, block_names: set) -> Entry | None:
    """One block with `repeat:` for the repetitions' entry lists, or None when they differ beyond its arguments."""
    per_rep: dict = {}
    layers = _merge(lists, per_rep, "")
    if layers is None:
        return None
    block = Block(_unique(f"{name}_block", block_names), {}, layers)
    first, given = {}, {}
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
    base = _base(name)
    if name == "input" or base in present or depth > len(t_inputs) or base not in t_inputs:
        return name
    passed = t_inputs[base]
    return _resolve(passed[0], present, t_inputs, depth + 1) if len(passed) == 1 else None


def _arg_name(base: str, taken: dict) -> str:
    name = spec_name(base).replace("-", "_")
    return _unique(name, set(taken))


def _square(value):
    """A pair as a spec writes it: one number when square."""
    if isinstance(value, tuple) and len(value) == 2:
        return value[0] if value[0] == value[1] else list(value)
    return value


def _expr(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value) if not isinstance(value, list) else "[" + ", ".join(map(str, value)) + "]"
