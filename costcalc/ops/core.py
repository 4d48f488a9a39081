"""What every op shares: the result record, the generic accounting, argument kinds and the window arithmetic."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Callable

Shape = tuple  # (C, H, W) or (F,): per sample, ints


@dataclass(frozen=True)
class OpResult:
    outputs: tuple  # tuple of Shape
    flops: int = 0
    elementwise_flops: int = 0
    params: int = 0
    moves_data: bool = True
    read: int | None = None  # elements read from the inputs, per sample, when not all of them: a slice or gather
    # that copies reads only the elements it picks (three slices of a tensor read what one split of it reads)


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
    read = sum(map(prod, inputs)) if result.read is None else result.read
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
    kind: str  # "int" (>= 1), "index" (an int >= 0), "pair" (one int, a Uniform, or one per spatial axis: [l],
    # [h, w], [d, h, w], each >= 1), "pad" (a pair, each >= 0), "bool", "number", "ints" (a list of ints >= 1),
    # "choice" (one of `choices`, written as a bare word), "text" (an einsum equation), and the generic tensor
    # layer's: "axis" (one framework-numbered axis, negative from the end), "axes" (a list of them), "perm" (an
    # order of every axis, the batch 0 first), "dims" (a reshape target: sizes >= 1 and one -1), "shape" (sizes >= 1)
    default: object = REQUIRED
    doc: str = ""
    choices: tuple = ()


# How the framework a spec mirrors calls an op: a module (nn.ReLU(), the default) or a function
# (F.relu, torch.add; also a module type that counters' hook tables do not list, such as torchvision's
# LayerNorm2d, a subclass of nn.LayerNorm, whose forward calls F.layer_norm). Module hooks (ptflops, thop) see
# only the first. Every op takes the key; it changes no count of costcalc's own, only the tool conventions.
CALL_KEY = "call"
CALLS = ("module", "functional")
CALL_ARG = Arg("choice", None, "how the framework calls the op: module (default) or functional", CALLS)


@dataclass(frozen=True)
class OpDef:
    fn: Callable[..., OpResult]
    args: dict = field(default_factory=dict)
    min_inputs: int = 1
    max_inputs: int | None = 1  # None: any number
    doc: str = ""

    @property
    def keys(self) -> dict:
        """Every key an entry of this op may carry: its arguments and `call`."""
        return {**self.args, CALL_KEY: CALL_ARG}

    def apply(self, shapes: list, args: dict) -> OpResult:
        """The formula on these input shapes, with the op's own arguments (`call` is not one)."""
        return self.fn(*shapes, **{k: v for k, v in args.items() if k != CALL_KEY})


# ---- helpers ------------------------------------------------------------------------------------------------


def feature_map(x: Shape, op: str) -> tuple:
    if len(x) != 3:
        raise OpError(f"{op} needs a C x H x W input, got shape {fmt(x)}")
    return x


AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def spatial(x: Shape, op: str) -> tuple:
    """(C, spatial sizes) of a C x L, C x H x W or C x D x H x W input (1-D, 2-D and 3-D windows)."""
    if not 2 <= len(x) <= 4:
        raise OpError(f"{op} needs a C x H x W input (or C x L, C x D x H x W), got shape {fmt(x)}")
    return x[0], tuple(x[1:])


class Uniform(tuple):
    """A window argument written as one number (`k: 3`): the same value on every spatial axis, whatever their
    number. Held as (n, n), the 2-D form; `per_axis` widens or narrows it to the input's rank. A list written
    out (`k: [3, 3]`) is a plain tuple and must have one value per spatial axis."""


ONES, ZEROS = Uniform((1, 1)), Uniform((0, 0))  # the defaults of stride / dilation and of pad


def per_axis(values, n: int, key: str) -> tuple:
    """A window argument for n spatial axes: n values, or one number for all (`k: 3` is 3x3 in 2-D, 3 in 1-D)."""
    if isinstance(values, Uniform):
        return (values[0],) * n
    values = tuple(values)
    if len(values) == n:
        return values
    raise OpError(f"{key} {list(values)} has {len(values)} values for {n} spatial "
                  f"{'axis' if n == 1 else 'axes'} ({', '.join(AXIS_NAMES.get(n, ('?',)))})", key)


def fmt(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def window_out(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool, axis: str,
               pad_end: int | None = None) -> int:
    """Output length of a sliding window, as torch (and ONNX) compute it: `pad` before the input and `pad_end`
    (default: `pad`) after it; ceil_mode keeps a last partial window only when it starts inside the input or its
    leading padding (so a window larger than the padded input gives one output when the stride is large enough,
    as onnxruntime and torch compute: kernel 3, stride 2 on 2 x 2 gives 1 x 1)."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad + (pad if pad_end is None else pad_end)
    if ceil_mode:  # a window larger than the padded input still gives one when the stride reaches past it
        out = -(-(padded - span) // stride) + 1
        if (out - 1) * stride >= size + pad:
            out -= 1
        if out >= 1:
            return out
    if span > padded:
        raise OpError(f"kernel {kernel} (dilation {dilation}) is larger than the padded input {axis} {padded}", "k")
    return (padded - span) // stride + 1


def adaptive_windows(size: int, out: int) -> list:
    """torch's adaptive pooling windows along one axis: output i reads [floor(i*size/out), ceil((i+1)*size/out))."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]
