"""Pooling: sliding windows, global and adaptive."""

from __future__ import annotations

from costcalc.ops.core import OpError, OpResult, adaptive_windows, feature_map, window_out

POOL_FLOPS_PER_WINDOW_ELEMENT = 1  # a max pool compares, an average pool adds, once per element of the window


def pool(x, k, stride=None, pad=(0, 0), dilation=(1, 1), ceil_mode=False) -> OpResult:
    c, h, w = feature_map(x, "pool")
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
    c, h, w = feature_map(x, "gap")
    return OpResult(outputs=((c, 1, 1),), elementwise_flops=c * h * w * POOL_FLOPS_PER_WINDOW_ELEMENT)


def adaptive_pool(x, out) -> OpResult:
    """Adaptive average or max pooling to out = (h, w), with torch's windows: output row i reads input rows
    floor(i*H/h) to ceil((i+1)*H/h) - 1 (windows overlap when h does not divide H). Costs one FLOP per window
    element, the sum of the window areas per channel; to 1 x 1 it is `gap`."""
    c, h, w = feature_map(x, "adaptive pool")
    rows = sum(end - start for start, end in adaptive_windows(h, out[0]))
    cols = sum(end - start for start, end in adaptive_windows(w, out[1]))
    return OpResult(outputs=((c, *out),), elementwise_flops=c * rows * cols * POOL_FLOPS_PER_WINDOW_ELEMENT)
