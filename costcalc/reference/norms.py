"""NCHW float32 numpy references of the normalisations and activations of modern CNNs (ConvNeXt, GhostNet,
MobileNet V3), with torch.nn.functional's names and arguments. Each reports what it touched to the tallies."""

from __future__ import annotations

import numpy as np

from costcalc.reference.tally import touched

__all__ = ["layer_norm", "rms_norm", "group_norm", "layer_scale", "gelu", "mish", "hardtanh", "softmax"]

# Abramowitz and Stegun 7.1.26: erf to within 1.5e-7, below float32's resolution near 1 (numpy has no erf)
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: np.ndarray) -> np.ndarray:
    z = np.abs(x.astype(np.float64))
    t = 1.0 / (1.0 + _ERF_P * z)
    poly = t * (_ERF_A[0] + t * (_ERF_A[1] + t * (_ERF_A[2] + t * (_ERF_A[3] + t * _ERF_A[4]))))
    return np.sign(x) * (1.0 - poly * np.exp(-z * z))


def _normalise(x: np.ndarray, axes: tuple, eps: float) -> np.ndarray:
    mean = x.mean(axis=axes, keepdims=True, dtype=np.float32)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True, dtype=np.float32)
    return (x - mean) / np.sqrt(var + np.float32(eps))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.layer_norm: statistics over the trailing len(normalized_shape) axes."""
    dims = tuple(range(input.ndim - len(tuple(normalized_shape)), input.ndim))
    out = _normalise(input, dims, eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    out = out.astype(input.dtype, copy=False)
    touched(inputs=[input], params=[weight, bias], outputs=[out])
    return out


def rms_norm(input, normalized_shape, weight=None, eps=1e-5):
    """torch.nn.functional.rms_norm (ONNX's RMSNormalization): x / sqrt(mean(x^2) + eps) over the trailing
    len(normalized_shape) axes, times weight."""
    dims = tuple(range(input.ndim - len(tuple(normalized_shape)), input.ndim))
    mean_square = (input * input).mean(axis=dims, keepdims=True, dtype=np.float32)
    out = input / np.sqrt(mean_square + np.float32(eps))
    if weight is not None:
        out = out * weight
    out = out.astype(input.dtype, copy=False)
    touched(inputs=[input], params=[weight], outputs=[out])
    return out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.group_norm: statistics over each group of C / num_groups channels and H x W."""
    n, c = input.shape[:2]
    if c % num_groups:
        raise ValueError(f"group_norm: {num_groups} groups do not divide {c} channels")
    grouped = input.reshape(n, num_groups, -1)
    out = _normalise(grouped, (2,), eps).reshape(input.shape)
    per_channel = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    out = out.astype(input.dtype, copy=False)
    touched(inputs=[input], params=[weight, bias], outputs=[out])
    return out


def layer_scale(input, gamma):
    """input * gamma, gamma learnable of shape C (ConvNeXt: nn.Parameter of shape C x 1 x 1)."""
    out = input * gamma.reshape((1, -1) + (1,) * (input.ndim - 2))
    touched(inputs=[input], params=[gamma], outputs=[out])
    return out


def _unary(fn, input) -> np.ndarray:
    out = np.asarray(fn(input), dtype=input.dtype)
    touched(inputs=[input], outputs=[out])
    return out


def gelu(input, approximate="none"):
    if approximate == "tanh":
        c = np.float32(np.sqrt(2 / np.pi))
        return _unary(lambda x: 0.5 * x * (1 + np.tanh(c * (x + np.float32(0.044715) * x ** 3))), input)
    return _unary(lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2.0))), input)


def mish(input, inplace=False):
    return _unary(lambda x: x * np.tanh(np.logaddexp(0, x)), input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return _unary(lambda x: np.clip(x, min_val, max_val), input)


def softmax(input, dim=1):
    def fn(x):
        e = np.exp(x - x.max(axis=dim, keepdims=True))
        return e / e.sum(axis=dim, keepdims=True)

    return _unary(fn, input)
