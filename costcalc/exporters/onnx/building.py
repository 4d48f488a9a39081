"""The machinery the exporter's builders call: a Builder walks the graph and collects ONNX nodes and
initializers; Weights says where the initializers' values come from."""

from __future__ import annotations

from math import prod

import numpy as np

from costcalc.errors import SpecError


class Weights:
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
            if given.size == prod(shape):
                given = given.reshape(shape)  # a per-channel vector written C x 1 x 1 to broadcast
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


class Builder:
    def __init__(self, graph, opset: int, weights: Weights, builders: dict):
        self.graph = graph
        self.builders = builders
        self.opset = opset
        self.weights = weights
        self.nodes: list = []
        self.initializers: list = []
        self.params: dict = {}  # initializer name -> shape, of the weights made so far
        self.names = {t: name for name, t in graph.inputs.items()}  # {0: "input"}, or the names of several
        for node in graph.nodes:
            for k, t in enumerate(node.outputs):
                self.names[t] = node.name if len(node.outputs) == 1 else f"{node.name}.{k}"

    def run(self):
        from onnx import TensorProto, helper

        for node in self.graph.nodes:
            build = self.builders.get(node.op)
            if build is None:
                raise SpecError(f"layer '{node.name}': op '{node.op}' has no ONNX form in costcalc's exporter "
                                f"(it writes: {', '.join(self.builders)})", node.loc)
            build(self, node, [self.names[t] for t in node.inputs], [self.names[t] for t in node.outputs])
        batch = self.graph.batch
        inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, *self.graph.tensors[t]])
                  for name, t in self.graph.inputs.items()]
        read = {t for node in self.graph.nodes for t in node.inputs}
        ends = [t for node in self.graph.nodes for t in node.outputs if t not in read and t != self.graph.output]
        outputs = [helper.make_tensor_value_info(self.names[t], TensorProto.FLOAT, [batch, *self.graph.tensors[t]])
                   for t in (self.graph.output, *ends)]  # a head no layer reads (an auxiliary loss's) is an output
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
        """A weight initializer `<layer>.<role>`; its name. A layer that shares another's parameters (`shares:`)
        reads that layer's initializer: one initializer read by both nodes, as torch exports a module applied
        twice."""
        from onnx import TensorProto, numpy_helper

        shape = tuple(int(d) for d in shape)
        if node.shares:
            name = f"{node.shares}.{role}"
            if self.params.get(name) != shape:
                self.refuse(node, f"it shares the parameters of '{node.shares}', which has no {role} of shape "
                                  f"{'x'.join(map(str, shape))} in this export")
            return name
        name = f"{node.name}.{role}"
        self.params[name] = shape
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
