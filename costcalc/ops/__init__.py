"""One pure cost-and-shape function per op, and the registry OPS that names them.

Shapes are per sample, without the batch: (C, H, W) for feature maps, (F,) after flatten. Every function takes the
input shapes and plain ints and returns one frozen OpResult; nothing here reads a spec or prints. The formulas
live by family: conv.py (conv, conv_transpose, fc), norm.py, activation.py, pool.py, shape.py, recurrent.py (lstm,
gru, rnn), and the generic tensor layer of any rank: tensor.py (views and copies) and tensor_math.py (element-wise
with broadcasting, reductions, matmul, einsum) and tensor_more.py (the later ONNX ops: running sums, hardmax,
trilu, norms, gathers and scatters by index, topk); core.py holds what they share.

Counting conventions (docs/ops.md and `costcalc report --help` repeat them):
- flops: multiply-adds of conv, conv_transpose and fc layers, bias not counted (the seed papers' and
  torchvision's convention), and of the products of two activations (matmul, einsum: attention's q k^T and
  attn v), as torchvision counts them, and the gate products of recurrent layers (W x_t and R h_{t-1}, each step
  and direction of an lstm, gru or rnn).
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
                               ONES, ZEROS, OpResult, Shape, Uniform, account, adaptive_windows, window_out)
from costcalc.ops.norm import (AFFINE_FLOPS, BATCHNORM_FLOPS, LAYER_SCALE_FLOPS, NORM_FLOPS, RMS_NORM_FLOPS,
                               batchnorm, groupnorm, layer_scale, layernorm, rmsnorm)
from costcalc.ops.pool import POOL_FLOPS_PER_WINDOW_ELEMENT, adaptive_pool, global_avgpool, lp_pool, pool
from costcalc.ops.recurrent import RECURRENT_OPS
from costcalc.ops.tensor_more import MORE_OPS
from costcalc.ops.shape import (BICUBIC_FLOPS, BILINEAR_FLOPS, COL2IM_FLOPS, col2im, concat, flatten, identity, pad,
                                resize, select, shuffle, split)
from costcalc.ops.tensor import (broadcast, constant, depth_to_space, expand, gather, permute, reshape, slice_,
                                 space_to_depth, tile)
from costcalc.ops.tensor_math import (BINARY_FLOPS, REDUCE_FLOPS, WHERE_FLOPS, binary, einsum, matmul, reduction,
                                      unary, where)

PAPER_SUMMARY = "FLOPs = conv + fc + matmul multiply-adds, bias not counted"  # the headline convention, in one line

_PAD_END = Arg("pad", None, "padding after each axis (below, right) when it differs from `pad` (ONNX's asymmetric "
                            "pads)")
_WINDOW = {"k": Arg("pair"), "stride": Arg("pair", None), "pad": Arg("pad", ZEROS), "pad_end": _PAD_END,
           "ceil_mode": Arg("bool", False)}
_CONV = {"out": Arg("int"), "k": Arg("pair"), "stride": Arg("pair", ONES), "pad": Arg("pad", ZEROS),
         "dilation": Arg("pair", ONES), "groups": Arg("int", 1), "bias": Arg("bool", False)}
_AFFINE = Arg("bool", True, "learnable gamma and beta, C each")
_AXIS = Arg("axis", 1, "the axis (the batch is 0, the channels 1; -1 is the last)")

# The families of the generic tensor layer, by name: the registry below is built from them, and the tool conventions
# (costcalc.analysis.conventions) give each family its rule.
BINARY_OPS = {"add": "sum (of any number of tensors)", "sub": "difference",
              "mul": "product (C x 1 x 1 broadcasts over H x W)", "div": "quotient", "pow": "power",
              "maximum": "larger of two", "minimum": "smaller of two",
              "compare": "comparison (equal, less, greater, and, or, ...)"}
UNARY_OPS = {"exp": (1, "exp"), "log": (1, "natural log"), "sqrt": (1, "square root"), "reciprocal": (1, "1 / x"),
             "abs": (1, "absolute value"), "neg": (1, "negation"), "erf": (1, "error function"),
             "round": (1, "rounding (floor, ceil, round, sign)"),
             "sin": (1, "a trigonometric or hyperbolic function or its inverse (sin, cos, tan, asin, sinh, ...)"),
             "softplus": (3, "log(1 + exp(x))"), "elu": (3, "ELU / SELU / CELU"),
             "cast": (0, "a type conversion (reads and writes, no arithmetic)")}
REDUCE_OPS = tuple(f"reduce_{kind}" for kind in REDUCE_FLOPS)
REARRANGE_OPS = ("reshape", "permute", "expand", "tile", "gather", "depth_to_space", "space_to_depth")
SOURCE_OPS = ("constant",)  # a tensor computed from weights alone: no arithmetic, no memory access of its own

OPS: dict[str, OpDef] = {
    "conv": OpDef(conv, {**_CONV, "pad_end": _PAD_END,
                         "linear": Arg("bool", None, "the framework computes this 1x1 conv as an "
                                                     "nn.Linear over the channels (ConvNeXt's pointwise layers)")},
                  doc="2-D convolution; depthwise when groups equals the input channels"),
    "conv_transpose": OpDef(conv_transpose, {**_CONV, "output_padding": Arg("pad", ZEROS)},
                            doc="2-D transposed convolution (torch's ConvTranspose2d)"),
    "fc": OpDef(fc, {"out": Arg("int"), "bias": Arg("bool", True)}, doc="fully connected (linear) layer"),
    "bn": OpDef(batchnorm, {"axis": Arg("axis", 1, "the channels' axis (the batch is 0; -1: tokens L x C)")},
                doc="batch normalisation (inference), per channel of `axis`"),
    "layernorm": OpDef(layernorm, {"affine": _AFFINE, "layout": Arg("choice", "channels_first", choices=(
        "channels_first", "channels_last")), "axis": Arg("axis", None, "normalise over the axes from this one to the "
                                                        "last (-1: the channels of tokens L x C)"),
        "bias": Arg("bool", True, "a learned shift beta with the scale gamma (false: nn.LayerNorm(bias=False), gamma "
                                  "alone)")},
                       doc="layer normalisation over the channels at each position, or from `axis` on"),
    "rmsnorm": OpDef(rmsnorm, {"axis": Arg("axis", -1, "normalise over the axes from this one to the last (-1: the "
                                                    "channels of tokens L x C)"),
                               "affine": Arg("bool", True, "a learned scale gamma of the normalised axes' shape")},
                     doc="RMS normalisation (ONNX's RMSNormalization, nn.RMSNorm): layernorm without the mean"),
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
    "softmax": OpDef(softmax, {"axis": _AXIS}, doc="softmax over `axis` (the channels by default) at each position"),
    "scale": OpDef(scale, {"factor": Arg("number")}, doc="multiply by a constant (residual scaling)"),
    "maxpool": OpDef(pool, {**_WINDOW, "dilation": Arg("pair", ONES)}, doc="max pooling"),
    "avgpool": OpDef(pool, dict(_WINDOW), doc="average pooling"),
    "lppool": OpDef(lp_pool, {**_WINDOW, "dilation": Arg("pair", ONES), "p": Arg("int", 2, "the norm's p (1 or more)")},
                    doc="Lp pooling: the p-norm of each window (ONNX's LpPool, nn.LPPool2d)"),
    "gap": OpDef(global_avgpool, doc="global average pooling to C x 1 x 1"),
    "mean": OpDef(global_avgpool, doc="global average written as x.mean([2, 3]) (torchvision's ShuffleNetV2): the cost "
                                      "of gap, but FLOP counters that see only modules skip it"),
    "adaptive_avgpool": OpDef(adaptive_pool, {"out": Arg("pair")}, doc="adaptive average pooling to out: [h, w]"),
    "adaptive_maxpool": OpDef(adaptive_pool, {"out": Arg("pair")}, doc="adaptive max pooling to out: [h, w]"),
    "resize": OpDef(resize, {"size": Arg("pair", None), "scale": Arg("number", None),
                             "mode": Arg("choice", "nearest", choices=("nearest", "bilinear", "bicubic"))},
                    doc="resize H and W to size [h, w] or by scale (nearest, bilinear or bicubic)"),
    "pad": OpDef(pad, {"pad": Arg("pad", ZEROS), "pad_end": Arg("pad", None), "value": Arg("number", 0.0),
                       "pads": Arg("counts", None, "any axes: the amounts before each axis of a sample, then after")},
                 doc="constant padding of H and W (or of any axes, with pads)"),
    **{name: binary(name, BINARY_FLOPS, doc, inputs=3 if name == "add" else 2) for name, doc in BINARY_OPS.items()},
    "where": OpDef(where, {"shape": Arg("shape", None, "broadcast through this shape too (constant operands)")},
                   min_inputs=1, max_inputs=3, doc=f"select by a condition, {WHERE_FLOPS} FLOP per output element"),
    **{name: unary(per_element, doc) for name, (per_element, doc) in UNARY_OPS.items()},
    **{f"reduce_{kind}": reduction(kind) for kind in REDUCE_FLOPS},
    "matmul": OpDef(matmul, min_inputs=2, max_inputs=2,
                    doc="product of two activations (numpy's matmul): multiply-adds count in FLOPs"),
    "einsum": OpDef(einsum, {"equation": Arg("text", REQUIRED, "torch.einsum's equation, the batch letter first"),
                             "param": Arg("shape", None, "the shape of a learned last operand")},
                    min_inputs=1, max_inputs=2, doc="Einstein summation of one or two operands"),
    "reshape": OpDef(reshape, {"shape": Arg("dims", REQUIRED, "the shape per sample; one -1 takes the rest")},
                     doc="a new shape of the same elements (a view: moves no data)"),
    "constant": OpDef(constant, {"shape": Arg("shape", REQUIRED, "the shape per sample")},
                      doc="a tensor the model computes from its weights alone (a position-bias table, a positional "
                          "encoding): free; its input only places it in the graph"),
    "permute": OpDef(permute, {"perm": Arg("perm", REQUIRED, "the order of all axes, the batch (0) first")},
                     doc="axes reordered (a copy, or a view when only axes of size 1 move)"),
    "expand": OpDef(expand, {"shape": Arg("shape", REQUIRED, "the shape per sample")},
                    doc="broadcast to a shape (writes every output element)"),
    "tile": OpDef(tile, {"repeats": Arg("ints", REQUIRED, "per axis of a sample")}, doc="repeated along each axis"),
    "gather": OpDef(gather, {"axis": _AXIS, "index": Arg("shape", (), "the shape of the index tensor ([]: one index)")},
                    doc="elements picked along an axis by a fixed index"),
    "depth_to_space": OpDef(depth_to_space, {"blocksize": Arg("int")}, doc="pixel shuffle: C/b^2 x bH x bW"),
    "space_to_depth": OpDef(space_to_depth, {"blocksize": Arg("int")}, doc="pixel unshuffle: b^2 C x H/b x W/b"),
    "concat": OpDef(concat, {"axis": _AXIS, "param": Arg("shape", None, "the shape of a learned tensor joined first "
                                                                  "(a class token)")}, min_inputs=1, max_inputs=None,
                    doc="concatenation along an axis (the channels by default)"),
    "split": OpDef(split, {"sizes": Arg("ints", None), "parts": Arg("int", None), "axis": _AXIS},
                   doc="split along an axis (the channels by default)"),
    "shuffle": OpDef(shuffle, {"groups": Arg("int")}, doc="channel shuffle"),
    "select": OpDef(select, {"out": Arg("int")}, doc="channel index-select (gather) of `out` channels"),
    "slice": OpDef(slice_, {"out": Arg("int"), "start": Arg("index", 0), "axis": _AXIS, "step": Arg("int", 1)},
                   doc="out elements along an axis from start (the channels by default; a view when contiguous)"),
    "flatten": OpDef(flatten, doc="C x H x W to C*H*W (a view: moves no data)"),
    "dropout": OpDef(identity, {"p": Arg("number", 0.0)}, doc="identity at inference (free)"),
    "identity": OpDef(identity, doc="passes its input on (free)"),
    "col2im": OpDef(col2im, {"size": Arg("pair", REQUIRED, "the image's [h, w]"), "k": Arg("pair"),
                             "stride": Arg("pair", ONES), "pad": Arg("pad", ZEROS), "dilation": Arg("pair", ONES)},
                    doc="nn.Fold: columns C*k_h*k_w x L added back into a C x h x w image"),
    **MORE_OPS,  # cumsum, cumprod, hardmax, trilu, lp_normalization, lrn, gather_elements, scatter, topk
    **RECURRENT_OPS,
}

ALIASES = {"linear": "fc", "batchnorm": "bn", "silu": "swish", "global_avgpool": "gap", "channel_shuffle": "shuffle",
           "index_select": "select", "upsample": "resize", "interpolate": "resize", "deconv": "conv_transpose",
           "transpose": "permute", "view": "reshape", "bmm": "matmul", "fold": "col2im"}
