"""ptflops 0.7.5, pytorch backend, default config, derived from its source: `ptflops/pytorch_ops.py`
(MODULES_MAPPING hooks, FUNCTIONAL_MAPPING, TENSOR_OPS_MAPPING) and `pytorch_engine.py` (patch_functional,
patch_tensor_ops; `count_functional` on by default).

Module hooks fire on exact module types (`type(module) in MODULES_MAPPING`: a subclass such as torchvision's
LayerNorm2d has none), and patched torch.nn.functional calls are counted too, so a module whose forward calls a
patched function (nn.ReLU -> F.relu, nn.GELU -> F.gelu, the pools, nn.Upsample -> F.interpolate) is counted
twice, and one that calls it without a hook (nn.SiLU -> F.silu, nn.Softmax -> F.softmax) once. Tensor operators
(`+`, `+=`, `*`) are not patched (only torch.add / Tensor.add / torch.mul / Tensor.mul are). F.linear's patch is
commented out in 0.7.5: a functional linear counts zero. `call: functional` layers get only the patched-function
part (`FUNCTIONAL`)."""

from __future__ import annotations

from costcalc.analysis.conventions import recurrent, tensor
from costcalc.analysis.conventions.rules import (Convention, Rule, bias, conv_macs, conv_transpose_macs, fc_macs,
                                                 free, in_elements, out_elements, per_element)

_NO_HOOK = "0 (no module hook, and {} is not patched)"


def _interpolate(s) -> int:
    """_interpolate_functional_flops_hook: N*C*prod(size) for a size, input numel * scale**2 for a scale."""
    if s.args.get("scale") is None:
        return out_elements(s)
    return int(in_elements(s) * s.args["scale"] ** 2)


def _groupnorm(s) -> int:
    """bn_flops_counter_hook: input numel, doubled when the module has `affine` set (nn.GroupNorm does)."""
    return (2 if s.args.get("affine", True) else 1) * in_elements(s)


PTFLOPS = Convention("ptflops", "ptflops 0.7.5 (pytorch backend)",
                     "FLOPs as ptflops 0.7.5 get_model_complexity_info (pytorch backend) counts them", {
    "conv": Rule("conv hook: multiply-adds + bias 1 per output element", lambda s: conv_macs(s) + bias(s)),
    "conv_transpose": Rule("conv hook, transpose: k_h*k_w*c_in*c_out/g per input position + bias 1 per output "
                           "element", lambda s: conv_transpose_macs(s) + bias(s)),
    "fc": Rule("linear hook: (in*out + out if bias) per sample", lambda s: fc_macs(s) + bias(s)),
    "bn": Rule("bn hook: 2 per input element (affine; 1 without)", per_element(2, in_elements)),
    "layernorm": Rule("bn hook: 1 per input element (nn.LayerNorm has no `affine` attribute, so never doubled); "
                      "F.layer_norm is not patched", per_element(1, in_elements)),
    "groupnorm": Rule("bn hook: 2 per input element (affine; 1 without)", _groupnorm),
    "layer_scale": free("0 (the * operator: only torch.mul / Tensor.mul calls are patched)"),
    "relu": Rule("2 per element: relu hook (output numel) + patched F.relu (input numel)", per_element(2)),
    "relu6": Rule("1 per element: relu hook; nn.ReLU6 calls F.hardtanh, not patched", per_element(1)),
    "hardtanh": free(_NO_HOOK.format("F.hardtanh")),
    "leaky_relu": Rule("1 per element: relu hook; F.leaky_relu is not patched", per_element(1)),
    "sigmoid": free(_NO_HOOK.format("torch.sigmoid")),
    "tanh": free(_NO_HOOK.format("torch.tanh")),
    "swish": Rule("1 per element: no nn.SiLU hook, but nn.SiLU calls the patched F.silu (input numel)",
                  per_element(1, in_elements)),
    "hardsigmoid": free(_NO_HOOK.format("F.hardsigmoid")),
    "hardswish": free(_NO_HOOK.format("F.hardswish")),
    "gelu": Rule("2 per element: relu hook on nn.GELU (output numel) + patched F.gelu (input numel)",
                 per_element(2)),
    "mish": free(_NO_HOOK.format("F.mish")),
    "softmax": Rule("1 per element: no nn.Softmax hook, but it calls the patched F.softmax (input numel)",
                    per_element(1, in_elements)),
    "scale": free("0 (the * operator: only torch.mul / Tensor.mul calls are patched)"),
    "resize": Rule("upsample hook on nn.Upsample (output numel) + patched F.interpolate (N*C*prod(size), or "
                   "input numel * scale**2)", lambda s: out_elements(s) + _interpolate(s)),
    "maxpool": Rule("2 per input element: pool hook (input numel) + patched F.max_pool2d (input numel)",
                    per_element(2, in_elements)),
    "avgpool": Rule("2 per input element: pool hook (input numel) + patched F.avg_pool2d (input numel)",
                    per_element(2, in_elements)),
    "gap": Rule("2 per input element: pool hook (input numel) + patched F.adaptive_avg_pool2d (input numel)",
                per_element(2, in_elements)),
    "adaptive_avgpool": Rule("2 per input element: pool hook + patched F.adaptive_avg_pool2d (input numel each)",
                             per_element(2, in_elements)),
    "adaptive_maxpool": Rule("2 per input element: pool hook + patched F.adaptive_max_pool2d (input numel each)",
                             per_element(2, in_elements)),
    "mean": free("0 (Tensor.mean is not patched)"),
    "add": free("0 (the + / += operator: only torch.add / Tensor.add calls are patched, 1 per element)"),
    "mul": free("0 (the * operator: only torch.mul / Tensor.mul calls are patched, 1 per element)"),
    "concat": free(_NO_HOOK.format("torch.cat")),
    "split": free(_NO_HOOK.format("Tensor.chunk")),
    "shuffle": free(_NO_HOOK.format("view / transpose")),
    "flatten": free(_NO_HOOK.format("torch.flatten")),
    "slice": free(_NO_HOOK.format("slicing")),
    "pad": free(_NO_HOOK.format("F.pad")),
    "dropout": free(_NO_HOOK.format("F.dropout")),
    "identity": free("0 (no hook)"),
    "select": free(_NO_HOOK.format("torch.index_select")),
    **tensor.PTFLOPS,
    **recurrent.PTFLOPS,
}, functional={
    **{op: free(f"0 ({fn} is not patched)") for op, fn in (
        ("conv", "F.conv2d"), ("conv_transpose", "F.conv_transpose2d"), ("bn", "F.batch_norm"),
        ("layernorm", "F.layer_norm"), ("groupnorm", "F.group_norm"), ("hardtanh", "F.hardtanh"), ("leaky_relu", "F.leaky_relu"), ("sigmoid", "torch.sigmoid"),
        ("tanh", "torch.tanh"), ("hardsigmoid", "F.hardsigmoid"), ("hardswish", "F.hardswish"), ("mish", "F.mish"),
        ("mean", "Tensor.mean"), ("concat", "torch.cat"), ("split", "torch.split"), ("shuffle", "view / transpose"),
        ("flatten", "torch.flatten"), ("slice", "slicing"), ("pad", "F.pad"), ("dropout", "F.dropout"),
        ("identity", "a pass-through"), ("select", "torch.index_select"), ("layer_scale", "the * operator"))},
    "fc": free("0 (the F.linear patch is commented out in 0.7.5)"),
    "relu": Rule("1 per input element: patched F.relu", per_element(1, in_elements)),
    "relu6": Rule("1 per input element: patched F.relu6", per_element(1, in_elements)),
    "swish": Rule("1 per input element: patched F.silu", per_element(1, in_elements)),
    "gelu": Rule("1 per input element: patched F.gelu", per_element(1, in_elements)),
    "softmax": Rule("1 per input element: patched F.softmax", per_element(1, in_elements)),
    "resize": Rule("patched F.interpolate: N*C*prod(size), or input numel * scale**2", _interpolate),
    **{op: Rule(f"1 per input element: patched {fn}", per_element(1, in_elements)) for op, fn in (
        ("maxpool", "F.max_pool2d"), ("avgpool", "F.avg_pool2d"), ("gap", "F.adaptive_avg_pool2d"),
        ("adaptive_avgpool", "F.adaptive_avg_pool2d"), ("adaptive_maxpool", "F.adaptive_max_pool2d"))},
    "scale": Rule("1 per element: patched torch.mul with a number", per_element(1, in_elements)),
    **tensor.PTFLOPS_FUNCTIONAL,  # add and mul: patched torch.add / torch.mul, against a tensor or a number
    **recurrent.PTFLOPS_FUNCTIONAL,
})
