"""Ops that combine, split, rearrange, pad or resample tensors."""

from __future__ import annotations

from math import floor, prod

from costcalc.ops.core import ONES, ZEROS, OpError, OpResult, feature_map, fmt, per_axis
from costcalc.ops.tensor import axis_index, broadcast

BICUBIC_FLOPS = 31  # per output element: sixteen taps weighted and summed (16 multiplies, 15 adds)
BILINEAR_FLOPS = 7  # per output element: four taps weighted and summed (4 multiplies, 3 adds); the weights,
# shared by every channel, are not counted. Nearest-neighbour resizing copies: no arithmetic.
COL2IM_FLOPS = 1  # per column value: one add into the image (col2im)
MAX_SPLIT_PARTS = 4096  # outputs of one split: bounds the tensors a single layer creates


def concat(*xs, axis=1, param=None) -> OpResult:
    """Inputs joined along `axis` (the channels by default); every other axis equal. `param`: a learned tensor of
    that shape joined first (ViT's class token before the patches), read once like any parameter."""
    if param is not None:
        result = concat(tuple(param), *xs, axis=axis)
        return OpResult(outputs=result.outputs, params=prod(param))
    first = xs[0]
    a = axis_index(axis, first)
    for i, x in enumerate(xs[1:], start=1):
        if len(x) != len(first) or x[:a] + x[a + 1:] != first[:a] + first[a + 1:]:
            what = "along channels needs equal H and W" if a == 0 else f"along axis {axis} needs the other axes equal"
            raise OpError(f"concat {what}: input 0 is {fmt(first)}, input {i} is {fmt(x)}")
    return OpResult(outputs=((*first[:a], sum(x[a] for x in xs), *first[a + 1:]),))


def split(x, sizes=None, parts=None, axis=1) -> OpResult:
    """`x` cut along `axis` (the channels by default) into `parts` equal parts or pieces of `sizes`: a copy."""
    a = axis_index(axis, x)
    c = x[a]
    if (sizes is None) == (parts is None):
        raise OpError("split takes either 'sizes' (a list of channel counts) or 'parts' (a number of equal parts)")
    if parts is not None:
        if parts > MAX_SPLIT_PARTS:
            raise OpError(f"parts={parts:,} is beyond the limit of {MAX_SPLIT_PARTS:,}", "parts")
        if c % parts:
            raise OpError(f"parts={parts} does not divide {_size(a, axis)}={c}", "parts")
        sizes = [c // parts] * parts
    if any(s < 1 for s in sizes):
        raise OpError(f"split sizes must be at least 1, got {sizes}", "sizes")
    if sum(sizes) != c:
        raise OpError(f"split sizes {sizes} sum to {sum(sizes)}, not {_size(a, axis)}={c}", "sizes")
    return OpResult(outputs=tuple((*x[:a], s, *x[a + 1:]) for s in sizes))


def _size(a: int, axis: int) -> str:
    return "in_channels" if a == 0 else f"the size of axis {axis}"


def shuffle(x, groups) -> OpResult:
    if x[0] % groups:
        raise OpError(f"groups={groups} does not divide in_channels={x[0]}", "groups")
    return OpResult(outputs=(x,))


def select(x, out) -> OpResult:
    """Channel index-select (a gather by a fixed index buffer, e.g. CondenseNet's condensed layers): `out` channels
    (or features of a flat input) picked from the input, in any order and possibly repeated. No arithmetic and no
    parameters (the index is a buffer); it reads its input and writes its output like a shuffle."""
    return OpResult(outputs=((out, *x[1:]),))




def pad(x, pad=ZEROS, pad_end=None, value=0.0, pads=None) -> OpResult:
    """Constant padding: `pad` rows before and columns left, `pad_end` (default: `pad`) after and right. Reads
    its input and writes the padded output; no arithmetic. `pads` pads any axes of a tensor of any rank: the
    amounts before each axis of a sample, then after each (ONNX's order, without the batch)."""
    if pads is not None:
        if len(pads) != 2 * len(x):
            raise OpError(f"pads {list(pads)}: {2 * len(x)} amounts for a tensor of {fmt(x)} per sample", "pads")
        return OpResult(outputs=(tuple(d + b + a for d, b, a in zip(x, pads[:len(x)], pads[len(x):])),))
    c, h, w = feature_map(x, "pad")
    pad = per_axis(pad, 2, "pad")
    end = pad if pad_end is None else per_axis(pad_end, 2, "pad_end")
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
    out = (c, *per_axis(size, 2, "size"))
    per_element = {"bilinear": BILINEAR_FLOPS, "bicubic": BICUBIC_FLOPS}.get(mode, 0)
    return OpResult(outputs=(out,), elementwise_flops=per_element * prod(out))


def flatten(x) -> OpResult:
    return OpResult(outputs=((prod(x),),), moves_data=False)


def identity(x, p=0.0) -> OpResult:
    return OpResult(outputs=(x,), moves_data=False)


def col2im(x, size, k, stride=ONES, pad=ZEROS, dilation=ONES) -> OpResult:
    """torch's nn.Fold (F.fold, ONNX's Col2Im): the columns C·k_h·k_w x L, one block of k_h x k_w values of every
    channel per column, added back into a C x h x w image at the blocks' places (`size`: [h, w]; L must be the number
    of blocks the window's stride, padding and dilation fit in it). Each column value is added into the image: one
    element-wise FLOP per input element (COL2IM_FLOPS); no products, no parameters."""
    if len(x) != 2:
        raise OpError(f"col2im reads columns C*k_h*k_w x L, not {fmt(x)}")
    size, k = per_axis(size, 2, "size"), per_axis(k, 2, "k")
    stride, pad, dilation = per_axis(stride, 2, "stride"), per_axis(pad, 2, "pad"), per_axis(dilation, 2, "dilation")
    if x[0] % (k[0] * k[1]):
        raise OpError(f"{x[0]} rows of columns are not a whole number of {k[0]}x{k[1]} blocks", "k")
    blocks = [(s + 2 * p - d * (kk - 1) - 1) // st + 1 for s, p, d, kk, st in zip(size, pad, dilation, k, stride)]
    if min(blocks) < 1 or blocks[0] * blocks[1] != x[1]:
        raise OpError(f"{x[1]} columns for a {size[0]}x{size[1]} image of {k[0]}x{k[1]} blocks: it holds "
                      f"{max(blocks[0], 0) * max(blocks[1], 0)}", "size")
    return OpResult(outputs=((x[0] // (k[0] * k[1]), *size),), elementwise_flops=COL2IM_FLOPS * prod(x))
