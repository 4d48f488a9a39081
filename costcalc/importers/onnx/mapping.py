"""The mapping table, ONNX -> costcalc: which handler imports each ONNX op type whose input is a network tensor.
Op types on constant inputs only are folded instead (`folding.FOLD_OPS`)."""

from __future__ import annotations

from costcalc.importers.onnx import layers, patterns

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
}
ANY_INPUT_OPS = {"Mul", "Add", "Sum", "Div", "Concat", "Shape", "CastLike", "SequenceAt", "SequenceConstruct",
                 "ConcatFromSequence"}
SEQUENCE_OPS = {"SequenceAt", "ConcatFromSequence"}  # the op types that read a sequence of network tensors  # they check their inputs