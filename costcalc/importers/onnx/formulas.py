"""Activations that exporters write as a formula of element-wise nodes, recognised by what they compute.

Before ONNX had a node for them, exporters wrote GELU as `x * 0.5 * (1 + Erf(x / sqrt 2))` (torch: Div, Erf, Add,
Mul, Mul; its dynamo exporter multiplies 0.5 in first), GELU's tanh form as `0.5 x (1 + Tanh(sqrt(2/pi) (x +
0.044715 x^3)))` (with Pow or Mul for the cube), and Mish as `x * Tanh(Softplus(x))`; the order of the factors and
the form of each constant vary. So rather than match node sequences, `match` takes the element-wise nodes that
start at one network tensor x (Add, Sub, Mul, Div, Pow, Erf, Tanh, Softplus, Sqrt, Neg, each reading x, a node of
the formula or a constant number), and evaluates each candidate sub-formula (one output tensor, its intermediate
tensors read nowhere else) on sample values of x. A sub-formula that equals one of FORMULAS there is that op,
costed by costcalc's op function like any other layer; anything else is left to the node-by-node handlers.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from costcalc.importers.onnx.naming import note_of
from costcalc.importers.onnx.reading import Const, Data

MAX_FORMULA_NODES = 24  # the longest formula (GELU's tanh form) has 9 nodes
SAMPLE = np.linspace(-4.0, 4.0, 41)


def _softplus(v):
    return np.log1p(np.exp(v))


_erf = np.vectorize(math.erf)

# (costcalc op, its arguments, what it computes)
FORMULAS = (
    ("gelu", {"approximate": "none"}, lambda v: 0.5 * v * (1 + _erf(v / math.sqrt(2)))),
    ("gelu", {"approximate": "tanh"}, lambda v: 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))),
    ("mish", {}, lambda v: v * np.tanh(_softplus(v))),
)
EVALUATE = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b,
    "Pow": lambda a, b: np.power(a, b),
    "Erf": _erf,
    "Tanh": np.tanh,
    "Softplus": _softplus,
    "Sqrt": np.sqrt,
    "Neg": lambda a: -a,
}
MAIN_OPS = ("Erf", "Tanh", "Softplus")  # the node a formula's layer is named after (costcalc's exporter names it so)


def _number(imp, name: str):
    """The value of a constant number (a tensor of one element), or None."""
    t = imp.tensors.get(name)
    producer = imp.producer_index.get(name)
    if t is None and producer is not None and imp.nodes[producer].op == "Constant":  # torch writes it just before
        t = imp.demand(name)  # its reader, after the formula's first node: evaluated now
    if not isinstance(t, Const) or math.prod(t.shape) != 1 or not imp.readable(t):
        return None
    return float(np.asarray(imp.const_value(None, t, "a constant")).reshape(-1)[0])


def match(imp, node) -> bool:
    """Whether `node` starts one of FORMULAS on a network tensor; if so its layer is emitted, its nodes marked done."""
    data = {t for t in node.proto.input if t and isinstance(imp.tensors.get(t), Data)}
    if len(data) != 1:
        return False
    (x_name,) = data
    x = imp.tensors[x_name]
    if x.pending or x.padded:
        return False
    region, produced = _grow(imp, node, x_name)
    for index in sorted(region):
        for out in imp.nodes[index].proto.output:
            sub = _ancestors(imp, out, region, produced)
            if node.index not in sub or not _closed(imp, sub, out, produced):
                continue
            values = _evaluate(imp, sub, x_name)
            if values is None or out not in values:
                continue
            for op, args, fn in FORMULAS:
                with np.errstate(all="ignore"):
                    if np.allclose(values[out], fn(SAMPLE), rtol=1e-4, atol=1e-5):
                        return _emit(imp, sorted(sub), op, args, x, out)
    return False


def _inputs_known(imp, proto, known: set) -> bool:
    return all(t in known or _number(imp, t) is not None for t in proto.input if t)


def _grow(imp, node, x_name: str) -> tuple:
    """The element-wise nodes reachable from x (node indices), and tensor -> the index of its producer there."""
    region, produced = set(), {}
    if node.op not in EVALUATE or not _inputs_known(imp, node.proto, {x_name}):
        return region, produced
    region.add(node.index)
    produced.update({t: node.index for t in node.proto.output})
    changed = True
    while changed and len(region) < MAX_FORMULA_NODES:
        changed = False
        known = {x_name, *produced}
        for t in known:
            users = imp.consumers.get(t, [])  # in node order: only the nodes after `node` can be in the formula
            for i in users[bisect_right(users, node.index):]:
                other = imp.nodes[i]
                if (i in region or i in imp.done or i not in imp.needed_nodes or other.op not in EVALUATE
                        or other.proto.domain not in ("", "ai.onnx") or not _inputs_known(imp, other.proto, known)):
                    continue
                region.add(i)
                produced.update({o: i for o in other.proto.output})
                changed = True
                if len(region) >= MAX_FORMULA_NODES:  # bounded work on any graph: no formula is this long
                    return region, produced
    return region, produced


def _ancestors(imp, out: str, region: set, produced: dict) -> set:
    sub, wanted = set(), [out]
    while wanted:
        i = produced.get(wanted.pop())
        if i is None or i in sub:
            continue
        sub.add(i)
        wanted.extend(t for t in imp.nodes[i].proto.input if t)
    return sub


def _closed(imp, sub: set, out: str, produced: dict) -> bool:
    """Whether every tensor the sub-formula makes, but its output, is read only inside it."""
    graph_outputs = {o.name for o in imp.graph.output}
    for i in sub:
        for t in imp.nodes[i].proto.output:
            if t != out and (t in graph_outputs or any(r not in sub for r in imp.consumers.get(t, []))):
                return False
    return True


def _evaluate(imp, sub: set, x_name: str):
    values = {x_name: SAMPLE}
    with np.errstate(all="ignore"):
        for i in sorted(sub):
            proto = imp.nodes[i].proto
            args = [values[t] if t in values else _number(imp, t) for t in proto.input if t]
            fn = EVALUATE[proto.op_type]
            try:
                results = fn(*args)
            except TypeError:  # a wrong number of inputs: not a formula of ours
                return None
            values[proto.output[0]] = np.asarray(results, dtype=np.float64)
    return values


def _emit(imp, sub: list, op: str, args: dict, x: Data, out: str) -> bool:
    main = next((imp.nodes[i] for i in sub if imp.nodes[i].op in MAIN_OPS), imp.nodes[sub[0]])
    formula = " ".join(imp.nodes[i].op for i in sub)
    (result,) = imp.emit(main, None, op, args, [x], note=f"{note_of(main)}, of the formula {formula}")
    imp.done.update(sub)
    imp.tensors[out] = result
    return True
