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
    numbered = len(children) > 1 and all(isinstance(c, _Group) and c.name == str(k) for k, c in enumerate(children))
    if numbered and all(_boundary(c, readers) is not None for c in children):
        trial_blocks, trial_names = [], set(block_names)
        lists = [_scope(c.items, _boundary(c, readers), readers, trial_blocks, trial_names, c.name)
                 for c in children]
        repeated = _repeat(local, lists, trial_blocks, trial_names)
        if repeated is not None:
            blocks.extend(trial_blocks)
            block_names.update(trial_names)
            return repeated
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
    template = max(lists, key=len)
    order = [e.name for e in template]
    by_name = [{e.name: e for e in entries} for entries in lists]
    for entries in lists:  # every repetition's layers are the template's, in its order, some left out
        names = iter(order)
        if not all(any(n == m for m in names) for n in (e.name for e in entries)):
            return None
    t_inputs = _effective_inputs(template)
    for entries, present in zip(lists, by_name):
        inputs = _effective_inputs(entries)

        def resolve(n, depth=0, present=present):
            if n == "input" or n in present or depth > len(order):
                return n
            passed = t_inputs[n]
            return resolve(passed[0], depth + 1) if len(passed) == 1 else None

        for e in entries:
            if [resolve(n) for n in t_inputs[e.name]] != inputs[e.name]:
                return None
    args, per_rep, layers = {}, {}, []
    n = len(lists)
    for t in template:
        entry = Entry(t.name, op=t.op, args=dict(t.args), sources=t.sources, layers=t.layers, block=t.block,
                      repeat=t.repeat, block_args=t.block_args, first=t.first, loc=t.loc, note=t.note)
        present = [t.name in p for p in by_name]
        if not all(present) and len(t_inputs[t.name]) != 1:  # switched off, a layer passes on its one input
            return None
        if not all(present):
            arg = _arg_name(f"with_{t.name}", args)
            args[arg], per_rep[arg] = None, [int(p) for p in present]
            entry.cond = arg
        versions = [p[t.name] for p in by_name if t.name in p]
        if t.layers is not None or t.op is None:
            if not all(_same_group(t, v) for v in versions):
                return None
        else:
            if any(v.op != t.op for v in versions):
                return None
            keys = {k for v in versions for k in v.args}
            for key in sorted(keys):
                values = [_square(p[t.name].args.get(key)) if t.name in p else None for p in by_name]
                known = [v for v in values if v is not None]
                if len(known) != sum(present) or not known:
                    return None
                if all(v == known[0] for v in known):
                    continue
                arg = _arg_name(f"{t.name}_{key}", args)
                fill = next(v for v in reversed(values) if v is not None)
                args[arg], per_rep[arg] = None, [v if v is not None else fill for v in values]
                entry.args[key] = arg
        layers.append(entry)
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
    blocks.append(block)
    return Entry(name, block=block.name, repeat=n, block_args=given, first=first, loc=template[0].loc if template
                 else None)


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
