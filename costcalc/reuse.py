"""A block walked once, re-emitted for every later use with the same arguments and input shape.

What a block's walk makes — its layers, their ops, arguments, shapes, Counts and wiring — depends only on the
block's definition, the values of its arguments, the spec's variables and the batch (fixed for one walk), the shape
of its input (its `from:` names reach its own layers and its input, nothing else), and the blocks enclosing it
(which decide the recursion and nesting errors). So the walker keys each block it walks by (block, argument values,
input shape, enclosing blocks); when a key comes again, `replay` appends the recorded layers under the new path with
fresh tensor ids instead of walking them again: the same nodes and tensors a walk makes, in the same order, the
args, OpResult and Counts objects shared. The 1,110 identical units of a pre-act ResNet-10001 stage are walked once.

A block's first walk notes only where its layers went (a Span); its Recording is made from them when the block is
called again, so a block used once costs nothing more. A recording is made only of a walk that finished; a replay that would pass a walk limit (layers, entries) walks
instead, so errors always come from a real walk, with their located message.
"""

from __future__ import annotations

from dataclasses import dataclass

from costcalc.util import frozen

MAX_RECORDINGS = 10_000  # distinct (block, arguments, input shape, enclosing blocks) keys remembered in one walk
MISS = object()  # what _Walker.recall returns when there is nothing to re-emit
MAX_RESULTS = 100_000  # distinct op entries (op, text of its arguments, input shapes, scope) remembered in one walk


@dataclass(frozen=True, slots=True)
class Recording:
    """A block's walk, relative to its call: tensors 0 .. n-1 are the block's n inputs, tensor n + k the k-th it made."""

    shapes: tuple  # the shapes of the tensors it made, in order
    nodes: tuple  # (name suffix, path suffix, kinds suffix, op, args, inputs, outputs, result, counts, loc)
    output: object  # the block's output: a relative tensor id, or a tuple of them after a split
    steps: int  # entries visited (the walk's MAX_STEPS counts them)
    reads: tuple  # (relative tensor id, dimension) its expressions read, for a walker that notes them


def key(block: str, env: dict, names, input_shape: tuple, enclosing: list) -> tuple:
    """What a block's walk depends on, besides the walk's variables and batch."""
    return block, tuple([frozen(env[name]) for name in names]), input_shape, tuple(enclosing)


@dataclass(frozen=True, slots=True)
class Span:
    """Where a block's first walk put its layers: enough to make its Recording if the block is called again."""

    path: tuple
    kinds: tuple
    input: object  # the tensor id of the block's input, or a tuple of them (a block of several inputs)
    nodes: tuple  # (first, end) indexes into walker.nodes
    tensors: tuple  # (first, end) tensor ids it made
    reads: tuple  # (first, end) indexes into walker.reads
    steps: int
    output: object


def record(walker, span: Span) -> Recording | None:
    """The recording of the block walked into `span`, or None when its layers read a tensor that is neither its
    input nor one it made (which a block cannot do: then it is simply not replayed)."""
    first, end = span.tensors
    inputs = span.input if isinstance(span.input, tuple) else (span.input,)
    ids = {t: k for k, t in enumerate(inputs)}
    ids.update(zip(range(first, end), range(len(inputs), len(inputs) + end - first)))
    depth, nodes = len(span.path), []
    try:
        for node in walker.nodes[span.nodes[0]:span.nodes[1]]:
            sub_path = node.path[depth:]
            nodes.append((".".join(sub_path), sub_path, node.kinds[len(span.kinds):], node.op, node.args,
                          tuple([ids[t] for t in node.inputs]), tuple([ids[t] for t in node.outputs]), node.result,
                          node.counts, node.loc))
        out = span.output
        out = tuple(ids[t] for t in out) if isinstance(out, tuple) else ids[out]
        reads = () if walker.reads is None else tuple((ids[t], axis) for t, axis in walker.reads[slice(*span.reads)])
    except KeyError:
        return None
    return Recording(tuple(walker.tensors[first:end]), tuple(nodes), out, span.steps, reads)


def replay(walker, recording: Recording, path: tuple, kinds: tuple, current, node_type):
    """Append `recording`'s layers as the block called at `path` on tensor `current` (or a tuple of them); returns
    its output."""
    base = len(walker.tensors)
    walker.tensors.extend(recording.shapes)
    ids = [*(current if isinstance(current, tuple) else (current,)), *range(base, base + len(recording.shapes))]
    prefix = ".".join(path) + "."
    append = walker.nodes.append
    for suffix, sub_path, sub_kinds, op, args, inputs, outputs, result, counts, loc in recording.nodes:
        append(node_type(prefix + suffix, path + sub_path, kinds + sub_kinds, op, args,
                         tuple([ids[t] for t in inputs]), tuple([ids[t] for t in outputs]), result, counts, loc))
    walker.steps += recording.steps
    if walker.reads is not None:
        walker.reads.extend((ids[t], axis) for t, axis in recording.reads)
    out = recording.output
    return tuple(ids[t] for t in out) if isinstance(out, tuple) else ids[out]


# ---- op entries ---------------------------------------------------------------------------------------------
# The same holds for one op entry: its arguments are its text evaluated with its scope's variables and its first
# input's dimensions, and its OpResult is the op's pure function of them and the input shapes. So entries of the
# same op, text, input shapes and scope (a 20,000-line list of conv / bn / relu) evaluate once.


@dataclass(frozen=True, slots=True)
class OpUse:
    args: dict
    result: object  # OpResult
    counts: object  # Counts
    axes: tuple  # the dimensions of its first input its expressions read, for a walker that notes them
    scope: dict  # the variables it was evaluated with: held, so that no other scope takes the id in its key


def op_key(op: str, entry, shapes: list, env: dict) -> tuple:
    return op, tuple([(name, frozen(value.raw)) for name, value in entry.params.items()]), tuple(shapes), id(env)


def op_result(walker, node, first_read: int, env: dict) -> OpUse:
    """What the entry just walked into `node` gave."""
    axes = () if walker.reads is None else tuple(axis for _, axis in walker.reads[first_read:])
    return OpUse(node.args, node.result, node.counts, axes, env)
