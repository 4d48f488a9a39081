"""The generic tensor layer, part two: arithmetic on tensors of any rank.

- element-wise ops of one tensor (`unary`), of two with numpy's broadcasting (`binary`: the second operand is
  another tensor, a constant number `value`, or a learned tensor of shape `param`), and `where`;
- reductions over any axes (`reduction`);
- products of two activations: `matmul` (numpy's matmul, batched over the leading axes) and `einsum`, whose
  multiply-adds count in FLOPs like a conv's (torchvision counts attention's products so: vit_b_16 17.56 G).

Shapes are per sample and axes framework-numbered (the batch is axis 0), as in `tensor`.
"""

from __future__ import annotations

from math import prod

from costcalc.ops.core import Arg, OpDef, OpError, OpResult, fmt
from costcalc.ops.tensor import axes_indices, broadcast

BINARY_FLOPS = 1  # add, sub, mul, div, pow, max, min, a comparison: one operation per output element
WHERE_FLOPS = 1  # a select per output element
# reductions: per input element (an add into the sum, a compare into the max), and per output element
REDUCE_FLOPS = {"sum": (1, 0), "mean": (1, 1), "max": (1, 0), "min": (1, 0), "prod": (1, 0),
                "l1": (2, 0), "l2": (2, 1), "sum_square": (2, 0), "log_sum_exp": (2, 1), "log_sum": (1, 1),
                "argmax": (1, 0), "argmin": (1, 0)}


def unary(per_element: int, doc: str) -> OpDef:
    """An op applied to each element of one input (exp, sqrt, erf, cast, ...), at `per_element` FLOPs each."""

    def apply(x) -> OpResult:
        return OpResult(outputs=(x,), elementwise_flops=per_element * prod(x))

    return OpDef(apply, doc=f"{doc}: element-wise, {per_element} FLOP(s) per element")


def binary(name: str, per_element: int, doc: str, inputs: int = 2) -> OpDef:
    """An element-wise op of two operands with numpy's broadcasting: two tensors, or one tensor and a constant
    `value` (x + 3: no parameters), or one tensor and a learned tensor of shape `param` (a bias, a layer scale,
    a position embedding: prod(param) parameters, read once; `learned` of them when a smaller table stands behind
    it), or a constant tensor of shape `const` (a mask: no parameters). `inputs` > 2: an n-ary sum (ONNX's Sum)."""
    def apply(*xs, value=None, param=None, learned=None, const=None) -> OpResult:
        extra = (value is not None) + (param is not None) + (const is not None)
        if len(xs) + extra < 2 or extra > 1 or (extra and len(xs) > 1):
            raise OpError("takes two tensors, or one tensor and one of 'value' (a constant number), 'param' (the "
                          "shape of a learned tensor) or 'const' (the shape of a constant tensor)")
        if learned is not None and param is None:
            raise OpError("'learned' counts the learned values behind a 'param'", "learned")
        other = param if param is not None else const
        constants = [tuple(other)] if other is not None else []
        try:
            out = broadcast(*xs, constants=constants)
        except OpError as e:
            if len({len(s) for s in xs}) > 1 or any(len(p) > len(xs[0]) for p in constants):
                raise OpError(f"{name} of {e}", "param" if constants else None) from None
            raise OpError(f"{name} of shapes " + " and ".join(fmt(s) for s in (*xs, *constants)) + ": they do not "
                          "broadcast (each axis, from the last, equal or 1)", "param" if constants else None) from None
        return OpResult(outputs=(out,), elementwise_flops=per_element * (len(xs) + len(constants) - 1 if value is None
                                                                         else 1) * prod(out),
                        params=(prod(param) if learned is None else learned) if param is not None else 0)

    args = {"value": Arg("number", None, "a constant second operand"),
            "param": Arg("shape", None, "the shape of a learned second operand (broadcast against the input)"),
            "learned": Arg("index", None, "the learned values behind `param` when fewer than its elements (a "
                                          "relative-position bias table gathered by a fixed index)"),
            "const": Arg("shape", None, "the shape of a constant second operand (a mask: no parameters)")}
    return OpDef(apply, args, min_inputs=1, max_inputs=None if inputs > 2 else 2,
                 doc=f"{doc}: element-wise with broadcasting, {per_element} FLOP(s) per output element")


def where(*xs, shape=None) -> OpResult:
    """Select by a condition (ONNX's Where); the operands that are constants broadcast through `shape`."""
    out = broadcast(*xs, constants=[tuple(shape)] if shape else [])
    return OpResult(outputs=(out,), elementwise_flops=WHERE_FLOPS * prod(out))


def reduction(kind: str) -> OpDef:
    """reduce_<kind> over `axes` (all of a sample's axes when omitted), keeping them as size 1 with `keepdims`."""
    per_in, per_out = REDUCE_FLOPS[kind]

    def apply(x, axes=None, keepdims=False) -> OpResult:
        if axes is not None and not len(axes):
            raise OpError("axes [] names no axis (leave 'axes' out to reduce every axis of a sample)", "axes")
        picked = axes_indices(axes, x)
        out = tuple(1 if i in picked else d for i, d in enumerate(x)) if keepdims else \
            tuple(d for i, d in enumerate(x) if i not in picked)
        return OpResult(outputs=(out,), elementwise_flops=per_in * prod(x) + per_out * prod(out))

    return OpDef(apply, {"axes": Arg("axes", None, "the axes reduced (the batch is axis 0); all when omitted"),
                         "keepdims": Arg("bool", False, "keep the reduced axes as size 1")},
                 doc=f"reduction ({kind}) over axes: {per_in} FLOP(s) per input element"
                     + (f", {per_out} per output element" if per_out else ""))


def matmul(a, b) -> OpResult:
    """The product of two activations (q @ k^T, attn @ v) with numpy's matmul: the last two axes multiply, the
    leading ones broadcast. Multiply-adds: every output element sums K products (K = a's last axis). Both are
    tensors of the network, the batch first, so both have the same rank and at least two axes per sample (a 1-D
    operand would be a matrix N x K, not numpy's vector)."""
    if len(a) != len(b) or len(a) < 2:
        raise OpError(f"matmul of N x {fmt(a)} and N x {fmt(b)}: costcalc multiplies tensors of the same rank, at "
                      "least two axes per sample (reshape one first)")
    if a[-1] != b[-2]:
        raise OpError(f"matmul of {fmt(a)} and {fmt(b)}: {a[-1]} columns against {b[-2]} rows")
    try:
        lead = broadcast(a[:-2], b[:-2])
    except OpError:
        raise OpError(f"matmul of {fmt(a)} and {fmt(b)}: the leading axes do not broadcast") from None
    out = (*lead, a[-2], b[-1])
    return OpResult(outputs=(out,), flops=prod(out) * a[-1])


def einsum(*xs, equation, param=None) -> OpResult:
    """Einstein summation as torch.einsum writes it, the batch included: every activation's subscripts start with
    the batch letter, as do the output's (`bhnd,bhmd->bhnm`); a learned operand (`param`, its shape) has no
    batch letter. Multiply-adds of a product of two or more operands: one per combination of all the letters'
    sizes (batch excluded); one operand moves its elements (a transpose, or a reduction: one add each)."""
    if "->" not in equation:
        raise OpError(f"equation '{equation}' needs its output written after '->'", "equation")
    left, right = equation.replace(" ", "").split("->", 1)
    terms = left.split(",")
    shapes = [tuple(x) for x in xs] + ([tuple(param)] if param is not None else [])
    if len(terms) != len(shapes):
        raise OpError(f"equation '{equation}' has {len(terms)} operands for {len(shapes)} tensors", "equation")
    if len(shapes) > 2:
        raise OpError(f"equation '{equation}': costcalc costs einsum of one or two operands (torch contracts more "
                      "pairwise, in an order of its own): write it as two einsums", "equation")
    batch = terms[0][:1]
    if not batch or any(t[:1] != batch for t in terms[:len(xs)]) or right[:1] != batch:
        raise OpError(f"equation '{equation}': every activation and the output start with the batch letter", "equation")
    sizes: dict = {}
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        letters = term[1:] if i < len(xs) else term
        if len(letters) != len(shape) or not (letters.isascii() and letters.isalpha()) or batch in letters \
                or len(set(letters)) != len(letters):
            raise OpError(f"equation '{equation}': subscripts '{term}' do not fit a tensor of shape {fmt(shape)}",
                          "equation")
        for letter, size in zip(letters, shape):
            if sizes.setdefault(letter, size) != size and size != 1 and sizes[letter] != 1:
                raise OpError(f"equation '{equation}': '{letter}' is both {sizes[letter]} and {size}", "equation")
            sizes[letter] = max(sizes[letter], size)
    if any(c not in sizes for c in right[1:]) or len(set(right)) != len(right) or not right.isascii():
        raise OpError(f"equation '{equation}': the output names a letter no operand has, or one twice", "equation")
    out = tuple(sizes[c] for c in right[1:])
    everything = prod(sizes.values())
    if len(shapes) == 1:
        return OpResult(outputs=(out,), elementwise_flops=prod(shapes[0]) if everything != prod(out) else 0)
    return OpResult(outputs=(out,), flops=everything, params=prod(param) if param is not None else 0)
