"""Weighted layers that read another's weights: a module applied at several places (CoaT's conv position encoding
in both blocks of a stage, a head run over every pyramid level, a weight-tied Linear) holds its weights once in the
file: one initializer read by several Conv, Gemm or MatMul nodes. The later layers are written `shares: <the first>`
(costcalc.sharing): their FLOPs and memory access are counted, their parameters once.

A conv, transposed conv or fc layer shares an earlier one when it reads exactly the same stored tensors (its weight,
and its bias or none), reads one of them itself rather than through an Identity node, and has the same arguments
but for where its window goes. The Identity is the TorchScript exporter's mark of equal values stored once: it keeps
one copy of equal initializers and feeds the others' readers through Identity nodes (every untrained timm ResNet's
folded conv whose batchnorm scale starts at zero: 30 library files), while a module applied twice reads its own
tensor (CoaT's convs, and the bias of a Linear on tokens, whose transposed weight TorchScript folds at each use and
joins by Identity). A weight-tied Linear on tokens without bias therefore counts at each use in a TorchScript file.
"""

from __future__ import annotations

from costcalc.importers.onnx.reading import Const
from costcalc.sharing import PLACEMENT

WEIGHTED = ("conv", "conv_transpose", "fc")  # the ops whose weights a Conv, Gemm or MatMul node reads


def note_weights(imp, node, layer) -> None:
    """Record on a weighted `layer` the stored tensors its ONNX `node` reads as weights (their names)."""
    if layer.op not in WEIGHTED or node is None or len(node.proto.input) < 2:
        return
    consts = [imp.tensors.get(t) for t in node.proto.input[1:] if t]
    if _stored(consts[0] if consts else None):  # the weight itself, not a bias alone (a computed weight: none)
        layer.weights = tuple(c.name for c in consts if _stored(c))
        layer.direct = any(name in node.proto.input for name in layer.weights)


def _stored(c) -> bool:
    return isinstance(c, Const) and c.param and bool(c.name)


def note_bias(layer, bias, node) -> None:
    """A bias Add `node` after a MatMul joins `layer`: its tensor is one of the layer's weights."""
    if _stored(bias) and layer.weights:
        layer.weights = (*layer.weights, bias.name)
        layer.direct = layer.direct or bias.name in node.proto.input


def mark(layers: list) -> None:
    """Set `shares` on each weighted layer that reads the same weights as an earlier one, `shared` on that one."""
    owners: dict = {}
    for layer in layers:
        if not layer.weights or layer.op not in WEIGHTED:
            continue
        owner = owners.setdefault(layer.weights, layer)
        if owner is not layer and layer.direct and owner.op == layer.op and _shape(owner.args) == _shape(layer.args):
            layer.shares, owner.shared = owner, True


def _shape(args: dict) -> dict:
    return {k: v for k, v in args.items() if k not in PLACEMENT}


def resolve(entries: list, prefix: str = "", found: dict | None = None) -> dict:
    """Replace each entry's `shares` (the owner Layer) by the owner's full name; `found`: id(Layer) -> full name
    of the entries seen so far (an owner comes before the layers sharing it)."""
    found = {} if found is None else found
    for entry in entries:
        name = f"{prefix}{entry.name}"
        if entry.layers is not None:
            resolve(entry.layers, name + ".", found)
        elif entry.origin is not None:
            found[id(entry.origin)] = name
            if entry.shares is not None:
                entry.shares = found[id(entry.shares)]
    return found
