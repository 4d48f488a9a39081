"""One pure cost-and-shape function per op, and the registry OPS that names them.

Shapes are per sample, without the batch: (C, H, W) for feature maps, (F,) after flatten. Every function takes the
input shapes and plain ints and returns one frozen OpResult; nothing here reads a spec or prints. The formulas
live by family: conv.py (conv, conv_transpose, fc), norm.py, activation.py, pool.py, shape.py; core.py holds what
they share.

Counting conventions (docs/ops.md and `costcalc report --help` repeat them):
- flops: multiply-adds of conv, conv_transpose and fc layers, bias not counted (the seed papers' and
  torchvision's convention).
- elementwise_flops: every other arithmetic operation, at the per-element costs named by the constants of each
  family module (a conv or fc bias adds one per output element).
- params: every learnable parameter: weights, biases, batchnorm / layernorm / groupnorm scale and shift, layer
  scales (running statistics are buffers).
- memory_access: elements read and written, computed once for all ops in `account`: each input read once, each
  output written once, each parameter read once; ops that only relabel memory (flatten, a channel slice,
  dropout, identity) move nothing. The batch multiplies activations and FLOPs, never parameters.
"""

from __future__ import annotations

from costcalc.ops.activation import (GELU_FLOPS, GELU_TANH_FLOPS, HARDSIGMOID_FLOPS, HARDSWISH_FLOPS, HARDTANH_FLOPS,
                                     LEAKY_RELU_FLOPS, MISH_FLOPS, RELU6_FLOPS, RELU_FLOPS, SCALE_FLOPS, SIGMOID_FLOPS,
                                     SOFTMAX_FLOPS, SWISH_FLOPS, TANH_FLOPS, elementwise, gelu, hardtanh, scale, softmax)
from costcalc.ops.conv import BIAS_FLOPS, conv, conv_transpose, fc
from costcalc.ops.core import (CALL_ARG, CALL_KEY, CALLS, COUNT_FIELDS, REQUIRED, Arg, Counts, OpDef, OpError,
                               OpResult, Shape, account, adaptive_windows, window_out)
from costcalc.ops.norm import (AFFINE_FLOPS, BATCHNORM_FLOPS, LAYER_SCALE_FLOPS, NORM_FLOPS, batchnorm, groupnorm,
                               layer_scale, layernorm)
from costcalc.ops.pool import POOL_FLOPS_PER_WINDOW_ELEMENT, adaptive_pool, global_avgpool, pool
from costcalc.ops.shape import (BILINEAR_FLOPS, add, channel_slice, concat, flatten, identity, mul, pad, resize,
                                select, shuffle, split)

PAPER_SUMMARY = "FLOPs = conv + fc multiply-adds, bias not counted"  # the headline convention, in one line

_PAD_END = Arg("pad", None, "padding below and right when it differs from `pad` (ONNX's asymmetric pads)")
_WINDOW = {"k": Arg("pair"), "stride": Arg("pair", None), "pad": Arg("pad", (0, 0)), "pad_end": _PAD_END,
           "ceil_mode": Arg("bool", False)}
_CONV = {"out": Arg("int"), "k": Arg("pair"), "stride": Arg("pair", (1, 1)), "pad": Arg("pad", (0, 0)),
         "dilation": Arg("pair", (1, 1)), "groups": Arg("int", 1), "bias": Arg("bool", False)}
_AFFINE = Arg("bool", True, "learnable gamma and beta, C each")

OPS: dict[str, OpDef] = {
    "conv": OpDef(conv, {**_CONV, "pad_end": _PAD_END,
                         "linear": Arg("bool", None, "the framework computes this 1x1 conv as an "
                                                     "nn.Linear over the channels (ConvNeXt's pointwise layers)")},
                  doc="2-D convolution; depthwise when groups equals the input channels"),
    "conv_transpose": OpDef(conv_transpose, {**_CONV, "output_padding": Arg("pad", (0, 0))},
                            doc="2-D transposed convolution (torch's ConvTranspose2d)"),
    "fc": OpDef(fc, {"out": Arg("int"), "bias": Arg("bool", True)}, doc="fully connected (linear) layer"),
    "bn": OpDef(batchnorm, doc="batch normalisation (inference)"),
    "layernorm": OpDef(layernorm, {"affine": _AFFINE, "layout": Arg("choice", "channels_first", choices=(
        "channels_first", "channels_last"))}, doc="layer normalisation over the channels at each position"),
    "groupnorm": OpDef(groupnorm, {"groups": Arg("int"), "affine": _AFFINE}, doc="group normalisation"),
    "layer_scale": OpDef(layer_scale, doc="learnable per-channel scale (C parameters)"),
    "relu": elementwise(RELU_FLOPS),
    "relu6": elementwise(RELU6_FLOPS),
    "hardtanh": OpDef(hardtanh, {"min_val": Arg("number", -1.0), "max_val": Arg("number", 1.0)},
                      doc=f"clamp to [min_val, max_val], {HARDTANH_FLOPS} FLOPs per element"),
    "leaky_relu": elementwise(LEAKY_RELU_FLOPS),
    "sigmoid": elementwise(SIGMOID_FLOPS),
    "tanh": elementwise(TANH_FLOPS),
    "swish": elementwise(SWISH_FLOPS),
    "hardsigmoid": elementwise(HARDSIGMOID_FLOPS),
    "hardswish": elementwise(HARDSWISH_FLOPS),
    "gelu": OpDef(gelu, {"approximate": Arg("choice", "none", choices=("none", "tanh"))},
                  doc=f"GELU, exact (erf, {GELU_FLOPS} FLOPs per element) or tanh form ({GELU_TANH_FLOPS})"),
    "mish": elementwise(MISH_FLOPS),
    "softmax": OpDef(softmax, doc="softmax over the channels at each position"),
    "scale": OpDef(scale, {"factor": Arg("number")}, doc="multiply by a constant (residual scaling)"),
    "maxpool": OpDef(pool, {**_WINDOW, "dilation": Arg("pair", (1, 1))}, doc="max pooling"),
    "avgpool": OpDef(pool, dict(_WINDOW), doc="average pooling"),
    "gap": OpDef(global_avgpool, doc="global average pooling to C x 1 x 1"),
    "mean": OpDef(global_avgpool, doc="global average written as x.mean([2, 3]) (torchvision's ShuffleNetV2): the cost "
                                      "of gap, but FLOP counters that see only modules skip it"),
    "adaptive_avgpool": OpDef(adaptive_pool, {"out": Arg("pair")}, doc="adaptive average pooling to out: [h, w]"),
    "adaptive_maxpool": OpDef(adaptive_pool, {"out": Arg("pair")}, doc="adaptive max pooling to out: [h, w]"),
    "resize": OpDef(resize, {"size": Arg("pair", None), "scale": Arg("number", None),
                             "mode": Arg("choice", "nearest", choices=("nearest", "bilinear"))},
                    doc="resize H and W to size [h, w] or by scale (nearest or bilinear)"),
    "pad": OpDef(pad, {"pad": Arg("pad", (0, 0)), "pad_end": Arg("pad", None), "value": Arg("number", 0.0)},
                 doc="constant padding of H and W"),
    "add": OpDef(add, min_inputs=2, max_inputs=None, doc="element-wise sum of equal shapes"),
    "mul": OpDef(mul, min_inputs=2, max_inputs=2, doc="element-wise product (C x 1 x 1 broadcasts)"),
    "concat": OpDef(concat, min_inputs=1, max_inputs=None, doc="concatenation along channels"),
    "split": OpDef(split, {"sizes": Arg("ints", None), "parts": Arg("int", None)}, doc="channel split"),
    "shuffle": OpDef(shuffle, {"groups": Arg("int")}, doc="channel shuffle"),
    "select": OpDef(select, {"out": Arg("int")}, doc="channel index-select (gather) of `out` channels"),
    "slice": OpDef(channel_slice, {"out": Arg("int"), "start": Arg("index", 0)},
                   doc="channels start .. start + out - 1 (a view: moves no data)"),
    "flatten": OpDef(flatten, doc="C x H x W to C*H*W (a view: moves no data)"),
    "dropout": OpDef(identity, {"p": Arg("number", 0.0)}, doc="identity at inference (free)"),
    "identity": OpDef(identity, doc="passes its input on (free)"),
}

ALIASES = {"linear": "fc", "batchnorm": "bn", "silu": "swish", "global_avgpool": "gap", "channel_shuffle": "shuffle",
           "index_select": "select", "upsample": "resize", "interpolate": "resize", "deconv": "conv_transpose"}
