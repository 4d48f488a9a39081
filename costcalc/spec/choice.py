"""An op chosen by an expression: `op: "hardswish if hs else relu"` (MobileNet V3's HS / RE column).

An `op:` text with a space in it is an expression. In it, a name that is an op stands for that op; every other
name is a variable, as in any expression. The value must be an op.
"""

from __future__ import annotations

import ast

from costcalc.spec.expr import ExprError, evaluate, parse


class _OpName(str):
    """An op's name as a value inside an op expression (plain text never is one)."""


def is_op_expression(text: str) -> bool:
    return " " in text


def chosen_op(text: str, lookup, ops) -> str:
    """The op `text` evaluates to; `ops` holds the op names (aliases included); ExprError when it is no op."""

    def names(name):
        return _OpName(name) if name in ops else lookup(name)

    value = evaluate(text, names)
    if not isinstance(value, _OpName):
        raise ExprError(f"'{text}' gives {value!r}, not an op")
    return str(value)


def candidate_ops(text: str, ops) -> list:
    """The op names an op expression may give, in order of appearance; ExprError when it cannot be parsed."""
    found = []
    for node in ast.walk(parse(text)):
        if isinstance(node, ast.Name) and node.id in ops and node.id not in found:
            found.append(node.id)
    return found
