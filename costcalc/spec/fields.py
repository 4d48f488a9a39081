"""Reading one value of a spec document: text, a mapping, a list, a name, a variable, or a plain value (a number,
bool, expression text or flat list of those), each refused with a located SpecError when it is not what it must be.
"""

from __future__ import annotations

import keyword

from costcalc.errors import Loc, SpecError, shown
from costcalc.spec.loader import YList, YMap
from costcalc.spec.model import MAX_NAME, NAME, Value


def kind_of(value) -> str:
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YList):
        return "a list"
    if value is None:
        return "null"
    return f"{type(value).__name__} {shown(value)}"


def text_value(m: YMap, key: str) -> str:
    value = m[key]
    if not isinstance(value, str):
        raise SpecError(f"'{key}' must be text, not {kind_of(value)}", m.value_locs[key])
    return value


def mapping_value(m: YMap, key: str, what: str | None = None) -> YMap:
    value = m[key]
    if value is None:
        value = YMap()
        value.loc, value.key_locs, value.value_locs = m.value_locs[key], {}, {}
    if not isinstance(value, YMap):
        raise SpecError(f"{what or repr(key)} must be a mapping, not {kind_of(value)}", m.value_locs[key])
    return value


def list_value(m: YMap, key: str, what: str | None = None) -> YList:
    value = m[key]
    if not isinstance(value, YList):
        raise SpecError(f"{what or repr(key)} must be a list, not {kind_of(value)}", m.value_locs[key])
    return value


def check_title(title: str, loc: Loc) -> None:
    """The model's name heads every report: one line of printable text, of bounded length."""
    if not title.isprintable():
        raise SpecError(f"'name' must be one line of printable text, not {shown(repr(title))}", loc)
    if len(title) > MAX_NAME:
        raise SpecError(f"'name' is longer than the limit of {MAX_NAME} characters", loc)


def check_name(name, loc: Loc, what: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise SpecError(f"{what} {shown(repr(name))} is not a name (letters, digits, _ and -, not starting with a digit)",
                        loc)
    if len(name) > MAX_NAME:
        raise SpecError(f"{what} '{shown(name)}' is longer than the limit of {MAX_NAME} characters", loc)
    return name


RESERVED_VARIABLES = ("in_channels", "in_height", "in_width", "input_channels", "input_height", "input_width", "i",
                      "True", "False")


def check_variable(name, loc: Loc, what: str) -> str:
    """A variable or block argument: a name an expression can use (no '-', no Python keyword), not one of the
    names a layer's expressions already have."""
    check_name(name, loc, what)
    if "-" in name or keyword.iskeyword(name):
        raise SpecError(f"{what} '{shown(name)}' cannot be used in an expression: use letters, digits and _", loc)
    if name in RESERVED_VARIABLES:
        raise SpecError(f"{what} '{name}' is reserved: expressions already use it", loc)
    return name


def plain_value(m, key, loc: Loc, prefix: str = "") -> Value:
    """A number, bool, expression text, or a flat list of those."""
    raw = m[key]
    if isinstance(raw, YMap) or raw is None:
        raise SpecError(f"{prefix}'{shown(key)}' must be a number, an expression or a list, not {kind_of(raw)}", loc)
    if isinstance(raw, YList):
        for item, item_loc in zip(raw, raw.item_locs):
            if isinstance(item, (YMap, YList)) or item is None:
                raise SpecError(f"{prefix}'{shown(key)}' must be a flat list of numbers or expressions, "
                                f"not hold {kind_of(item)}", item_loc)
    return Value(raw, loc)
