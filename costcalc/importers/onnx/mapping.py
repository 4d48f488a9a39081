"""The mapping table, ONNX -> costcalc: which handler imports each ONNX op type whose input is a network tensor.
Op types on constant inputs only are folded instead (`folding.FOLD_OPS`). The element-wise op types a formula
may start with (`formulas.EVALUATE`: GELU's erf and tanh forms, Mish before its node) first try `formulas.match`."""

from __future__ import annotations

from costcalc.importers.onnx import formulas, layers, modern, patterns


def _refused(imp, node) -> None:
    imp.fail(node, f"op type '{node.op}' is not one costcalc knows how to cost on its own: it reads {node.op} "
                   "only inside a formula it knows (GELU's erf or tanh form, Mish's x * tanh(softplus(x)))")


def _formula_first(handler):
    def handle(imp, node) -> None:
        if not formulas.match(imp, node):
            handler(imp, node)

    return handle

DATA_OPS = {
    "Shape": layers.shape,
    "CastLike": layers.cast_like,
    "Conv": layers.conv,
    "Gemm": layers.gemm,
    "MatMul": layers.matmul,
    "BatchNormalization": layers.batchnorm,
    "Relu": layers.unary("relu"),
    "LeakyRelu": layers.unary("leaky_relu"),
    "Sigmoid": layers.unary("sigmoid"),
    "Tanh": layers.unary("tanh"),
    "HardSigmoid": layers.unary("hardsigmoid"),
    "HardSwish": layers.unary("hardswish"),
    "Clip": layers.clip,
    "Mul": patterns.mul,
    "Div": layers.div,
    "Add": patterns.add,
    "Sum": patterns.add,
    "MaxPool": layers.pool("maxpool"),
    "AveragePool": layers.pool("avgpool"),
    "LpPool": layers.pool("lppool"),
    "GlobalAveragePool": layers.global_pool("gap"),
    "GlobalMaxPool": layers.global_pool("maxpool"),
    "ReduceMean": layers.reduce_mean,
    "Concat": layers.concat,
    "Split": layers.split,
    "Slice": patterns.slice,
    "SplitToSequence": patterns.split_to_sequence,
    "SequenceAt": patterns.sequence_at,
    "SequenceConstruct": patterns.sequence_construct,
    "ConcatFromSequence": patterns.concat_from_sequence,
    "Pad": layers.pad,
    "Reshape": patterns.reshape,
    "Transpose": patterns.transpose,
    "Flatten": patterns.flatten,
    "Squeeze": patterns.squeeze,
    "Identity": layers.identity("identity"),
    "Dropout": layers.identity("dropout"),
    "LayerNormalization": modern.layernorm,
    "Gelu": modern.gelu,
    "Mish": layers.unary("mish"),
    "Softmax": modern.softmax,
    "ConvTranspose": modern.conv_transpose,
    "Resize": modern.resize,
    "Upsample": modern.resize,  # Resize's form before opset 10, its scales an input (an attribute before opset 9)
    "Gather": modern.gather,
    "InstanceNormalization": modern.instance_norm,
}
for _op in formulas.EVALUATE:  # Erf, Pow, Softplus ... on a network tensor only inside a formula
    DATA_OPS[_op] = _formula_first(DATA_OPS.get(_op, _refused))
# the op types that read a channels-last tensor (after Transpose 0,2,3,1): element-wise, or told its layout
CHANNELS_LAST_OPS = {"LayerNormalization", "MatMul", "Transpose", "Add", "Sum", "Mul", "Div", "Identity", "Dropout",
                     "Gelu", "Mish", "Softmax", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
                     "Clip", *formulas.EVALUATE}
ANY_INPUT_OPS = {"Mul", "Add", "Sum", "Div", "Concat", "Shape", "CastLike", "SequenceAt", "SequenceConstruct",
                 "ConcatFromSequence"}
SEQUENCE_OPS = {"SequenceAt", "ConcatFromSequence"}  # the op types that read a sequence of network tensors  # they check their inputs