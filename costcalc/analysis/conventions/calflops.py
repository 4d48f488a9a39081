"""calflops 0.3.2 (`calculate_flops(model, input_shape, output_as_string=False)[0]`), derived from its source,
`calflops/pytorch_ops.py` and `calflops/calculate_pipline.py`.

calflops is DeepSpeed's flops profiler re-packaged ("inspired by ptflops and deepspeed profiling"): the same
wrapped torch.nn.functional calls and torch / Tensor methods, the same per-call rules, only RNN modules hooked, and
`calculate_flops` puts the model in eval mode; so its rules are DeepSpeed's (costcalc.analysis.conventions.
deepspeed) except two, where its copy of a function differs:
- `_conv_trans_flops_compute` takes weight.shape[1] (already c_out/g) as out_channels and divides it by the groups
  again, and counts the bias over the output size of a *forward* conv, (in + 2p - d(k-1) - 1) // s + 1 per side;
- `_upsample_flops_compute` by a scale computes `flops * scale**...` without assigning it: the input numel.
Its `_elementwise_flops_compute` also lines two shapes up from the first dimension where DeepSpeed's lines them up
from the last; that differs only for tensors of unequal rank: a learned operand (`param`) of torch.add / torch.mul
(`call: functional`), whose axes line up with the batch first (costcalc.analysis.conventions.tensor). And calflops
does not wrap Tensor.__matmul__: the `@` operator counts zero there (tensor.py)."""

from __future__ import annotations

from math import prod

from costcalc.analysis.conventions import tensor
from costcalc.analysis.conventions.deepspeed import DEEPSPEED
from costcalc.analysis.conventions.rules import Convention, Rule, in_elements
from costcalc.ops.core import ONES, ZEROS, per_axis


def _conv_transpose(s) -> int:
    """2 * k_h*k_w * c_in * ((c_out/g) // g) per input position, + (c_out/g) per position of a forward conv's
    output when the layer has a bias (1-D and 3-D alike, over every spatial axis)."""
    (c_in, *sizes), c_out = s.inputs[0], s.outputs[0][0]
    k, stride, pad, dilation = (per_axis(s.args.get(key, default), len(sizes), key)
                                for key, default in (("k", None), ("stride", ONES), ("pad", ZEROS), ("dilation", ONES)))
    per_group = c_out // s.args["groups"]
    flops = 2 * prod(k) * c_in * (per_group // s.args["groups"]) * prod(sizes)
    if s.args.get("bias"):
        sides = [(size + 2 * p - (d * (kk - 1) + 1)) // st + 1
                 for size, p, d, kk, st in zip(sizes, pad, dilation, k, stride)]
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
                      {**DEEPSPEED.rules, **_CHANGES, **tensor.CALFLOPS},
                      {**DEEPSPEED.functional, **_CHANGES, **tensor.CALFLOPS_FUNCTIONAL})
