"""Walked graph -> ONNX model, built with the `onnx` package (the `[onnx]` extra), no framework.

One table, BUILDERS (below), maps each costcalc op to a function that adds its ONNX node(s); it mirrors the
importer's tables (costcalc.importers.onnx). The functions live by family: `nodes` (the seed ops), `modern` (the
norms, activations, resampling and padding of modern CNNs), `tensor` (the generic tensor layer, and conv, pool,
fc, softmax, layernorm, concat, split and slice of any rank or axis), `recurrent` (LSTM, GRU, RNN); `building`
holds the machinery they call.
Node names are the spec's layer paths (`layer2.0.conv2`); an op written as several ONNX nodes names its main node
after the layer and the others `<layer>/<OpType>`. Tensors are named after the layer
that writes them (`<layer>.<k>` for the outputs of a split); the network's input is `input`.

Weights (learnable parameters and buffers: conv and fc weights and biases, batchnorm scale, shift and statistics,
a select's index) are initializers named `<layer>.<role>`:
- `random`: seeded normal weights scaled by 1 / sqrt(fan-in), so the network runs with values of order one;
- `zeros`: every weight zero (a select picks channels 0, 1, 2, ... in turn);
- `none`: a graph-only file: each initializer keeps its type and dims and points to external data that is not
  written (`location` names a file that does not exist), so the file is tiny and costcalc reads it like the full one;
- given arrays (`arrays=`: layer name -> arrays in the order the builder asks for them): what `verify --against
  onnxruntime` uses to run onnxruntime on the numpy reference's own weights.
Constants that are part of the graph's meaning (reshape targets, split sizes, Clip bounds, a scale factor) are
always written inline.
"""

from __future__ import annotations

from costcalc.errors import Loc, SpecError
from costcalc.exporters.onnx import modern, more, nodes, recurrent, tensor
from costcalc.exporters.onnx.building import Builder, Weights

INSTALL_HINT = "writing ONNX files needs the onnx package: pip install 'costcalc[onnx]'"
DEFAULT_OPSET = 17
MIN_OPSET = 13  # Split's sizes and the other inputs-not-attributes forms this exporter writes
WEIGHT_MODES = ("random", "zeros", "none")


def _onnx():
    try:
        import onnx
    except ImportError:
        return None
    return onnx


def export(graph, *, opset: int = DEFAULT_OPSET, weights: str = "random", seed: int = 0, arrays: dict | None = None,
           external_data: str | None = None):
    """The ONNX ModelProto of `graph` (a costcalc.graph.Graph) at `opset`. `weights` is one of WEIGHT_MODES;
    `arrays` (layer name -> list of numpy arrays) overrides it with given values; `external_data` names the absent
    file the initializers of `weights="none"` point to (default `<model>.onnx.data`)."""
    onnx = _onnx()
    if onnx is None:
        raise SpecError(INSTALL_HINT, Loc(graph.path))
    highest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= highest:
        raise SpecError(f"--opset {opset}: costcalc exports opsets {MIN_OPSET} to {highest} (the onnx package "
                        f"installed knows up to {highest})", Loc(graph.path))
    if weights not in WEIGHT_MODES:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_MODES)}, not {weights!r}")
    builder = Builder(graph, opset, Weights(weights, seed, arrays, external_data or f"{graph.name}.onnx.data"), BUILDERS)
    return builder.run()


def save(model, path: str) -> None:
    """Write `model` to `path` (the initializers' values inline; those of weights="none" stay absent)."""
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


# The table: costcalc op -> its builder, (builder, node, input names, output names) -> adds the ONNX nodes.
BUILDERS = {
    "conv": tensor.conv,
    "fc": tensor.fc,
    "bn": nodes.bn,
    "relu": nodes.unary("Relu"),
    "relu6": nodes.relu6,
    "leaky_relu": nodes.unary("LeakyRelu", alpha=nodes.LEAKY_RELU_SLOPE),
    "sigmoid": nodes.unary("Sigmoid"),
    "tanh": nodes.unary("Tanh"),
    "swish": nodes.gated("Sigmoid"),
    "hardsigmoid": nodes.unary("HardSigmoid", **nodes.HARDSIGMOID),
    "hardswish": nodes.hardswish,
    "scale": nodes.scale,
    "maxpool": tensor.pool("MaxPool"),
    "avgpool": tensor.pool("AveragePool"),
    "lppool": tensor.pool("LpPool"),
    "gap": nodes.unary("GlobalAveragePool"),
    "mean": nodes.mean,
    "concat": tensor.concat,
    "split": tensor.split,
    "shuffle": nodes.shuffle,
    "select": nodes.select,
    "flatten": nodes.unary("Flatten", axis=1),
    "dropout": nodes.unary("Dropout"),
    "identity": nodes.unary("Identity"),
    "conv_transpose": tensor.conv_transpose,
    "layernorm": tensor.layernorm_on_axis(modern.layernorm),
    "rmsnorm": tensor.rmsnorm,
    "groupnorm": modern.groupnorm,
    "layer_scale": modern.layer_scale,
    "hardtanh": modern.hardtanh,
    "gelu": modern.gelu,
    "mish": modern.mish,
    "softmax": tensor.softmax,
    "adaptive_avgpool": modern.adaptive("AveragePool", "GlobalAveragePool"),
    "adaptive_maxpool": modern.adaptive("MaxPool", "GlobalMaxPool"),
    "resize": modern.resize,
    "pad": modern.pad,
    "slice": tensor.slice_,
    # the generic tensor layer (costcalc.exporters.onnx.tensor)
    **{op: tensor.binary(op) for op in tensor.BINARY},
    "where": tensor.where,
    **{op: tensor.unary(op) for op in (*tensor.UNARY, "cast")},
    **{f"reduce_{kind}": tensor.reduction(kind) for kind in (*tensor.REDUCE, "argmax", "argmin")},
    "matmul": tensor.matmul,
    "einsum": tensor.einsum,
    "reshape": tensor.reshape,
    "permute": tensor.permute,
    "expand": tensor.expand,
    "constant": tensor.constant,
    "tile": tensor.tile,
    "gather": tensor.gather,
    "depth_to_space": tensor.depth_to_space,
    "space_to_depth": tensor.space_to_depth,
    "col2im": tensor.col2im,
    **more.BUILDERS,  # cumsum, hardmax, trilu, lp_normalization, lrn, gather_elements, scatter, topk
    **{cell: recurrent.build for cell in recurrent.NODE},  # lstm, gru, rnn (costcalc.exporters.onnx.recurrent)
}
