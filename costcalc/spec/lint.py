"""What is legal but most likely a mistake: warnings for alternatives that may both run, and the names the
expressions of a spec use (a variable an `extends` child adds that nothing uses is a typo, an error).

The `in_channels` trap: in an entry's own `if`, `in_channels` (and `in_height`, `in_width`) is that entry's input.
Of two adjacent entries meant as alternatives, `if: in_channels != c` and `if: in_channels == c`, the second sees
the output of the first, so when the first runs (and makes the channels c), the second runs too. Such a pair gets
a warning; write one entry instead, with the op chosen by an expression or a multi-input op switched by `if`.
"""

from __future__ import annotations

import ast

from costcalc.errors import SpecWarning, shown
from costcalc.spec.expr import ExprError, parse

LAYER_VARS = ("in_channels", "in_height", "in_width")
_OPPOSITE = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt}
_MIRROR = {ast.Eq: ast.Eq, ast.NotEq: ast.NotEq, ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}


def complementary_conditions(entries: list, names: list, where: str) -> list:
    """A warning for each entry whose `if` is the opposite of the one before it and reads the input's shape
    (`names`: each entry's name, given or automatic)."""

    warnings = []
    previous = None
    for pos, entry in enumerate(entries):
        tree = _condition(entry)
        if tree is not None and previous is not None and _opposite(previous[0], tree):
            shape_vars = sorted(_shape_vars(previous[0]) | _shape_vars(tree))
            if shape_vars:
                name, before = names[pos], previous[1]
                warnings.append(SpecWarning(
                    f"{where}layer '{shown(name)}': its 'if' is the opposite of that of '{shown(before)}' before it, "
                    f"but {', '.join(shape_vars)} in it is this entry's own input, which '{shown(before)}' has "
                    f"changed when it ran: both may run. Choose the op by an expression (op: \"a if c else b\") "
                    f"or test a block argument instead", entry.cond.loc))
        previous = (tree, names[pos]) if tree is not None else None
    return warnings


def _condition(entry):
    if entry.cond is None or not isinstance(entry.cond.raw, str):
        return None
    try:
        return parse(entry.cond.raw).body
    except ExprError:
        return None  # the walker reports it


def _shape_vars(tree) -> set:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id in LAYER_VARS}


def _opposite(a, b) -> bool:
    """`b` is `not a` (or the reverse), or the single comparison `a` with the opposite operator."""
    for x, y in ((a, b), (b, a)):
        if isinstance(y, ast.UnaryOp) and isinstance(y.op, ast.Not) and ast.dump(y.operand) == ast.dump(x):
            return True
    if isinstance(a, ast.Compare) and isinstance(b, ast.Compare) and len(a.ops) == len(b.ops) == 1:
        left_a, right_a, left_b, right_b = (ast.dump(n) for n in (a.left, a.comparators[0], b.left, b.comparators[0]))
        op_a, op_b = type(a.ops[0]), type(b.ops[0])
        if op_a not in _OPPOSITE or op_b not in _OPPOSITE:
            return False
        if (left_a, right_a) == (left_b, right_b):
            return _OPPOSITE[op_a] is op_b
        if (left_a, right_a) == (right_b, left_b):
            return _OPPOSITE[op_a] is _MIRROR[op_b]
    return False


def used_names(spec, input_too: bool = True) -> set:
    """Every name any expression of `spec` reads (variables, arguments, layer variables); with `input_too` false,
    those of its `input:` left out."""
    names: set = set()
    seen: set = set()

    def value(v) -> None:
        if v is None:
            return
        raws = v.raw if isinstance(v.raw, list) else [v.raw]
        for raw in raws:
            if isinstance(raw, str):
                try:
                    names.update(node.id for node in ast.walk(parse(raw)) if isinstance(node, ast.Name))
                except ExprError:
                    pass  # reported where it is evaluated

    def entries(items: list) -> None:
        for entry in items:
            if id(entry) in seen:
                continue
            seen.add(id(entry))
            for v in (entry.repeat, entry.cond, *entry.params.values(), *entry.args.values(), *entry.first.values()):
                value(v)
            if entry.op_expr:
                value(_Text(entry.op))
            if entry.block_expr:
                value(_Text(entry.block))
            if entry.layers:
                entries(entry.layers)

    for v in spec.vars.values():
        value(v)
    if spec.input is not None and input_too:
        raw = spec.input.raw
        for shape in raw.values() if isinstance(raw, dict) else [raw]:
            value(_Text(shape))
    for block in spec.blocks.values():
        for default in block.args.values():
            value(default)
        entries(block.layers)
    entries(spec.layers)
    return names


class _Text:
    """A raw value without a position, for `used_names`."""

    def __init__(self, raw):
        self.raw = raw
