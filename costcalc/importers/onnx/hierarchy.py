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
on, as the other repetitions read it), at most `repeats.MAX_SWITCHES` of them.
Otherwise they are written one by one, named `layer1_0`, `layer1_1`. The block is named after the children's
module class where the file records it (the dynamo exporter's metadata: `Bottleneck`, `CNBlock`), else
`layer1_block`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from costcalc.importers.onnx import shared
from costcalc.importers.onnx.naming import spec_name
from costcalc.importers.onnx.repeats import Entry, base_ref, repeat_block, unique


MAX_NESTING = 16  # module path components kept as groups; deeper ones join into one name (the spec language
# reads 64 levels of YAML nesting, two per nested `layers:` list)


@dataclass
class _Group:
    name: str
    items: list = field(default_factory=list)  # _Group or Layer, in order
    path: tuple = ()  # the module path it stands for
    kind: str | None = None  # the module's class, where the file records it


def nest(layers: list, output_ref: str, classes: dict | None = None) -> tuple:
    """(the top-level entries, the blocks they use) for the imported `layers`; `classes` maps module paths (their
    components) to the module's class name, where the file records them (`naming.module_classes`)."""
    root = _tree(layers, {_spec_path(path): name for path, name in (classes or {}).items()})
    readers = _readers(layers, output_ref)
    blocks: list = []
    entries = _scope(root.items, "input", readers, blocks, set())
    if any(layer.shares is not None for layer in layers):
        shared.resolve(entries)
    return entries, blocks


def _spec_path(components) -> tuple:
    return tuple(spec_name(c) if not c.isdigit() else c for c in components)


def _paths(layers: list) -> list:
    """Each layer's path: its module's path; in a module that holds other modules too (a block's `add`), or at
    the top, the path goes on with the layer's costcalc op (`add`, `flatten`: the exporters' own names, `Add_3`,
    `view_1`, carry counters and aten's words); a name met twice in one place gets `_2`, `_3`, ..."""
    modules = [_spec_path(layer.module[0]) for layer in layers]
    modules = [m if len(m) < MAX_NESTING else (*m[:MAX_NESTING - 1], "_".join(m[MAX_NESTING - 1:])) for m in modules]
    prefixes = {m[:k] for m in modules for k in range(len(m))}
    paths, used, suffixes = [], {}, {}  # per parent path: the names taken in it, the next suffix of each
    for layer, m in zip(layers, modules):
        if not m or m in prefixes:
            m = (*m, layer.op)
        parent = m[:-1]
        paths.append((*parent, unique(m[-1], used.setdefault(parent, set()), suffixes.setdefault(parent, {}))))
    return paths


def _tree(layers: list, classes: dict) -> _Group:
    """Layers grouped by their paths' prefixes, a group per run of consecutive layers under one prefix."""
    root = _Group("")
    for layer, path in zip(layers, _paths(layers)):
        group = root
        for comp in path[:-1]:
            last = group.items[-1] if group.items else None
            if not (isinstance(last, _Group) and last.name == comp):
                prefix = (*group.path, comp)
                last = _Group(comp, path=prefix, kind=classes.get(prefix))
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
            readers.setdefault(base_ref(ref), set()).add(i)
    readers.setdefault(base_ref(output_ref), set()).add(len(layers))
    return readers


def _members(item) -> list:
    """The layers in `item`, in order (a walk with a list, not recursion: groups nest up to MAX_NESTING)."""
    found, stack = [], [item]
    while stack:
        x = stack.pop()
        if isinstance(x, _Group):
            stack.extend(reversed(x.items))
        else:
            found.append(x)
    return found


def _boundary(group: _Group, readers: dict):
    """The group's one input ref, when it reads one tensor from outside and only its last layer is read outside;
    else None."""
    members = _members(group)
    inside = {m.name for m in members}
    indices = {m.index for m in members}
    outside = {ref for m in members for ref in m.inputs if base_ref(ref) not in inside}
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
    suffixes: dict = {}
    entries = []
    previous = scope_input
    for item, name in expanded:
        local = unique(spec_name(name), used, suffixes)
        if isinstance(item, _Group):
            source = _boundary(item, readers)
            entry = _group_entry(item, local, source, readers, blocks, block_names)
            inputs, out = [source], _members(item)[-1].name
        else:
            entry = Entry(local, op=item.op, args=item.args, loc=item.loc, note=item.note, origin=item,
                          shares=item.shares)
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


def _group_entry(group: _Group, local: str, source: str, readers: dict, blocks: list, block_names: set) -> Entry:
    children = group.items
    first = _members(group)[0]
    numbered = all(isinstance(c, _Group) and c.name == str(k) for k, c in enumerate(children))
    alike = not any(m.shares is not None or m.shared for m in _members(group))  # named one by one (`shared`)
    if alike and numbered and all(_boundary(c, readers) is not None for c in children):
        trial_blocks, trial_names = list(blocks), set(block_names)  # kept only if the repeat is written
        lists = [_scope(c.items, _boundary(c, readers), readers, trial_blocks, trial_names, c.name)
                 for c in children]
        kinds = {c.kind for c in children}
        repeated = repeat_block(local, lists, trial_blocks, trial_names, kinds.pop() if len(kinds) == 1 else None)
        if repeated is not None:
            blocks[:] = trial_blocks
            block_names.update(trial_names)
            return repeated
    if all(not isinstance(c, _Group) and c.local == str(k) for k, c in enumerate(children)):
        chained = all(c.inputs == [children[k - 1].name if k else source] for k, c in enumerate(children))
        if alike and chained and all(c.op == first.op and c.args == first.args and c.outputs == 1 for c in children):
            return Entry(local, op=first.op, args=first.args, repeat=len(children), loc=first.loc, note=first.note)
    return Entry(local, layers=_scope(children, source, readers, blocks, block_names, local), loc=first.loc)
