"""One pure cost-and-shape function per op, and the registry OPS that names them.

Shapes are per sample, without the batch: (C, H, W) for feature maps, (F,) after flatten. Every function takes the
input shapes and plain ints and returns one frozen OpResult; nothing here reads a spec or prints.

Counting conventions (the README and `costcalc report --help` repeat them):
- flops: multiply-adds of conv and fc layers, bias not counted (the seed papers' and torchvision's convention).
- elementwise_flops: every other arithmetic operation, at the per-element costs named by the constants below
  (a conv or fc bias adds one per output element).
- params: every learnable parameter: weights, biases, batchnorm scale and shift (running statistics are buffers).
- memory_access: elements read and written, computed once for all ops in `account`: each input read once, each
  output written once, each parameter read once; ops that only relabel memory (flatten, dropout, identity) move
  nothing. The batch multiplies activations and FLOPs, never parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Callable

Shape = tuple  # (C, H, W) or (F,): per sample, ints

PAPER_SUMMARY = "FLOPs = conv + fc multiply-adds, bias not counted"  # the headline convention, in one line

# Per-element costs of element-wise ops: one per arithmetic operation of the textbook formula.
BATCHNORM_FLOPS = 2  # inference: x * scale + shift
BIAS_FLOPS = 1
RELU_FLOPS = 1  # max(x, 0)
RELU6_FLOPS = 2  # min(max(x, 0), 6)
LEAKY_RELU_FLOPS = 2  # compare, multiply
SIGMOID_FLOPS = 3  # 1 / (1 + exp(-x)): exp, add, divide
TANH_FLOPS = 1  # one transcendental
SWISH_FLOPS = SIGMOID_FLOPS + 1  # x * sigmoid(x)
HARDSIGMOID_FLOPS = 4  # min(max(x + 3, 0), 6) / 6
HARDSWISH_FLOPS = HARDSIGMOID_FLOPS + 1  # x * hardsigmoid(x)
SCALE_FLOPS = 1  # x * constant
POOL_FLOPS_PER_WINDOW_ELEMENT = 1  # a max pool compares, an average pool adds, once per element of the window


@dataclass(frozen=True)
class OpResult:
    outputs: tuple  # tuple of Shape
    flops: int = 0
    elementwise_flops: int = 0
    params: int = 0
    moves_data: bool = True


@dataclass(frozen=True)
class Counts:
    """The costs of one layer for a whole batch: what the report and the JSON show."""

    flops: int = 0
    elementwise_flops: int = 0
    params: int = 0
    memory_access: int = 0
    activations: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(
            self.flops + other.flops,
            self.elementwise_flops + other.elementwise_flops,
            self.params + other.params,
            self.memory_access + other.memory_access,
            self.activations + other.activations,
        )


COUNT_FIELDS = ("flops", "elementwise_flops", "params", "memory_access", "activations")


def account(result: OpResult, inputs: list, batch: int) -> Counts:
    """The generic accounting every op shares: memory access = inputs read + outputs written + params read."""
    if not result.moves_data:
        return Counts(params=result.params)
    written = sum(map(prod, result.outputs))
    read = sum(map(prod, inputs))
    return Counts(
        flops=result.flops * batch,
        elementwise_flops=result.elementwise_flops * batch,
        params=result.params,
        memory_access=(read + written) * batch + result.params,
        activations=written * batch,
    )


class OpError(Exception):
    """An op cannot be applied to these inputs or arguments; `key` names the argument at fault, when one is."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


# ---- argument kinds and op definitions ---------------------------------------------------------------------

REQUIRED = object()


@dataclass(frozen=True)
class Arg:
    kind: str  # "int" (>= 1), "pair" (int or [h, w], each >= 1), "pad" (a pair, each >= 0), "bool", "number",
    # "ints" (a list of ints >= 1)
    default: object = REQUIRED
    doc: str = ""


@dataclass(frozen=True)
class OpDef:
    fn: Callable[..., OpResult]
    args: dict = field(default_factory=dict)
    min_inputs: int = 1
    max_inputs: int | None = 1  # None: any number
    doc: str = ""


# ---- helpers ------------------------------------------------------------------------------------------------


def _feature_map(x: Shape, op: str) -> tuple:
    if len(x) != 3:
        raise OpError(f"{op} needs a C x H x W input, got shape {_fmt(x)}")
    return x


def _fmt(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def window_out(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool, axis: str,
               pad_end: int | None = None) -> int:
    """Output length of a sliding window, as torch (and ONNX) compute it: `pad` before the input and `pad_end`
    (default: `pad`) after it; ceil_mode keeps a last partial window only when it starts inside the input or its
    leading padding."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad + (pad if pad_end is None else pad_end)
    if span > padded:
        raise OpError(f"kernel {kernel} (dilation {dilation}) is larger than the padded input {axis} {padded}", "k")
    if ceil_mode:
        out = -(-(padded - span) // stride) + 1
        if (out - 1) * stride >= size + pad:
            out -= 1
        return out
    return (padded - span) // stride + 1


# ---- the ops ------------------------------------------------------------------------------------------------


def conv(x, out, k, stride=(1, 1), pad=(0, 0), dilation=(1, 1), groups=1, bias=False) -> OpResult:
    c, h, w = _feature_map(x, "conv")
    if c % groups:
        raise OpError(f"groups={groups} does not divide in_channels={c}", "groups")
    if out % groups:
        raise OpError(f"groups={groups} does not divide out={out}", "groups")
    ho = window_out(h, k[0], stride[0], pad[0], dilation[0], False, "height")
    wo = window_out(w, k[1], stride[1], pad[1], dilation[1], False, "width")
    weights = k[0] * k[1] * (c // groups) * out
    outputs = ho * wo * out
    return OpResult(
        outputs=((out, ho, wo),),
        flops=outputs * k[0] * k[1] * (c // groups),
        elementwise_flops=outputs * BIAS_FLOPS if bias else 0,
        params=weights + (out if bias else 0),
    )


def fc(x, out, bias=True) -> OpResult:
    if len(x) != 1:
        raise OpError(f"fc needs a flat input, got {_fmt(x)}: put a flatten (or gap then flatten) before it")
    return OpResult(
        outputs=((out,),),
        flops=x[0] * out,
        elementwise_flops=out * BIAS_FLOPS if bias else 0,
        params=x[0] * out + (out if bias else 0),
    )


def batchnorm(x) -> OpResult:
    return OpResult(outputs=(x,), elementwise_flops=BATCHNORM_FLOPS * prod(x), params=2 * x[0])


def elementwise(per_element: int) -> OpDef:
    """An op applied to each element of one input, at `per_element` FLOPs each."""

    def apply(x) -> OpResult:
        return OpResult(outputs=(x,), elementwise_flops=per_element * prod(x))

    return OpDef(apply, doc=f"element-wise, {per_element} FLOP(s) per element")


def scale(x, factor) -> OpResult:
    return OpResult(outputs=(x,), elementwise_flops=SCALE_FLOPS * prod(x))


def pool(x, k, stride=None, pad=(0, 0), dilation=(1, 1), ceil_mode=False) -> OpResult:
    c, h, w = _feature_map(x, "pool")
    stride = stride or k
    for axis in (0, 1):  # torch refuses a pad beyond half the (effective) window
        if 2 * pad[axis] > dilation[axis] * (k[axis] - 1) + 1:
            raise OpError(f"pad {pad[axis]} is more than half of the pooling window {k[axis]}", "pad")
    ho = window_out(h, k[0], stride[0], pad[0], dilation[0], ceil_mode, "height")
    wo = window_out(w, k[1], stride[1], pad[1], dilation[1], ceil_mode, "width")
    return OpResult(
        outputs=((c, ho, wo),),
        elementwise_flops=c * ho * wo * k[0] * k[1] * POOL_FLOPS_PER_WINDOW_ELEMENT,
    )


def global_avgpool(x) -> OpResult:
    c, h, w = _feature_map(x, "gap")
    return OpResult(outputs=((c, 1, 1),), elementwise_flops=c * h * w * POOL_FLOPS_PER_WINDOW_ELEMENT)


def add(*xs) -> OpResult:
    for i, x in enumerate(xs[1:], start=1):
        if x != xs[0]:
            raise OpError(f"add of different shapes: input 0 is {_fmt(xs[0])}, input {i} is {_fmt(x)}")
    return OpResult(outputs=(xs[0],), elementwise_flops=(len(xs) - 1) * prod(xs[0]))


def mul(a, b) -> OpResult:
    """Element-wise product; a C x 1 x 1 input broadcasts over H and W (squeeze-and-excitation)."""
    if a != b:
        if len(a) == 3 and b == (a[0], 1, 1):
            pass
        elif len(b) == 3 and a == (b[0], 1, 1):
            a, b = b, a
        else:
            raise OpError(f"mul of shapes {_fmt(a)} and {_fmt(b)}: they must match, or one be C x 1 x 1")
    return OpResult(outputs=(a,), elementwise_flops=prod(a))


def concat(*xs) -> OpResult:
    first = xs[0]
    for i, x in enumerate(xs[1:], start=1):
        if len(x) != len(first) or x[1:] != first[1:]:
            raise OpError(f"concat along channels needs equal H and W: input 0 is {_fmt(first)}, input {i} is {_fmt(x)}")
    return OpResult(outputs=((sum(x[0] for x in xs), *first[1:]),))


MAX_SPLIT_PARTS = 4096  # outputs of one split: bounds the tensors a single layer creates


def split(x, sizes=None, parts=None) -> OpResult:
    c = x[0]
    if (sizes is None) == (parts is None):
        raise OpError("split takes either 'sizes' (a list of channel counts) or 'parts' (a number of equal parts)")
    if parts is not None:
        if parts > MAX_SPLIT_PARTS:
            raise OpError(f"parts={parts:,} is beyond the limit of {MAX_SPLIT_PARTS:,}", "parts")
        if c % parts:
            raise OpError(f"parts={parts} does not divide in_channels={c}", "parts")
        sizes = [c // parts] * parts
    if any(s < 1 for s in sizes):
        raise OpError(f"split sizes must be at least 1, got {sizes}", "sizes")
    if sum(sizes) != c:
        raise OpError(f"split sizes {sizes} sum to {sum(sizes)}, not in_channels={c}", "sizes")
    return OpResult(outputs=tuple((s, *x[1:]) for s in sizes))


def shuffle(x, groups) -> OpResult:
    if x[0] % groups:
        raise OpError(f"groups={groups} does not divide in_channels={x[0]}", "groups")
    return OpResult(outputs=(x,))


def select(x, out) -> OpResult:
    """Channel index-select (a gather by a fixed index buffer, e.g. CondenseNet's condensed layers): `out` channels
    (or features of a flat input) picked from the input, in any order and possibly repeated. No arithmetic and no
    parameters (the index is a buffer); it reads its input and writes its output like a shuffle."""
    return OpResult(outputs=((out, *x[1:]),))


def flatten(x) -> OpResult:
    return OpResult(outputs=((prod(x),),), moves_data=False)


def identity(x, p=0.0) -> OpResult:
    return OpResult(outputs=(x,), moves_data=False)


_WINDOW = {"k": Arg("pair"), "stride": Arg("pair", None), "pad": Arg("pad", (0, 0)), "ceil_mode": Arg("bool", False)}

OPS: dict[str, OpDef] = {
    "conv": OpDef(conv, {"out": Arg("int"), "k": Arg("pair"), "stride": Arg("pair", (1, 1)), "pad": Arg("pad", (0, 0)),
                         "dilation": Arg("pair", (1, 1)), "groups": Arg("int", 1), "bias": Arg("bool", False)},
                  doc="2-D convolution; depthwise when groups equals the input channels"),
    "fc": OpDef(fc, {"out": Arg("int"), "bias": Arg("bool", True)}, doc="fully connected (linear) layer"),
    "bn": OpDef(batchnorm, doc="batch normalisation (inference)"),
    "relu": elementwise(RELU_FLOPS),
    "relu6": elementwise(RELU6_FLOPS),
    "leaky_relu": elementwise(LEAKY_RELU_FLOPS),
    "sigmoid": elementwise(SIGMOID_FLOPS),
    "tanh": elementwise(TANH_FLOPS),
    "swish": elementwise(SWISH_FLOPS),
    "hardsigmoid": elementwise(HARDSIGMOID_FLOPS),
    "hardswish": elementwise(HARDSWISH_FLOPS),
    "scale": OpDef(scale, {"factor": Arg("number")}, doc="multiply by a constant (residual scaling)"),
    "maxpool": OpDef(pool, {**_WINDOW, "dilation": Arg("pair", (1, 1))}, doc="max pooling"),
    "avgpool": OpDef(pool, dict(_WINDOW), doc="average pooling"),
    "gap": OpDef(global_avgpool, doc="global average pooling to C x 1 x 1"),
    "mean": OpDef(global_avgpool, doc="global average written as x.mean([2, 3]) (torchvision's ShuffleNetV2): the cost "
                                      "of gap, but FLOP counters that see only modules skip it"),
    "add": OpDef(add, min_inputs=2, max_inputs=None, doc="element-wise sum of equal shapes"),
    "mul": OpDef(mul, min_inputs=2, max_inputs=2, doc="element-wise product (C x 1 x 1 broadcasts)"),
    "concat": OpDef(concat, min_inputs=1, max_inputs=None, doc="concatenation along channels"),
    "split": OpDef(split, {"sizes": Arg("ints", None), "parts": Arg("int", None)}, doc="channel split"),
    "shuffle": OpDef(shuffle, {"groups": Arg("int")}, doc="channel shuffle"),
    "select": OpDef(select, {"out": Arg("int")}, doc="channel index-select (gather) of `out` channels"),
    "flatten": OpDef(flatten, doc="C x H x W to C*H*W (a view: moves no data)"),
    "dropout": OpDef(identity, {"p": Arg("number", 0.0)}, doc="identity at inference (free)"),
    "identity": OpDef(identity, doc="passes its input on (free)"),
}

ALIASES = {"linear": "fc", "batchnorm": "bn", "silu": "swish", "global_avgpool": "gap", "channel_shuffle": "shuffle",
           "index_select": "select"}
