"""An imported layer's arguments checked as the spec reader checks a spec's, so that `report` refuses what
`import` could not write."""

from __future__ import annotations

import numpy as np

from costcalc.errors import Loc
from costcalc.ops import OPS


def typed_args(imp, node, op: str, args: dict) -> dict:
    """The layer's arguments checked as the spec reader checks a spec's (a stride of at least 1, a pad of 0 to
    MAX_DIM, a choice among words, ...), so that `report` refuses what `import` could not write; as the
    types the op takes (pairs as tuples)."""
    from costcalc.spec.model import Value
    from costcalc.spec.values import typed

    definition = OPS[op]
    loc = imp.loc(node) if node is not None else Loc(imp.path)
    where = node.where if node is not None else "the output"
    checked = {}
    for key, value in args.items():
        arg = definition.args.get(key)
        if arg is None or value is None:
            checked[key] = value
            continue
        raw = [v.item() if isinstance(v, np.generic) else v for v in value] if isinstance(value, (tuple, list)) \
            else (value.item() if isinstance(value, np.generic) else value)
        result = typed(Value(raw, loc), arg.kind, _no_variables, f"{where}: '{key}'", arg.choices)
        checked[key] = tuple(result) if isinstance(result, list) and arg.kind != "ints" else result
    return checked


def _no_variables(name: str):
    raise KeyError(name)  # an imported layer's arguments are numbers and words, never a spec variable
