"""A network of several inputs: `input: {image: [3, 224, 224], depth: [1, 224, 224]}`, read with `from: depth`.

The first input is the one the first layer reads by default; at the top level `from:` names them, and tensors
0, 1, ... of the graph are the inputs in the spec's order.
"""

from __future__ import annotations

from costcalc.errors import SpecError, SpecWarning, shown
from costcalc.spec.model import NAME, RESERVED, Value


def named_inputs(value: Value, shape_of, layers: list):
    """(name, shape) for each input of `input: {name: [C, H, W], ...}`; `shape_of(Value, what)` reads a shape."""
    raw = value.raw
    if not raw:
        raise SpecError("'input' names no input: give [C, H, W] or {name: [C, H, W], ...}", value.loc)
    key_locs = getattr(raw, "key_locs", {})
    value_locs = getattr(raw, "value_locs", {})
    top = {entry.name for entry in layers if entry.name}
    for name, shape in raw.items():
        loc = key_locs.get(name, value.loc)
        if not NAME.match(name) or len(name) > 128:
            raise SpecError(f"input {shown(repr(name))} is not a name (letters, digits, _ and -, not starting with a "
                            "digit)", loc)
        if name in RESERVED:
            raise SpecError(f"input '{name}': 'input' is reserved: with several inputs, name each", loc)
        if name in top:
            raise SpecError(f"input '{name}': a layer of the network has this name too", loc)
        yield name, shape_of(Value(shape, value_locs.get(name, value.loc)), f"input '{name}'")


def unread_inputs(spec, inputs: dict, nodes: list) -> list:
    """A warning for each input of a network of several that no layer reads."""
    if len(inputs) < 2:
        return list(spec.warnings)
    read = {t for node in nodes for t in node.inputs}
    locs = getattr(spec.input.raw, "key_locs", {})
    return [*spec.warnings, *(SpecWarning(f"input '{name}' is never read: no layer has 'from: {name}'",
                                          locs.get(name, spec.input.loc))
                              for name, t in inputs.items() if t not in read)]
