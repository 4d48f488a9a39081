"""Walked graph -> ONNX model, built with the `onnx` package (the `[onnx]` extra), no framework.

One table, BUILDERS, maps each costcalc op to a function that adds its ONNX node(s); it mirrors the importer's
table (costcalc.importers.onnx). Node names are the spec's layer paths (`layer2.0.conv2`); an op written as several
ONNX nodes names its main node after the layer and the others `<layer>/<OpType>`. Tensors are named after the layer
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

from math import prod

import numpy as np

from costcalc.errors import Loc, SpecError

INSTALL_HINT = "writing ONNX files needs the onnx package: pip install 'costcalc[onnx]'"
DEFAULT_OPSET = 17
MIN_OPSET = 13  # Split's sizes and the other inputs-not-attributes forms this exporter writes
WEIGHT_MODES = ("random", "zeros", "none")
BATCHNORM_EPSILON = 1e-5  # torch's default, and the numpy reference's
LEAKY_RELU_SLOPE = 0.01  # torch's default negative_slope, the one the spec language's leaky_relu has


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
    builder = _Builder(graph, opset, _Weights(weights, seed, arrays, external_data or f"{graph.name}.onnx.data"))
    return builder.run()


def save(model, path: str) -> None:
    """Write `model` to `path` (the initializers' values inline; those of weights="none" stay absent)."""
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


class _Weights:
    """Where the initializers' values come from."""

    def __init__(self, mode: str, seed: int, arrays: dict | None, external: str):
        self.mode = mode
        self.rng = np.random.default_rng(seed)
        self.arrays = arrays
        self.external = external
        self.offset = 0
        self.taken: dict = {}

    def value(self, layer: str, kind: str, shape: tuple, fan_in: int = 1, high: int = 1):
        """The array of one initializer, or None for a graph-only file. `kind` says how a random one is drawn:
        weight, bias, scale, shift, mean, var, or index (ints below `high`)."""
        if self.arrays is not None:
            k = self.taken.get(layer, 0)
            self.taken[layer] = k + 1
            given = np.asarray(self.arrays[layer][k])
            if given.shape != tuple(shape):
                raise ValueError(f"layer '{layer}': given array {k} has shape {given.shape}, not {tuple(shape)}")
            return given
        if self.mode == "none":
            return None
        if kind == "index":
            if self.mode == "zeros":
                return (np.arange(prod(shape)) % high).reshape(shape).astype(np.int64)
            return self.rng.integers(0, high, shape, dtype=np.int64)
        if self.mode == "zeros":
            return np.zeros(shape, np.float32)
        normal = self.rng.standard_normal(shape, dtype=np.float32)
        if kind == "weight":
            return normal / np.float32(np.sqrt(max(fan_in, 1)))
        if kind == "scale":
            return 1 + np.float32(0.1) * normal
        if kind == "var":
            return self.rng.uniform(0.5, 1.5, shape).astype(np.float32)
        return np.float32(0.1) * normal  # bias, shift, mean


class _Builder:
    def __init__(self, graph, opset: int, weights: _Weights):
        self.graph = graph
        self.opset = opset
        self.weights = weights
        self.nodes: list = []
        self.initializers: list = []
        self.names = {0: "input"}
        for node in graph.nodes:
            for k, t in enumerate(node.outputs):
                self.names[t] = node.name if len(node.outputs) == 1 else f"{node.name}.{k}"

    def run(self):
        from onnx import TensorProto, helper

        for node in self.graph.nodes:
            build = BUILDERS.get(node.op)
            if build is None:
                raise SpecError(f"layer '{node.name}': op '{node.op}' has no ONNX form in costcalc's exporter "
                                f"(it writes: {', '.join(BUILDERS)})", node.loc)
            build(self, node, [self.names[t] for t in node.inputs], [self.names[t] for t in node.outputs])
        batch = self.graph.batch
        inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, *self.graph.input_shape])]
        out = self.graph.output
        outputs = [helper.make_tensor_value_info(self.names[out], TensorProto.FLOAT, [batch, *self.graph.tensors[out]])]
        body = helper.make_graph(self.nodes, self.graph.name, inputs, outputs, self.initializers)
        opsets = [helper.make_opsetid("", self.opset)]
        from costcalc import __version__

        model = helper.make_model(body, opset_imports=opsets, producer_name="costcalc", producer_version=__version__,
                                  ir_version=helper.find_min_ir_version_for(opsets))
        model.doc_string = f"Exported by costcalc from {self.graph.path} (weights: {self.weights.mode})."
        return model

    # ---- what builders call -------------------------------------------------------------------------------

    def shape(self, tensor: int) -> tuple:
        """The per-sample shape of tensor id `tensor`."""
        return self.graph.tensors[tensor]

    def add(self, op_type: str, inputs: list, outputs: list, name: str, **attrs) -> None:
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=name, **attrs))

    def param(self, node, role: str, shape: tuple, kind: str, fan_in: int = 1, high: int = 1) -> str:
        """A weight initializer `<layer>.<role>`; its name."""
        from onnx import TensorProto, numpy_helper

        name = f"{node.name}.{role}"
        shape = tuple(int(d) for d in shape)
        value = self.weights.value(node.name, kind, shape, fan_in, high)
        if value is not None:
            self.initializers.append(numpy_helper.from_array(value, name))
            return name
        dtype = TensorProto.INT64 if kind == "index" else TensorProto.FLOAT
        tensor = TensorProto(name=name, data_type=dtype, dims=shape)
        length = prod(shape) * (8 if kind == "index" else 4)
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.weights.external), ("offset", str(self.weights.offset)),
                           ("length", str(length))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        self.weights.offset += length
        self.initializers.append(tensor)
        return name

    def const(self, node, label: str, value) -> str:
        """An inline constant `<layer>/<label>` (a shape, sizes, a bound); its name."""
        from onnx import numpy_helper

        name = f"{node.name}/{label}"
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def refuse(self, node, why: str):
        raise SpecError(f"layer '{node.name}': {why}", node.loc)


# ---- the table: one builder per op: (builder, node, input names, output names) ------------------------------


def _pads(pad) -> list:
    return [pad[0], pad[1], pad[0], pad[1]]


def _conv(b: _Builder, node, x, y):
    a = node.args
    c = b.shape(node.inputs[0])[0]
    k_h, k_w = a["k"]
    c_group = c // a["groups"]
    inputs = [x[0], b.param(node, "weight", (a["out"], c_group, k_h, k_w), "weight", c_group * k_h * k_w)]
    if a["bias"]:
        inputs.append(b.param(node, "bias", (a["out"],), "bias"))
    b.add("Conv", inputs, y, node.name, kernel_shape=[k_h, k_w], strides=list(a["stride"]), pads=_pads(a["pad"]),
          dilations=list(a["dilation"]), group=a["groups"])


def _fc(b: _Builder, node, x, y):
    features, out = b.shape(node.inputs[0])[0], node.args["out"]
    inputs = [x[0], b.param(node, "weight", (out, features), "weight", features)]
    if node.args["bias"]:
        inputs.append(b.param(node, "bias", (out,), "bias"))
    b.add("Gemm", inputs, y, node.name, transB=1)


def _bn(b: _Builder, node, x, y):
    c = (b.shape(node.inputs[0])[0],)
    stats = [b.param(node, role, c, kind) for role, kind in
             (("weight", "scale"), ("bias", "shift"), ("running_mean", "mean"), ("running_var", "var"))]
    b.add("BatchNormalization", [x[0], *stats], y, node.name, epsilon=BATCHNORM_EPSILON)


def _unary(op_type: str, **attrs):
    def build(b: _Builder, node, x, y):
        b.add(op_type, x, y, node.name, **attrs)

    return build


def _relu6(b: _Builder, node, x, y):
    low, high = b.const(node, "min", np.float32(0)), b.const(node, "max", np.float32(6))
    b.add("Clip", [x[0], low, high], y, node.name)


def _gated(gate: str, **attrs):
    """x * gate(x): swish (Sigmoid), and hardswish before opset 14 (HardSigmoid); the gate node carries the
    layer's name, as the importer reads the pattern."""

    def build(b: _Builder, node, x, y):
        g = f"{node.name}/{gate}"
        b.add(gate, x, [g], node.name, **attrs)
        b.add("Mul", [x[0], g], y, f"{node.name}/Mul")

    return build


_HARDSIGMOID = {"alpha": 1 / 6, "beta": 0.5}  # torch's hardsigmoid: relu6(x + 3) / 6


def _hardswish(b: _Builder, node, x, y):
    if b.opset >= 14:
        return b.add("HardSwish", x, y, node.name)
    return _gated("HardSigmoid", **_HARDSIGMOID)(b, node, x, y)


def _scale(b: _Builder, node, x, y):
    b.add("Mul", [x[0], b.const(node, "factor", np.float32(node.args["factor"]))], y, node.name)


def _pool(op_type: str):
    def build(b: _Builder, node, x, y):
        a = node.args
        attrs = {"kernel_shape": list(a["k"]), "strides": list(a.get("stride") or a["k"]), "pads": _pads(a["pad"]),
                 "ceil_mode": int(a["ceil_mode"])}
        if op_type == "MaxPool":
            attrs["dilations"] = list(a["dilation"])
        else:
            attrs["count_include_pad"] = 1  # torch's default, and the reference's
        b.add(op_type, x, y, node.name, **attrs)

    return build


def _mean(b: _Builder, node, x, y):
    if b.opset >= 18:
        return b.add("ReduceMean", [x[0], b.const(node, "axes", np.array([2, 3], np.int64))], y, node.name, keepdims=1)
    b.add("ReduceMean", x, y, node.name, axes=[2, 3], keepdims=1)


def _add(b: _Builder, node, x, y):
    b.add("Add" if len(x) == 2 else "Sum", x, y, node.name)


def _split(b: _Builder, node, x, y):
    sizes = [b.shape(t)[0] for t in node.outputs]
    b.add("Split", [x[0], b.const(node, "split", np.array(sizes, np.int64))], y, node.name, axis=1)


def _shuffle(b: _Builder, node, x, y):
    """ShuffleNet's channel shuffle as torch writes it: Reshape to N x g x C/g x H x W, Transpose(0, 2, 1, 3, 4),
    Reshape back; the last Reshape carries the layer's name (the importer names the shuffle after it)."""
    shape, g, n = b.shape(node.inputs[0]), node.args["groups"], b.graph.batch
    grouped, swapped = f"{node.name}/grouped", f"{node.name}/swapped"
    b.add("Reshape", [x[0], b.const(node, "grouped_shape", np.array([n, g, shape[0] // g, *shape[1:]], np.int64))],
          [grouped], f"{node.name}/Reshape")
    b.add("Transpose", [grouped], [swapped], f"{node.name}/Transpose", perm=[0, 2, 1, 3, 4])
    b.add("Reshape", [swapped, b.const(node, "shape", np.array([n, *shape], np.int64))], y, node.name)


def _select(b: _Builder, node, x, y):
    channels = b.shape(node.inputs[0])[0]
    index = b.param(node, "index", (node.args["out"],), "index", high=channels)
    b.add("Gather", [x[0], index], y, node.name, axis=1)


BUILDERS = {
    "conv": _conv,
    "fc": _fc,
    "bn": _bn,
    "relu": _unary("Relu"),
    "relu6": _relu6,
    "leaky_relu": _unary("LeakyRelu", alpha=LEAKY_RELU_SLOPE),
    "sigmoid": _unary("Sigmoid"),
    "tanh": _unary("Tanh"),
    "swish": _gated("Sigmoid"),
    "hardsigmoid": _unary("HardSigmoid", **_HARDSIGMOID),
    "hardswish": _hardswish,
    "scale": _scale,
    "maxpool": _pool("MaxPool"),
    "avgpool": _pool("AveragePool"),
    "gap": _unary("GlobalAveragePool"),
    "mean": _mean,
    "add": _add,
    "mul": _unary("Mul"),
    "concat": _unary("Concat", axis=1),
    "split": _split,
    "shuffle": _shuffle,
    "select": _select,
    "flatten": _unary("Flatten", axis=1),
    "dropout": _unary("Dropout"),
    "identity": _unary("Identity"),
}
