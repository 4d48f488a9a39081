"""Expressions compiled once into nested Python closures, for walks that evaluate the same text many times.

`evaluate(text, lookup)` gives what costcalc.spec.expr.evaluate gives, faster: the parsed tree (checked by
expr.parse) becomes one closure per node, made once per distinct text, so that an evaluation calls them instead of
dispatching on node types. Each closure makes the interpreter's checks on the way (a list where a number belongs,
the bounds of every intermediate number, an index outside its list); when any of them fails, or anything raises,
the text is evaluated again by the interpreter, which raises the located ExprError. So a value is only ever
returned where the interpreter returns the same value, and every error is the interpreter's. Nothing is passed to
eval or exec; `**` and comprehensions (rare, with checks of their own) are left to the interpreter.
"""

from __future__ import annotations

import ast
import math
from functools import lru_cache

from costcalc.spec import expr
from costcalc.spec.codegen import generated
from costcalc.spec.expr import _BINARY, _COMPARE, FUNCTIONS, LIST_ARGUMENTS, MAX_BITS, ExprError

_SEQUENCES = (list, tuple)


class _Refused(Exception):
    """A check failed: the interpreter evaluates the text again and says why."""


def evaluate(text: str, lookup):
    """The value of `text`, as costcalc.spec.expr.evaluate; `lookup(name)` gives a variable or raises KeyError."""
    fn = _compiled(text)
    if fn is not None:
        try:
            return fn(lookup)
        except Exception:  # noqa: BLE001 - any failure: the interpreter raises the located error
            pass
    return expr.evaluate(text, lookup)


def evaluator(text: str):
    """`evaluate(text, ·)` as one function of the lookup, for a text evaluated many times."""
    fn = _compiled(text)
    if fn is None:
        return lambda lookup: expr.evaluate(text, lookup)

    def evaluated(lookup):
        try:
            return fn(lookup)
        except Exception:  # noqa: BLE001 - as in evaluate
            return expr.evaluate(text, lookup)

    return evaluated


@lru_cache(maxsize=8192)
def _compiled(text: str):
    try:
        tree = expr.parse(text)
    except ExprError:
        return None
    return generated(tree.body) or _compile(tree.body, text)


def _bounded(value):
    """The interpreter's bounds on a result (a number of at most MAX_BITS bits, finite, real); lists pass."""
    kind = type(value)
    if kind is int:
        if value.bit_length() > MAX_BITS:
            raise _Refused
    elif kind is float:
        if not math.isfinite(value):
            raise _Refused
    elif kind is not bool and isinstance(value, (int, float, complex)):
        raise _Refused
    return value


def _interpreted(node, text: str):
    return lambda lookup: expr._eval(node, lookup, text)


def _compile(node, text: str):  # noqa: C901 - one branch per node type, as the interpreter
    if isinstance(node, ast.Constant):
        try:
            value = _bounded(node.value)
        except _Refused:
            return _interpreted(node, text)
        return lambda lookup: value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            truth = node.id == "True"
            return lambda lookup: truth
        name = node.id
        return lambda lookup: lookup(name)
    if isinstance(node, ast.BinOp) and type(node.op) is not ast.Pow:
        return _binary(_BINARY[type(node.op)], _compile(node.left, text), _compile(node.right, text))
    if isinstance(node, ast.UnaryOp):
        return _unary(type(node.op), _compile(node.operand, text))
    if isinstance(node, ast.Compare):
        return _compare(_compile(node.left, text),
                        [(_COMPARE[type(op)], _compile(right, text)) for op, right in zip(node.ops, node.comparators)])
    if isinstance(node, ast.BoolOp):
        return _boolean(isinstance(node.op, ast.And), [_compile(value, text) for value in node.values])
    if isinstance(node, ast.IfExp):
        test, body, orelse = (_compile(n, text) for n in (node.test, node.body, node.orelse))
        return lambda lookup: body(lookup) if test(lookup) else orelse(lookup)
    if isinstance(node, ast.List):
        return _list([_compile(item, text) for item in node.elts])
    if isinstance(node, ast.Subscript):
        return _subscript(_compile(node.value, text), _compile(node.slice, text))
    if isinstance(node, ast.Call):
        name = node.func.id
        return _call(FUNCTIONS[name], [_compile(a, text) for a in node.args],
                     name in LIST_ARGUMENTS and len(node.args) == 1)
    return _interpreted(node, text)  # `**`, comprehensions


def _binary(fn, left, right):
    def binary(lookup):
        a, b = left(lookup), right(lookup)
        if isinstance(a, _SEQUENCES) or isinstance(b, _SEQUENCES):
            raise _Refused
        return _bounded(fn(a, b))

    return binary


def _unary(op, operand):
    def unary(lookup):
        value = operand(lookup)
        if isinstance(value, _SEQUENCES):
            raise _Refused
        if op is ast.Not:
            return not value
        return -value if op is ast.USub else +value

    return unary


def _compare(left, pairs):
    def compare(lookup):
        a = left(lookup)
        for fn, right in pairs:
            b = right(lookup)
            if isinstance(a, _SEQUENCES) or isinstance(b, _SEQUENCES):
                raise _Refused
            if not fn(a, b):
                return False
            a = b
        return True

    return compare


def _boolean(is_and: bool, values):
    def boolean(lookup):
        for fn in values:
            value = fn(lookup)
            if bool(value) != is_and:
                return value
        return value

    return boolean


def _list(items):
    def listed(lookup):
        out = [item(lookup) for item in items]
        for value in out:
            if isinstance(value, _SEQUENCES):
                raise _Refused
        return out

    return listed


def _subscript(sequence, index):
    def subscript(lookup):
        seq, i = sequence(lookup), index(lookup)
        if not isinstance(seq, _SEQUENCES) or type(i) is not int or not -len(seq) <= i < len(seq):
            raise _Refused
        return seq[i]

    return subscript


def _call(fn, args, takes_list: bool):
    def call(lookup):
        values = [a(lookup) for a in args]
        if not takes_list:
            for value in values:
                if isinstance(value, _SEQUENCES):
                    raise _Refused
        return _bounded(fn(*values))

    return call
