"""Pooling: sliding windows, global and adaptive."""

from __future__ import annotations

from math import prod

from costcalc.ops.core import (AXIS_NAMES, ONES, ZEROS, OpError, OpResult, adaptive_windows, feature_map, per_axis,
                               spatial, window_out)

POOL_FLOPS_PER_WINDOW_ELEMENT = 1  # a max pool compares, an average pool adds, once per element of the window
# an Lp pool, (sum of |x|^p over the window)^(1/p), as reduce_l1 / reduce_l2 count their norms: per window element
# |x| and an add (p 1), a square and an add (p 2), or |x|, pow p and an add (any other p) ...
LP_POOL_FLOPS_PER_WINDOW_ELEMENT = {1: 2, 2: 2}
LP_POOL_FLOPS_OTHER_P = 3
LP_POOL_ROOT_FLOPS = 1  # ... and per output element the root (a sqrt, or pow 1/p), none for p 1


def pool(x, k, stride=None, pad=ZEROS, dilation=ONES, ceil_mode=False, pad_end=None) -> OpResult:
    """`pad_end` (default: `pad`): the padding after each axis (below, right), when it differs (ONNX's asymmetric
    pads)."""
    c, sizes = spatial(x, "pool")
    n = len(sizes)
    k, stride, pad, dilation = (per_axis(v, n, key) for v, key in
                                ((k, "k"), (stride or k, "stride"), (pad, "pad"), (dilation, "dilation")))
    end = pad if pad_end is None else per_axis(pad_end, n, "pad_end")
    for axis in range(n):  # torch refuses a pad beyond half the (effective) window
        for p, key in ((pad[axis], "pad"), (end[axis], "pad_end")):
            if 2 * p > dilation[axis] * (k[axis] - 1) + 1:
                raise OpError(f"{key} {p} is more than half of the pooling window {k[axis]}", key)
    spatial_out = tuple(window_out(size, k[i], stride[i], pad[i], dilation[i], ceil_mode, AXIS_NAMES[n][i], end[i])
                        for i, size in enumerate(sizes))
    return OpResult(
        outputs=((c, *spatial_out),),
        elementwise_flops=c * prod(spatial_out) * prod(k) * POOL_FLOPS_PER_WINDOW_ELEMENT,
    )


def lp_pool(x, k, p=2, stride=None, pad=ZEROS, dilation=ONES, ceil_mode=False, pad_end=None) -> OpResult:
    """ONNX's LpPool (nn.LPPool1d / 2d / 3d): the p-norm of each window, the windows as `pool`'s (zeros in the
    padding, which add nothing to the norm)."""
    if p < 1:
        raise OpError(f"p={p}: an Lp pool takes p of 1 or more", "p")
    (out,) = pool(x, k, stride, pad, dilation, ceil_mode, pad_end).outputs
    window_elements = prod(out) * prod(per_axis(k, len(out) - 1, "k"))
    per_element = LP_POOL_FLOPS_PER_WINDOW_ELEMENT.get(p, LP_POOL_FLOPS_OTHER_P)
    root = 0 if p == 1 else LP_POOL_ROOT_FLOPS * prod(out)
    return OpResult(outputs=(out,), elementwise_flops=per_element * window_elements + root)


def global_avgpool(x) -> OpResult:
    c, sizes = spatial(x, "gap")
    return OpResult(outputs=((c, *(1,) * len(sizes)),), elementwise_flops=prod(x) * POOL_FLOPS_PER_WINDOW_ELEMENT)


def adaptive_pool(x, out) -> OpResult:
    """Adaptive average or max pooling to out = (h, w), with torch's windows: output row i reads input rows
    floor(i*H/h) to ceil((i+1)*H/h) - 1 (windows overlap when h does not divide H). Costs one FLOP per window
    element, the sum of the window areas per channel; to 1 x 1 it is `gap`."""
    c, h, w = feature_map(x, "adaptive pool")
    out = per_axis(out, 2, "out")
    rows = sum(end - start for start, end in adaptive_windows(h, out[0]))
    cols = sum(end - start for start, end in adaptive_windows(w, out[1]))
    return OpResult(outputs=((c, *out),), elementwise_flops=c * rows * cols * POOL_FLOPS_PER_WINDOW_ELEMENT)
