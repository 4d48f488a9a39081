"""Convolutions and the fully connected layer: the ops whose multiply-adds are the headline FLOPs."""

from __future__ import annotations

from math import prod

from costcalc.ops.core import AXIS_NAMES, ONES, ZEROS, OpError, OpResult, Uniform, per_axis, spatial, window_out

BIAS_FLOPS = 1  # one add per output element


def _groups(c: int, out: int, groups: int) -> None:
    if c % groups:
        raise OpError(f"groups={groups} does not divide in_channels={c}", "groups")
    if out % groups:
        raise OpError(f"groups={groups} does not divide out={out}", "groups")


def conv_input(x, k) -> tuple:
    """(leading axes, channels, spatial sizes) of a conv's input: C x L, C x H x W or C x D x H x W, or any of
    them after leading axes when `k` names fewer spatial axes than the input has after its first (EfficientViT-M's
    windows, N * windows x C x H x W in torch: each window an image of its own)."""
    n = len(x) - 1 if isinstance(k, Uniform) else len(tuple(k))
    if len(x) > n + 1 >= 2:
        return tuple(x[:len(x) - n - 1]), x[len(x) - n - 1], tuple(x[len(x) - n:])
    return (), *spatial(x, "conv")


def conv(x, out, k, stride=ONES, pad=ZEROS, dilation=ONES, groups=1, bias=False, linear=False,
         pad_end=None) -> OpResult:
    """`linear`: the framework computes this conv as an nn.Linear over the channels at each position (ConvNeXt's
    pointwise layers on the channels-last tensor); it changes no count, only what the tool conventions that tell
    F.linear from F.conv2d see, so it must be a 1x1 conv, stride 1, no padding, one group. `pad_end` (default:
    `pad`): the padding after each axis (below, right), when it differs (ONNX's asymmetric pads, TensorFlow's
    SAME). Leading axes before C (`conv_input`) are images of their own."""
    lead, c, sizes = conv_input(x, k)
    n = len(sizes)
    k, stride, pad, dilation = (per_axis(v, n, key) for v, key in
                                ((k, "k"), (stride, "stride"), (pad, "pad"), (dilation, "dilation")))
    end = pad if pad_end is None else per_axis(pad_end, n, "pad_end")
    if linear and (set(k) != {1} or set(stride) != {1} or set(pad) != {0} or set(end) != {0} or groups != 1):
        raise OpError("a conv that is an nn.Linear ('linear: true') is a 1x1 conv with stride 1, no padding and "
                      "one group", "linear")
    _groups(c, out, groups)
    spatial_out = tuple(window_out(size, k[i], stride[i], pad[i], dilation[i], False, AXIS_NAMES[n][i], end[i])
                        for i, size in enumerate(sizes))
    weights = prod(k) * (c // groups) * out
    outputs = prod(lead) * prod(spatial_out) * out
    return OpResult(
        outputs=((*lead, out, *spatial_out),),
        flops=outputs * prod(k) * (c // groups),
        elementwise_flops=outputs * BIAS_FLOPS if bias else 0,
        params=weights + (out if bias else 0),
    )


def transpose_out(size: int, k: int, stride: int, pad: int, output_padding: int, dilation: int, axis: str) -> int:
    """torch's ConvTranspose2d output length: (size - 1) * stride - 2 pad + dilation (k - 1) + output_padding + 1."""
    if output_padding >= max(stride, dilation):
        raise OpError(f"output_padding {output_padding} must be smaller than the stride or the dilation "
                      f"({stride}, {dilation}) along the {axis}", "output_padding")
    out = (size - 1) * stride - 2 * pad + dilation * (k - 1) + output_padding + 1
    if out < 1:
        raise OpError(f"pad {pad} leaves no output along the {axis} ({out})", "pad")
    return out


def conv_transpose(x, out, k, stride=ONES, pad=ZEROS, output_padding=ZEROS, dilation=ONES, groups=1,
                   bias=False) -> OpResult:
    """The transposed (fractionally strided) convolution: every input element is multiplied by a k_h x k_w x
    out/groups slice of the weights and scattered into the output, so its multiply-adds are
    h_in * w_in * c_in * (out / groups) * k_h * k_w (the taps cropped by `pad` included, as frameworks compute
    them); in 1-D and 3-D the same over the input's length or volume."""
    c, sizes = spatial(x, "conv_transpose")
    n = len(sizes)
    k, stride, pad, output_padding, dilation = (per_axis(v, n, key) for v, key in (
        (k, "k"), (stride, "stride"), (pad, "pad"), (output_padding, "output_padding"), (dilation, "dilation")))
    _groups(c, out, groups)
    spatial_out = tuple(transpose_out(size, k[i], stride[i], pad[i], output_padding[i], dilation[i],
                                      AXIS_NAMES[n][i]) for i, size in enumerate(sizes))
    weights = c * (out // groups) * prod(k)
    return OpResult(
        outputs=((out, *spatial_out),),
        flops=prod(sizes) * weights,
        elementwise_flops=out * prod(spatial_out) * BIAS_FLOPS if bias else 0,
        params=weights + (out if bias else 0),
    )


def fc(x, out, bias=True) -> OpResult:
    """nn.Linear: over the last axis of its input, as torch applies it (the features of a flat input, the
    channels of tokens L x C or of a channels-last map); every position multiplies an in x out matrix."""
    positions = prod(x[:-1])
    return OpResult(
        outputs=((*x[:-1], out),),
        flops=positions * x[-1] * out,
        elementwise_flops=positions * out * BIAS_FLOPS if bias else 0,
        params=x[-1] * out + (out if bias else 0),
    )
