"""What `costcalc measure` computes, as a library function beside costcalc.api: a spec (exported with seeded random
weights) or an ONNX file run in onnxruntime on this machine, its total timed without the profiler and, from a
separate profiled pass, its time per layer: the spec's layers, or for an ONNX file the layers costcalc imports from
it (module paths, ops, FLOPs), each runtime kernel's time on the layer whose node it ran."""

from __future__ import annotations

from costcalc.errors import CostcalcError, Loc, OptionError, SpecError


def measure(spec: str, overrides: dict | None = None, shape: tuple | None = None, batch: int = 1, *,
            input_text: str | None = None, runs: int = 10, budget_s: float | None = None, warmup: int = 3,
            threads: int = 1, seed: int = 0, profile: bool = True, depth: int | None = 2, progress=None):
    """The MeasuredReport (costcalc.analysis.measured) of `spec`: a spec or zoo name walked as `costcalc.api.walk`
    reads it (`overrides`, `shape`: C, H, W) and exported, or an ONNX file whose open axes take `batch` and
    `shape`. Rows at `depth` (None: every layer); `progress(done, total)` after each timed run."""
    from costcalc.analysis.measured import measured_report
    from costcalc.runtime.ort import load_onnxruntime, measure as run

    options = dict(threads=threads, warmup=warmup, runs=runs, budget_s=budget_s, profile=profile, seed=seed,
                   progress=progress)
    if spec.lower().endswith(".onnx"):
        if overrides:
            raise OptionError("--set changes a spec's variables: an ONNX file has none")
        load_onnxruntime(Loc(spec))
        shapes = file_shapes(spec, batch, shape)
        graph, layer_names, joined, note = _imported(spec, shapes, batch)
        measurement = run(spec, input_shapes=shapes, layer_names=layer_names, **options)
        if measurement.layers and joined:
            from dataclasses import replace

            from costcalc.runtime.kernels import LayerTime

            measurement = replace(measurement, layers=measurement.layers + tuple(
                LayerTime(name, 0.0, fused_into=into) for name, into in joined.items()))
        return measured_report(measurement, depth, graph, model=spec, path=spec, note=note)
    from costcalc.api import walk
    from costcalc.exporters.onnx import export

    graph = walk(spec, overrides, shape, batch, input_text)
    load_onnxruntime(Loc(graph.path))
    measurement = run(export(graph, weights="random", seed=seed), **options)
    return measured_report(measurement, depth, graph)


def _imported(path: str, shapes: dict, batch: int) -> tuple:
    """(the walked graph costcalc imports from the ONNX file at the shape it runs at, node name -> its layer,
    {layer made with another from one node (a Gemm's flatten): that layer}, ""); (None, None, {}, why) when
    costcalc cannot read the file's layers (an op it does not cost): the time is then per ONNX node."""
    from costcalc.graph import build
    from costcalc.importers.onnx import import_layers
    from costcalc.runtime.kernels import layers_by_dataflow
    from costcalc.runtime.ort import model_proto
    from costcalc.spec.reader import spec_from_document

    first = next(iter(shapes.values()), None)
    sample = tuple(first[1:]) if first and len(shapes) == 1 and all(isinstance(d, int) for d in first) else None
    try:
        doc, ops, node_layer = import_layers(path, sample)
        graph = build(spec_from_document(path, doc), None, sample, batch)
    except CostcalcError as e:  # the first line of the reason, without its location (the file's, known)
        why = getattr(e, "message", None) or str(e).splitlines()[0]
        return None, None, {}, f"rows: the file's ONNX nodes, as costcalc does not read its layers ({why})"
    if [node.op for node in graph.nodes] != ops:  # the walked layers are the imported ones, in order
        return None, None, {}, ("rows: the file's ONNX nodes, as its walked layers are not the imported ones "
                                "(please report it)")
    names = [node.name for node in graph.nodes]
    model = model_proto(path, Loc(path))
    owned, joined, last = set(node_layer.values()), {}, None
    for k, name in enumerate(names):  # a layer of no node of its own was made with the layer before it
        if k in owned:
            last = name
        elif last is not None:
            joined[name] = last
    return graph, layers_by_dataflow(model, {i: names[k] for i, k in node_layer.items()}), joined, ""


def file_shapes(path: str, batch: int, dims) -> dict:
    """The shape fed to each input of an ONNX file: its own sizes where it fixes them, `batch` for an open first
    axis (a dynamic batch), `dims` (--input: C x H x W) for the others of a one-input network (fixed ones must
    agree)."""
    from costcalc.runtime.ort import model_proto

    loc = Loc(path)
    graph = model_proto(path, loc).graph
    inits = {i.name for i in graph.initializer}
    inputs = [v for v in graph.input if v.name not in inits]
    shapes = {}
    for value in inputs:
        sizes = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                 for d in value.type.tensor_type.shape.dim]
        if dims and len(inputs) == 1:
            if len(sizes) != len(dims) + 1:
                raise SpecError(f"--input {'x'.join(map(str, dims))}: input '{value.name}' has {len(sizes)} axes, "
                                f"N and {len(sizes) - 1} more", loc)
            for k, (own, given) in enumerate(zip(sizes[1:], dims), start=1):
                if own is not None and own != given:
                    raise SpecError(f"--input {'x'.join(map(str, dims))}: input '{value.name}' fixes axis {k} at "
                                    f"{own}", loc)
            sizes[1:] = dims
        if sizes and sizes[0] is None:
            sizes[0] = batch
        elif sizes and batch != 1 and sizes[0] != batch:
            raise SpecError(f"--batch {batch}: input '{value.name}' fixes the batch at {sizes[0]}", loc)
        shapes[value.name] = tuple(sizes)  # an axis still open is refused, by name, where the input is made
    return shapes
