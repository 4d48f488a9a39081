"""The op types of the standard ONNX domain costcalc refuses, each with the reason, said in the one located line of
the refusal (docs/onnx.md lists them). An op type not here and without a rule is refused as one costcalc has no rule
for yet; a node whose inputs are all constants is evaluated, whatever its type, where its values can be (folding)."""

from __future__ import annotations

_DATA_DEPENDENT = "its output's shape depends on the values of its input (a data-dependent shape)"
_RANDOM = "it draws random numbers: a training or sampling op, not inference"
_STRINGS = "it works on strings, not tensors of numbers"
_LOSS = "a loss is computed in training, not at inference"
_QUANTIZED = ("a quantized (integer) op: costcalc costs float networks (give it the model before quantization)")
_SEQUENCES = "costcalc reads sequences of tensors only through SequenceConstruct, SequenceAt, SplitToSequence and " \
             "ConcatFromSequence"
_OPTIONAL = "an optional value's presence is known only at run time"

REFUSED = {
    **dict.fromkeys(("NonZero", "Unique", "NonMaxSuppression", "Compress"), _DATA_DEPENDENT),
    **dict.fromkeys(("If", "Loop", "Scan"), "control flow: the work done depends on values known only at run time"),
    **dict.fromkeys(("Bernoulli", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
                     "Multinomial"), _RANDOM),
    **dict.fromkeys(("StringConcat", "StringNormalizer", "StringSplit", "RegexFullMatch", "TfIdfVectorizer"),
                    _STRINGS),
    **dict.fromkeys(("NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"), _LOSS),
    **dict.fromkeys(("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QuantizeLinear",
                     "DequantizeLinear", "DynamicQuantizeLinear"), _QUANTIZED),
    **dict.fromkeys(("SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength", "SequenceMap"),
                    _SEQUENCES),
    **dict.fromkeys(("Optional", "OptionalGetElement", "OptionalHasElement"), _OPTIONAL),
    "ImageDecoder": "it decodes encoded image bytes: costcalc costs the network after decoding",
}


def reason(op: str) -> str:
    """Why op type `op` is refused, for the error line: the reason, or that costcalc has no rule for it yet."""
    if op in REFUSED:
        return f"op type '{op}' is not costed: {REFUSED[op]}"
    return f"op type '{op}' is not one costcalc knows how to cost yet (no rule for it)"
