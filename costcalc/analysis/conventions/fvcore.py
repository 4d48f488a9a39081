"""fvcore 0.1.5 FlopCountAnalysis, derived from its source: `fvcore/nn/flop_count.py` (_DEFAULT_SUPPORTED_OPS),
`jit_handles.py` (conv_flop_count, linear_flop_jit, batchnorm_flop_jit, norm_flop_counter,
elementwise_flop_counter), `jit_analysis.py` (_IGNORED_OPS). fvcore traces aten ops, so how an op is called
(module or function) does not matter. A multiply-add is one flop; an aten op with no handle counts zero (fvcore
warns "unsupported operator"); the ignored ones count zero silently."""

from __future__ import annotations

from costcalc.analysis.conventions import recurrent, tensor
from costcalc.analysis.conventions.rules import (Convention, Rule, conv_macs, conv_transpose_macs, fc_macs, free,
                                                 in_elements, out_elements, per_element)

_UNSUPPORTED = "0 ({} has no handle: 'unsupported operator')"


def _unsupported(aten: str) -> Rule:
    return free(_UNSUPPORTED.format(aten))


def _norm(s) -> int:
    """norm_flop_counter: 5 per input element with affine parameters, 4 without."""
    return (5 if s.args.get("affine", True) else 4) * in_elements(s)


FVCORE = Convention("fvcore", "fvcore 0.1.5 FlopCountAnalysis",
                    "FLOPs as fvcore 0.1.5 FlopCountAnalysis counts them, model in eval mode", {
    "conv": Rule("aten::_convolution: batch*prod(weight shape)*h_out*w_out = multiply-adds; bias ignored", conv_macs),
    "conv_transpose": Rule("aten::_convolution, transposed: batch*prod(weight shape)*h_in*w_in = multiply-adds; "
                           "bias ignored", conv_transpose_macs),
    "fc": Rule("aten::linear: prod(input)*out_features = multiply-adds; bias ignored", fc_macs),
    "bn": Rule("aten::batch_norm, eval: 2 per input element (affine; 1 without; 5 in training mode)",
               per_element(2, in_elements)),
    "layernorm": Rule("aten::layer_norm: 5 per input element (affine; 4 without)", _norm),
    "groupnorm": Rule("aten::group_norm: 5 per input element (affine; 4 without)", _norm),
    "layer_scale": _unsupported("aten::mul"),
    "relu": free("0 (aten::relu_ is in _IGNORED_OPS)"),
    "relu6": _unsupported("aten::hardtanh"),
    "hardtanh": _unsupported("aten::hardtanh"),
    "leaky_relu": _unsupported("aten::leaky_relu"),
    "sigmoid": _unsupported("aten::sigmoid"),
    "tanh": _unsupported("aten::tanh"),
    "swish": _unsupported("aten::silu"),
    "hardsigmoid": _unsupported("aten::hardsigmoid"),
    "hardswish": _unsupported("aten::hardswish"),
    "gelu": _unsupported("aten::gelu"),
    "mish": _unsupported("aten::mish"),
    "softmax": _unsupported("aten::softmax"),
    "scale": _unsupported("aten::mul"),
    "resize": Rule("aten::upsample_nearest2d: 1 per output element; aten::upsample_bilinear2d: 4",
                   lambda s: (4 if s.args.get("mode") == "bilinear" else 1) * out_elements(s)),
    "maxpool": _unsupported("aten::max_pool2d"),
    "avgpool": _unsupported("aten::avg_pool2d"),
    "gap": Rule("aten::adaptive_avg_pool2d: 1 per input element", per_element(1, in_elements)),
    "adaptive_avgpool": Rule("aten::adaptive_avg_pool2d: 1 per input element", per_element(1, in_elements)),
    "adaptive_maxpool": _unsupported("aten::adaptive_max_pool2d"),
    "mean": _unsupported("aten::mean"),
    "add": _unsupported("aten::add"),
    "mul": _unsupported("aten::mul"),
    "concat": free("0 (aten::cat is in _IGNORED_OPS)"),
    "split": free("0 (aten::chunk / split are in _IGNORED_OPS)"),
    "shuffle": free("0 (view / transpose / contiguous are in _IGNORED_OPS)"),
    "flatten": free("0 (aten::flatten is in _IGNORED_OPS)"),
    "slice": free("0 (aten::slice is in _IGNORED_OPS)"),
    "pad": free("0 (aten::constant_pad_nd is in _IGNORED_OPS)"),
    "dropout": free("0 (aten::dropout is in _IGNORED_OPS)"),
    "identity": free("0 (no aten op)"),
    "select": _unsupported("aten::index_select"),
    **tensor.FVCORE,
    **recurrent.FVCORE,
})
