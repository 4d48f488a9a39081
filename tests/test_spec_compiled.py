"""Compiled expressions (costcalc.spec.compiled) give what the interpreter (costcalc.spec.expr) gives: the same
value of the same type, or the same error at the same column, on random expressions of the whole language,
failing ones included (a list where a number belongs, division by zero, an index outside its list, huge
numbers, unknown names and functions). Both compilers are held to it: the generated functions
(costcalc.spec.codegen) and the closures they leave `**` and comprehensions to."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pytest

from costcalc.spec import codegen, compiled, expr

VARIABLES = {"a": 7, "b": 2.5, "z": 0, "big": 2**250, "flag": True, "L": [3, 4, 6, 3], "F": [0.5, 1.0], "E": []}

ATOMS = st.sampled_from(["a", "b", "z", "big", "flag", "L", "F", "E", "nope", "True", "False", "0", "1", "3",
                         "2.5", "1e308", "-1", "[1, 2]", "[a, b]", "[L]", "in_channels"])
UNARY = st.sampled_from(["-", "+", "not "])
BINARY = st.sampled_from(["+", "-", "*", "/", "//", "%", "**"])
COMPARE = st.sampled_from(["<", "<=", "==", "!=", ">", ">="])
FUNCTIONS = st.sampled_from(["min", "max", "abs", "int", "round", "ceil", "floor", "sqrt", "exp", "log", "log2",
                             "make_divisible", "range", "len", "sum", "nofunc"])


def _extend(inner):
    return st.one_of(
        st.builds(lambda op, x: f"{op}({x})", UNARY, inner),
        st.builds(lambda x, op, y: f"({x} {op} {y})", inner, BINARY, inner),
        st.builds(lambda x, op, y, op2, w: f"({x} {op} {y} {op2} {w})", inner, COMPARE, inner, COMPARE, inner),
        st.builds(lambda x, y: f"({x} and {y})", inner, inner),
        st.builds(lambda x, y: f"({x} or {y})", inner, inner),
        st.builds(lambda x, c, y: f"({x} if {c} else {y})", inner, inner, inner),
        st.builds(lambda s, i: f"{s}[{i}]", inner, inner),
        st.builds(lambda f, args: f"{f}({', '.join(args)})", FUNCTIONS, st.lists(inner, max_size=3)),
        st.builds(lambda x, n: f"[{x} for j in range({n}) if j != 1]", inner, st.sampled_from(["3", "a", "L"])),
        st.builds(lambda x, y: f"[{x}, {y}]", inner, inner),
    )


EXPRESSIONS = st.recursive(ATOMS, _extend, max_leaves=8)


def _falling_back(fn, text: str, lookup):
    """What compiled.evaluate does with one compiled function: any failure is the interpreter's to explain."""
    if fn is not None:
        try:
            return fn(lookup)
        except Exception:  # noqa: BLE001
            pass
    return expr.evaluate(text, lookup)


def closures(text: str, lookup):
    try:
        body = expr.parse(text).body
    except expr.ExprError:
        return expr.evaluate(text, lookup)
    return _falling_back(compiled._compile(body, text), text, lookup)


def generated(text: str, lookup):
    try:
        body = expr.parse(text).body
    except expr.ExprError:
        return expr.evaluate(text, lookup)
    return _falling_back(codegen.generated(body), text, lookup)


EVALUATORS = pytest.mark.parametrize("evaluate", [compiled.evaluate, closures, generated],
                                     ids=["compiled", "closures", "generated"])


def outcome(evaluate, text: str):
    try:
        value = evaluate(text, VARIABLES.__getitem__)
    except expr.ExprError as e:
        return "error", str(e), e.offset
    return "value", type(value), value


@settings(max_examples=400, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(EXPRESSIONS)
@EVALUATORS
def test_compiled_expressions_agree_with_the_interpreter(evaluate, text):
    assert outcome(evaluate, text) == outcome(expr.evaluate, text), text


def test_the_specs_own_forms_compile_and_agree():
    for text in ("make_divisible(c[row] * width, 8)", "round(in_channels * expand)", "stride != 1 or c != 64",
                 "basic if expansion == 1 else bottleneck", "planes * width_per_group // 64 * groups",
                 "s[row] == 1 and in_channels == make_divisible(c[row] * width, 8)", "kernel // 2"):
        names = {"c": [16, 24], "row": 1, "width": 0.75, "in_channels": 96, "expand": 6, "stride": 2, "kernel": 5,
                 "expansion": 4, "basic": 1, "bottleneck": 2, "planes": 64, "width_per_group": 4, "groups": 32,
                 "s": [1, 2]}
        assert compiled.evaluate(text, names.__getitem__) == expr.evaluate(text, names.__getitem__)
        assert codegen.generated(expr.parse(text).body) is not None  # one generated function each


@EVALUATORS
def test_each_check_of_the_interpreter_is_made(evaluate):
    """One case per check: each fails (or passes) in both, with the same message."""
    for text in ("big * big", "big * 2", "big * 64", "1e308 * 10", "-big * big", "L + 1", "L * 2", "-L", "L < 3",
                 "abs(L)", "min(L)", "min(L, 1)", "sum(L)", "len(E)", "max(E)", "L[4]", "L[-4]", "L[-5]", "L[True]",
                 "a[0]", "L[b]", "1 / z", "a // z", "a % z", "nope + 1", "nofunc(1)", "sqrt(-1)", "a ** 300",
                 "log(z)", "int(1e300)", "round(b)", "range(a)", "range(b)", "[L, 1]", "[a, b][1]", "flag + 1",
                 "not L", "L or a", "E or a", "E and a", "exp(1000)", "make_divisible(big, 8)", "2 ** big",
                 "a < L", "a < b < L", "b < a < L", "[a, L]", "a if L else b", "z and L", "flag and L[0]", "L[4] < 1",
                 "2.5[a]", "(1 < 2) + 1", "-flag", "not z"):
        assert outcome(evaluate, text) == outcome(expr.evaluate, text), text


def test_the_generated_source_holds_no_text_of_the_expression():
    """A name is a string literal passed to the lookup, a constant a bounded number's repr: nothing of the text is
    run as code, and a name that is Python's own reaches the lookup as a name, like any other."""
    seen = []

    def lookup(name):
        seen.append(name)
        return 2

    fn = codegen.generated(expr.parse("__import__ + exec * eval - L").body)
    assert fn(lookup) == 2 + 2 * 2 - 2
    assert seen == ["__import__", "exec", "eval", "L"]
    assert fn.__globals__["__builtins__"] == {}
