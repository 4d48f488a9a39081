"""An expression's checked tree as one Python function: generated once per distinct text, no closure per node.

`generated(tree)` writes the body of `def _expression(L): ...` from the parsed tree (costcalc.spec.expr.parse has
checked every node), one statement per node, each result in a temporary `vK`, and the interpreter's checks inline:
a list where a number belongs, an index outside its list, a number beyond the bounds (MAX_BITS, finite, real).
A failed check raises `_Refused`, and the caller (costcalc.spec.compiled) evaluates the text with the interpreter,
which raises the located error; so the function returns only what the interpreter returns. Names are read as
`L('name')`, in the interpreter's order; `and`, `or`, `a if c else b` and chained comparisons evaluate only what
the interpreter evaluates.

The generated source holds no text of the expression: names become string literals (`repr`), constants the
`repr` of a bounded int or float, operators come from a fixed table, and the function's globals are the checks'
helpers and the language's FUNCTIONS only (no builtins). `**` and comprehensions are left to the closures.
"""

from __future__ import annotations

import ast
import math
import warnings

from costcalc.spec.expr import FUNCTIONS, LIST_ARGUMENTS, MAX_BITS

_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}
_COMPARISONS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not "}


class Refused(Exception):
    """A check failed: the interpreter evaluates the text again and says why."""


class _Unsupported(Exception):
    """A node this generator leaves to the closures."""


_GLOBALS = {"__builtins__": {}, "_R": Refused, "_S": (list, tuple), "_N": (int, float, complex), "isinstance": isinstance,
            "type": type, "int": int, "float": float, "bool": bool, "len": len, "_finite": math.isfinite,
            **{f"_f_{name}": fn for name, fn in FUNCTIONS.items()}}  # `int` and friends: the generated `type(v) is int`


def generated(body: ast.AST):
    """The function of one argument (the lookup) evaluating `body`, or None where a node is left to the closures."""
    writer = _Writer()
    try:
        result = writer.value(body, 1)
    except _Unsupported:
        return None
    source = "def _expression(L):\n" + "".join(writer.lines) + f"    return {result}\n"
    namespace = dict(_GLOBALS)
    try:
        with warnings.catch_warnings():  # `(2.5)[v1]` compiles with a warning; it raises when run, as it should
            warnings.simplefilter("ignore")
            exec(compile(source, "<costcalc expression>", "exec"), namespace)  # noqa: S102 - generated, see above
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # nested beyond the compiler's limits
        return None
    return namespace["_expression"]


class _Writer:
    def __init__(self):
        self.lines: list = []
        self.count = 0

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text + "\n")

    def temporary(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def value(self, node, depth: int) -> str:  # noqa: C901 - one branch per node type, as the interpreter
        """Emit the statements computing `node` at indentation `depth`; the expression (a temporary or a literal)
        holding its value."""
        if isinstance(node, ast.Constant):
            return self.constant(node.value)
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                return node.id
            out = self.temporary()
            self.emit(depth, f"{out} = L({node.id!r})")
            return out
        if isinstance(node, ast.BinOp) and type(node.op) in _SYMBOLS:
            left, right = self.value(node.left, depth), self.value(node.right, depth)
            self.numbers(depth, [left, right])
            out = self.temporary()
            self.emit(depth, f"{out} = {left} {_SYMBOLS[type(node.op)]} {right}")
            self.bounded(depth, out)
            return out
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand, depth)
            self.numbers(depth, [operand])
            out = self.temporary()
            self.emit(depth, f"{out} = {_UNARY[type(node.op)]}{operand}")
            return out
        if isinstance(node, ast.Compare):
            return self.compare(node, depth)
        if isinstance(node, ast.BoolOp):
            out = self.temporary()
            inner = depth
            for k, item in enumerate(node.values):
                self.emit(inner, f"{out} = {self.value(item, inner)}")
                if k < len(node.values) - 1:  # the next value only where this one does not decide
                    self.emit(inner, f"if {'' if isinstance(node.op, ast.And) else 'not '}{out}:")
                    inner += 1
            return out
        if isinstance(node, ast.IfExp):
            out, test = self.temporary(), self.value(node.test, depth)
            self.emit(depth, f"if {test}:")
            self.emit(depth + 1, f"{out} = {self.value(node.body, depth + 1)}")
            self.emit(depth, "else:")
            self.emit(depth + 1, f"{out} = {self.value(node.orelse, depth + 1)}")
            return out
        if isinstance(node, ast.List):
            items = [self.value(item, depth) for item in node.elts]
            self.numbers(depth, items)
            out = self.temporary()
            self.emit(depth, f"{out} = [{', '.join(items)}]")
            return out
        if isinstance(node, ast.Subscript):
            sequence, index = self.value(node.value, depth), self.value(node.slice, depth)
            self.emit(depth, f"if not isinstance({sequence}, _S) or type({index}) is not int or "
                             f"not -len({sequence}) <= {index} < len({sequence}): raise _R")
            out = self.temporary()
            self.emit(depth, f"{out} = {sequence}[{index}]")
            return out
        if isinstance(node, ast.Call):
            args = [self.value(a, depth) for a in node.args]
            if not (node.func.id in LIST_ARGUMENTS and len(node.args) == 1):
                self.numbers(depth, args)
            out = self.temporary()
            self.emit(depth, f"{out} = _f_{node.func.id}({', '.join(args)})")
            self.bounded(depth, out)
            return out
        raise _Unsupported  # `**`, comprehensions

    def constant(self, value) -> str:
        kind = type(value)
        if kind is bool:
            return repr(value)
        if kind is int and value.bit_length() <= MAX_BITS or kind is float and math.isfinite(value):
            return f"({value!r})"
        raise _Unsupported  # beyond the bounds: the closures leave it to the interpreter, which refuses it

    def numbers(self, depth: int, values: list) -> None:
        """A list where a number belongs is refused (literals never are lists)."""
        names = [v for v in values if v.startswith("v")]
        if names:
            self.emit(depth, f"if {' or '.join(f'isinstance({v}, _S)' for v in names)}: raise _R")

    def bounded(self, depth: int, out: str) -> None:
        """The interpreter's bounds on a result: a whole number of at most MAX_BITS bits, a finite float, no other
        kind of number (a complex) but a bool."""
        self.emit(depth, f"if type({out}) is int:")
        self.emit(depth + 1, f"if {out}.bit_length() > {MAX_BITS}: raise _R")
        self.emit(depth, f"elif type({out}) is float:")
        self.emit(depth + 1, f"if not _finite({out}): raise _R")
        self.emit(depth, f"elif type({out}) is not bool and isinstance({out}, _N): raise _R")

    def compare(self, node: ast.Compare, depth: int) -> str:
        """`a < b <= c`: each operand evaluated only while the comparisons before it hold, as the interpreter."""
        out = self.temporary()
        self.emit(depth, f"{out} = False")
        left, inner = self.value(node.left, depth), depth
        for k, (op, right_node) in enumerate(zip(node.ops, node.comparators)):
            right = self.value(right_node, inner)
            self.numbers(inner, [left, right])
            self.emit(inner, f"if {left} {_COMPARISONS[type(op)]} {right}:")
            inner += 1
            left = right
        self.emit(inner, f"{out} = True")
        return out
