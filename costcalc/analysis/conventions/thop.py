"""thop 0.1.1 profile(), derived from its source: `thop/profile.py` (register_hooks), `thop/vision/basic_hooks.py`,
`thop/vision/calc_func.py`. Forward hooks on exact module types (`type(m) in register_hooks`); a type without one
counts zero ("treat it as zero Macs"), and functional and tensor calls are never seen, so a `call: functional`
layer counts zero. Counts are accumulated in float64, as the rules below compute them.

ultralytics prints thop's count times 2 as YOLO's "GFLOPs" (`thop.profile(...)[0] / 1E9 * 2` in its get_flops and
_profile_one_layer): the `yolo` convention."""

from __future__ import annotations

from math import prod

from costcalc.analysis.conventions import recurrent, tensor
from costcalc.analysis.conventions.rules import (Convention, Rule, conv_macs, doubled, fc_macs, free, in_elements,
                                                 kernel, out_elements, per_element)
from costcalc.ops import OPS
from costcalc.ops.tensor import axis_index

_NO_RULE = "0 (no rule for {}: 'treat it as zero Macs')"
_TENSOR_OP = "0 (a tensor operation, not a module: never seen)"


def _adaptive_avg(s) -> int:
    """count_adap_avgpool: int((prod(in_hw / out_hw) + 1) * output numel), in float64 as thop computes it."""
    (_, h, w), (c, oh, ow) = s.inputs[0], s.outputs[0]
    kernel = (h / oh) * (w / ow)
    return int((kernel + 1) * (c * oh * ow))


def _softmax(s) -> int:
    """count_softmax over the module's dim (1 unless `axis` says otherwise): (numel / C) * (C exps + C - 1 adds + C
    divides), C the size of that axis."""
    c = s.inputs[0][axis_index(s.args.get("axis", 1), s.inputs[0])]
    return in_elements(s) // c * (3 * c - 1)


def _transpose(s) -> int:
    """count_convNd on a ConvTranspose2d: output numel * (c_in / groups) * k_h * k_w, c_in the input's channels."""
    return out_elements(s) * (s.inputs[0][0] // s.args["groups"]) * prod(kernel(s))


THOP = Convention("thop", "thop 0.1.1", "FLOPs as thop 0.1.1 profile() counts them", {
    "conv": Rule("count_convNd: output numel * c_in/g * k_h*k_w = multiply-adds; bias ignored", conv_macs),
    "conv_transpose": Rule("count_convNd: output numel * c_in/g * k_h*k_w (not the multiply-adds of a transposed "
                           "conv); bias ignored", _transpose),
    "fc": Rule("count_linear: in_features * output numel; bias ignored", fc_macs),
    "bn": Rule("count_normalization: 2 per input element, doubled when affine: 4", per_element(4, in_elements)),
    "layernorm": Rule("count_normalization: 2 per input element, doubled when elementwise_affine: 4",
                      lambda s: (4 if s.args.get("affine", True) else 2) * in_elements(s)),
    "groupnorm": free(_NO_RULE.format("nn.GroupNorm")),
    "layer_scale": free(_TENSOR_OP),
    "relu": free("0 (zero_ops)"),
    "relu6": free("0 (zero_ops)"),
    "hardtanh": free(_NO_RULE.format("nn.Hardtanh")),
    "leaky_relu": free("0 (count_relu returns calculate_relu_flops = 0)"),
    "sigmoid": free(_NO_RULE.format("nn.Sigmoid")),
    "tanh": free(_NO_RULE.format("nn.Tanh")),
    "swish": free(_NO_RULE.format("nn.SiLU")),
    "hardsigmoid": free(_NO_RULE.format("nn.Hardsigmoid")),
    "hardswish": free(_NO_RULE.format("nn.Hardswish")),
    "gelu": free(_NO_RULE.format("nn.GELU")),
    "mish": free(_NO_RULE.format("nn.Mish")),
    "softmax": Rule("count_softmax: (3*C - 1) per position (C exps, C-1 adds, C divides)", _softmax),
    "scale": free(_TENSOR_OP),
    "resize": Rule("count_upsample: output numel, times 11 for bilinear",
                   lambda s: (11 if s.args.get("mode") == "bilinear" else 1) * out_elements(s)),
    "maxpool": free("0 (zero_ops)"),
    "avgpool": Rule("count_avgpool: 1 per output element", per_element(1)),
    "gap": Rule("count_adap_avgpool: (h_in*w_in/(h_out*w_out) + 1) per output element: c*(h*w + 1)",
                lambda s: (prod(s.inputs[0][1:]) + 1) * s.outputs[0][0]),
    "adaptive_avgpool": Rule("count_adap_avgpool: int((h_in/h_out * w_in/w_out + 1) * output numel), float64",
                             _adaptive_avg),
    "adaptive_maxpool": free("0 (zero_ops)"),
    "mean": free(_TENSOR_OP),
    "add": free(_TENSOR_OP),
    "mul": free(_TENSOR_OP),
    "concat": free(_TENSOR_OP),
    "split": free(_TENSOR_OP),
    "shuffle": free(_TENSOR_OP),
    "flatten": free(_TENSOR_OP),
    "slice": free(_TENSOR_OP),
    "pad": free("0 (nn.ZeroPad2d: zero_ops; other pads have no rule)"),
    "dropout": free("0 (zero_ops)"),
    "identity": free(_NO_RULE.format("nn.Identity")),
    "select": free(_TENSOR_OP),
    **tensor.THOP,
    **recurrent.THOP,
}, functional={op: free("0 (a function call: module hooks never see it)") for op in OPS})

YOLO = doubled(THOP, "yolo", "ultralytics (thop 0.1.1 x 2)",
               "FLOPs as ultralytics prints YOLO's GFLOPs: thop 0.1.1's count x 2", "")
