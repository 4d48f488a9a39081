"""An op or a block chosen by an expression: `op: "hardswish if hs else relu"` (MobileNet V3's HS / RE column),
`block: "bottleneck if expansion == 4 else basic"` (ResNet's two block types, specs/resnet50.yaml).

An `op:` or `block:` text with a space in it is an expression. In it, a name that is an op (a block) stands for
that op (block); every other name is a variable, as in any expression. The value must be an op (a block).
"""

from __future__ import annotations

import ast

from costcalc.errors import Loc, SpecError, did_you_mean, shown
from costcalc.spec.expr import ExprError, evaluate, parse


class _Choice(str):
    """An op's or a block's name as a value inside a choosing expression (plain text never is one)."""


def is_op_expression(text: str) -> bool:
    return " " in text


def chosen_op(text: str, lookup, ops, what: str = "an op") -> str:
    """The op `text` evaluates to; `ops` holds the op names (aliases included), or the block names with
    `what="a block"`; ExprError when it is none of them."""

    def names(name):
        return _Choice(name) if name in ops else lookup(name)

    value = evaluate(text, names)
    if not isinstance(value, _Choice):
        raise ExprError(f"'{text}' gives {value!r}, not {what}")
    return str(value)


def candidate_ops(text: str, ops) -> list:
    """The names in `ops` (op or block names) an expression may give, in order of appearance; ExprError when it
    cannot be parsed."""
    found = []
    for node in ast.walk(parse(text)):
        if isinstance(node, ast.Name) and node.id in ops and node.id not in found:
            found.append(node.id)
    return found


def _candidates(text: str, names, where: str, key: str, known: str, loc) -> list:
    """The names an `op:` or `block:` expression may choose (at least one), or its located error."""
    try:
        candidates = candidate_ops(text, names)
    except ExprError as e:
        raise SpecError(f"{where}: '{key}': {e}", Loc(loc.file, loc.line, loc.col + e.offset)) from None
    if not candidates:
        raise SpecError(f"{where}: '{key}' expression '{shown(text)}' names no {key} ({known})", loc)
    return candidates


def check_op_expression(entry, where: str, keys_of: dict, errors) -> None:
    """The static check of an `op:` expression: it parses and names at least one op (`keys_of`: op name -> the
    keys it takes), and each key of the entry is one that such an op takes (errors added to `errors`)."""
    candidates = _candidates(entry.op, keys_of, where, "op", f"known ops: {', '.join(keys_of)}", entry.op_loc)
    keys = {key for op in candidates for key in keys_of[op]}
    for key in entry.params:
        if key not in keys:
            errors.add(SpecError(f"{where}: none of the ops {', '.join(candidates)} takes '{shown(key)}'"
                                 f"{did_you_mean(key, sorted(keys))}", entry.key_locs[key]))


def check_block_expression(entry, where: str, blocks: dict, errors, variables=()) -> None:
    """The static check of a `block:` expression: it parses and names at least one block (`blocks`: name ->
    BlockDef), none that is also a variable (the block would silently win), and each argument given is one that
    such a block takes (errors added to `errors`)."""
    candidates = _candidates(entry.block, blocks, where, "block", f"the blocks: {', '.join(blocks) or 'none'}",
                             entry.op_loc)
    for name in candidates:
        if name in variables:
            errors.add(SpecError(f"{where}: '{name}' is a block and a variable: in the 'block' expression it names "
                                 "the block (always true as a condition); rename one", entry.op_loc))
    taken = [arg for name in candidates for arg in blocks[name].args]
    for arg, value in {**entry.args, **entry.first}.items():
        if arg not in taken:
            errors.add(SpecError(f"{where}: none of the blocks {', '.join(candidates)} takes argument "
                                 f"'{shown(arg)}'{did_you_mean(arg, sorted(set(taken)))}", value.loc))
