"""The data of each plot, computed here and returned as records; costcalc.plot only draws them.

- roofline: every layer that moves data as a point, its arithmetic intensity (FLOPs + element-wise FLOPs per
  element of memory access, the table's Intensity) against its FLOPs, by op class; the heaviest are labelled.
  With a device profile (a report carrying its estimate), every kernel the runtime would launch instead: FLOPs
  per byte it moves against the FLOPs per second the estimate gives it, under the profile's ceilings (each
  class's min(throughput, intensity x bandwidth)).
- stages: the rows at a depth of the name (1: stages) as shares of the network's FLOPs and memory access (and of
  its estimated latency, with a device profile).
- layers: every layer's FLOPs and memory access in graph order.
- pareto: a sweep's points in two totals, and its front.
Counts stay ints; shares and intensities are floats.
"""

from __future__ import annotations

from dataclasses import dataclass

from costcalc.analysis.report import rows as report_rows
from costcalc.ops.conv import conv_input

# Colour groups of the roofline, in legend order; a conv's class follows its shape (`op_class`).
CLASSES = ("dense conv", "pointwise conv", "grouped conv", "depthwise conv", "fc", "element-wise", "pooling",
           "data movement")
POOLING = frozenset({"maxpool", "avgpool", "gap", "mean"})
DATA_MOVEMENT = frozenset({"concat", "split", "shuffle", "select", "flatten", "dropout", "identity"})
LABELLED = 5  # the heaviest layers named on a roofline


def op_class(op: str, args: dict, in_channels: int | None) -> str:
    """Which of CLASSES a layer is: a conv by its groups and kernel, every other op by what it does."""
    if op == "conv":
        groups = args.get("groups", 1)
        if groups > 1:
            return "depthwise conv" if groups == in_channels else "grouped conv"
        return "pointwise conv" if tuple(args.get("k", (1, 1))) == (1, 1) else "dense conv"
    if op == "fc":
        return "fc"
    if op in POOLING:
        return "pooling"
    if op in DATA_MOVEMENT:
        return "data movement"
    return "element-wise"


@dataclass(frozen=True)
class RooflinePoint:
    name: str
    op: str
    op_class: str
    work: int  # FLOPs + element-wise FLOPs
    memory_access: int  # elements (bytes with bytes_per_element; always bytes on a timed roofline)
    labelled: bool
    seconds: float | None = None  # a timed roofline: the kernel's estimated seconds

    @property
    def intensity(self) -> float:
        return self.work / self.memory_access

    @property
    def height(self) -> float:
        """Where the point is drawn: its FLOPs, or on a timed roofline its estimated FLOPs per second."""
        return self.work if self.seconds is None else self.work / self.seconds


@dataclass(frozen=True)
class Ceiling:
    op_class: str  # the device profile's class
    throughput: float  # FLOPs per second
    bandwidth: float  # bytes per second


@dataclass(frozen=True)
class Roofline:
    model: str
    points: tuple  # RooflinePoint, layers with arithmetic and memory access, in graph order
    classes: tuple  # the op classes present, in CLASSES order
    without_arithmetic: tuple  # names of the layers that move data but compute nothing (not on a log scale)
    title: str
    x_label: str = "arithmetic intensity (FLOPs per element moved)"
    y_label: str = "FLOPs (conv/fc multiply-adds + element-wise)"
    ceilings: tuple = ()  # Ceiling of each class drawn, on a timed roofline


def roofline(report, labelled: int = LABELLED) -> Roofline:
    """Every layer of `report` that both computes and moves data, the `labelled` heaviest by FLOPs named; with an
    estimate (report.latency), every kernel on the device profile's roofline (`timed_roofline`)."""
    if report.latency is not None:
        return timed_roofline(report, labelled)
    in_channels = _in_channels(report)
    candidates = [layer for layer in report.layers if layer.counts.memory_access > 0]
    points, idle = [], []
    for layer in candidates:
        work = layer.counts.flops + layer.counts.elementwise_flops
        if work == 0:
            idle.append(layer.name)
            continue
        points.append((layer, work))
    heaviest = {layer.name for layer, _ in sorted(points, key=lambda p: -p[1])[:labelled]}
    records = tuple(RooflinePoint(layer.name, layer.op, op_class(layer.op, layer.args, in_channels[layer.name]),
                                  work, layer.counts.memory_access, layer.name in heaviest)
                    for layer, work in points)
    present = {p.op_class for p in records}
    unit = "" if report.memory_unit == "elements" else f" ({report.bytes_per_element} bytes per element)"
    return Roofline(report.model, records, tuple(c for c in CLASSES if c in present), tuple(idle),
                    f"{report.model}: roofline of {len(records)} layers, input {_shape(report.input)}{unit}",
                    x_label="arithmetic intensity (FLOPs per element moved)" if not unit else
                    "arithmetic intensity (FLOPs per byte moved)")


def timed_roofline(report, labelled: int = LABELLED) -> Roofline:
    """Every computing kernel of the estimate: its layers' FLOPs (multiply-adds + element-wise) per byte it moves,
    against those FLOPs over its estimated seconds; the ceilings of the profile's classes among them."""
    profile, in_channels = report.device, _in_channels(report)
    from costcalc.latency.model import kernel_time

    by_name = {layer.name: layer for layer in report.layers}
    found, idle = [], []
    for kernel in report.latency.kernels:
        if not kernel.members:
            continue  # a layout reorder: data movement of no layer's own
        members = [by_name[name] for name in kernel.members]
        work = sum(layer.counts.flops + layer.counts.elementwise_flops for layer in members)
        if work == 0 or kernel.bytes == 0:
            idle.append(kernel.layer)
            continue
        found.append((kernel, members[0], work,
                      report.latency.length * kernel_time(kernel, profile, report.latency.evicted)))
    heaviest = {kernel.layer for kernel, _, _, seconds in sorted(found, key=lambda f: -f[3])[:labelled]}
    records = tuple(RooflinePoint(kernel.layer, head.op, op_class(head.op, head.args, in_channels[head.name]), work,
                                  kernel.bytes, kernel.layer in heaviest, seconds)
                    for kernel, head, work, seconds in found)
    used = dict.fromkeys(kernel.op_class for kernel, *_ in found)
    ceilings = tuple(Ceiling(c, profile[c].throughput, profile[c].bandwidth) for c in used)
    present = {p.op_class for p in records}
    return Roofline(report.model, records, tuple(c for c in CLASSES if c in present), tuple(idle),
                    f"{report.model}: {len(records)} kernels on {report.device_path} (estimate)",
                    x_label="arithmetic intensity (FLOPs per byte moved)",
                    y_label="estimated FLOPs per second", ceilings=ceilings)


def _in_channels(report) -> dict:
    """layer name -> channels of its first input (None for a flat input)."""
    shapes = {"input": tuple(report.input)}
    out = {}
    for layer in report.layers:
        shape = shapes.get(layer.inputs[0]) if layer.inputs else None
        out[layer.name] = None if shape is None else conv_input(shape[1:], layer.args["k"])[1] \
            if layer.op == "conv" else shape[1] if len(shape) == 4 else None  # a conv's: after its windows
        for k, shape in enumerate(layer.outputs):
            shapes[layer.name if len(layer.outputs) == 1 else f"{layer.name}.{k}"] = tuple(shape)
    return out


@dataclass(frozen=True)
class Share:
    name: str
    op: str
    layers: int
    flops: int
    memory_access: int
    flops_share: float
    memory_share: float
    latency_share: float | None = None  # of the estimated latency (its layers' kernels; run overhead aside)


@dataclass(frozen=True)
class Stages:
    model: str
    depth: int
    bars: tuple  # Share, in graph order
    title: str
    x_label: str = "share of the network"
    series: tuple = ("FLOPs", "memory access")


def stages(report, depth: int = 1) -> Stages:
    """The rows of `report` at `depth`, each as its share of the network's FLOPs and of its memory access, and
    with an estimate, of the estimated time of its layers."""
    total_flops, total_mac = report.totals.flops, report.totals.memory_access
    timed = report.latency is not None
    rows = report_rows(report, depth)
    total_s = sum(row.latency_s for row in rows) if timed else 0.0
    bars = tuple(Share(row.name, row.op, row.layers, row.counts.flops, row.counts.memory_access,
                       row.counts.flops / total_flops if total_flops else 0.0,
                       row.counts.memory_access / total_mac if total_mac else 0.0,
                       (row.latency_s / total_s if total_s else 0.0) if timed else None)
                 for row in rows)
    what = "FLOPs, memory access and estimated latency" if timed else "FLOPs and memory access"
    return Stages(report.model, depth, bars, f"{report.model}: {what} by {'stage' if depth == 1 else f'depth {depth}'}",
                  series=("FLOPs", "memory access", "estimated latency") if timed else ("FLOPs", "memory access"))


@dataclass(frozen=True)
class LayerProfile:
    model: str
    names: tuple
    flops: tuple  # per layer, graph order
    memory_access: tuple
    title: str
    x_label: str = "layer (graph order)"
    y_label: str = "count"
    series: tuple = ("FLOPs", "memory access")


def layers(report) -> LayerProfile:
    return LayerProfile(report.model, tuple(layer.name for layer in report.layers),
                        tuple(layer.counts.flops for layer in report.layers),
                        tuple(layer.counts.memory_access for layer in report.layers),
                        f"{report.model}: FLOPs and memory access of each of its {len(report.layers)} layers")


@dataclass(frozen=True)
class ParetoPoint:
    index: int
    label: str  # the point's values, "width=0.5 input=3x160x160"
    x: int
    y: int
    on_front: bool


@dataclass(frozen=True)
class Pareto:
    model: str
    x_column: str
    y_column: str
    points: tuple  # ParetoPoint of every valid row
    front: tuple  # the front's points, by x
    failed: int  # points with an error, not drawn
    title: str


def pareto(sweep) -> Pareto:
    """A sweep's valid points in its two front columns (all of them, also those `top` leaves out of the table),
    and the front ordered by the first."""
    if len(sweep.pareto) != 2:
        from costcalc.errors import OptionError

        raise OptionError("a Pareto plot needs a sweep whose front has exactly two columns, e.g. --pareto flops,params")
    x_column, y_column = sweep.pareto
    points = tuple(ParetoPoint(row.index, " ".join(f"{n}={v}" for n, v in row.values), row.value(x_column),
                               row.value(y_column), row.pareto) for row in sweep.every or sweep.rows
                   if row.totals is not None)  # every point, whatever `top` shows in the table
    front = tuple(sorted((p for p in points if p.on_front), key=lambda p: (p.x, p.y)))
    return Pareto(sweep.model, x_column, y_column, points, front, sweep.invalid,
                  f"{sweep.model}: {len(points)} points, {len(front)} on the front")


def _shape(dims: tuple) -> str:
    return "x".join(str(d) for d in dims)
