"""DeepSpeed 0.19.8's flops profiler (`get_model_profile(model, input_shape, as_string=False)[0]`), derived from its
source, `deepspeed/profiling/flops_profiler/profiler.py`.

The profiler hooks no CNN module (MODULE_HOOK_MAPPING holds only the RNNs): `_patch_functionals` and
`_patch_tensor_methods` wrap torch.nn.functional calls and a few torch / Tensor methods, and each wrapped call adds
its `_..._flops_compute` figure to the module running it (`get_module_flops` sums them over the model). So a module
counts what its forward's functional call counts (nn.Conv2d -> F.conv2d, nn.ReLU -> F.relu), a module whose call
is not wrapped counts zero (nn.ReLU6 -> F.hardtanh, nn.Sigmoid -> torch.sigmoid), and a function called directly
counts the same as its module: `call: functional` changes only `+` / `*` (not wrapped) into torch.add / torch.mul
(wrapped) for add, mul and scale, and nn.ReLU6 into F.relu6 (layer_scale stays the `*` of a parameter, as for
ptflops). The flops of a conv or linear layer are 2 x its multiply-adds
(`_conv_flops_compute`, `_linear_flops_compute` return `2 * macs`); every other wrapped call counts elements.
`get_model_profile` puts the model in eval mode. One rule differs from a per-sample count: a resize to a size
counts prod(size) per call, whatever the batch and channels (`_upsample_flops_compute`); at --batch N costcalc
gives N times it."""

from __future__ import annotations

from math import prod

from costcalc.analysis.conventions import recurrent, tensor
from costcalc.analysis.conventions.rules import (Convention, Rule, conv_macs, conv_transpose_macs, fc_macs, free,
                                                 in_elements, out_elements, per_element)

_NOT_WRAPPED = "0 ({} is not wrapped)"
_OPERATOR = "0 (the {} operator: only torch.{} / Tensor.{} calls are wrapped)"


def _bias(s) -> int:
    """`_conv_flops_compute`: out_channels per output position when the layer has a bias."""
    return out_elements(s) if s.args.get("bias") else 0


def _conv(s) -> int:
    """2 x multiply-adds + the bias; a conv written `linear: true` is an nn.Linear, counted by
    `_linear_flops_compute`: 2 x multiply-adds, its bias not counted."""
    return 2 * conv_macs(s) + (0 if s.args.get("linear") else _bias(s))


def _norm(s) -> int:
    """`_layer_norm_flops_compute`, `_group_norm_flops_compute`: 5 per input element with weight, 4 without."""
    return (5 if s.args.get("affine", True) else 4) * in_elements(s)


def resize_by_scale(s) -> int:
    """`_upsample_flops_compute` with a scale factor: int(input numel * scale**2) (nn.Upsample stores a float)."""
    return int(in_elements(s) * float(s.args["scale"]) ** 2)


def _resize(s) -> int:
    """`_upsample_flops_compute`: prod(size) for a size (one call, not per channel), else the scale rule."""
    if s.args.get("scale") is None:
        return prod(s.outputs[0][1:])
    return resize_by_scale(s)


_IN = "1 per input element"
_SIZE_OR_SCALE = ("_upsample_flops_compute (F.interpolate): h_out*w_out for a size (per call, not per channel), "
                  "int(input numel * scale**2) for a scale")

DEEPSPEED = Convention("deepspeed", "DeepSpeed 0.19.8 flops profiler",
                       "FLOPs as DeepSpeed 0.19.8's flops profiler counts them (get_model_profile)", {
    "conv": Rule("_conv_flops_compute (F.conv2d): 2 x multiply-adds + bias 1 per output element; with "
                 "`linear: true` (an nn.Linear) _linear_flops_compute: 2 x multiply-adds, bias not counted", _conv),
    "conv_transpose": Rule("_conv_trans_flops_compute (F.conv_transpose2d): 2 x h_in*w_in*c_in*c_out/g*k_h*k_w + "
                           "bias 1 per output element", lambda s: 2 * conv_transpose_macs(s) + _bias(s)),
    "fc": Rule("_linear_flops_compute (F.linear): 2 x in*out; bias not counted", lambda s: 2 * fc_macs(s)),
    "bn": Rule("_batch_norm_flops_compute (F.batch_norm), eval: 2 per input element (affine; 1 without; 5 in "
               "training mode)", per_element(2, in_elements)),
    "layernorm": Rule("_layer_norm_flops_compute (F.layer_norm): 5 per input element (affine; 4 without)", _norm),
    "groupnorm": Rule("_group_norm_flops_compute (F.group_norm): 5 per input element (affine; 4 without)", _norm),
    "layer_scale": free(_OPERATOR.format("*", "mul", "mul")),
    "relu": Rule(f"_relu_flops_compute (F.relu): {_IN}", per_element(1, in_elements)),
    "relu6": free("0 (nn.ReLU6 calls F.hardtanh, not wrapped; F.relu6 is)"),
    "hardtanh": free(_NOT_WRAPPED.format("F.hardtanh")),
    "leaky_relu": Rule(f"_leaky_relu_flops_compute (F.leaky_relu): {_IN}", per_element(1, in_elements)),
    "sigmoid": free(_NOT_WRAPPED.format("torch.sigmoid")),
    "tanh": free(_NOT_WRAPPED.format("torch.tanh")),
    "swish": Rule(f"_silu_flops_compute (F.silu): {_IN}", per_element(1, in_elements)),
    "hardsigmoid": free(_NOT_WRAPPED.format("F.hardsigmoid")),
    "hardswish": free(_NOT_WRAPPED.format("F.hardswish")),
    "gelu": Rule(f"_gelu_flops_compute (F.gelu): {_IN}, either form", per_element(1, in_elements)),
    "mish": free(_NOT_WRAPPED.format("F.mish")),
    "softmax": Rule(f"_softmax_flops_compute (F.softmax): {_IN}", per_element(1, in_elements)),
    "scale": free(_OPERATOR.format("*", "mul", "mul")),
    "resize": Rule(_SIZE_OR_SCALE, _resize),
    **{op: Rule(f"_pool_flops_compute ({fn}): {_IN}", per_element(1, in_elements)) for op, fn in (
        ("maxpool", "F.max_pool2d"), ("avgpool", "F.avg_pool2d"), ("gap", "F.adaptive_avg_pool2d"),
        ("adaptive_avgpool", "F.adaptive_avg_pool2d"), ("adaptive_maxpool", "F.adaptive_max_pool2d"))},
    "mean": free(_NOT_WRAPPED.format("Tensor.mean")),
    "add": free(_OPERATOR.format("+ / +=", "add", "add")),
    "mul": free(_OPERATOR.format("*", "mul", "mul")),
    "concat": free(_NOT_WRAPPED.format("torch.cat")),
    "split": free(_NOT_WRAPPED.format("Tensor.chunk")),
    "shuffle": free(_NOT_WRAPPED.format("view / transpose")),
    "flatten": free(_NOT_WRAPPED.format("torch.flatten")),
    "slice": free(_NOT_WRAPPED.format("slicing")),
    "pad": free(_NOT_WRAPPED.format("F.pad")),
    "dropout": free("0 (F.dropout is not wrapped; _dropout_flops_compute would give 0)"),
    "identity": free("0 (no call)"),
    "select": free(_NOT_WRAPPED.format("torch.index_select")),
    **tensor.DEEPSPEED,
    **recurrent.DEEPSPEED,
})

# `call: functional`: the same wrapped calls, except that add, mul and scale become torch.add / torch.mul calls and
# ReLU6 the wrapped F.relu6 (unchanged rules stay the same objects, so --explain-conventions lists only these).
FUNCTIONAL_CHANGES = {
    "relu6": Rule(f"_relu6_flops_compute (F.relu6): {_IN}", per_element(1, in_elements)),
    **tensor.DEEPSPEED_FUNCTIONAL,  # add, mul (against a tensor or a number) and matmul as torch calls
    "scale": Rule("_mul_flops_compute (torch.mul by a number): 1 per input element", per_element(1, in_elements)),
}
DEEPSPEED = Convention(DEEPSPEED.name, DEEPSPEED.tool, DEEPSPEED.summary, DEEPSPEED.rules,
                       {**DEEPSPEED.rules, **FUNCTIONAL_CHANGES})
