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


_AXES = ("channels", "height", "width")


def bind_input(spec, overrides: dict, input_shape) -> dict:
    """`--input` on a spec whose `input:` names variables (`input: [3, H, W]`): {variable: value text} giving each
    such variable the size `--input` gives its axis, so that every expression reading it follows. A variable the
    user `--set` is left alone (check_bound_input then holds it to the input); an entry that is a longer expression
    (`2 * size`) is not solved for: check_bound_input refuses it when it disagrees."""
    if not input_shape or spec.input is None or not isinstance(spec.input.raw, list):
        return {}
    raw = spec.input.raw
    if len(raw) != len(input_shape):
        return {}
    bound: dict = {}
    for entry, size in zip(raw, input_shape):
        name = entry.strip() if isinstance(entry, str) else None
        if name in spec.vars and name not in overrides:
            if bound.get(name, str(size)) != str(size):
                raise SpecError(f"--input {'x'.join(map(str, input_shape))}: the spec's input is {_shown_input(raw)}, "
                                f"so '{name}' cannot be both {bound[name]} and {size}", spec.input.loc)
            bound[name] = str(size)
    return bound


def check_bound_input(spec, overrides: dict, bound: dict, input_shape, evaluated: tuple) -> None:
    """Refuse `--input` where an expression of the spec's `input:` gives another size than it: the spec's other
    expressions would read the variables at the spec's size, never at the one asked for (a silent wrong shape)."""
    raw = spec.input.raw
    locs = getattr(raw, "item_locs", [spec.input.loc] * len(raw))
    if len(raw) != len(input_shape):
        return
    for axis, (entry, got, given, loc) in enumerate(zip(raw, evaluated, input_shape, locs)):
        if not isinstance(entry, str) or got == given:
            continue
        what = _AXES[axis] if len(raw) == 3 else "features" if len(raw) == 1 else f"axis {axis + 1}"
        name = entry.strip()
        if name in overrides:
            why = f"--set {name}={overrides[name]} gives it {got}"
        else:
            why = (f"'{shown(entry)}' is {got} with the spec's variables and costcalc does not solve an expression for "
                   f"them: set them with --set instead")
        raise SpecError(f"--input {'x'.join(map(str, input_shape))}: the input's {what} is '{shown(entry)}' in the "
                        f"spec, not {given}: {why}", loc)


def _shown_input(raw) -> str:
    return "[" + ", ".join(shown(str(r)) for r in raw) + "]"


def bound_read(spec, bound: dict) -> bool:
    """Whether a variable `--input` bound is read by anything but `input:` itself: a walk remembered for one input
    is then no walk of another (costcalc.analysis.totals), even where the size is the spec's own."""
    from costcalc.spec.lint import used_names

    return bool(set(bound) & used_names(spec, input_too=False))
