"""The records of a walked network: Node (one layer: its op, evaluated arguments, tensors, OpResult and Counts) and
Graph (the nodes in topological order and every tensor's per-sample shape). costcalc.graph builds them from a spec;
everything after it (analysis, report, the exporters) reads them."""

from __future__ import annotations

from dataclasses import dataclass, field

from costcalc.errors import Loc
from costcalc.ops import Counts, OpResult
from costcalc.spec.model import Spec


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    path: tuple  # the name's components
    kinds: tuple  # what each component is: a block name (with xN when repeated), "layers", or the op
    op: str
    args: dict  # evaluated op arguments
    inputs: tuple  # tensor ids
    outputs: tuple  # tensor ids
    result: OpResult
    counts: Counts
    loc: Loc
    shares: str | None = None  # the layer whose parameters it uses (`shares:`, costcalc.sharing): no params of its own


@dataclass
class Graph:
    name: str
    path: str
    batch: int
    tensors: list  # tensor id -> per-sample Shape; tensors 0, 1, ... are the network's inputs
    nodes: list  # list[Node], topological order
    output: int  # tensor id of the network's output
    variables: dict  # the spec's variables as evaluated
    spec: Spec = field(repr=False, default=None)
    inputs: dict = field(default_factory=lambda: {"input": 0})  # input name -> tensor id, in the spec's order
    warnings: list = field(default_factory=list)  # SpecWarning: located, printed on stderr by the CLI

    @property
    def input_shape(self) -> tuple:
        """The (first) input's per-sample shape."""
        return self.tensors[0]

    def input_shapes(self):
        """(N, C, H, W) of the input; for a network of several inputs, {name: (N, C, H, W)} in the spec's order."""
        if len(self.inputs) == 1:
            return (self.batch, *self.tensors[0])
        return {name: (self.batch, *self.tensors[t]) for name, t in self.inputs.items()}

    def producer(self) -> dict:
        """tensor id -> index of the node that wrote it (the input has none)."""
        return {t: i for i, node in enumerate(self.nodes) for t in node.outputs}
