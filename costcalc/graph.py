"""The graph walker: expands a spec's blocks and repeats into a DAG of nodes in topological order, evaluating
every expression and inferring every shape on the way. Each node carries its op's OpResult and its Counts; the
records, Node and Graph, are costcalc.nodes (imported from here too).

Naming: a node's name is the path of names from the top (`layer2.0.conv2`); a repeated block or op adds the
repetition index whenever the entry has `repeat:` (even when it is 1); an unnamed entry is named after its op or
block, `_` and its position in its list (`relu6_2`).
Inside a block, `from: input` names the block's input; `from: name.k` names output k of a split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from costcalc import reuse, sharing
from costcalc.errors import SpecError, did_you_mean
from costcalc.nodes import Graph, Node  # noqa: F401 - costcalc.graph.Graph for callers
from costcalc.ops import OpError, account
from costcalc.ops.tensor import MAX_RANK
from costcalc.spec.calls import block_call, op_call
from costcalc.spec.inputs import bind_input, bound_read, check_bound_input, named_inputs, unread_inputs
from costcalc.spec.model import Entry, Spec, Value, auto_name, name_clash
from costcalc.spec.static_check import check  # noqa: F401 - costcalc.graph.check for callers
from costcalc.spec.values import (INPUT_VARS, MAX_DIM, choose_op, chosen_block, evaluate_value, integer, op_args,
                                  spec_variables, vars_lookup)
from costcalc.util import gc_paused

# Limits, each with its own message. Pre-act ResNet-1001 has 3,339 layers and DenseNet-264 931; a generated
# 100,000-layer spec passes with room to spare; at ~1 KiB a node (~2 KiB with the JSON report), the largest graph
# stays within a few hundred MiB (benchmarks/limits.py measures it).
MAX_NODES = 250_000  # layers after expanding blocks and repeats
MAX_STEPS = 4 * MAX_NODES  # entries visited while expanding, switched-off (`if`) and empty ones included
MAX_REPEAT = MAX_NODES
LAYER_VARS = ("in_channels", "in_height", "in_width")


def build(spec: Spec, overrides: dict | None = None, input_shape: tuple | None = None, batch: int = 1,
          checked: bool = False) -> Graph:
    """Walk `spec` into a Graph. `overrides` maps variable names to expression text (from `--set`). The static
    `check` runs first unless the caller already ran it (`checked`)."""
    if not checked:
        check(spec)
    with gc_paused():
        return _Walker(spec, batch).run(overrides or {}, input_shape)


@dataclass
class _Scope:
    path: tuple
    kinds: tuple
    env: dict
    input: object  # a tensor id, or a tuple of them (after a split, or a block's several inputs)
    outer: tuple = ()  # the names of the enclosing lists, innermost first: an inline sequence reads them too
    names: dict = field(default_factory=dict)  # the names of this list, as they are walked
    own: frozenset = frozenset()  # the names `env` binds itself (the block's arguments), not the spec's variables


class _Walker:
    def __init__(self, spec: Spec, batch: int):
        self.spec = spec
        self.batch = batch
        self.tensors: list = []
        self.nodes: list = []
        self.globals: dict = {}
        self.active_blocks: list = []
        self.inputs: dict = {}
        self.recordings: dict = {}  # costcalc.reuse.key(...) -> Recording: blocks walked once, replayed after
        self.results: dict = {}  # costcalc.reuse.op_key(...) -> OpUse: an op entry's evaluation, reused after
        self.reads: list | None = None  # (tensor id, dimension) read by expressions, when a subclass notes them
        self.nodes_elsewhere = 0  # layers made but not held in `nodes` (costcalc.analysis.parts counts them)

    # ---- top level ------------------------------------------------------------------------------------------

    def run(self, overrides: dict, input_shape) -> Graph:
        out = self.output(overrides, input_shape)
        return Graph(self.spec.name, self.spec.path, self.batch, self.tensors, self.nodes, out, self.globals, self.spec,
                     self.inputs, unread_inputs(self.spec, self.inputs, self.nodes))

    def output(self, overrides: dict, input_shape) -> int:
        """Walk the network into `tensors` and `nodes`: the tensor id of its output."""
        self.steps = 0
        bound = bind_input(self.spec, overrides, input_shape)  # `input: [3, H, W]` with --input: H, W from it
        self.globals = spec_variables(self.spec, {**overrides, **bound})
        if input_shape and not isinstance(self.spec.input.raw, dict):
            check_bound_input(self.spec, overrides, bound, input_shape, self.input_shape(self.spec.input, "input"))
            if self.reads is not None and bound_read(self.spec, bound):
                self.reads.extend((0, axis) for axis in range(len(input_shape)))  # a replay needs the same input
        if input_shape and max(input_shape) > MAX_DIM:
            raise SpecError(f"--input: a dimension of {max(input_shape):,} is beyond the limit of {MAX_DIM:,}",
                            self.spec.input.loc if self.spec.input else self.spec.loc)
        shapes = {"input": tuple(input_shape)} if input_shape else self.input_shapes()
        if input_shape and isinstance(self.spec.input.raw, dict):
            raise SpecError(f"--input gives the shape of a network with one input; this one has {len(self.spec.input.raw)} "
                            f"({', '.join(self.spec.input.raw)})", self.spec.input.loc)
        self.inputs = {name: t for t, name in enumerate(shapes)}
        self.tensors.extend(shapes.values())
        names = self.inputs if len(shapes) > 1 else None  # several inputs: the top level reads them by name
        out = self.sequence(self.spec.layers, _Scope((), (), self.globals, 0), names)
        if isinstance(out, tuple):
            raise SpecError("the network ends in a split: its last layer must have one output", self.spec.layers[-1].loc)
        return out

    def input_shapes(self) -> dict:
        """input name -> shape: {"input": shape} for `input: [C, H, W]`, or the names of `input: {name: shape}`."""
        value = self.spec.input
        if isinstance(value.raw, dict):
            return dict(named_inputs(value, self.input_shape, self.spec.layers))
        return {"input": self.input_shape(value, "input")}

    def input_shape(self, value: Value, what: str) -> tuple:
        raw = value.raw
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_RANK:
            raise SpecError(f"'{what}' is [C, H, W] (or [F] for a flat input; any shape of 1 to {MAX_RANK} sizes "
                            "per sample: C x L, L x C tokens, C x D x H x W)", value.loc)
        locs = getattr(raw, "item_locs", [value.loc] * len(raw))
        return tuple(integer(Value(r, loc), vars_lookup(self.globals), what, 1) for r, loc in zip(raw, locs))

    # ---- sequences and entries ------------------------------------------------------------------------------

    def sequence(self, entries: list, scope: _Scope, inputs: dict | None = None):
        """Walk a list of entries; `inputs` names the network's inputs, when it has several (the top level)."""
        names: dict = dict(inputs) if inputs else {}
        scope.names = names
        later = {e.name for e in entries if e.name}
        current = scope.input
        for pos, entry in enumerate(entries):
            name = entry.name or auto_name(entry, pos)
            label = ".".join(scope.path + (name,))
            if name in names:
                if inputs and name in inputs:
                    raise SpecError(f"layer '{label}': '{name}' names an input of the network", entry.loc)
                raise SpecError(f"layer '{label}': the name is used twice in this list{name_clash(entries, name)}", entry.loc)
            later.discard(name)
            if entry.sources:
                inputs = [t for s in entry.sources for t in self.resolve(s, names, later, scope, entry, label)]
            elif isinstance(current, tuple):
                raise SpecError(f"layer '{label}': the layer before it has {len(current)} outputs: say which with "
                                f"'from: <name>.<k>'", entry.loc)
            else:
                inputs = [current]
            names[name] = current = self.entry(entry, name, inputs, scope)
        return current

    def resolve(self, source: str, names: dict, later: set, scope: _Scope, entry: Entry, name: str) -> list:
        """A `from:` name -> the tensor ids it stands for."""
        base, _, index = source.partition(".")
        if base == "input":
            if not scope.path and len(self.inputs) > 1:
                raise SpecError(f"layer '{name}': from 'input': the network has several inputs: name one "
                                f"({', '.join(self.inputs)})", entry.sources_loc)
            value = scope.input
        elif base in names:
            value = names[base]
        elif base in later or base == name.rpartition(".")[2]:
            raise SpecError(f"layer '{name}': from '{source}': '{base}' does not come before this layer "
                            "(a layer may only read earlier ones, so the graph has no cycle)", entry.sources_loc)
        elif any(base in outer for outer in scope.outer):  # an inline sequence reads the lists around it
            value = next(outer[base] for outer in scope.outer if base in outer)
        else:
            seen = [*names, *(n for outer in scope.outer for n in outer)]
            hint = did_you_mean(base, [*seen, "input"]) or (f" (earlier layers here: {', '.join(seen)})" if seen else "")
            raise SpecError(f"layer '{name}': from '{source}' names no earlier layer{hint}", entry.sources_loc)
        if not index:
            return list(value) if isinstance(value, tuple) else [value]
        outputs = value if isinstance(value, tuple) else (value,)
        if not (index.isascii() and index.isdigit()) or int(index) >= len(outputs):
            raise SpecError(f"layer '{name}': from '{source}': '{base}' has {len(outputs)} output(s), "
                            f"numbered from 0", entry.sources_loc)
        return [outputs[int(index)]]

    def entry(self, entry: Entry, name: str, inputs: list, scope: _Scope):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise SpecError(f"layer '{'.'.join(scope.path + (name,))}': the network expands to more than the limit "
                            f"of {MAX_STEPS:,} layer entries (repeats and switched-off layers included)", entry.loc)
        lookup = self.layer_lookup(inputs[0], scope.env, scope.own)
        label = ".".join(scope.path + (name,))
        if entry.cond is not None and not evaluate_value(entry.cond, lookup, f"layer '{label}': 'if'"):
            return inputs[0]  # switched off: it passes its (first) input on
        repeat = 1
        if entry.repeat is not None:
            repeat = integer(entry.repeat, lookup, f"layer '{label}': 'repeat'", 0)
            if repeat > MAX_REPEAT:
                raise SpecError(f"layer '{label}': repeat={repeat:,} is beyond the limit of {MAX_REPEAT:,}", entry.repeat.loc)
        if repeat == 0:  # no repetition: like a layer switched off, the entry passes its input on
            if len(inputs) != 1:
                raise SpecError(f"layer '{label}': a layer repeated 0 times passes on its one input, "
                                f"but it has {len(inputs)}", entry.repeat.loc)
            return inputs[0]
        if entry.op is not None:
            return self.op_entry(entry, name, inputs, scope, repeat)
        if entry.block_expr:  # chosen once, where the entry is walked, like an op expression
            entry = chosen_block(entry, lookup, f"layer '{label}'", self.spec.blocks)
        kind = entry.block if entry.block is not None else "layers"
        start = inputs[0] if len(inputs) == 1 else tuple(inputs)  # a block of several inputs: input.0, input.1, ...
        current, branches = start, []
        numbered = entry.repeat is not None  # `repeat:` numbers its repetitions, even when it is 1
        for r in range(repeat):
            if entry.parallel:  # every repetition reads the entry's inputs: the outputs are name.0, name.1, ...
                current = start
            elif isinstance(current, tuple) and r:
                raise SpecError(f"layer '{label}': a repeated block must end in a layer with one output", entry.loc)
            suffix = (str(r),) if numbered else ()
            kinds = scope.kinds + ((f"{kind} x{repeat}", kind) if numbered else (kind,))
            path = scope.path + (name,) + suffix
            if entry.block is None:
                child = _Scope(path, kinds, scope.env, current, (scope.names, *scope.outer), own=scope.own)
                current = self.sequence(entry.layers, child)
            else:
                current = self.block(entry, name, path, kinds, current, r, scope)
            if entry.parallel:
                if isinstance(current, tuple):
                    raise SpecError(f"layer '{label}': each branch of a parallel repeat must end in a layer with one "
                                    "output", entry.loc)
                branches.append(current)
        return tuple(branches) if entry.parallel and repeat > 1 else current

    def block(self, entry: Entry, name: str, path: tuple, kinds: tuple, current: int, r: int, scope: _Scope):
        where = f"layer '{'.'.join(path)}'"
        definition, given = block_call(entry, self.spec.blocks, self.active_blocks, r, where)
        first_input = current[0] if isinstance(current, tuple) else current  # in_channels: of the first input
        caller = self.layer_lookup(first_input, {**scope.env, "i": r}, scope.own | {"i"})
        env = dict(self.globals)
        for n, (arg, default) in enumerate(definition.args.items()):
            if arg in given:
                env[arg] = evaluate_value(given[arg], caller, f"{where}: argument '{arg}'")
            elif default is None:
                raise SpecError(f"{where}: block '{entry.block}' needs argument '{arg}'", entry.loc)
            else:  # a default sees the spec's variables, the arguments before it and the block's input
                lookup = self.layer_lookup(first_input, env, frozenset(list(definition.args)[:n]))
                env[arg] = evaluate_value(default, lookup, f"block '{entry.block}': argument '{arg}'")
        shapes = tuple(self.tensors[t] for t in current) if isinstance(current, tuple) else self.tensors[current]
        key = reuse.key(entry.block, env, definition.args, shapes, self.active_blocks)
        out = self.recall(key, path, kinds, current)
        if out is not reuse.MISS:
            return out
        first = (len(self.nodes), len(self.tensors), len(self.reads or ()), self.steps)
        self.active_blocks.append(entry.block)
        try:
            out = self.sequence(definition.layers, _Scope(path, kinds, env, current, own=frozenset(definition.args)))
        finally:
            self.active_blocks.pop()
        self.remember(key, first, path, kinds, current, out)
        return out

    def recall(self, key: tuple, path: tuple, kinds: tuple, current: int):
        """The output of a block walked before in this walk with the same key, its layers re-emitted
        (costcalc.reuse), or reuse.MISS: then the block is walked, and `remember` is called after."""
        recording = self.recordings.get(key)
        if isinstance(recording, reuse.Span):
            recording = self.recordings[key] = reuse.record(self, recording)
        if recording is not None and self.steps + recording.steps <= MAX_STEPS \
                and len(self.nodes) + len(recording.nodes) <= MAX_NODES:
            return reuse.replay(self, recording, path, kinds, current, Node)
        return reuse.MISS

    def remember(self, key: tuple, first: tuple, path: tuple, kinds: tuple, current: int, out) -> None:
        if sharing.uses_shares(self.spec) and any(n.shares for n in self.nodes[first[0]:]):
            return  # a replay would keep the names its layers share: walked at each call
        if key not in self.recordings and len(self.recordings) < reuse.MAX_RECORDINGS:
            self.recordings[key] = reuse.Span(path, kinds, current, (first[0], len(self.nodes)),
                                              (first[1], len(self.tensors)), (first[2], len(self.reads or ())),
                                              self.steps - first[3], out)

    # ---- ops ------------------------------------------------------------------------------------------------

    def op_entry(self, entry: Entry, name: str, inputs: list, scope: _Scope, repeat: int):
        where = f"layer '{'.'.join(scope.path + (name,))}'"
        op = entry.op
        if entry.op_expr:
            op = choose_op(entry, self.layer_lookup(inputs[0], scope.env, scope.own), where)
        op, definition = op_call(entry, op, self.spec.blocks, len(inputs), where)
        current = inputs
        numbered = entry.repeat is not None  # `repeat:` numbers its repetitions, even when it is 1
        for r in range(repeat):
            path = scope.path + ((name, str(r)) if numbered else (name,))
            kinds = scope.kinds + ((f"{op} x{repeat}", op) if numbered else (op,))
            if repeat > 1 and len(current) != 1:
                raise SpecError(f"{where}: only an op with one input and one output can repeat",
                                entry.repeat.loc if entry.repeat is not None else entry.loc)
            # each repetition evaluates its arguments anew: `in_channels` is that of its own input; an entry met
            # before with the same text, input shapes and scope reuses what that evaluation gave (costcalc.reuse)
            key = reuse.op_key(op, entry, [self.tensors[t] for t in current], scope.env)
            known = self.results.get(key)
            if known is not None:
                out = self.emit(op, known, current, entry, path, kinds)
            else:
                first_read = len(self.reads or ())
                args = op_args(entry, definition, self.layer_lookup(current[0], scope.env, scope.own), where)
                out = self.apply(op, definition, args, current, entry, path, kinds)
                if len(self.results) < reuse.MAX_RESULTS:
                    self.results[key] = reuse.op_result(self, self.nodes[-1], first_read, scope.env)
            if entry.shares is not None:
                sharing.share(self, entry, scope.path)
            current = list(out) if isinstance(out, tuple) else [out]
        return out

    def apply(self, op, definition, args, inputs, entry: Entry, path, kinds):
        name = ".".join(path)
        shapes = [self.tensors[t] for t in inputs]
        try:
            result = definition.apply(shapes, args)
        except OpError as e:
            value = entry.params.get(e.key) if e.key else None
            raise SpecError(f"layer '{name}': {e}", value.loc if value is not None else entry.loc) from None
        self.room(name, entry)
        for shape in result.outputs:
            for d in shape:
                if d > MAX_DIM:
                    raise SpecError(f"layer '{name}': a dimension of {d:,} is beyond the limit of {MAX_DIM:,}", entry.loc)
        return self.add(name, path, kinds, op, args, inputs, result, account(result, shapes, self.batch), entry)

    def emit(self, op, known, inputs, entry: Entry, path, kinds):
        """A layer whose arguments, OpResult and Counts are those of an earlier one (costcalc.reuse.op_result)."""
        name = ".".join(path)
        self.room(name, entry)
        if self.reads is not None:
            self.reads.extend((inputs[0], axis) for axis in known.axes)
        return self.add(name, path, kinds, op, known.args, inputs, known.result, known.counts, entry)

    def room(self, name: str, entry: Entry) -> None:
        if len(self.nodes) + self.nodes_elsewhere >= MAX_NODES:
            raise SpecError(f"layer '{name}': the network expands to more than the limit of {MAX_NODES:,} layers",
                            entry.loc)

    def add(self, name, path, kinds, op, args, inputs, result, counts, entry: Entry):
        outputs = tuple(range(len(self.tensors), len(self.tensors) + len(result.outputs)))
        self.tensors.extend(result.outputs)
        self.nodes.append(Node(name, path, kinds, op, args, tuple(inputs), outputs, result, counts, entry.loc))
        return outputs[0] if len(outputs) == 1 else outputs

    # ---- values ---------------------------------------------------------------------------------------------

    def layer_lookup(self, tensor, env: dict, own: frozenset = frozenset()):
        """Variables for a layer's expressions: the scope's (`own`: those it binds itself, not the spec's), plus its
        input's in_channels / in_height / in_width. The walk reads shapes only here and in the ops (analysis.totals)."""
        shape = self.tensors[tensor] if isinstance(tensor, int) else ()
        network = self.tensors[0]

        def lookup(name):
            if name in LAYER_VARS:
                i = LAYER_VARS.index(name)
                if i >= len(shape):
                    raise KeyError(name)
                return shape[i]
            if name in INPUT_VARS and name not in env:
                i = INPUT_VARS.index(name)
                if i >= len(network):
                    raise KeyError(name)
                return network[i]
            return env[name]

        return lookup


def load(path: str, overrides: dict | None = None, input_shape: tuple | None = None, batch: int = 1) -> Graph:
    """Read the spec at `path` and walk it. A model file of another format (`.onnx`) is imported first, at
    `input_shape` when given; a YAML spec's reader errors and the static check's are reported together."""
    from costcalc.importers import importer_for

    importer = importer_for(path)
    if importer is not None:
        return build(importer.read_spec(path, input_shape), overrides, input_shape, batch)
    from costcalc.spec.reader import read_partial

    with gc_paused():  # a value, a position and an entry per line of the file
        spec, errors = read_partial(path)
        check(spec, errors)  # the reader's errors and the ops' together, in file order
    errors.raise_any()
    return build(spec, overrides, input_shape, batch, checked=True)
