"""Layers that share parameters: `shares: <layer>` on an op layer.

A module applied at several places holds its weights once (CoaT's conv position encoding added in both blocks of a
stage, RetinaNet's head run over every pyramid level, a weight-tied Linear): torch's `sum(p.numel())` and the ONNX
file count them once. A layer that shares an earlier one uses that layer's parameters: it has none of its own
(params 0), it still reads them (its memory access counts its weights read, as every layer's does) and it does its
own arithmetic (FLOPs).

The name is looked up first among the layers of the entry's own list (`cpe`, or `block.cpe` inside an inline
sequence of that list), then from the top (`serial_blocks1.0.cpe.proj`, the full name `report` prints). It must name
one earlier layer, not a block; of the same op, with parameters; whose parameters have the shape this layer's would
have: the same arguments but for where the window goes (stride, padding, dilation), and the same count. A layer
that shares one that shares another shares the first owner's.
"""

from __future__ import annotations

from dataclasses import replace

from costcalc.errors import SpecError

PLACEMENT = ("stride", "pad", "pad_end", "dilation", "output_padding", "ceil_mode", "call", "linear")  # arguments
# that place a window over the input without changing the weights' shape


def uses_shares(spec) -> bool:
    """Whether any layer entry of `spec` says `shares:` (remembered on the spec)."""
    if spec.shares is None:
        stack = [*spec.layers, *(e for block in spec.blocks.values() for e in block.layers)]
        found = False
        while stack and not found:
            entry = stack.pop()
            found = entry.shares is not None
            stack.extend(entry.layers or ())
        spec.shares = found
    return spec.shares


def share(walker, entry, scope_path: tuple) -> None:
    """Make the walker's last node, just made from `entry`, use the parameters of the layer `entry.shares` names."""
    node = walker.nodes[-1]
    text, loc = entry.shares.raw, entry.shares.loc
    where = f"layer '{node.name}': shares '{text}'"
    index = _index(walker)
    target = None
    for name in dict.fromkeys((".".join((*scope_path, text)), text)):
        target = index.get(name)
        if target is not None:
            break
    if target is None:
        if any(n.name.startswith(text + ".") or n.name.startswith(".".join((*scope_path, text)) + ".")
               for n in walker.nodes[:-1]):
            raise SpecError(f"{where}, a block or a group of layers: name one of its layers", loc)
        raise SpecError(f"{where}, which names no earlier layer (a layer of this list by its name, or any earlier "
                        "layer by its full name from the top, as `report` prints it)", loc)
    owner = walker.nodes[target]
    if owner.op != node.op:
        raise SpecError(f"{where}, whose op is {owner.op}, not {node.op}: only a layer of the same op can use "
                        "its parameters", loc)
    if owner.result.params == 0:
        raise SpecError(f"{where}, which has no parameters to share", loc)
    differ = [k for k in dict.fromkeys((*owner.args, *node.args))
              if k not in PLACEMENT and owner.args.get(k) != node.args.get(k)]
    if differ or owner.result.params != node.result.params:
        said = "; ".join(f"{k} {_shown(owner.args.get(k))} there, {_shown(node.args.get(k))} here" for k in differ)
        raise SpecError(f"{where}, whose {owner.result.params:,} parameters have another shape than this layer's "
                        f"{node.result.params:,} ({said or 'its input has other channels'})", loc)
    walker.nodes[-1] = replace(node, counts=replace(node.counts, params=0), shares=owner.shares or owner.name)


def _index(walker) -> dict:
    """name -> node index of the walker's layers before the last, extended as the walk goes on."""
    index, done = getattr(walker, "shared_index", None) or ({}, 0)
    for i in range(done, len(walker.nodes) - 1):
        index[walker.nodes[i].name] = i
    walker.shared_index = (index, len(walker.nodes) - 1)
    return index


def _shown(value) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return "none" if value is None else str(value)
