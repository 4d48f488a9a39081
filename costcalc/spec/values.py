"""A spec value as the type an op or block argument takes: expressions evaluated in a scope (`lookup`), then checked
(a whole number of at least 1, a pair, a choice among words, ...); each fault a SpecError at the value's position."""

from __future__ import annotations

import math

from dataclasses import replace

from costcalc.errors import Collector, Loc, SpecError, did_you_mean, shown
from costcalc.ops import ALIASES, OPS, REQUIRED, Uniform
from costcalc.ops.tensor import MAX_RANK
from costcalc.spec.choice import chosen_op
from costcalc.spec.compiled import evaluate
from costcalc.spec.expr import ExprError
from costcalc.spec.model import Entry, Value

MAX_DIM = 10**12  # any one channel count, height, width or argument
_OP_NAMES = frozenset([*OPS, *ALIASES])


def evaluate_value(value: Value, lookup, what: str):
    """The value of `value` at `lookup`'s variables. A lookup may carry `evaluate`, its own way to evaluate an
    expression's text, called as evaluate(text, lookup) (costcalc.analysis.parts notes what each one reads)."""
    raw = value.raw
    if isinstance(raw, list):
        if all(type(r) is int for r in raw):  # a list of whole numbers is itself (a variable's table row)
            return list(raw)
        locs = getattr(raw, "item_locs", [value.loc] * len(raw))
        return [evaluate_value(Value(r, loc), lookup, what) for r, loc in zip(raw, locs)]
    if isinstance(raw, str):
        try:
            return getattr(lookup, "evaluate", evaluate)(raw, lookup)
        except ExprError as e:
            loc = value.loc
            raise SpecError(f"{what}: {e}", Loc(loc.file, loc.line, loc.col + e.offset)) from None
    if isinstance(raw, float) and not math.isfinite(raw):  # YAML's .inf and .nan
        raise SpecError(f"{what} must be a finite number, not {raw}", value.loc)
    return raw


def typed(value: Value, kind: str, lookup, what: str, choices: tuple = ()):
    if kind == "choice":  # a bare word, one of `choices` (an expression may compute it too)
        raw = value.raw
        if isinstance(raw, str) and (raw in choices or raw.isidentifier()):
            try:  # a bare word: one of the choices, or a variable holding one
                result = raw if raw in choices else lookup(raw)
            except KeyError:
                result = raw
        else:
            result = evaluate_value(value, lookup, what)
        if result not in choices:
            raise SpecError(f"{what} is one of {', '.join(choices)}, not {shown(result)}"
                            f"{did_you_mean(str(result), choices)}", value.loc)
        return result
    if kind == "bool":
        result = evaluate_value(value, lookup, what)
        if not isinstance(result, bool) and result not in (0, 1):
            raise SpecError(f"{what} must be true or false, not {shown(result)}", value.loc)
        return bool(result)
    if kind == "number":
        result = evaluate_value(value, lookup, what)
        if isinstance(result, bool) or not isinstance(result, (int, float)):
            raise SpecError(f"{what} must be a number, not {shown(result)}", value.loc)
        if isinstance(result, float) and not math.isfinite(result):
            raise SpecError(f"{what} must be a finite number, not {result}", value.loc)
        if abs(result) > MAX_DIM:
            raise SpecError(f"{what}={shown(result)} is beyond the limit of {MAX_DIM:,}", value.loc)
        return result
    if kind == "text":
        result = value.raw if isinstance(value.raw, str) and "->" in value.raw else evaluate_value(value, lookup, what)
        if not isinstance(result, str):
            raise SpecError(f"{what} must be text, not {shown(result)}", value.loc)
        return result
    if kind == "axis":
        return integer(value, lookup, what, -MAX_RANK)
    if kind in INT_LISTS:
        return tuple(int_list(value, lookup, what, INT_LISTS[kind]))
    if kind == "int":
        return integer(value, lookup, what, 1)
    if kind == "index":
        return integer(value, lookup, what, 0)
    if kind == "ints":
        if not isinstance(value.raw, list):  # an expression or a variable holding a list (`sizes: sizes`)
            result = evaluate_value(value, lookup, what)
            if not isinstance(result, list):
                raise SpecError(f"{what} must be a list of whole numbers", value.loc)
            return [whole(r, value, what, 1) for r in result]
        locs = getattr(value.raw, "item_locs", [value.loc] * len(value.raw))
        return [integer(Value(r, loc), lookup, what, 1) for r, loc in zip(value.raw, locs)]
    # pair / pad: one int for every spatial axis (a Uniform), or one value per axis: [h, w], or [l] and [d, h, w]
    # for 1-D and 3-D windows (the op checks the count against its input's rank)
    minimum = 0 if kind == "pad" else 1
    raw = value.raw
    if isinstance(raw, list):
        if not 1 <= len(raw) <= MAX_WINDOW_AXES:
            raise SpecError(f"{what} is one number or one per spatial axis ([height, width]; [length] or [depth, "
                            f"height, width] for 1-D and 3-D windows), not a list of {len(raw)}", value.loc)
        locs = getattr(raw, "item_locs", [value.loc] * len(raw))
        return tuple(integer(Value(r, loc), lookup, what, minimum) for r, loc in zip(raw, locs))
    result = evaluate_value(value, lookup, what)
    if isinstance(result, list):  # a block argument or a variable holding [h, w] (`k: k`)
        if not 1 <= len(result) <= MAX_WINDOW_AXES:
            raise SpecError(f"{what} is one number or one per spatial axis ([height, width]; [length] or [depth, "
                            f"height, width] for 1-D and 3-D windows), not a list of {len(result)}", value.loc)
        return tuple(whole(r, value, what, minimum) for r in result)
    n = whole(result, value, what, minimum)
    return Uniform((n, n))


MAX_WINDOW_AXES = 3  # conv, conv_transpose and pool windows of 1-D, 2-D and 3-D inputs


# list kinds of the generic tensor ops and the least value of their items: axes (negative from the end), a
# permutation, a reshape target (-1: what is left), a shape (a learned operand's, an index tensor's)
INT_LISTS = {"axes": -MAX_RANK, "perm": 0, "dims": -1, "shape": 1, "counts": 0}


def int_list(value: Value, lookup, what: str, minimum: int) -> list:
    if not isinstance(value.raw, list):  # an expression or a variable holding a list
        result = evaluate_value(value, lookup, what)
        if isinstance(result, (int, float)) and not isinstance(result, bool):
            result = [result]
        if not isinstance(result, list):
            raise SpecError(f"{what} must be a list of whole numbers", value.loc)
        if len(result) > MAX_RANK + 1:
            raise SpecError(f"{what} has {len(result)} items, beyond the limit of {MAX_RANK + 1}", value.loc)
        return [whole(r, value, what, minimum) for r in result]
    if len(value.raw) > MAX_RANK + 1:
        raise SpecError(f"{what} has {len(value.raw)} items, beyond the limit of {MAX_RANK + 1}", value.loc)
    locs = getattr(value.raw, "item_locs", [value.loc] * len(value.raw))
    return [integer(Value(r, loc), lookup, what, minimum) for r, loc in zip(value.raw, locs)]


def integer(value: Value, lookup, what: str, minimum: int) -> int:
    return whole(evaluate_value(value, lookup, what), value, what, minimum)


def whole(result, value: Value, what: str, minimum: int) -> int:
    """`result` (the value of `value`) as a whole number of at least `minimum`, or a located error."""
    if isinstance(result, float) and result.is_integer():
        result = int(result)
    if isinstance(result, bool) or not isinstance(result, int):
        hint = " (use int(), round() or make_divisible())" if isinstance(result, float) else ""
        raise SpecError(f"{what} must be a whole number, not {shown(result)}{hint}", value.loc)
    if result < minimum:
        raise SpecError(f"{what} must be at least {minimum}, not {result}", value.loc)
    if result > MAX_DIM:
        raise SpecError(f"{what}={result:,} is beyond the limit of {MAX_DIM:,}", value.loc)
    return result


def choose_op(entry: Entry, lookup, where: str) -> str:
    """The op of an entry whose `op:` is an expression."""
    try:
        return chosen_op(entry.op, lookup, _OP_NAMES)
    except ExprError as e:
        loc = entry.op_loc
        raise SpecError(f"{where}: 'op': {e}", Loc(loc.file, loc.line, loc.col + e.offset)) from None


def chosen_block(entry: Entry, lookup, where: str, blocks: dict) -> Entry:
    """The entry with the block its `block:` expression chooses."""
    try:
        chosen = chosen_op(entry.block, lookup, blocks, "a block")
    except ExprError as e:
        loc = entry.op_loc
        raise SpecError(f"{where}: 'block': {e}", Loc(loc.file, loc.line, loc.col + e.offset)) from None
    return replace(entry, block=chosen, block_expr=False)


def op_args(entry: Entry, definition, lookup, where: str) -> dict:
    """An op entry's arguments, each as its type (defaults where it has them), at `lookup`'s variables."""
    args = {}
    for key, spec_arg in definition.keys.items():
        value = entry.params.get(key)
        if value is None:
            if spec_arg.default is REQUIRED:
                raise SpecError(f"{where}: op '{entry.op}' needs '{key}'", entry.loc)
            if spec_arg.default is not None:
                args[key] = spec_arg.default
            continue
        args[key] = typed(value, spec_arg.kind, lookup, f"{where}: '{key}'", spec_arg.choices)
    return args


INPUT_VARS = ("input_channels", "input_height", "input_width")  # the network's (first) input, read in layers


def vars_lookup(env: dict):
    """A variable's value in `vars` (and `input`): the network's input size is not known there yet."""
    def lookup(name):
        if name in INPUT_VARS:
            raise ExprError(f"'{name}' is the size of the network's input, which 'input' computes from the "
                            "variables: layers and block arguments read it, 'vars' and 'input' cannot", 0)
        return env[name]

    return lookup


def spec_variables(spec, overrides: dict) -> dict:
    """The spec's variables evaluated in order, `overrides` (variable -> expression text, from `--set`) in place of
    their own values; an override naming no variable is an error (all such reported together)."""
    env: dict = {}
    vars_loc = spec.section_locs.get("vars", spec.loc)
    unknown = Collector()
    for name in overrides:
        if name not in spec.vars:
            hint = did_you_mean(name, spec.vars) or f" (it has: {', '.join(spec.vars) or 'none'})"
            unknown.add(SpecError(f"--set {shown(name)}: the spec has no variable '{shown(name)}'{hint}", vars_loc))
    unknown.raise_any()
    for name, value in spec.vars.items():
        if name in overrides:
            given = overrides[name]
            kind = type(given)  # a number or a list of whole numbers is itself, as evaluate_value gives it
            if kind is int or kind is float and math.isfinite(given):
                env[name] = given
                continue
            if kind is list and all(type(item) is int for item in given):
                env[name] = list(given)
                continue
            value = Value(overrides[name], value.loc)
            what = f"--set {name}={overrides[name]}"
        else:
            what = f"variable '{name}'"
        try:
            env[name] = evaluate_value(value, vars_lookup(env), what)
        except SpecError as e:
            text = str(overrides.get(name, ""))
            if "," in text and not text.lstrip().startswith(("[", "(")):  # --set depths=3,4,6,3
                raise SpecError(f"{e.message} (a list is written in brackets: --set {name}=[{text}])",
                                e.loc) from None
            raise
    return env
