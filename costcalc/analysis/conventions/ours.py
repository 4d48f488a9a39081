"""costcalc's own conventions: the papers' multiply-adds, everything counted, and twice the multiply-adds."""

from __future__ import annotations

from costcalc.analysis.conventions import recurrent, tensor
from costcalc.analysis.conventions.rules import (DATA_MOVEMENT, Convention, Rule, bias, conv_macs, conv_transpose_macs,
                                                 doubled, fc_macs, free, in_elements, own, per_element,
                                                 window_elements)
from costcalc.ops import (AFFINE_FLOPS, BATCHNORM_FLOPS, BILINEAR_FLOPS, GELU_FLOPS, GELU_TANH_FLOPS, HARDSIGMOID_FLOPS,
                          HARDSWISH_FLOPS, HARDTANH_FLOPS, LAYER_SCALE_FLOPS, LEAKY_RELU_FLOPS, MISH_FLOPS, NORM_FLOPS,
                          PAPER_SUMMARY, POOL_FLOPS_PER_WINDOW_ELEMENT, RELU6_FLOPS, RELU_FLOPS, SCALE_FLOPS,
                          SIGMOID_FLOPS, SOFTMAX_FLOPS, SWISH_FLOPS, TANH_FLOPS)

ELEMENTWISE = ("bn", "layernorm", "groupnorm", "layer_scale", "relu", "relu6", "hardtanh", "leaky_relu", "sigmoid",
               "tanh", "swish", "hardsigmoid", "hardswish", "gelu", "mish", "softmax", "scale", "add", "mul", "resize")
POOLS = ("maxpool", "avgpool", "gap", "mean", "adaptive_avgpool", "adaptive_maxpool")

PAPER = Convention("paper", "costcalc", PAPER_SUMMARY, {
    "conv": Rule("multiply-adds h_out*w_out*c_out*k_h*k_w*c_in/g; bias not counted", conv_macs),
    "conv_transpose": Rule("multiply-adds h_in*w_in*c_in*c_out/g*k_h*k_w; bias not counted", conv_transpose_macs),
    "fc": Rule("multiply-adds in*out; bias not counted", fc_macs),
    **{op: free("0 (element-wise: not counted)") for op in ELEMENTWISE},
    **{op: free("0 (pooling: not counted)") for op in POOLS},
    **DATA_MOVEMENT,
    **tensor.PAPER,
    **recurrent.PAPER,
})

_WINDOWS = f"{POOL_FLOPS_PER_WINDOW_ELEMENT} per window element per output (k_h*k_w per output)"
_ADAPTIVE = f"{POOL_FLOPS_PER_WINDOW_ELEMENT} per window element, torch's windows (sum of their areas per channel)"
FULL = Convention("full", "costcalc", "FLOPs = conv + fc + matmul multiply-adds + every element-wise op", {
    "conv": Rule("multiply-adds + bias 1 per output element", lambda s: conv_macs(s) + bias(s)),
    "conv_transpose": Rule("multiply-adds + bias 1 per output element", lambda s: conv_transpose_macs(s) + bias(s)),
    "fc": Rule("multiply-adds in*out + bias 1 per output", lambda s: fc_macs(s) + bias(s)),
    "bn": Rule(f"{BATCHNORM_FLOPS} per element (scale, shift)", per_element(BATCHNORM_FLOPS)),
    "layernorm": Rule(f"{NORM_FLOPS} per element (statistics, normalise) + {AFFINE_FLOPS} when affine", own),
    "groupnorm": Rule(f"{NORM_FLOPS} per element (statistics, normalise) + {AFFINE_FLOPS} when affine", own),
    "layer_scale": Rule(f"{LAYER_SCALE_FLOPS} per element", per_element(LAYER_SCALE_FLOPS)),
    "relu": Rule(f"{RELU_FLOPS} per element", per_element(RELU_FLOPS)),
    "relu6": Rule(f"{RELU6_FLOPS} per element (min, max)", per_element(RELU6_FLOPS)),
    "hardtanh": Rule(f"{HARDTANH_FLOPS} per element (min, max)", per_element(HARDTANH_FLOPS)),
    "leaky_relu": Rule(f"{LEAKY_RELU_FLOPS} per element", per_element(LEAKY_RELU_FLOPS)),
    "sigmoid": Rule(f"{SIGMOID_FLOPS} per element (exp, add, divide)", per_element(SIGMOID_FLOPS)),
    "tanh": Rule(f"{TANH_FLOPS} per element", per_element(TANH_FLOPS)),
    "swish": Rule(f"{SWISH_FLOPS} per element (sigmoid, multiply)", per_element(SWISH_FLOPS)),
    "hardsigmoid": Rule(f"{HARDSIGMOID_FLOPS} per element", per_element(HARDSIGMOID_FLOPS)),
    "hardswish": Rule(f"{HARDSWISH_FLOPS} per element", per_element(HARDSWISH_FLOPS)),
    "gelu": Rule(f"{GELU_FLOPS} per element (erf form), {GELU_TANH_FLOPS} (tanh form)", own),
    "mish": Rule(f"{MISH_FLOPS} per element (exp, add, log, tanh, multiply)", per_element(MISH_FLOPS)),
    "softmax": Rule(f"{SOFTMAX_FLOPS}*C - 1 per position (C exps, C-1 adds, C divides)", own),
    "scale": Rule(f"{SCALE_FLOPS} per element", per_element(SCALE_FLOPS)),
    "resize": Rule(f"nearest 0 (copies); bilinear {BILINEAR_FLOPS} per output element", own),
    "maxpool": Rule(_WINDOWS, per_element(POOL_FLOPS_PER_WINDOW_ELEMENT, window_elements)),
    "avgpool": Rule(_WINDOWS, per_element(POOL_FLOPS_PER_WINDOW_ELEMENT, window_elements)),
    "gap": Rule(f"{POOL_FLOPS_PER_WINDOW_ELEMENT} per input element", per_element(POOL_FLOPS_PER_WINDOW_ELEMENT,
                                                                                  in_elements)),
    "mean": Rule(f"{POOL_FLOPS_PER_WINDOW_ELEMENT} per input element", per_element(POOL_FLOPS_PER_WINDOW_ELEMENT,
                                                                                   in_elements)),
    "adaptive_avgpool": Rule(_ADAPTIVE, own),
    "adaptive_maxpool": Rule(_ADAPTIVE, own),
    **DATA_MOVEMENT,
    **tensor.FULL,  # add and mul among them: (operands - 1) per output element, a constant operand included
    **recurrent.FULL,
})

# "FLOPs = 2 x MACs" as a plain rule: the papers' conv + fc multiply-adds doubled, and nothing else. The tools that
# print "2 x MACs" count more than this: DeepSpeed's flops profiler and calflops add batchnorms, activations and
# pools (deepspeed.py, calflops.py), and ultralytics prints thop's whole count * 2 as YOLO's "GFLOPs" (`yolo`, in
# thop.py).
TWICE = doubled(PAPER, "2xmac", "costcalc",
                "FLOPs = 2 x (conv + fc + matmul multiply-adds): a multiply-add counted as two operations", "")
