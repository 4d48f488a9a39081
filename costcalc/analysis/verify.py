"""`costcalc verify`: run the graph through the numpy reference and hold each node's measurements against the
analytic figures of costcalc.ops. Everything here is ints and shapes; costcalc.report renders it.

Per layer it checks: the output array shapes equal the inferred shapes; the counted multiply-adds equal the
analytic FLOPs; the counted elements read (inputs and parameters) and written equal the analytic memory access;
the learnable arrays built for the layer hold exactly the analytic parameter count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from costcalc.graph import Graph


@dataclass(frozen=True)
class Mismatch:
    what: str  # "output shape", "flops", "memory_access", "params", or "reference" (an op it cannot run)
    analytic: object
    counted: object


@dataclass(frozen=True)
class LayerCheck:
    name: str
    op: str
    output: tuple  # output shapes with the batch, as run
    flops: int  # counted multiply-adds
    memory_access: int  # counted elements read and written
    params: int  # counted elements of the learnable arrays
    mismatches: tuple = ()
    measured: object = None  # the reference's Measured record (reads, writes, buffers), None if it could not run

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True)
class Verification:
    model: str
    path: str
    input: tuple  # (N, C, H, W)
    seed: int
    layers: tuple  # LayerCheck, in the graph's order
    total_layers: int  # nodes in the graph (more than len(layers) when the run stopped at an op it cannot run)

    @property
    def passed(self) -> bool:
        return len(self.layers) == self.total_layers and all(layer.passed for layer in self.layers)

    @property
    def failures(self) -> list:
        return [layer for layer in self.layers if not layer.passed]


def check_node(node, graph: Graph, measured) -> LayerCheck:
    expected_shapes = tuple((graph.batch, *graph.tensors[t]) for t in node.outputs)
    c = node.counts
    mismatches = []
    if measured.shapes != expected_shapes:
        mismatches.append(Mismatch("output shape", expected_shapes, measured.shapes))
    if measured.mult_adds != c.flops:
        mismatches.append(Mismatch("flops", c.flops, measured.mult_adds))
    if measured.memory_access != c.memory_access:
        mismatches.append(Mismatch("memory_access", c.memory_access, measured.memory_access))
    if measured.params != c.params:
        mismatches.append(Mismatch("params", c.params, measured.params))
    return LayerCheck(node.name, node.op, measured.shapes, measured.mult_adds, measured.memory_access,
                      measured.params, tuple(mismatches), measured)


def verify(graph: Graph, seed: int = 0, progress: Callable[[int, str], None] | None = None) -> Verification:
    """Run `graph` through the reference and check every node; `progress(done, name)` is told after each node."""
    from costcalc.reference.network import NoReference, run

    layers = []
    try:
        for done, (node, measured) in enumerate(run(graph, seed), start=1):
            layers.append(check_node(node, graph, measured))
            if progress is not None:
                progress(done, node.name)
    except NoReference as e:
        node = graph.nodes[len(layers)]
        layers.append(LayerCheck(node.name, node.op, (), 0, 0, 0,
                                 (Mismatch("reference", str(e), None),)))
    return Verification(graph.name, graph.path, graph.input_shapes(), seed, tuple(layers),
                        len(graph.nodes))
