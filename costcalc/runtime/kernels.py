"""onnxruntime's profiled kernels mapped back to the model's nodes, and the nodes to layers.

A kernel is named after the ONNX node it came from, after a node of a fused group, or after the output tensor of
the group's last node (`relu_nchwc` is conv + bn + relu of a node whose output is `relu`), and carries the op type
it runs (Conv). `attribute` maps kernels back to the model's nodes:
- a kernel belongs to the node its name starts with (the longest such node name), or else to the node that writes
  the tensor its name starts with (the longest such output name);
- when that node's op type is not the kernel's (a Conv kernel named after the Relu that ends its group), the node
  of the kernel's op type reached backwards through nodes that have no kernel of their own is its main node, and
  every node on the way belongs to the kernel;
- a fused kernel named after no node (onnxruntime's `Gelu` for the Div-Erf-Add-Mul-Mul of an exported GELU)
  belongs to the first node after the previous kernel's that has no kernel and is of an op type it replaces;
- a kernel a fusion added around the one it serves (`gemm_input_reshape`, `gemm_output_reshape_token_5`, a
  `Transpose` of the layout optimiser) goes with the next kernel when its name says input, else the previous one;
- a node left without a kernel (a BatchNormalization folded into its conv, an Add and Relu fused into the conv
  before them, a Dropout removed) belongs to the kernel of its input that ran last, or, when it reads only the
  network's input, to the kernel of the node that reads it.
Each kernel's time goes on its main node's layer; a layer none of whose nodes has a kernel of its own is marked
`fused_into` the layer whose kernel ran its work, never dropped. Kernels of no node of the model (onnxruntime's
layout reorders) are rows of their own, one per op type (`[ReorderOutput]`). A layer's time is the min (and the
median) over runs of its kernels' time in a run, so a hiccup of the machine in one run does not land on one layer.
The profiler times kernels only: the layers' times sum to less than the profiled pass's wall time, and
`Measurement.accounted` says which share of it they cover.

Layers: `layer_names` maps node names to layers (an imported model's: `layers_by_dataflow` over what the importer
says each node became); without it, in a model costcalc exported a node `<layer>/<OpType>` is part of layer
`<layer>`, and in any other model each node is its own layer.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class LayerTime:
    name: str
    latency_s: float  # time of the kernels whose time goes on this layer, min over runs; 0 when fused
    fused_into: str | None = None  # the layer whose kernel ran this one's work
    latency_median_s: float = 0.0  # the same, median over runs
    kernels: tuple = ()  # names of the profiler's kernels counted here


def layer_of(model) -> dict:
    """ONNX node name -> layer name: `<layer>/<OpType>` is part of `<layer>` in a file costcalc wrote."""
    ours = model.producer_name == "costcalc"
    return {name: (name.partition("/")[0] if ours else name) for name in node_names(model)}


def node_names(model) -> list:
    """The name of each node of the graph (an unnamed one: `<OpType>_<index>`)."""
    return [n.name or f"{n.op_type}_{i}" for i, n in enumerate(model.graph.node)]


def layers_by_dataflow(model, known: dict) -> dict:
    """ONNX node name -> layer, from `known` ({node index: layer name}, what the importer made of each node): a node
    that made no layer of its own (a view, a pattern's helper, shape arithmetic) is part of the layer of its input
    written last, or, when none of its inputs comes from a layer (it reads the network's input or constants), of
    the first layer that reads it; a node reached by neither keeps its own name."""
    nodes = list(model.graph.node)
    names = node_names(model)
    producer = {t: i for i, n in enumerate(nodes) for t in n.output if t}
    layer = dict(known)
    for i, node in enumerate(nodes):
        if i not in layer:
            inputs = [producer[t] for t in node.input if t in producer and producer[t] in layer]
            if inputs:
                layer[i] = layer[max(inputs)]
    readers: dict = {}
    for j, node in enumerate(nodes):
        for t in node.input:
            if t in producer:
                readers.setdefault(producer[t], []).append(j)
    for i in reversed(range(len(nodes))):
        if i not in layer:
            reader = next((j for j in readers.get(i, ()) if j in layer), None)
            if reader is not None:
                layer[i] = layer[reader]
    return {name: layer.get(i, name) for i, name in enumerate(names)}

def attribute(model, kernel_runs: list, layer_names: dict | None = None) -> tuple:
    """The LayerTime records of the kernel events of each run (see the module doc), one per layer of `layer_names`
    (node name -> layer; default `layer_of`): a layer's `latency_s` is the min over runs of its kernels' time in a
    run, its `latency_median_s` the median."""
    nodes = list(model.graph.node)
    names = node_names(model)
    producer = {t: i for i, n in enumerate(nodes) for t in n.output if t}
    named = ({name: i for i, name in enumerate(names)}, producer)  # what a kernel may be named after
    kernel_main: dict = {}  # kernel name -> index of its main node
    owner: dict = {}  # node index -> kernel name
    order: dict = {}  # kernel name -> position in execution
    for run in kernel_runs[:1]:
        own = {_anchor(k, named) for k, _, _ in run}  # nodes a kernel is named after
        for pos, (kernel, op, _) in enumerate(run):
            order.setdefault(kernel, pos)
            anchor = _anchor(kernel, named)
            if anchor is None or kernel in kernel_main:
                continue
            main, path = anchor, [anchor]
            if nodes[anchor].op_type != op:  # walk back to the node of the kernel's op type
                found = _walk_back(anchor, op, nodes, producer, own)
                if found is not None:
                    main, path = found[0], found[1]
            kernel_main[kernel] = main
            for i in path:
                owner.setdefault(i, kernel)
        _place_fused(run, nodes, named, kernel_main, owner)
        _place_helpers(run, kernel_main)
    for i, node in enumerate(nodes):  # nodes without a kernel: the kernel of their input that ran last
        if i in owner:
            continue
        inputs = [owner[producer[t]] for t in node.input if t in producer and producer[t] in owner]
        if inputs:
            owner[i] = max(inputs, key=lambda k: order.get(k, -1))
    for i in reversed(range(len(nodes))):  # none of whose inputs has one (it reads the network's input): its reader's
        if i not in owner:
            readers = [j for j, n in enumerate(nodes) if j in owner and set(n.input) & set(nodes[i].output)]
            if readers:
                owner[i] = owner[readers[0]]
    layer = layer_names if layer_names is not None else layer_of(model)
    return _records([layer.get(n, n) for n in names], owner, kernel_main, kernel_runs)


# onnxruntime's fused kernels named after no node of the model, and an op type of the nodes each replaces
FUSED_FROM = {"Gelu": {"Erf", "Gelu"}, "FastGelu": {"Tanh", "Gelu"}, "BiasGelu": {"Erf", "Gelu"},
              "QuickGelu": {"Sigmoid"}}


def _place_fused(run: list, nodes, named: tuple, kernel_main: dict, owner: dict) -> None:
    """A fused kernel named after no node (onnxruntime's `Gelu` for Div-Erf-Add-Mul-Mul) belongs to the first node
    after the last kernel placed before it that has no kernel yet and is of an op type it replaces."""
    last = -1
    for kernel, op, _ in run:
        if kernel in kernel_main:
            last = max(last, kernel_main[kernel])
            continue
        if _anchor(kernel, named) is not None or op not in FUSED_FROM:
            continue
        found = next((j for j in range(last + 1, len(nodes)) if j not in owner and nodes[j].op_type in FUSED_FROM[op]),
                     None)
        if found is not None:
            kernel_main[kernel], owner[found], last = found, kernel, found


OWN_KERNELS = ("ReorderInput", "ReorderOutput")  # onnxruntime's layout conversions: rows of their own


def _place_helpers(run: list, kernel_main: dict) -> None:
    """A kernel of no node that a fusion added (see the module doc) goes on the main node of its neighbour."""
    placed = [kernel_main.get(kernel) for kernel, _, _ in run]
    for pos, (kernel, op, _) in enumerate(run):
        if kernel in kernel_main or op in OWN_KERNELS:
            continue
        after = "input" in kernel.lower()
        side = placed[pos + 1:] if after else reversed(placed[:pos])
        main = next((m for m in side if m is not None), None)
        if main is not None:
            kernel_main[kernel] = main


def _anchor(kernel: str, named: tuple):
    """The node a kernel is named after: the longest node name or node output (`named`: ({node name: index},
    {output: index of its node})) it starts with, followed by '_', '/' or nothing; the node's name first."""
    nodes, outputs = named
    kernel = kernel.removeprefix("fused ")  # onnxruntime's FusedGemm of a Gemm and its activation: `fused <node>`
    for cut in range(len(kernel), 0, -1):
        if cut == len(kernel) or kernel[cut] in "_/":
            found = nodes.get(kernel[:cut], outputs.get(kernel[:cut]))
            if found is not None:
                return found
    return None


def _walk_back(anchor: int, op: str, nodes, producer, own: set):
    """(main node, nodes on the path) from `anchor` back through nodes with no kernel of their own to the nearest
    node of op type `op`; None when there is none."""
    frontier, seen = [(anchor, [anchor])], {anchor}
    while frontier:
        i, path = frontier.pop(0)
        for t in nodes[i].input:
            j = producer.get(t)
            if j is None or j in seen or (j in own and j != anchor):
                continue
            seen.add(j)
            if nodes[j].op_type == op:
                return j, path + [j]
            frontier.append((j, path + [j]))
    return None


def _records(layer_names: list, owner, kernel_main, kernel_runs) -> tuple:
    per_run = [{} for _ in kernel_runs]
    for r, run in enumerate(kernel_runs):
        for kernel, op, seconds in run:
            key = layer_names[kernel_main[kernel]] if kernel in kernel_main else f"[{op or kernel}]"
            per_run[r][key] = per_run[r].get(key, 0.0) + seconds
    kernels_of: dict = {}
    for kernel, main in kernel_main.items():
        kernels_of.setdefault(layer_names[main], []).append(kernel)
    members: dict = {}  # layer -> its node indices, in order
    for i, name in enumerate(layer_names):
        members.setdefault(name, []).append(i)
    position = {name: k for k, name in enumerate(members)}
    rows = []
    for name, mine in members.items():
        fused_into = None
        if name not in kernels_of:
            targets = {layer_names[kernel_main[owner[j]]] for j in mine if j in owner and owner[j] in kernel_main}
            targets.discard(name)
            fused_into = min(targets, key=position.get) if targets else None
        rows.append(_row(name, per_run, fused_into, tuple(kernels_of.get(name, ()))))
    extra: dict = {}  # onnxruntime's own kernels, by op type
    for run in kernel_runs:
        for kernel, op, _ in run:
            if kernel not in kernel_main:
                extra.setdefault(f"[{op or kernel}]", {})[kernel] = None
    rows.extend(_row(k, per_run, None, tuple(kernels)) for k, kernels in sorted(extra.items()))
    return tuple(rows)


def _row(name: str, per_run: list, fused_into, kernels: tuple) -> LayerTime:
    values = [run.get(name, 0.0) for run in per_run] or [0.0]
    return LayerTime(name, min(values), fused_into, statistics.median(values), kernels)
