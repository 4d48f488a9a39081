"""Element-wise activations and the channel softmax. Per-element costs count one per arithmetic operation of the
textbook formula, a transcendental function (exp, log, tanh, erf) as one."""

from __future__ import annotations

from math import prod

from costcalc.ops.core import OpDef, OpError, OpResult

RELU_FLOPS = 1  # max(x, 0)
RELU6_FLOPS = 2  # min(max(x, 0), 6)
HARDTANH_FLOPS = 2  # min(max(x, min_val), max_val)
LEAKY_RELU_FLOPS = 2  # compare, multiply
SIGMOID_FLOPS = 3  # 1 / (1 + exp(-x)): exp, add, divide
TANH_FLOPS = 1  # one transcendental
SWISH_FLOPS = SIGMOID_FLOPS + 1  # x * sigmoid(x)
HARDSIGMOID_FLOPS = 4  # min(max(x + 3, 0), 6) / 6
HARDSWISH_FLOPS = HARDSIGMOID_FLOPS + 1  # x * hardsigmoid(x)
GELU_FLOPS = 5  # x * 0.5 * (1 + erf(x / sqrt(2))): divide, erf, add, two multiplies
GELU_TANH_FLOPS = 9  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): x^3 (2), 4 multiplies, 2 adds, tanh
MISH_FLOPS = 5  # x * tanh(log(1 + exp(x))): exp, add, log, tanh, multiply
SCALE_FLOPS = 1  # x * constant
SOFTMAX_FLOPS = 3  # exp, add into the sum, divide; one add fewer per position: C exps, C - 1 adds, C divides


def elementwise(per_element: int) -> OpDef:
    """An op applied to each element of one input, at `per_element` FLOPs each."""

    def apply(x) -> OpResult:
        return OpResult(outputs=(x,), elementwise_flops=per_element * prod(x))

    return OpDef(apply, doc=f"element-wise, {per_element} FLOP(s) per element")


def scale(x, factor) -> OpResult:
    return OpResult(outputs=(x,), elementwise_flops=SCALE_FLOPS * prod(x))


def gelu(x, approximate="none") -> OpResult:
    per_element = GELU_TANH_FLOPS if approximate == "tanh" else GELU_FLOPS
    return OpResult(outputs=(x,), elementwise_flops=per_element * prod(x))


def hardtanh(x, min_val=-1.0, max_val=1.0) -> OpResult:
    if min_val > max_val:
        raise OpError(f"min_val {min_val} is above max_val {max_val}", "min_val")
    return OpResult(outputs=(x,), elementwise_flops=HARDTANH_FLOPS * prod(x))


def softmax(x, axis=1) -> OpResult:
    """Softmax over `axis` (framework-numbered: 1, the default, is the channels of N x C x H x W or the features of
    a flat input; -1 the last axis, as attention takes it) at each position."""
    from costcalc.ops.tensor import axis_index
    c = x[axis_index(axis, x)]
    positions = prod(x) // c
    return OpResult(outputs=(x,), elementwise_flops=positions * (SOFTMAX_FLOPS * c - 1))
