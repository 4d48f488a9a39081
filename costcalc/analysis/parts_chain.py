"""A point's top level as a chain of remembered parts: one look-up per entry, nothing walked.

Every op or block entry of the top level is remembered as a part (costcalc.analysis.parts) under (entry, input
shapes) and what it read of the point. When the top level is a chain — each entry an op or a block reading the
output of the entry before (no `from:`, no inline `layers:`), the network of one input — a point is evaluated by
looking each entry's part up in turn: the first entry's input is the network's, each next entry's is the output
of the part before. Where every entry finds its part, the point's totals are the parts' sums, exactly what the
walker would add taking the same parts one by one (it would walk nothing either); where one does not (a new
setting of a stage, a part that ends in a split, a walk limit the parts together would pass), nothing is kept and
the point is walked as usual, entry by entry, taking what it can and remembering what it walks.

With the latency estimate (a layered memo), the walk lays an op entry of the top level out as its layers, for the
estimate to plan them together (a kernel fuses a conv, its batchnorm and its activation). The chain takes each run
of consecutive op entries as one part instead, made once per run of parts (`run`): its layers are theirs, so the
estimate plans the run by itself, once for each context it meets, as it plans a block (costcalc.analysis.
parts_latency). That plan is the run's plan in the whole graph unless a kernel could fuse across its edges; where
one could, the estimate says so, and the point is walked again with the runs laid out (`memo.grouped` off).
"""

from __future__ import annotations

from dataclasses import replace

from costcalc.analysis.parts_reads import matching
from costcalc.reuse import MISS


def is_chain(entries: list) -> bool:
    """Whether a top level is a chain: each entry an op or a block, reading the entry before."""
    return all(not entry.sources and (entry.op is not None or entry.block is not None) for entry in entries)


def chained(walker, entries: list):
    """The output tensor of the point whose variables `walker` (a costcalc.analysis.parts._PartsWalker, begun on a
    network of one input) holds, its parts taken; MISS (the walker unchanged but for the reads it evaluated, which
    are this point's) where an entry finds none."""
    table, values, names = walker.memo.entries, walker.values, walker.names or walker.point_names()
    shape, taken, steps, nodes = walker.tensors[0], [], walker.steps, walker.nodes_elsewhere
    for entry in entries:
        choices = table.get((id(entry), (shape,)))
        if not choices:
            return MISS
        part = next(matching(choices, values, names), None)
        if part is None or part.split:
            return MISS
        taken.append((entry, part))
        steps += part.steps
        nodes += part.nodes
        if part.outputs[0] is not None:
            shape = part.outputs[0]
    if not walker.within(steps, len(walker.nodes) + nodes):
        return MISS  # walked, to fail where the walk fails
    if walker.items is not None:
        return _layered(walker, taken)
    sums, tensors, current = walker.sums, walker.tensors, 0
    for _, part in taken:
        more = part.sums
        sums[0] += more[0]
        sums[1] += more[1]
        sums[2] += more[2]
        sums[3] += more[3]
        sums[4] += more[4]
        if part.outputs[0] is not None:
            current = len(tensors)
            tensors.append(part.outputs[0])
    walker.steps, walker.nodes_elsewhere = steps, nodes
    return current


def _layered(walker, taken: list) -> int:
    """Take the chain's parts into a layered walk: each block's part, each run of op entries as one part (an op
    entry switched off is laid out: it adds no layer, and no reader of its input)."""
    memo, current, run = walker.memo, 0, []
    for entry, part in [*taken, (None, None)]:
        if entry is not None and entry.block is None and memo.grouped and part.outputs[0] is not None:
            run.append(part)
            continue
        if run:
            current = walker.take(_run(memo, run, walker.tensors[current]), current)
            walker.grouped = True
            run = []
        if entry is not None:
            current = walker.take(part, current) if entry.block is not None else walker.lay_out(part, current, entry)
    return current


def _run(memo, run: list, shape: tuple):
    """The parts of a run of op entries, on input `shape`, as one part: made once per run of parts."""
    key = tuple(map(id, run))
    known = memo.runs.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], run)):  # held: their ids name them
        return known[1]
    shapes = [shape, *(part.outputs[0] for part in run)]
    items = tuple((part, k, (k + 1,)) for k, part in enumerate(run))  # costcalc.analysis.parts_latency opens them
    part = replace(run[-1], outputs=(shapes[-1],), split=False, sums=tuple(map(sum, zip(*(p.sums for p in run)))),
                   nodes=sum(p.nodes for p in run), steps=sum(p.steps for p in run),
                   names=frozenset().union(*(p.names for p in run)), source=(items, shapes, 0, (len(run),)),
                   latency={})
    memo.runs[key] = (tuple(run), part)
    memo.grown()
    return part
