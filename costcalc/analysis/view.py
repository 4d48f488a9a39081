"""The records of `costcalc view`: a report as a tree of blocks and layers (the report's depth levels), the edges
between its layers, each node's figures under every colouring metric with its colour bin and its share of its
block, where the guidelines are broken, and the depth the page opens at. The HTML page only draws these records
(costcalc.report.as_view); it computes no cost.

A node is a layer, a block (a prefix of layer names: `layer2`, `layer2.0`) or a network input. A block's counts are
the sums of its layers', as `report --depth N` sums them (its row at that depth is the same Row). Edges join
layers (and inputs); a page that shows a block collapsed draws the edges of its layers as the block's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from costcalc.analysis.report import Report, Row
from costcalc.analysis.view_metrics import metrics_of
from costcalc.errors import OptionError
from costcalc.ops import Counts

OPEN_NODES = 200  # the page opens at the deepest level whose nodes number at most this (dagre lays 200 in ~0.1 s)
INPUT = "input"
LAYER, BLOCK = "layer", "block"


@dataclass(frozen=True)
class ViewNode:
    index: int
    name: str  # the layer's name, the block's name prefix (`layer2.0`), or the input's name
    kind: str  # INPUT, LAYER or BLOCK
    parent: int | None  # index of the enclosing block; None at the top
    depth: int  # 1 at the top: the report's --depth at which this node is a row
    row: Row | None  # the report's row of this node (None for an input)
    children: tuple = ()  # indices of its blocks and layers, in graph order
    latency_s: float | None = None  # estimated (with a device profile), its layers' sum
    fused_into: str | None = None  # a layer the estimate runs inside another layer's kernel
    measured_s: float | None = None  # measured (from `measure --format json`), its layers' sum
    measured_fused_into: str | None = None
    violations: tuple = ()  # indices into View.violations found at this node
    violations_inside: int = 0  # violations at this node or below it


@dataclass(frozen=True)
class Violation:
    guideline: str
    title: str
    node: int  # the node it is marked on
    finding: object  # costcalc.analysis.guidelines.Finding: `why` and `evidence`
    latency_s: float | None = None  # what it costs in estimated time, with a device profile


@dataclass(frozen=True)
class View:
    report: Report
    nodes: tuple  # ViewNode, tree order: a block before its children, siblings in graph order
    edges: tuple  # (from node, to node): between layers and inputs only
    metrics: tuple  # Metric, each with every node's value, share and colour bin
    open_depth: int  # the page opens with every block deeper than this collapsed
    nodes_at_depth: tuple  # how many nodes the page shows with every block at depth d open, d = 1..max_depth
    violations: tuple = ()
    measured: object = None  # MeasuredTimes, when given
    metric: int = 0  # the metric the page colours by first
    compare: object = None  # costcalc.analysis.view_compare.Side, when compared with another network


@dataclass(frozen=True)
class MeasuredTimes:
    """`costcalc measure --format json`: each layer's min kernel time (seconds) and where it was fused."""

    path: str
    runtime: str
    threads: int
    latency_s: float  # the batch's wall time, min over runs
    layers: dict  # layer name -> (latency_s, fused_into)


def build(report: Report, measured: MeasuredTimes | None = None, open_nodes: int = OPEN_NODES,
          open_depth: int | None = None, metric: str = "flops") -> View:
    """The view of `report` (with its guideline checks and estimate, when it carries them) and of `measured`,
    opening at `open_depth` (None: the deepest level of at most `open_nodes` nodes), coloured by `metric` first."""
    inputs = list(report.input) if isinstance(report.input, dict) else [INPUT]
    tree = _Tree(inputs)
    for layer in report.layers:
        tree.add(layer)
    estimated = {t.name: t for t in report.latency.layers} if report.latency is not None else {}
    nodes = tree.nodes(report, estimated, measured)
    violations = _violations(report, nodes, tree.index)
    nodes = _mark(nodes, violations)
    counts = _nodes_at_depth(nodes, report.max_depth)
    if open_depth is None:
        open_depth = max([d for d, n in enumerate(counts, 1) if n <= open_nodes] or [1])
    open_depth = max(1, min(open_depth, report.max_depth))
    metrics = metrics_of(report, nodes, measured)
    keys = [m.key for m in metrics]
    if metric not in keys:
        raise OptionError(f"metric {metric!r}: this view has {', '.join(keys)}")
    return View(report, tuple(nodes), tree.edges(report), metrics, open_depth, tuple(counts), tuple(violations),
                measured, keys.index(metric))


class _Tree:
    def __init__(self, inputs: list):
        self.names: list = list(inputs)  # node index -> name
        self.kinds: list = [INPUT] * len(inputs)
        self.parents: list = [None] * len(inputs)
        self.depths: list = [1] * len(inputs)
        self.layers: list = [None] * len(inputs)  # node index -> its Layer (layers only)
        self.sums: list = [None] * len(inputs)  # node index -> [5 counts] of its layers (blocks only)
        self.kind_of: list = [None] * len(inputs)  # blocks: the block's name in the spec (`bottleneck x3`)
        self.output: list = [None] * len(inputs)
        self.count: list = [0] * len(inputs)
        self.index: dict = {name: i for i, name in enumerate(inputs)}  # node name -> index
        self.blocks: dict = {}  # path prefix -> node index

    def add(self, layer) -> None:
        parent, path = None, layer.path
        for d in range(1, len(path)):
            key = path[:d]
            i = self.blocks.get(key)
            if i is None:
                i = self.blocks[key] = self._new(".".join(key), BLOCK, parent, d, None)
                self.sums[i], self.kind_of[i] = [0, 0, 0, 0, 0], layer.kinds[d - 1]
            c, s = layer.counts, self.sums[i]
            s[0] += c.flops
            s[1] += c.elementwise_flops
            s[2] += c.params
            s[3] += c.memory_access
            s[4] += c.activations
            self.output[i] = layer.outputs
            self.count[i] += 1
            parent = i
        i = self._new(layer.name, LAYER, parent, len(path), layer)
        self.output[i], self.count[i] = layer.outputs, 1

    def _new(self, name: str, kind: str, parent, depth: int, layer) -> int:
        i = len(self.names)
        self.names.append(name)
        self.kinds.append(kind)
        self.parents.append(parent)
        self.depths.append(depth)
        self.layers.append(layer)
        self.sums.append(None)
        self.kind_of.append(None)
        self.output.append(None)
        self.count.append(0)
        self.index.setdefault(name, i)
        return i

    def nodes(self, report: Report, estimated: dict, measured) -> list:
        children: list = [[] for _ in self.names]
        for i, p in enumerate(self.parents):
            if p is not None:
                children[p].append(i)
        latency = _sums(self, {n: t.latency_s for n, t in estimated.items()}) if estimated else None
        timed = _sums(self, {n: t[0] for n, t in measured.layers.items()}) if measured is not None else None
        out = []
        for i, name in enumerate(self.names):
            layer, kind = self.layers[i], self.kinds[i]
            if kind == INPUT:
                row = None
            elif layer is not None:
                row = Row(name, layer.op, layer.outputs, layer.counts, 1, layer)
            else:
                row = Row(name, self.kind_of[i], self.output[i], Counts(*self.sums[i]), self.count[i])
            if row is not None and latency is not None:
                row = Row(row.name, row.op, row.output, row.counts, row.layers, row.layer, latency[i])
            est = estimated.get(name) if layer is not None else None
            got = measured.layers.get(name) if (measured is not None and layer is not None) else None
            out.append(ViewNode(i, name, kind, self.parents[i], self.depths[i], row, tuple(children[i]),
                                latency[i] if latency is not None and kind != INPUT else None,
                                est.fused_into if est is not None else None,
                                timed[i] if timed is not None and kind != INPUT else None,
                                got[1] if got is not None else None))
        return out

    def edges(self, report: Report) -> tuple:
        edges = []
        for layer in report.layers:
            to = self.index[layer.name]
            for source in layer.inputs:
                edges.append((self._writer(source), to))
        return tuple(edges)

    def _writer(self, tensor: str) -> int:
        """The node that wrote the tensor named `tensor`: a layer, an input, or output k of a split (`x.k`)."""
        i = self.index.get(tensor)
        if i is not None and self.kinds[i] != BLOCK:
            return i
        return self.index[tensor.rpartition(".")[0]]


def _sums(tree: _Tree, per_layer: dict) -> list:
    """node index -> the sum of `per_layer` over its layers (None for a block none of whose layers has a value)."""
    out: list = [None] * len(tree.names)
    for i in range(len(tree.names) - 1, -1, -1):  # children come after their block: sum bottom-up
        if tree.kinds[i] == LAYER:
            value = per_layer.get(tree.names[i])
            if value is not None:
                out[i] = value
        if out[i] is not None and tree.parents[i] is not None:
            p = tree.parents[i]
            out[p] = (out[p] or 0.0) + out[i]
    return out


def _violations(report: Report, nodes: list, index: dict) -> list:
    if report.guidelines is None:
        return []
    out = []
    for result in report.guidelines.results:
        for finding in result.violations:
            where = index.get(finding.where)
            if where is None or nodes[where].kind == INPUT:
                where = next((index[n] for n in finding.layers if n in index), None)
            if where is None:
                continue
            out.append(Violation(result.guideline, result.title, where, finding,
                                 report.latency_costs.get((finding.guideline, finding.where))))
    return out


def _mark(nodes: list, violations: list) -> list:
    own: dict = {}
    inside = [0] * len(nodes)
    for k, v in enumerate(violations):
        own.setdefault(v.node, []).append(k)
        i = v.node
        while i is not None:
            inside[i] += 1
            i = nodes[i].parent
    return [replace(n, violations=tuple(own.get(n.index, ())), violations_inside=inside[n.index])
            if inside[n.index] else n for n in nodes]


def _nodes_at_depth(nodes: list, max_depth: int) -> list:
    """How many nodes show with every block of depth < d open and every block at depth d collapsed."""
    counts = [0] * max_depth
    for n in nodes:
        for d in range(n.depth, max_depth + 1):
            if n.depth == d or not n.children:
                counts[d - 1] += 1
    return counts


def visible(view: View, depth: int) -> list:
    """The indices of the nodes the page shows with every block deeper than `depth` collapsed, in tree order."""
    return [n.index for n in view.nodes if n.depth == depth or (n.depth < depth and not n.children)]
