"""A spec given as Python data (dicts, lists, numbers, text) -> the located values the YAML reader makes.

Python data has no lines and columns: every value is located at `file`:1:1, and messages name the layer and
key at fault as they do for a file. Only what YAML's core types can hold is accepted.
"""

from __future__ import annotations

import numbers

from costcalc.errors import Loc, SpecError, shown
from costcalc.spec.loader import MAX_DEPTH, YList, YMap

SCALARS = (str, int, float, bool, type(None))


def document(value, file: str = "<dict>"):
    """`value` as YMap / YList / scalars located at `file`; SpecError for anything a YAML spec cannot hold."""
    return _convert(value, Loc(file), 0)


def _convert(value, loc: Loc, depth: int):
    if depth > MAX_DEPTH:
        raise SpecError(f"nested deeper than the limit of {MAX_DEPTH} levels", loc)
    if isinstance(value, dict):
        out = YMap()
        out.loc, out.key_locs, out.value_locs = loc, {}, {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SpecError(f"mapping keys are names, not {type(key).__name__} {shown(key)}", loc)
            out[key] = _convert(item, loc, depth + 1)
            out.key_locs[key] = out.value_locs[key] = loc
        return out
    if isinstance(value, (list, tuple)):
        out = YList(_convert(item, loc, depth + 1) for item in value)
        out.loc, out.item_locs = loc, [loc] * len(out)
        return out
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, numbers.Integral):  # numpy's integers
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise SpecError(f"a spec holds mappings, lists, numbers, text and booleans, not {type(value).__name__} "
                    f"{shown(value)}", loc)
