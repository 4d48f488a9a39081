"""Convolutions and the fully connected layer: the ops whose multiply-adds are the headline FLOPs."""

from __future__ import annotations

from costcalc.ops.core import OpError, OpResult, feature_map, fmt, window_out

BIAS_FLOPS = 1  # one add per output element


def _groups(c: int, out: int, groups: int) -> None:
    if c % groups:
        raise OpError(f"groups={groups} does not divide in_channels={c}", "groups")
    if out % groups:
        raise OpError(f"groups={groups} does not divide out={out}", "groups")


def conv(x, out, k, stride=(1, 1), pad=(0, 0), dilation=(1, 1), groups=1, bias=False, linear=False,
         pad_end=None) -> OpResult:
    """`linear`: the framework computes this conv as an nn.Linear over the channels at each position (ConvNeXt's
    pointwise layers on the channels-last tensor); it changes no count, only what the tool conventions that tell
    F.linear from F.conv2d see, so it must be a 1x1 conv, stride 1, no padding, one group. `pad_end` (default:
    `pad`): the padding below and right, when it differs (ONNX's asymmetric pads, TensorFlow's SAME)."""
    c, h, w = feature_map(x, "conv")
    end = pad if pad_end is None else pad_end
    if linear and (tuple(k) != (1, 1) or tuple(stride) != (1, 1) or tuple(pad) != (0, 0) or tuple(end) != (0, 0)
                   or groups != 1):
        raise OpError("a conv that is an nn.Linear ('linear: true') is a 1x1 conv with stride 1, no padding and "
                      "one group", "linear")
    _groups(c, out, groups)
    ho = window_out(h, k[0], stride[0], pad[0], dilation[0], False, "height", end[0])
    wo = window_out(w, k[1], stride[1], pad[1], dilation[1], False, "width", end[1])
    weights = k[0] * k[1] * (c // groups) * out
    outputs = ho * wo * out
    return OpResult(
        outputs=((out, ho, wo),),
        flops=outputs * k[0] * k[1] * (c // groups),
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


def conv_transpose(x, out, k, stride=(1, 1), pad=(0, 0), output_padding=(0, 0), dilation=(1, 1), groups=1,
                   bias=False) -> OpResult:
    """The transposed (fractionally strided) convolution: every input element is multiplied by a k_h x k_w x
    out/groups slice of the weights and scattered into the output, so its multiply-adds are
    h_in * w_in * c_in * (out / groups) * k_h * k_w (the taps cropped by `pad` included, as frameworks compute
    them)."""
    c, h, w = feature_map(x, "conv_transpose")
    _groups(c, out, groups)
    ho = transpose_out(h, k[0], stride[0], pad[0], output_padding[0], dilation[0], "height")
    wo = transpose_out(w, k[1], stride[1], pad[1], output_padding[1], dilation[1], "width")
    weights = c * (out // groups) * k[0] * k[1]
    return OpResult(
        outputs=((out, ho, wo),),
        flops=h * w * weights,
        elementwise_flops=out * ho * wo * BIAS_FLOPS if bias else 0,
        params=weights + (out if bias else 0),
    )


def fc(x, out, bias=True) -> OpResult:
    if len(x) != 1:
        raise OpError(f"fc needs a flat input, got {fmt(x)}: put a flatten (or gap then flatten) before it")
    return OpResult(
        outputs=((out,),),
        flops=x[0] * out,
        elementwise_flops=out * BIAS_FLOPS if bias else 0,
        params=x[0] * out + (out if bias else 0),
    )
