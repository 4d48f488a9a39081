"""The generic tensor layer, part three: the standard ONNX ops added after parts one and two, of any rank.

- running sums and products along an axis (`cumsum`, `cumprod`), `hardmax` (a one-hot of the largest along an
  axis), `trilu` (the upper or lower triangle of the last two axes), `lp_normalization` (x / ||x||_p along an axis),
  `lrn` (local response normalisation across channels, AlexNet's);
- `gather_elements` and `scatter` (ONNX's GatherElements, ScatterElements and ScatterND by a fixed index), `topk`
  (the k largest or smallest along an axis, and their indices);
- `thresholded_relu` and `shrink`, element-wise (ONNX's ThresholdedRelu and Shrink).

Shapes are per sample and axes framework-numbered (the batch is axis 0), as in `tensor`. The per-element costs are
the constants below, one per operation of the textbook formula, a transcendental function (pow, sqrt) as one.
"""

from __future__ import annotations

from math import prod

from costcalc.ops.core import Arg, OpDef, OpError, OpResult, fmt
from costcalc.ops.tensor import axis_index
from costcalc.ops.tensor_math import unary

SCAN_FLOPS = 1  # cumsum / cumprod: one add or multiply per element
HARDMAX_FLOPS = 1  # one compare per input element (the argmax); the one-hot is written, no arithmetic
LP_FLOPS = {1: 2, 2: 2}  # per input element: abs or square, add into the norm
LP_DIVIDE_FLOPS = 1  # per element: x / norm
LRN_FLOPS = 4  # per element, after the window's squares and adds: times alpha / size, plus bias, pow beta, divide
TOPK_FLOPS = 1  # per input element: a compare in one selection pass
SCATTER_REDUCE_FLOPS = 1  # per update element with a reduction (add, mul, max, min); none: a copy
THRESHOLD_FLOPS = 1  # thresholded_relu: a compare-select per element
SHRINK_FLOPS = 3  # shrink: two compares and an add (or subtract) of the bias per element

_AXIS = Arg("axis", -1, "the axis (the batch is 0; -1 is the last)")


def scan(x, axis=-1, exclusive=False, reverse=False) -> OpResult:
    axis_index(axis, x)
    return OpResult(outputs=(tuple(x),), elementwise_flops=SCAN_FLOPS * prod(x))


def hardmax(x, axis=-1) -> OpResult:
    axis_index(axis, x)
    return OpResult(outputs=(tuple(x),), elementwise_flops=HARDMAX_FLOPS * prod(x))


def trilu(x, upper=True, k=0) -> OpResult:
    """The upper (or lower) triangle of the last two axes from diagonal k, the rest zero: a copy, no arithmetic."""
    if len(x) < 2:
        raise OpError(f"trilu keeps a triangle of the last two axes, and a tensor of {fmt(x)} has one")
    return OpResult(outputs=(tuple(x),))


def lp_normalization(x, axis=-1, p=2) -> OpResult:
    """x / ||x||_p along `axis`: per input element LP_FLOPS (abs or square, add) and a divide; p = 2 takes a square
    root per position."""
    a = axis_index(axis, x)
    if p not in LP_FLOPS:
        raise OpError(f"p={p}: ONNX's LpNormalization takes p 1 or 2", "p")
    positions = prod(x) // x[a]
    return OpResult(outputs=(tuple(x),), elementwise_flops=(LP_FLOPS[p] + LP_DIVIDE_FLOPS) * prod(x)
                    + (positions if p == 2 else 0))


def lrn(x, size, alpha=1e-4, beta=0.75, bias=1.0) -> OpResult:
    """Local response normalisation over `size` neighbouring channels (ONNX's LRN, AlexNet's): per element the
    squares and adds of its window's channels (2 each, the window cut at the borders) and LRN_FLOPS."""
    if len(x) < 2:
        raise OpError(f"lrn normalises across the channels of N x C x ..., not {fmt(x)}")
    c, rest = x[0], prod(x[1:])
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    window = sum(min(c - 1, i + after) - max(0, i - before) + 1 for i in range(c))  # channels each one sums
    return OpResult(outputs=(tuple(x),), elementwise_flops=2 * window * rest + LRN_FLOPS * prod(x))


def gather_elements(x, axis=1, index=None) -> OpResult:
    """ONNX's GatherElements (torch.gather) by a fixed index of shape `index` (the input's rank, each axis at most
    the input's but `axis`): the output is the index's shape; a copy of the elements it picks."""
    a = axis_index(axis, x)
    index = tuple(index) if index is not None else tuple(x)
    if len(index) != len(x) or any(i > d for k, (i, d) in enumerate(zip(index, x)) if k != a):
        raise OpError(f"an index of shape {fmt(index)} for a tensor of {fmt(x)} (axis {axis})", "index")
    return OpResult(outputs=(index,), read=prod(index))


def scatter(x, updates, reduction="none") -> OpResult:
    """ONNX's ScatterElements and ScatterND by a fixed index: `updates` written into a copy of x (its shape);
    with a reduction, one operation per update element."""
    if prod(updates) > prod(x):
        raise OpError(f"{prod(updates)} updates for a tensor of {prod(x)} elements")
    return OpResult(outputs=(tuple(x),), elementwise_flops=SCATTER_REDUCE_FLOPS * prod(updates)
                    if reduction != "none" else 0)


def topk(x, k, axis=-1, largest=True) -> OpResult:
    """The k largest (or smallest) along `axis` and their indices (two outputs of the input's shape, k along
    `axis`): TOPK_FLOPS per input element."""
    a = axis_index(axis, x)
    if k > x[a]:
        raise OpError(f"k={k} is more than the {x[a]} elements along axis {axis}", "k")
    out = (*x[:a], k, *x[a + 1:])
    return OpResult(outputs=(out, out), elementwise_flops=TOPK_FLOPS * prod(x))


_SCAN = {"axis": _AXIS, "exclusive": Arg("bool", False, "each output leaves its own element out"),
         "reverse": Arg("bool", False, "from the end of the axis")}
MORE_OPS = {
    "cumsum": OpDef(scan, dict(_SCAN), doc=f"running sum along an axis, {SCAN_FLOPS} FLOP per element"),
    "cumprod": OpDef(scan, dict(_SCAN), doc=f"running product along an axis, {SCAN_FLOPS} FLOP per element"),
    "hardmax": OpDef(hardmax, {"axis": _AXIS}, doc="one-hot of the largest along an axis"),
    "trilu": OpDef(trilu, {"upper": Arg("bool", True, "the upper triangle (false: lower)"),
                           "k": Arg("axis", 0, "the diagonal it starts from (0: the main one; negative: below)")},
                   doc="the upper or lower triangle of the last two axes (a copy)"),
    "lp_normalization": OpDef(lp_normalization, {"axis": _AXIS, "p": Arg("int", 2, "1 or 2")},
                              doc="x / its p-norm along an axis"),
    "lrn": OpDef(lrn, {"size": Arg("int"), "alpha": Arg("number", 1e-4), "beta": Arg("number", 0.75),
                       "bias": Arg("number", 1.0)}, doc="local response normalisation across channels"),
    "gather_elements": OpDef(gather_elements, {"axis": Arg("axis", 1, "the axis indexed"),
                                               "index": Arg("shape", None, "the index's shape (default: the input's)")},
                             doc="torch.gather by a fixed index: the index's shape"),
    "scatter": OpDef(scatter, {"reduction": Arg("choice", "none", "how an update meets the element: none (writes "
                                                                  "it), add, mul, max, min",
                                                ("none", "add", "mul", "max", "min"))},
                     min_inputs=2, max_inputs=2, doc="updates written into a copy by a fixed index"),
    "thresholded_relu": unary(THRESHOLD_FLOPS, "x where x > alpha, else 0 (ONNX's ThresholdedRelu): a compare-select"),
    "shrink": unary(SHRINK_FLOPS, "hard or soft shrink (ONNX's Shrink): two compares and an add"),
    "topk": OpDef(topk, {"k": Arg("int"), "axis": _AXIS, "largest": Arg("bool", True, "false: the smallest")},
                  doc="the k largest along an axis, and their indices (outputs .0 and .1)"),
}
