"""Layers that read another's parameters: a module applied at several places (CoaT's conv position encoding in
both blocks of a stage, a head run over every pyramid level, a weight-tied Linear, one nn.LayerNorm before both the
attention and the MLP, one nn.PReLU after several convs, a position embedding added twice) holds its parameters
once in the file: one initializer read by several nodes. The later layers are written `shares: <the first>`
(costcalc.sharing): their FLOPs and memory access are counted, their parameters once.

A layer with parameters shares an earlier one of the same op when it reads exactly the same stored tensors (a conv,
transposed conv or fc layer: its weight, and its bias or none; any other op: the stored tensors among its node's
inputs, a layernorm's scale and shift, a PReLU's slope, an added table), reads one of them itself rather than
through an Identity node, and has the same arguments but for where its window goes.

The Identity is the TorchScript exporter's mark of equal values stored once: it keeps one copy of equal
initializers and feeds the others' readers through Identity nodes (every untrained timm ResNet's folded conv whose
batchnorm scale starts at zero: 30 library files), while a module applied twice reads its own tensor (CoaT's convs).
What TorchScript folds at each use it also joins by Identity (a Linear's transposed weight on tokens), so a
weight-tied Linear on tokens without bias counts at each use in a TorchScript file.

Other layers' parameters (norms, slopes, learned numbers, tables) are equal by chance in an untrained model, and
exporters merge equal tensors without an Identity: TorchScript an untrained PoolFormerV2's LayerNorm scales and
FastViT's batchnorms (without constant folding), the dynamo optimiser an untrained ConvNeXt's layer scales, one
tensor for each stage's blocks. So such a layer shares only in a dynamo exporter's file, which records the module
each node ran in (`pkg.torch.onnx.name_scopes`), with an earlier layer of the same module instance (one module that
ran twice; ConvNeXt's blocks are different modules), and only where none of that module's listed parameters is
missing from the file (merged with an equal one, or folded: a PReLU's slope reshaped into `val_1`). Elsewhere, and in
every TorchScript file, one nn.LayerNorm or nn.PReLU applied twice counts at each use.
"""

from __future__ import annotations

from costcalc.importers.onnx.naming import literal_list
from costcalc.importers.onnx.reading import Const
from costcalc.sharing import PLACEMENT

WEIGHTED = ("conv", "conv_transpose", "fc")  # the ops whose weights a Conv, Gemm or MatMul node reads


def note_weights(imp, node, layer, params: int) -> None:
    """Record on `layer`, which has `params` parameters, the stored tensors its ONNX `node` reads as its
    parameters (their names)."""
    if not params or node is None or len(node.proto.input) < 2:
        return
    if layer.op in WEIGHTED:
        consts = [imp.tensors.get(t) for t in node.proto.input[1:] if t]
        if not _stored(consts[0] if consts else None):  # the weight itself, not a bias alone (a computed weight)
            return
    else:  # a norm's scale and shift, a slope, an added table: one module instance that ran twice (below)
        scope = _scope(node)
        if scope is None or imp.parameters is None or _unstored(imp, scope):
            return
        consts = [imp.tensors.get(t) for t in node.proto.input if t]
        if not any(_stored(c) for c in consts):
            return
        consts = [*consts, ("module", scope)]  # shared only with a layer of the same module
    layer.weights = tuple(c if isinstance(c, tuple) else c.name for c in consts if isinstance(c, tuple) or _stored(c))
    layer.direct = any(name in node.proto.input for name in layer.weights)


def _scope(node) -> tuple | None:
    """The module a dynamo exporter's node ran in (its `pkg.torch.onnx.name_scopes` less the op's own name; the
    same for each call of one module instance), None in a file without that record."""
    meta = {p.key: p.value for p in node.proto.metadata_props}
    scopes = literal_list(meta.get("pkg.torch.onnx.name_scopes"))
    return tuple(scopes[1:-1]) if scopes and len(scopes) >= 2 else None


def _unstored(imp, scope: tuple) -> bool:
    """Whether a parameter of this module (listed in the file's graph signature) is not stored under its name:
    folded into another tensor, or merged with an equal one (CaiT's gamma_1 and gamma_2 of an untrained block)."""
    prefix = scope[-1] if scope else ""
    return any(p.rpartition(".")[0] == prefix and p not in imp.initializers for p in imp.parameters)


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
        if not layer.weights:
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
