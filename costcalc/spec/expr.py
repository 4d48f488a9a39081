"""A small, safe evaluator for the arithmetic expressions of specs.

An expression is parsed by `ast.parse(mode="eval")` and only these nodes are walked: numbers, variable names,
+ - * / // % **, unary - + not, comparisons, and/or, `a if c else b`, a list of numbers `[a, b]`, a list
comprehension `[f(j) for j in range(n) if c]`, indexing a list, and calls of the functions in FUNCTIONS. Nothing is
ever passed to eval or exec; no attribute access, no strings, no other calls. Lists are flat (numbers only).
Sizes are bounded: the text, the tree, the exponent, the magnitude of every intermediate number, the length of
every list and the steps of every comprehension.
"""

from __future__ import annotations

import ast
import math
import operator
from functools import lru_cache

MAX_TEXT = 1000
MAX_TREE_NODES = 200
MAX_BITS = 256  # no intermediate number beyond about 10^77
MAX_EXPONENT = 256
MAX_LIST = 10_000  # elements of a list, and steps of a comprehension (RegNet's rule needs a few dozen)


class ExprError(Exception):
    """An expression cannot be evaluated; `offset` is the 0-based column inside the expression, when known."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.offset = offset


def make_divisible(value, divisor=8, min_value=None):
    """Round `value` to a multiple of `divisor`, never below `min_value` (default: divisor) and never more than
    10 % below `value` — the channel rounding of MobileNet V2, MnasNet and EfficientNet."""
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _range(*args):
    if any(isinstance(a, bool) or not isinstance(a, int) for a in args):
        raise ValueError("takes whole numbers")
    numbers = range(*args)
    if len(numbers) > MAX_LIST:
        raise ValueError(f"{len(numbers):,} numbers are more than the limit of {MAX_LIST:,}")
    return list(numbers)


def _log(value, base=math.e):
    return math.log(value, base)


FUNCTIONS = {
    "min": min,  # of numbers, or of one list
    "max": max,
    "abs": abs,
    "int": int,  # truncates toward zero, as Python's int()
    "round": round,  # Python's round: halves go to the even neighbour
    "ceil": math.ceil,
    "floor": math.floor,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": _log,  # natural logarithm, or log(x, base)
    "log2": math.log2,
    "make_divisible": make_divisible,
    "range": _range,  # a list: range(n), range(start, stop), range(start, stop, step)
    "len": len,  # of a list
    "sum": sum,  # of a list
}
LIST_ARGUMENTS = {"min", "max", "len", "sum"}  # the functions that take a list

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}


@lru_cache(maxsize=4096)
def parse(text: str) -> ast.expression:
    """Parse once per distinct text; raise ExprError for anything outside the language."""
    if len(text) > MAX_TEXT:
        raise ExprError(f"expression longer than {MAX_TEXT} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ExprError(f"cannot parse expression '{text}': {e.msg}", max((e.offset or 1) - 1, 0)) from None
    except (ValueError, RecursionError, MemoryError):
        raise ExprError(f"cannot parse expression '{text}'") from None
    count = 0
    for node in ast.walk(tree):
        count += 1
        if count > MAX_TREE_NODES:
            raise ExprError(f"expression has more than {MAX_TREE_NODES} parts")
        _check_node(node, text)
    return tree


_ALLOWED = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Not,
    ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.IfExp, ast.Subscript, ast.Call, ast.List, ast.ListComp,
    ast.comprehension, ast.Store, *_BINARY, *_COMPARE,
)


def _check_node(node: ast.AST, text: str) -> None:
    offset = getattr(node, "col_offset", 0)
    if not isinstance(node, _ALLOWED):
        what = type(node).__name__.lower()
        if isinstance(node, ast.Attribute):
            what = "attribute access"
        raise ExprError(f"'{text}': {what} is not allowed in an expression", offset)
    if isinstance(node, ast.Constant) and (isinstance(node.value, (str, bytes, complex)) or node.value is None):
        raise ExprError(f"'{text}': only numbers are allowed, not {node.value!r}", offset)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            _check_node(node.func, text)  # an attribute or a lambda says what it is
            raise ExprError(f"'{text}': only the functions {', '.join(sorted(FUNCTIONS))} can be called", offset)
        if node.func.id not in FUNCTIONS:
            raise ExprError(f"'{text}': unknown function '{node.func.id}' (known: {', '.join(sorted(FUNCTIONS))})",
                            offset)
        if node.keywords:
            raise ExprError(f"'{text}': functions take positional arguments only", offset)
    if isinstance(node, ast.comprehension):
        if not isinstance(node.target, ast.Name) or node.is_async:
            raise ExprError(f"'{text}': a comprehension names one variable: [... for j in ...]",
                            getattr(node.target, "col_offset", 0))


def evaluate(text: str, lookup):
    """Evaluate `text`; `lookup(name)` returns a variable's value or raises KeyError."""
    return _eval(parse(text).body, lookup, text)


def _eval(node, lookup, text):
    if isinstance(node, ast.Constant):
        return _bounded(node.value, text, node.col_offset)  # `1e999` is inf
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            return node.id == "True"
        try:
            return lookup(node.id)
        except KeyError:
            raise ExprError(f"unknown variable '{node.id}' in '{text}'", node.col_offset) from None
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, lookup, text), _eval(node.right, lookup, text)
        return _binary(type(node.op), left, right, text, node.col_offset)
    if isinstance(node, ast.UnaryOp):
        value = _number(_eval(node.operand, lookup, text), text, node.col_offset)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.Compare):
        left = _eval(node.left, lookup, text)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, lookup, text)
            if not _COMPARE[type(op)](_number(left, text, 0), _number(right, text, 0)):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        for value_node in node.values:
            value = _eval(value_node, lookup, text)
            if bool(value) != is_and:
                return value
        return value
    if isinstance(node, ast.IfExp):
        branch = node.body if _eval(node.test, lookup, text) else node.orelse
        return _eval(branch, lookup, text)
    if isinstance(node, ast.List):  # `[3, 4, 23, 3]`: a list of numbers, e.g. --set depths=[3,4,23,3]
        return [_number(_eval(item, lookup, text), text, item.col_offset) for item in node.elts]
    if isinstance(node, ast.ListComp):
        return _comprehension(node, lookup, text)
    if isinstance(node, ast.Subscript):
        seq = _eval(node.value, lookup, text)
        index = _eval(node.slice, lookup, text)
        if not isinstance(seq, (list, tuple)) or not isinstance(index, int) or isinstance(index, bool):
            raise ExprError(f"'{text}': only a list variable can be indexed, by a whole number", node.col_offset)
        if not -len(seq) <= index < len(seq):
            raise ExprError(f"'{text}': index {index} is outside a list of {len(seq)}", node.col_offset)
        return seq[index]
    if isinstance(node, ast.Call):
        args = [_eval(a, lookup, text) for a in node.args]
        if not (node.func.id in LIST_ARGUMENTS and len(args) == 1):
            args = [_number(a, text, node.col_offset) for a in args]
        try:
            return _bounded(FUNCTIONS[node.func.id](*args), text, node.col_offset)
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as e:
            raise ExprError(f"'{text}': {node.func.id}(): {e}", node.col_offset) from None
    raise ExprError(f"'{text}': cannot evaluate", getattr(node, "col_offset", 0))  # pragma: no cover


def _comprehension(node: ast.ListComp, lookup, text: str) -> list:
    """`[element for j in list if condition ...]`, each `for` in turn; the names it binds hide the others."""
    bound: dict = {}

    def inner(name):
        return bound[name] if name in bound else lookup(name)

    out: list = []
    steps = [0]

    def walk(k: int) -> None:
        if k == len(node.generators):
            out.append(_number(_eval(node.elt, inner, text), text, node.elt.col_offset))
            return
        generator = node.generators[k]
        items = _eval(generator.iter, inner, text)
        if not isinstance(items, list):
            raise ExprError(f"'{text}': a comprehension runs over a list, not {items!r}", generator.iter.col_offset)
        for item in items:
            steps[0] += 1
            if steps[0] > MAX_LIST:
                raise ExprError(f"'{text}': the comprehension takes more than the limit of {MAX_LIST:,} steps",
                                node.col_offset)
            bound[generator.target.id] = item
            if all(_eval(c, inner, text) for c in generator.ifs):
                walk(k + 1)

    walk(0)
    return out


def _number(value, text, offset):
    if isinstance(value, (list, tuple)):
        raise ExprError(f"'{text}': a list is used where a number belongs", offset)
    return value


def _binary(op, left, right, text, offset):
    left, right = _number(left, text, offset), _number(right, text, offset)
    if op is ast.Pow and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
        raise ExprError(f"'{text}': exponent {right} is larger than {MAX_EXPONENT}", offset)
    if op is ast.Pow and isinstance(left, int) and isinstance(right, int) and right > 0:
        if left.bit_length() * right > MAX_BITS:
            raise ExprError(f"'{text}': the result is too large (more than {MAX_BITS} bits)", offset)
    try:
        return _bounded(_BINARY[op](left, right), text, offset)
    except ZeroDivisionError:
        raise ExprError(f"'{text}': division by zero", offset) from None
    except (OverflowError, ValueError, TypeError) as e:
        raise ExprError(f"'{text}': {_SYMBOL[op]}: {e}", offset) from None


def _bounded(value, text, offset):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise ExprError(f"'{text}': a number in it is too large (more than {MAX_BITS} bits)", offset)
    if isinstance(value, float) and not math.isfinite(value):
        raise ExprError(f"'{text}': the result is not a finite number", offset)
    if isinstance(value, complex):
        raise ExprError(f"'{text}': the result is not a real number", offset)
    return value
