"""Totals of one spec at many settings, fast: a walk remembered and replayed.

What a walk decides — which layers exist, their ops, arguments and wiring — depends only on the spec's variables,
the batch, and the dimensions its expressions read from tensor shapes (`in_channels`, `in_height`, `in_width`,
which the walker reads in one place, `layer_lookup`). A walk made through `_RecordingWalker` notes each such read.
Its nodes are then a program: for another input shape under the same variables, `_replay` runs the same ops on
the new shapes, and when every dimension the walk read is unchanged, the walk would have decided the same, so the
replayed shapes and Counts are exactly those of a new walk. A width x resolution sweep walks once per width and
replays the other resolutions, several times faster.

Whenever a replay cannot be trusted — a dimension read differs, an op refuses the new shapes, a limit is passed, or
the walk made tensors some other way than its ops — the point is walked again; errors always come from a real walk,
with their located message.
"""

from __future__ import annotations

from dataclasses import dataclass

from costcalc.analysis import parts
from costcalc.analysis.parts import Memo
from costcalc.graph import INPUT_VARS, LAYER_VARS, MAX_DIM, _Walker, build, check
from costcalc.sharing import uses_shares
from costcalc.ops import CALL_KEY, OPS, Counts, account
from costcalc.util import frozen, gc_paused

MAX_PROGRAMS = 4096  # remembered walks (one per setting of the variables) before the oldest are dropped
MAX_RESULTS = 500_000  # remembered op results before they are all dropped


@dataclass(frozen=True)
class Program:
    input: tuple  # the input shape it was walked at
    steps: tuple  # (signature, op function, args, input tensor ids, number of outputs), in walk order
    reads: tuple  # ((tensor id, dimension), ...) the walk's expressions read
    values: tuple  # what each read found (None where the tensor had no such dimension)


class Cache:
    """Remembered walks of one spec, by setting of the variables (kept by a Model, or by a sweep's worker)."""

    def __init__(self):
        self.spec = None
        self.programs: dict = {}
        self.signatures: dict = {}  # (op, its arguments) -> a small int naming the pair
        self.results: dict = {}  # (signature, batch, input shapes) -> (output shapes, counts as 5 ints)
        self.memos: dict = {}  # batch -> costcalc.analysis.parts.Memo: blocks and layers across settings
        self.met: dict = {}  # settings of the variables met once, not yet walked into a program: (input, totals)
        self.walks = 0
        self.replays = 0
        self.whole_estimates = 0  # latency estimates made from the whole graph (costcalc.analysis.parts_latency)

    def of(self, spec) -> "Cache":
        if spec is not self.spec:
            self.spec, self.programs, self.memos, self.met = spec, {}, {}, {}
        return self

    def signature(self, op: str, args: dict) -> int:
        """Ops are pure functions (costcalc.ops): the same op, arguments and input shapes give the same result, so
        a replay computes each such triple once — the repeated units of a stage, every batchnorm of one shape."""
        return self.signatures.setdefault((op, frozen(args)), len(self.signatures))


def totals(spec, overrides: dict | None, input_shape: tuple | None, batch: int, cache: Cache,
           checked: bool = False, more: bool = False) -> Counts:
    """The totals of `spec` at these settings: the same Counts as summing the nodes of `build(...)`. Variables met
    for the first time are evaluated from remembered parts (costcalc.analysis.parts); met again, or with `more`
    (more points of these variables follow: a grid over inputs), walked into a program, replayed after."""
    overrides = overrides or {}
    if uses_shares(spec):  # which layer a name shares is the walk's to decide, at each point: walked every time
        return sum((node.counts for node in build(spec, overrides, input_shape, batch, checked).nodes), Counts())
    cache = cache.of(spec)
    key = (frozen(overrides), batch, input_shape is None)
    program = cache.programs.get(key)
    if program is not None:
        if len(cache.results) > MAX_RESULTS:
            cache.results.clear()
        result = _replay(program, input_shape or program.input, batch, cache.results)
        if result is not None:
            cache.replays += 1
            return result
    if not checked:
        check(spec)
    met = None if more else cache.met.get(key)
    if met is not None and met[0] == input_shape:  # the very point again (a random search may draw it twice)
        return met[1]
    if not more and met is None:  # the first point of these variables: from parts (a random search meets most once)
        if len(cache.met) >= MAX_RESULTS:
            cache.met.clear()
        cache.walks += 1
        memo = cache.memos.get(batch) or cache.memos.setdefault(batch, Memo())
        result = parts.totals(spec, overrides, input_shape, batch, memo)
        cache.met[key] = (input_shape, result)
        return result
    walker = _RecordingWalker(spec, batch)  # met again (a grid of inputs): walked into a program, replayed after
    with gc_paused():
        graph = walker.run(overrides, input_shape)
    cache.walks += 1
    program = _program(graph, walker.reads, cache)
    if program is not None:
        if len(cache.programs) >= MAX_PROGRAMS:
            del cache.programs[next(iter(cache.programs))]
        cache.programs[key] = program
    result = Counts()
    for node in graph.nodes:
        result = result + node.counts
    return result


def timed(spec, overrides: dict | None, input_shape: tuple | None, batch: int, cache: Cache, profile,
          checked: bool = False) -> tuple:
    """(totals, estimated seconds on `profile`) at these settings: both from parts that keep their layers
    (costcalc.analysis.parts_latency), or, where a fused kernel may cross a part's edge, the estimate of the whole
    graph (what `costcalc report --device` gives)."""
    from costcalc.analysis.parts_latency import estimate

    overrides = overrides or {}
    cache = cache.of(spec)
    if not checked:
        check(spec)
    if uses_shares(spec):  # walked every time (see `totals`); estimated on the whole graph
        from costcalc.latency import estimate as whole

        graph = build(spec, overrides, input_shape, batch, checked=True)
        return sum((node.counts for node in graph.nodes), Counts()), whole(graph, profile).total_s
    memo = cache.memos.get((batch, True)) or cache.memos.setdefault((batch, True), Memo(layered=True))
    result, walker, output = parts.walk(spec, overrides, input_shape, batch, memo)
    seconds = estimate(walker, output, profile)
    if seconds is None:
        from costcalc.latency import estimate as whole

        cache.whole_estimates += 1
        seconds = whole(build(spec, overrides, input_shape, batch, checked=True), profile).total_s
    return result, seconds


class _RecordingWalker(_Walker):
    """The walker, noting every dimension its expressions read from a tensor shape."""

    def __init__(self, spec, batch: int):
        super().__init__(spec, batch)
        self.reads: list = []  # (tensor id, dimension), in order; a replayed block adds its own (costcalc.reuse)

    def layer_lookup(self, tensor, env: dict, own: frozenset = frozenset()):
        lookup = super().layer_lookup(tensor, env)
        reads, shaped = self.reads, isinstance(tensor, int)  # a split's outputs: no shape to read, whatever the input

        def recording(name):
            if name in LAYER_VARS and shaped:
                reads.append((tensor, LAYER_VARS.index(name)))
            elif name in INPUT_VARS:
                reads.append((0, INPUT_VARS.index(name)))
            return lookup(name)

        return recording


def _dimension(shape: tuple, axis: int):
    return shape[axis] if axis < len(shape) else None


def _program(graph, reads: list, cache: Cache) -> Program | None:
    """The walk as a program, or None when its tensors are not exactly the input and its ops' outputs in order."""
    steps = []
    made = 1
    known: dict = {}  # id(args) -> (signature, the formula's arguments): reused layers share their args (reuse)
    for node in graph.nodes:
        if node.outputs != tuple(range(made, made + len(node.outputs))) or node.op not in OPS:
            return None
        made += len(node.outputs)
        signature, args = known.get(id(node.args)) or known.setdefault(id(node.args), (
            cache.signature(node.op, node.args),
            {k: v for k, v in node.args.items() if k != CALL_KEY}))  # `call` is no argument of the formula
        steps.append((signature, OPS[node.op].fn, args, node.inputs, len(node.outputs)))
    if made != len(graph.tensors):
        return None
    reads = tuple(dict.fromkeys(reads))
    return Program(graph.tensors[0], tuple(steps), reads, tuple(_dimension(graph.tensors[t], axis) for t, axis in reads))


def _replay(program: Program, input_shape: tuple, batch: int, results: dict) -> Counts | None:
    """The program's Counts on `input_shape`, or None when the walk would not have decided the same."""
    if max(input_shape) > MAX_DIM:
        return None
    tensors = [tuple(input_shape)]
    flops = elementwise_flops = params = memory_access = activations = 0
    for signature, fn, args, inputs, outputs in program.steps:
        shapes = tuple([tensors[t] for t in inputs])
        key = (signature, batch, shapes)
        known = results.get(key)
        if known is None:
            try:
                result = fn(*shapes, **args)
            except Exception:  # noqa: BLE001 - whatever it is, a real walk reports it
                return None
            if len(result.outputs) != outputs or any(max(shape) > MAX_DIM for shape in result.outputs):
                return None
            c = account(result, list(shapes), batch)
            known = results[key] = (result.outputs, (c.flops, c.elementwise_flops, c.params, c.memory_access,
                                                     c.activations))
        made, (f, e, p, m, a) = known
        tensors.extend(made)
        flops += f
        elementwise_flops += e
        params += p
        memory_access += m
        activations += a
    for (tensor, axis), value in zip(program.reads, program.values):
        if _dimension(tensors[tensor], axis) != value:
            return None
    return Counts(flops, elementwise_flops, params, memory_access, activations)
