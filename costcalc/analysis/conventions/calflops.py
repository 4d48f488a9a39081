"""calflops 0.3.2 (`calculate_flops(model, input_shape, output_as_string=False)[0]`), derived from its source,
`calflops/pytorch_ops.py` and `calflops/calculate_pipline.py`.

calflops is DeepSpeed's flops profiler re-packaged ("inspired by ptflops and deepspeed profiling"): the same
wrapped torch.nn.functional calls and torch / Tensor methods, the same per-call rules, only RNN modules hooked, and
`calculate_flops` puts the model in eval mode; so its rules are DeepSpeed's (costcalc.analysis.conventions.
deepspeed) except two, where its copy of a function differs:
- `_conv_trans_flops_compute` takes weight.shape[1] (already c_out/g) as out_channels and divides it by the groups
  again, and counts the bias over the output size of a *forward* conv, (in + 2p - d(k-1) - 1) // s + 1 per side;
- `_upsample_flops_compute` by a scale computes `flops * scale**...` without assigning it: the input numel.
(Its `_elementwise_flops_compute` also lines two shapes up from the first dimension where DeepSpeed's lines them up
from the last; that differs only for tensors of unequal rank, which no op here multiplies: squeeze-and-excitation's
torch.mul takes two 4-d tensors, and layer_scale is the `*` operator, not wrapped, however it is called.)
"""

from __future__ import annotations

from math import prod

from costcalc.analysis.conventions.deepspeed import DEEPSPEED
from costcalc.analysis.conventions.rules import Convention, Rule, in_elements


def _conv_transpose(s) -> int:
    """2 * k_h*k_w * c_in * ((c_out/g) // g) per input position, + (c_out/g) per position of a forward conv's
    output when the layer has a bias."""
    (c_in, h, w), c_out = s.inputs[0], s.outputs[0][0]
    (k_h, k_w), (s_h, s_w), (p_h, p_w) = s.args["k"], s.args["stride"], s.args["pad"]
    d_h, d_w = s.args.get("dilation", (1, 1))
    per_group = c_out // s.args["groups"]
    flops = 2 * k_h * k_w * c_in * (per_group // s.args["groups"]) * h * w
    if s.args.get("bias"):
        sides = [(size + 2 * p - (d * (k - 1) + 1)) // st + 1
                 for size, p, d, k, st in ((h, p_h, d_h, k_h, s_h), (w, p_w, d_w, k_w, s_w))]
        flops += per_group * prod(sides)
    return flops


def _resize(s) -> int:
    """h_out*w_out for a size (one call, as DeepSpeed); the input numel for a scale (the product is discarded)."""
    if s.args.get("scale") is None:
        return prod(s.outputs[0][1:])
    return in_elements(s)


_CHANGES = {
    "conv_transpose": Rule("_conv_trans_flops_compute (F.conv_transpose2d): 2 x h_in*w_in*c_in*((c_out/g)/g)*k_h*k_w "
                           "+ bias (c_out/g) per position of a forward conv's output ((in + 2p - d(k-1) - 1)//s + 1)",
                           _conv_transpose),
    "resize": Rule("_upsample_flops_compute (F.interpolate): h_out*w_out for a size (per call, not per channel); "
                   "the input numel for a scale (the scaled product is discarded)", _resize),
}

CALFLOPS = Convention("calflops", "calflops 0.3.2", "FLOPs as calflops 0.3.2 calculate_flops counts them",
                      {**DEEPSPEED.rules, **_CHANGES}, {**DEEPSPEED.functional, **_CHANGES})
