"""Ops that combine, split, rearrange, pad or resample tensors."""

from __future__ import annotations

from math import floor, prod

from costcalc.ops.core import OpError, OpResult, feature_map, fmt

BILINEAR_FLOPS = 7  # per output element: four taps weighted and summed (4 multiplies, 3 adds); the weights,
# shared by every channel, are not counted. Nearest-neighbour resizing copies: no arithmetic.
MAX_SPLIT_PARTS = 4096  # outputs of one split: bounds the tensors a single layer creates


def add(*xs) -> OpResult:
    for i, x in enumerate(xs[1:], start=1):
        if x != xs[0]:
            raise OpError(f"add of different shapes: input 0 is {fmt(xs[0])}, input {i} is {fmt(x)}")
    return OpResult(outputs=(xs[0],), elementwise_flops=(len(xs) - 1) * prod(xs[0]))


def mul(a, b) -> OpResult:
    """Element-wise product; a C x 1 x 1 input broadcasts over H and W (squeeze-and-excitation)."""
    if a != b:
        if len(a) == 3 and b == (a[0], 1, 1):
            pass
        elif len(b) == 3 and a == (b[0], 1, 1):
            a, b = b, a
        else:
            raise OpError(f"mul of shapes {fmt(a)} and {fmt(b)}: they must match, or one be C x 1 x 1")
    return OpResult(outputs=(a,), elementwise_flops=prod(a))


def concat(*xs) -> OpResult:
    first = xs[0]
    for i, x in enumerate(xs[1:], start=1):
        if len(x) != len(first) or x[1:] != first[1:]:
            raise OpError(f"concat along channels needs equal H and W: input 0 is {fmt(first)}, input {i} is {fmt(x)}")
    return OpResult(outputs=((sum(x[0] for x in xs), *first[1:]),))


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


def channel_slice(x, out, start=0) -> OpResult:
    """Channels start .. start + out - 1 (GhostNet's out[:, :oup]): a view of contiguous memory, free like flatten."""
    if start + out > x[0]:
        raise OpError(f"slice of channels {start} to {start + out - 1} beyond in_channels={x[0]}", "out")
    return OpResult(outputs=((out, *x[1:]),), moves_data=False)


def pad(x, pad=(0, 0), pad_end=None, value=0.0) -> OpResult:
    """Constant padding: `pad` rows before and columns left, `pad_end` (default: `pad`) after and right. Reads
    its input and writes the padded output; no arithmetic."""
    c, h, w = feature_map(x, "pad")
    end = pad if pad_end is None else pad_end
    return OpResult(outputs=((c, h + pad[0] + end[0], w + pad[1] + end[1]),))


def resize(x, size=None, scale=None, mode="nearest") -> OpResult:
    """Upsampling or downsampling of H and W, to `size` or by `scale` (torch's F.interpolate: the output is
    floor(H * scale)); nearest copies, bilinear weighs four neighbours (BILINEAR_FLOPS per output element)."""
    c, h, w = feature_map(x, "resize")
    if (size is None) == (scale is None):
        raise OpError("resize takes either 'size' ([h, w]) or 'scale' (a factor)")
    if size is None:
        if scale <= 0:
            raise OpError(f"scale must be positive, not {scale}", "scale")
        size = (floor(h * scale), floor(w * scale))
        if min(size) < 1:
            raise OpError(f"scale {scale} leaves no output from {h}x{w}", "scale")
    out = (c, *size)
    return OpResult(outputs=(out,), elementwise_flops=BILINEAR_FLOPS * prod(out) if mode == "bilinear" else 0)


def flatten(x) -> OpResult:
    return OpResult(outputs=((prod(x),),), moves_data=False)


def identity(x, p=0.0) -> OpResult:
    return OpResult(outputs=(x,), moves_data=False)
