"""Per-layer records and totals of one graph, and the rows of a report at a chosen depth.

Everything here is ints (and shapes of ints); formatting lives in costcalc.report.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from costcalc.graph import Graph
from costcalc.ops import COUNT_FIELDS, PAPER_SUMMARY, Counts
from costcalc.util import gc_paused

CONVENTION = "paper"  # costcalc.analysis.conventions.DEFAULT, imported only when another convention is asked for


@dataclass(frozen=True)
class Layer:
    """One node of the graph as the report and the JSON show it."""

    name: str
    op: str
    inputs: tuple  # names of the layers read ("input" for the network's input)
    outputs: tuple  # output shapes with the batch: ((N, C, H, W), ...)
    args: dict
    counts: Counts
    path: tuple
    kinds: tuple
    input_shapes: tuple = ()  # shapes of the inputs read, with the batch, in `inputs` order


@dataclass(frozen=True)
class Row:
    """A line of the table: one layer, or a block / stage summed over its layers (`layers` > 1)."""

    name: str
    op: str
    output: tuple  # output shape(s) with the batch, of the last layer in the row
    counts: Counts
    layers: int = 1
    layer: Layer | None = None  # the layer itself, when the row is one layer (not a block)
    latency_s: float | None = None  # estimated seconds of its layers, when the report has a device profile


@dataclass(frozen=True)
class Report:
    model: str
    path: str
    input: tuple  # (N, C, H, W); for a network of several inputs, {name: (N, C, H, W)}
    convention: str
    memory_unit: str  # "elements" or "bytes"
    bytes_per_element: int
    variables: dict
    totals: Counts
    layers: list = field(default_factory=list)  # list[Layer], topological order
    max_depth: int = 1
    convention_summary: str = ""  # what FLOPs means under `convention`, for the header
    guidelines: object = None  # costcalc.analysis.guidelines.Guidelines, when checked: reporters show it
    settings: tuple = ()  # what changed the spec, as written: ("--set width=0.5", ...); headers name them
    published: object = None  # costcalc.analysis.published.Published, when the spec's figures apply: shown beside
    latency: object = None  # costcalc.latency.Estimate on a device profile (`device`): an estimate, never measured
    device: object = None  # the costcalc.latency.DeviceProfile it was estimated on
    device_path: str = ""  # the profile's file
    latency_costs: dict = field(default_factory=dict)  # (guideline, where) -> estimated seconds of the violation
    warnings: tuple = ()  # the graph's SpecWarnings: legal but most likely not meant (the CLI prints them)

    @property
    def latency_s(self) -> float | None:
        """The estimated seconds of the batch (run overhead included), or None without a device profile."""
        return self.latency.total_s if self.latency is not None else None


def analyse(graph: Graph, bytes_per_element: int | None = None, convention: str = CONVENTION, device=None,
            device_path: str = "") -> Report:
    """Totals and per-layer records of `graph`; memory access in bytes when `bytes_per_element` is given; the
    FLOPs of each layer counted under the named `convention` (costcalc.analysis.conventions); with `device` (a
    costcalc.latency.DeviceProfile), the estimated latency of every layer and of the batch."""
    with gc_paused():
        report = _analyse(graph, bytes_per_element, convention)
    if device is not None:
        from costcalc.latency import estimate

        report = replace(report, latency=estimate(graph, device), device=device, device_path=device_path)
    return report


def _analyse(graph: Graph, bytes_per_element: int | None, convention: str) -> Report:
    flops, summary = None, PAPER_SUMMARY
    if convention != CONVENTION:
        from costcalc.analysis import conventions

        flops, summary = conventions.recount(graph, convention), conventions.get(convention).summary
    names: list = [None] * len(graph.tensors)  # tensor id -> the name of what wrote it
    for name, t in graph.inputs.items():
        names[t] = name
    for node in graph.nodes:
        if len(node.outputs) == 1:
            names[node.outputs[0]] = node.name
        else:
            for k, t in enumerate(node.outputs):
                names[t] = f"{node.name}.{k}"
    batch, scale = graph.batch, bytes_per_element or 1
    with_batch: dict = {}  # per-sample shape -> with the batch: the many tensors of one shape share one tuple
    shapes = [with_batch.get(s) or with_batch.setdefault(s, (batch, *s)) for s in graph.tensors]
    outputs: dict = {}  # id(OpResult) -> its output shapes with the batch (a replayed block shares its results)
    layers = []
    for i, node in enumerate(graph.nodes):
        counts = node.counts
        if flops is not None:
            counts = replace(counts, flops=flops[i])
        if scale != 1:
            counts = Counts(counts.flops, counts.elementwise_flops, counts.params, counts.memory_access * scale,
                            counts.activations)
        out = outputs.get(id(node.result))
        if out is None:
            out = outputs[id(node.result)] = tuple([shapes[t] for t in node.outputs])
        layers.append(Layer(node.name, node.op, tuple([names[t] for t in node.inputs]), out, node.args, counts,
                            node.path, node.kinds, tuple([shapes[t] for t in node.inputs])))
    return Report(
        model=graph.name,
        path=graph.path,
        input=graph.input_shapes(),
        convention=convention,
        convention_summary=summary,
        memory_unit="bytes" if bytes_per_element else "elements",
        bytes_per_element=scale,
        variables=graph.variables,
        totals=_sum(layer.counts for layer in layers),
        layers=layers,
        max_depth=max((len(layer.path) for layer in layers), default=1),
    )


def _sum(counts) -> Counts:
    flops = elementwise_flops = params = memory_access = activations = 0
    for c in counts:
        flops += c.flops
        elementwise_flops += c.elementwise_flops
        params += c.params
        memory_access += c.memory_access
        activations += c.activations
    return Counts(flops, elementwise_flops, params, memory_access, activations)


class Selection(list):
    """The rows of a view (a list of Row), knowing how many rows the view had before `top` kept the largest
    (`of`) and what they were ranked by (`sort`, None when all rows are kept in network order)."""

    def __init__(self, selected=(), of: int | None = None, sort: str | None = None):
        super().__init__(selected)
        self.of = len(self) if of is None else of
        self.sort = sort


def rows(report: Report, depth: int | None = None, top: int | None = None, sort: str = "flops") -> Selection:
    """The table's rows: layers summed into their block at `depth` (None: every layer), then, with `top`, the
    `top` rows largest by `sort`, largest first."""
    with gc_paused():
        return _rows(report, depth, top, sort)


def _rows(report: Report, depth: int | None, top: int | None, sort: str) -> Selection:
    if depth is None:
        result = [Row(layer.name, layer.op, layer.outputs, layer.counts, 1, layer) for layer in report.layers]
    else:
        result = _aggregate(report.layers, depth)
    if report.latency is not None:
        result = _with_latency(result, report, depth)
    if top is None:
        return Selection(result)
    if sort not in COUNT_FIELDS:
        raise ValueError(f"sort by one of {', '.join(COUNT_FIELDS)}")
    return Selection(sorted(result, key=lambda row: getattr(row.counts, sort), reverse=True)[:top], len(result), sort)


def _with_latency(result: list, report: Report, depth: int | None) -> list:
    seconds: dict = {}
    for layer, timed in zip(report.layers, report.latency.layers):
        key = layer.name if depth is None else ".".join(layer.path[:depth])
        seconds[key] = seconds.get(key, 0.0) + timed.latency_s
    return [replace(row, latency_s=seconds.get(row.name, 0.0)) for row in result]


def _aggregate(layers: list, depth: int) -> list:
    groups: dict = {}  # path prefix -> [op, output of its last layer, its layers' counts, the layer if alone]
    for layer in layers:
        key = layer.path[:depth]
        group = groups.get(key)
        if group is None:
            groups[key] = [layer.kinds[len(key) - 1], layer.outputs, [layer.counts],
                           layer if len(layer.path) <= depth else None]
        else:
            group[1] = layer.outputs
            group[2].append(layer.counts)
            group[3] = None
    return [Row(".".join(key), op, output, counts[0] if len(counts) == 1 else _sum(counts), len(counts), layer)
            for key, (op, output, counts, layer) in groups.items()]
