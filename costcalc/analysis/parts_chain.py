"""A point's top level as a chain of remembered parts: one look-up per entry, nothing walked.

Every op or block entry of the top level is remembered as a part (costcalc.analysis.parts) under (entry, input
shapes) and what it read of the point. When the top level is a chain — each entry an op or a block reading the
output of the entry before (no `from:`, no inline `layers:`), the network of one input — a point is evaluated by
looking each entry's part up in turn: the first entry's input is the network's, each next entry's is the output
of the part before. Where every entry finds its part, the point's totals are the parts' sums, exactly what the
walker would add taking the same parts one by one (it would walk nothing either); where one does not (a new
setting of a stage, a part that ends in a split, a walk limit the parts together would pass), nothing is kept and
the point is walked as usual, entry by entry, taking what it can and remembering what it walks.
"""

from __future__ import annotations

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
        part = None
        for order, items in choices.values():
            found = []
            for read in order:  # walker.value(read), inline: the look-up of every point
                value = values.get(read, MISS)
                if value is MISS:
                    value = values[read] = read.found(names)
                found.append(value)
            part = items.get(tuple(found))
            if part is not None:
                break
        if part is None or part.split:
            return MISS
        taken.append(part)
        steps += part.steps
        nodes += part.nodes
        if part.outputs[0] is not None:
            shape = part.outputs[0]
    if not walker.within(steps, len(walker.nodes) + nodes):
        return MISS  # walked, to fail where the walk fails
    sums, tensors, current = walker.sums, walker.tensors, 0
    for part in taken:
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
