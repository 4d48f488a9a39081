"""Pooling: sliding windows, global and adaptive."""

from __future__ import annotations

from costcalc.ops.core import OpError, OpResult, adaptive_windows, feature_map, window_out

POOL_FLOPS_PER_WINDOW_ELEMENT = 1  # a max pool compares, an average pool adds, once per element of the window


def pool(x, k, stride=None, pad=(0, 0), dilation=(1, 1), ceil_mode=False, pad_end=None) -> OpResult:
    """`pad_end` (default: `pad`): the padding below and right, when it differs (ONNX's asymmetric pads)."""
    c, h, w = feature_map(x, "pool")
    stride = stride or k
    end = pad if pad_end is None else pad_end
    for axis in (0, 1):  # torch refuses a pad beyond half the (effective) window
        for p, key in ((pad[axis], "pad"), (end[axis], "pad_end")):
            if 2 * p > dilation[axis] * (k[axis] - 1) + 1:
                raise OpError(f"{key} {p} is more than half of the pooling window {k[axis]}", key)
    ho = window_out(h, k[0], stride[0], pad[0], dilation[0], ceil_mode, "height", end[0])
    wo = window_out(w, k[1], stride[1], pad[1], dilation[1], ceil_mode, "width", end[1])
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
