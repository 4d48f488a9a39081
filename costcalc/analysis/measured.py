"""`costcalc measure`: a runtime Measurement (costcalc.runtime) as the rows of a table at a chosen depth, beside
the analytic counts of the same layers when the network came from a spec.

Times are seconds (floats, as measured); counts stay ints. Nothing here runs anything or formats anything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MeasuredRow:
    name: str
    latency_s: float  # min over runs of the row's kernel time in a run
    latency_median_s: float
    layers: int = 1  # layers summed into this row
    fused_into: str | None = None  # every layer of the row ran inside this other row's kernels
    flops: int | None = None  # analytic, when measured from a spec
    memory_access: int | None = None


@dataclass(frozen=True)
class MeasuredReport:
    model: str
    path: str
    input: tuple | None  # (N, C, H, W) when known
    runtime: str
    threads: int
    warmup: int
    runs: int
    latency_s: float  # wall time, min over runs, seconds for the batch
    latency_median_s: float
    profiled_s: float  # kernel time the profiler accounts for: what the rows sum to
    rows: tuple
    cpu_s: float = 0.0  # the calling thread's CPU time in a run, min over runs
    flops: int | None = None
    memory_access: int | None = None
    profiled_wall_s: float = 0.0  # wall time of a run of the profiled pass the rows come from, min over runs
    note: str = ""  # what the rows are of when they are not layers (an ONNX file costcalc cannot read: its nodes)
    warnings: tuple = ()  # the walked spec's SpecWarnings (the CLI prints them on stderr)

    @property
    def accounted(self) -> float:
        """The share of the profiled pass's wall time (min over runs) the rows account for."""
        return self.profiled_s / self.profiled_wall_s if self.profiled_wall_s else 0.0

    @property
    def profiler_overhead(self) -> float | None:
        """How much longer a run took with the profiler on than without (min over runs each); None unprofiled."""
        return self.profiled_wall_s / self.latency_s - 1 if self.profiled_wall_s and self.latency_s else None

    @property
    def rows_latency_s(self) -> float:
        return sum(row.latency_s for row in self.rows)


def measured_report(measurement, depth: int | None = 2, graph=None, model: str = "", path: str = "",
                    note: str = "") -> MeasuredReport:
    """The report of `measurement`, layers summed into their block at `depth` (None: every layer); `graph` (the
    walked spec that was exported, or the graph costcalc imports from the ONNX file that was run) adds each row's
    analytic FLOPs and memory access."""
    counts = {node.name: node.counts for node in graph.nodes} if graph is not None else {}
    groups: dict = {}
    group_of: dict = {}
    position = {name: k for k, name in enumerate(counts)}  # the graph's order; the runtime's own kernels last
    for layer in sorted(measurement.layers, key=lambda layer: position.get(layer.name, len(position))):
        key = _key(layer.name, depth)
        group_of[layer.name] = key
        groups.setdefault(key, []).append(layer)
    rows = []
    for key, members in groups.items():
        fused = [m for m in members if m.fused_into is not None]
        targets = [group_of.get(m.fused_into, m.fused_into) for m in fused]
        outside = [t for t in targets if t != key]
        fused_into = outside[0] if len(fused) == len(members) and outside else None
        c = [counts[m.name] for m in members if m.name in counts]
        rows.append(MeasuredRow(key, sum(m.latency_s for m in members), sum(m.latency_median_s for m in members),
                                len(members), fused_into, sum(x.flops for x in c) if c else None,
                                sum(x.memory_access for x in c) if c else None))
    totals = list(counts.values())
    return MeasuredReport(
        model=model or graph.name if graph is not None else model,
        path=path or graph.path if graph is not None else path,
        input=(graph.batch, *graph.input_shape) if graph is not None else None,
        runtime=measurement.runtime,
        threads=measurement.threads,
        warmup=measurement.warmup,
        runs=measurement.runs,
        latency_s=measurement.latency_s,
        latency_median_s=measurement.latency_median_s,
        profiled_s=measurement.profiled_s,
        rows=tuple(rows),
        cpu_s=measurement.cpu_s,
        flops=sum(c.flops for c in totals) if totals else None,
        memory_access=sum(c.memory_access for c in totals) if totals else None,
        profiled_wall_s=measurement.profiled_wall_s,
        note=note,
        warnings=tuple(graph.warnings) if graph is not None else (),
    )


def _key(name: str, depth: int | None) -> str:
    if depth is None or name.startswith("["):
        return name
    return ".".join(name.split(".")[:depth])


def read_measured(path: str):
    """The layer times of `costcalc measure --format json` output in `path`, as costcalc.analysis.view's
    MeasuredTimes; a file that is not such a document is a located SpecError."""
    import json

    from costcalc.analysis.view import MeasuredTimes
    from costcalc.errors import Loc, SpecError

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror or e}", Loc(path)) from None
    except json.JSONDecodeError as e:
        raise SpecError(f"not JSON: {e.msg}", Loc(path, e.lineno, e.colno)) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise SpecError(f"not JSON: {e}", Loc(path)) from None
    layers = doc.get("layers") if isinstance(doc, dict) else None
    totals = doc.get("totals") if isinstance(doc, dict) else None
    if not isinstance(layers, list) or not isinstance(totals, dict) or not _seconds(totals.get("latency_s")):
        raise SpecError("not the output of `costcalc measure --format json` (no \"totals\" with \"latency_s\" and "
                        "no \"layers\")", Loc(path))
    times = {}
    for k, layer in enumerate(layers):
        if not (isinstance(layer, dict) and isinstance(layer.get("name"), str) and _seconds(layer.get("latency_s"))):
            raise SpecError(f"layers[{k}]: a layer needs a \"name\" and its \"latency_s\" in seconds", Loc(path))
        if not layer["name"].startswith("["):  # the runtime's own kernels ("[other]"): no layer of the spec
            fused = layer.get("fused_into")
            times[layer["name"]] = (float(layer["latency_s"]), fused if isinstance(fused, str) else None)
    threads = doc.get("threads")
    return MeasuredTimes(path, str(doc.get("runtime", "")), threads if isinstance(threads, int) else 0,
                         float(totals["latency_s"]), times)


def _seconds(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
