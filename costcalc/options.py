"""The values that change what a spec describes, as the command line and the Python API give them: variable
overrides (`width=0.5`) and an input shape (`3x160x160`, one number for a flat input, any shape of up to 8 sizes).
OptionError on a bad one."""

from __future__ import annotations

from costcalc.errors import OptionError
from costcalc.ops.tensor import MAX_RANK


def parse_shape(value) -> tuple | None:
    """'3x160x160', '3*160*160', (3, 160, 160), [3, 160, 160] or 128 (a flat input) -> a per-sample shape tuple."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().replace("*", "x").split("x")
        try:
            dims = tuple(int(p) for p in parts)
        except ValueError:
            dims = ()
    elif isinstance(value, int) and not isinstance(value, bool):
        dims = (value,)
    else:
        try:
            dims = tuple(value)
        except TypeError:
            dims = ()
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
            dims = ()
    if not 1 <= len(dims) <= MAX_RANK or any(d < 1 for d in dims):
        raise OptionError(f"'{value}': write CxHxW (3x160x160), one number for F, or any shape of 1 to {MAX_RANK} "
                          "sizes per sample (64x196)")
    return dims


def format_shape(shape: tuple) -> str:
    return "x".join(str(d) for d in shape)


def parse_assignment(item: str, example: str = "--set width=0.5") -> tuple:
    """'NAME=VALUE' -> (name, value text), both stripped."""
    name, eq, value = item.partition("=")
    if not eq or not name.strip() or not value.strip():
        raise OptionError(f"'{item}': write NAME=VALUE, e.g. {example}")
    return name.strip(), value.strip()


def overrides(values) -> dict:
    """Variable overrides as the walker takes them: a dict (name -> number, list or expression text), or an
    iterable of 'NAME=VALUE' texts."""
    if values is None:
        return {}
    if isinstance(values, dict):
        for name in values:
            if not isinstance(name, str):
                raise OptionError(f"set: variable names are text, not {name!r}")
        return dict(values)
    if isinstance(values, str):
        values = [values]
    result: dict = {}
    for item in values:
        name, value = parse_assignment(item)
        if name in result:
            raise OptionError(f"'{name}' is set twice ({name}={result[name]} and {name}={value}): "
                              "give each variable once")
        result[name] = value
    return result
