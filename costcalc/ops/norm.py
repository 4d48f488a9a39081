"""Normalisations and learnable per-channel scales."""

from __future__ import annotations

from math import prod

from costcalc.ops.core import OpError, OpResult, fmt

BATCHNORM_FLOPS = 2  # inference: x * scale + shift (statistics are frozen)
# layer and group norm compute their statistics at inference: per element one add into the mean, one subtract,
# one square, one add into the variance, one divide by sqrt(var + eps) (the per-group sqrt is not counted) ...
NORM_FLOPS = 5
AFFINE_FLOPS = 2  # ... and with affine parameters a multiply by gamma and an add of beta
SHIFT_FLOPS = 1  # the add of beta, of AFFINE_FLOPS (a layernorm without bias has the multiply only)
# RMS norm is layer norm without the mean: per element a square, an add into the mean square and a divide by
# sqrt(mean square + eps) (the per-position sqrt is not counted, as layer norm's is not): NORM_FLOPS less the add
# into the mean and the subtract of it
RMS_NORM_FLOPS = NORM_FLOPS - 2
SCALE_ONLY_FLOPS = AFFINE_FLOPS - SHIFT_FLOPS  # RMS norm's gamma: a multiply, no beta
LAYER_SCALE_FLOPS = 1  # x * gamma[c]


def batchnorm(x, axis=1) -> OpResult:
    """Inference batchnorm: a scale and a shift per channel, the channels being framework axis `axis` (1: N x C
    x ...; -1: the channels of tokens L x C, as LeViT's BatchNorm1d on x.flatten(0, 1) normalises them)."""
    from costcalc.ops.tensor import axis_index
    return OpResult(outputs=(x,), elementwise_flops=BATCHNORM_FLOPS * prod(x), params=2 * x[axis_index(axis, x)])


def _norm(x, affine: bool) -> OpResult:
    per_element = NORM_FLOPS + (AFFINE_FLOPS if affine else 0)
    return OpResult(outputs=(x,), elementwise_flops=per_element * prod(x), params=2 * x[0] if affine else 0)


def layernorm(x, affine=True, layout="channels_first", axis=None, bias=True) -> OpResult:
    """LayerNorm over the channels at each position: torchvision's LayerNorm2d on N x C x H x W (channels_first),
    or nn.LayerNorm(C) on a permuted N x H x W x C tensor (channels_last, ConvNeXt's blocks). The layout changes
    no count (shapes here stay C x H x W); an exporter reads it. Affine: gamma and beta, C each.
    With `axis` (framework-numbered), over the axes from `axis` to the last, as ONNX's LayerNormalization and
    nn.LayerNorm on tokens (`axis: -1`: the channels of L x C); affine: gamma and beta of that shape.
    Without `bias` (nn.LayerNorm(bias=False), timm's LayerNorm2dNoBias) the affine part is gamma alone."""
    from costcalc.ops.tensor import axis_index
    normalized = x[0] if axis is None else prod(x[axis_index(axis, x):])
    per_element = NORM_FLOPS + (AFFINE_FLOPS - (0 if bias else SHIFT_FLOPS) if affine else 0)
    return OpResult(outputs=(x,), elementwise_flops=per_element * prod(x),
                    params=(2 if bias else 1) * normalized if affine else 0)


def rmsnorm(x, axis=-1, affine=True) -> OpResult:
    """RMS normalisation over the axes from `axis` (framework-numbered) to the last, as ONNX's RMSNormalization
    (opset 23) and nn.RMSNorm: x / sqrt(mean(x^2) + eps), times gamma of the normalised axes' shape when affine."""
    from costcalc.ops.tensor import axis_index
    normalized = prod(x[axis_index(axis, x):])
    per_element = RMS_NORM_FLOPS + (SCALE_ONLY_FLOPS if affine else 0)
    return OpResult(outputs=(x,), elementwise_flops=per_element * prod(x), params=normalized if affine else 0)


def groupnorm(x, groups, affine=True) -> OpResult:
    """GroupNorm: statistics over each of `groups` channel groups and H x W; affine gamma and beta, C each."""
    if x[0] % groups:
        raise OpError(f"groups={groups} does not divide in_channels={x[0]}", "groups")
    return _norm(x, affine)


def layer_scale(x) -> OpResult:
    """A learnable per-channel scale (ConvNeXt's layer_scale, CaiT's LayerScale): C parameters, a multiply per
    element. Unlike `scale`, which multiplies by a constant and learns nothing."""
    if len(x) not in (1, 3):
        raise OpError(f"layer_scale needs a C x H x W or flat input, got {fmt(x)}")
    return OpResult(outputs=(x,), elementwise_flops=LAYER_SCALE_FLOPS * prod(x), params=x[0])
