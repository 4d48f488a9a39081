"""Fork-join regions of a graph (the blocks G3 counts branches and fragments in): from a node whose output several
layers read, or a split, to the first node where every path from it has met again.

A token mixer forks too: attention's q, k and v leave one projection and meet again as the two operands of its
products (q k^T, then attn v). Those paths are one computation, the way a conv reading its input and its weights is
one, so paths that meet as the operands of a product of two activations (matmul, einsum) count as one branch.
Heads written as separate tensors stay separate branches: each head's products meet only its own q, k and v."""

from __future__ import annotations

from dataclasses import dataclass

from costcalc.graph import Graph

# G3's fragments: the individual conv and pooling ops of a block (the paper's Table 3 counts 1x1 convs), and the
# products of two activations, each a kernel of its own: a batched matmul over all heads is one fragment, a head
# multiplied by itself one per head.
FRAGMENT_OPS = frozenset({"conv", "fc", "maxpool", "avgpool", "gap", "matmul", "einsum"})
PRODUCT_OPS = frozenset({"matmul", "einsum"})  # whose operands' paths are one branch


@dataclass(frozen=True)
class Block:
    """A fork-join region of the graph: from the node (or network input) whose output is read by several
    layers, or a split, to the first node where every path from it has met again."""

    name: str  # the longest common prefix of its layers' names
    fork: str  # the layer whose output forks ("input" for the network's input)
    join: str  # the layer where the branches meet
    branches: int  # parallel paths out of the fork, identity shortcuts included, a product's operands as one
    fragments: int  # conv, fc, pooling and product (matmul, einsum) ops inside
    nodes: tuple  # indices of its nodes in graph.nodes


def blocks(graph: Graph) -> list:
    """Every outermost fork-join block of `graph`, in graph order (blocks nested inside another are dropped)."""
    consumers: dict = {}
    for i, node in enumerate(graph.nodes):
        for tensor in (node.inputs if len(node.inputs) == 1 else dict.fromkeys(node.inputs)):
            consumers.setdefault(tensor, []).append(i)
    forks = []  # (index of the fork node or -1, start tensors)
    if len(consumers.get(0, ())) > 1:
        forks.append((-1, (0,)))
    for i, node in enumerate(graph.nodes):
        if len(node.outputs) > 1:
            forks.append((i, node.outputs))
        else:
            forks.extend((i, (tensor,)) for tensor in node.outputs if len(consumers.get(tensor, ())) > 1)
    found = []
    for start, tensors in forks:
        block = _region(graph, consumers, start, tensors)
        if block is not None:
            found.append(block)
    outer, open_blocks = [], []  # open_blocks: outermost blocks whose last node is not behind the current one
    for block in sorted(found, key=lambda b: (b.nodes[0], -b.nodes[-1])):
        open_blocks = [(last, members) for last, members in open_blocks if last >= block.nodes[0]]
        if any(set(block.nodes) <= members for _, members in open_blocks):
            continue
        outer.append(block)
        open_blocks.append((block.nodes[-1], set(block.nodes)))
    return sorted(outer, key=lambda b: b.nodes[-1])


def _region(graph: Graph, consumers: dict, start: int, tensors: tuple):
    pending = {t: len(consumers.get(t, ())) + (t == graph.output) for t in tensors}  # reads still to come
    live = {t for t, n in pending.items() if n > 0}
    inside = []
    nodes = graph.nodes
    for i in range(start + 1, len(nodes)):
        node = nodes[i]
        inputs = node.inputs
        if len(inputs) == 1:  # most layers: no need to drop repeated inputs
            if inputs[0] not in pending:
                continue
            reads = inputs
        else:
            reads = [t for t in dict.fromkeys(inputs) if t in pending]
            if not reads:
                continue
        inside.append(i)
        for t in reads:
            pending[t] -= 1
            if pending[t] <= 0:
                live.discard(t)
        for t in node.outputs:
            pending[t] = len(consumers.get(t, ())) + (t == graph.output)
            if pending[t] > 0:
                live.add(t)
        if len(live) == 1 and len(node.outputs) == 1 and node.outputs[0] in live:
            prefix = nodes[inside[0]].path
            for j in inside[1:]:
                path = nodes[j].path
                while path[:len(prefix)] != prefix:
                    prefix = prefix[:-1]
            if prefix and prefix == node.path:  # the join itself is not a block's name
                prefix = prefix[:-1]
            fork = "input" if start < 0 else nodes[start].name
            name = ".".join(prefix) or f"{fork} -> {node.name}"
            fragments = sum(nodes[j].op in FRAGMENT_OPS for j in inside)
            return Block(name, fork, node.name, _branches(nodes, consumers, tensors, inside), fragments,
                         tuple(inside))
        if not live:
            return None
    return None


def _branches(nodes: list, consumers: dict, tensors: tuple, inside: list) -> int:
    """The paths out of `tensors` (one per reading layer and tensor), those that meet as the operands of a product
    counted once: a union-find over the paths, joined at each matmul or einsum that reads two of them."""
    parent = []
    first = {}  # (tensor, reader) -> its path
    for t in tensors:
        for reader in consumers.get(t, ()):
            first[(t, reader)] = len(parent)
            parent.append(len(parent))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    paths: dict = {}  # tensor -> the set of paths it carries
    for j in inside:
        node = nodes[j]
        operands = [{first[(t, j)]} if (t, j) in first else paths.get(t, set()) for t in node.inputs]
        carried = set().union(*operands)
        if node.op in PRODUCT_OPS and sum(bool(o) for o in operands) > 1:
            roots = {root(i) for i in carried}
            keep = min(roots)
            for r in roots:
                parent[r] = keep
        for t in node.outputs:
            paths[t] = carried
    return len({root(i) for i in range(len(parent))})
