"""Small ONNX graphs built with onnx.helper, for the importer's tests: no framework, no downloads.

`Net` writes nodes the way torch's exporter does (a Conv with its weight initializer, BatchNormalization with
four initializers, Gemm with transB=1, ...); it tracks channel counts only, so the ONNX graph itself carries no
shapes but the input's, as an exported model without shape inference.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Net:
    def __init__(self, shape=(1, 3, 32, 32), name="net", input_dims=None):
        self.shape = shape
        self.name = name
        self.input_dims = input_dims or list(shape)
        self.nodes = []
        self.inits = []
        self.channels = {"x": shape[1]}
        self.count = 0

    def _name(self, op, name):
        self.count += 1
        return name or f"/{op.lower()}{self.count}/{op}"

    def tensor(self, prefix="t"):
        self.count += 1
        return f"{prefix}{self.count}"

    def weight(self, shape, dtype=np.float32, value=None):
        name = self.tensor("w")
        array = np.zeros(shape, dtype) if value is None else np.asarray(value, dtype)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, name=None, channels=None, outputs=1, **attrs):
        outs = [self.tensor() for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self._name(op, name), **attrs))
        for o in outs:
            self.channels[o] = channels if channels is not None else self.channels.get(inputs[0])
        return outs[0] if outputs == 1 else outs

    def conv(self, x, out, k, stride=1, pad=0, groups=1, bias=False, name=None, **attrs):
        c = self.channels[x]
        inputs = [x, self.weight((out, c // groups, k, k))] + ([self.weight((out,))] if bias else [])
        if "auto_pad" not in attrs:
            attrs["pads"] = [pad] * 4
        return self.node("Conv", inputs, name, out, kernel_shape=[k, k], strides=[stride, stride], group=groups,
                         **attrs)

    def bn(self, x, name=None):
        c = self.channels[x]
        stats = [self.weight((c,)) for _ in range(4)]
        return self.node("BatchNormalization", [x, *stats], name, epsilon=1e-5)

    def relu(self, x, name=None):
        return self.node("Relu", [x], name)

    def relu6(self, x, name=None):
        low, high = self.weight((), value=0.0), self.weight((), value=6.0)
        return self.node("Clip", [x, low, high], name)

    def gemm(self, x, out, name=None):
        c = self.channels[x]
        return self.node("Gemm", [x, self.weight((out, c)), self.weight((out,))], name, out, transB=1)

    def const(self, values, dtype=np.int64):
        return self.weight(np.shape(values), dtype, values)

    def torch_flatten(self, x, features, name=None):
        """x.view(x.size(0), -1) as torch's exporter writes it: Shape, Gather, Unsqueeze, Concat, Reshape."""
        shape = self.node("Shape", [x], channels=0)
        n = self.node("Gather", [shape, self.const(0)], axis=0, channels=0)
        n1 = self.node("Unsqueeze", [n, self.const([0])], channels=0)
        target = self.node("Concat", [n1, self.const([-1])], axis=0, channels=0)
        return self.node("Reshape", [x, target], name, features)

    def model(self, output, opset=17, check=True):
        """The model, its output's shape filled in by onnx's own shape inference (an independent check of the
        shapes costcalc infers), validated by onnx's checker (`check`: False for an op type ONNX does not have)."""
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.input_dims)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
            self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tests")
        if check:
            inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
            model.graph.output[0].CopyFrom(inferred.graph.output[0])
            onnx.checker.check_model(model)
        return model

    def save(self, output, path, **kwargs):
        onnx.save(self.model(output, **kwargs), str(path))
        return str(path)


def channel_shuffle(net: Net, x: str, groups: int, torch_style: bool = True, name: str = "shuffle", hw=None):
    """Reshape (N, g, C/g, H, W), Transpose (0, 2, 1, 3, 4), Reshape (N, C, H, W); with `torch_style` the target
    shapes are computed from Shape/Gather/Div as torch's exporter emits them for x.size()."""
    c = net.channels[x]
    if torch_style:
        shape = net.node("Shape", [x], channels=0)
        dims = [net.node("Unsqueeze", [net.node("Gather", [shape, net.const(i)], axis=0), net.const([0])])
                for i in range(4)]
        per_group = net.node("Unsqueeze", [net.node("Div", [net.node("Gather", [shape, net.const(1)], axis=0),
                                                            net.const(groups)]), net.const([0])])
        grouped = net.node("Concat", [dims[0], net.const([groups]), per_group, dims[2], dims[3]], axis=0)
        back = net.node("Concat", [dims[0], net.const([-1]), dims[2], dims[3]], axis=0)
    else:
        n, (h, w) = net.shape[0], hw
        grouped, back = net.const([n, groups, c // groups, h, w]), net.const([n, c, h, w])
    y = net.node("Reshape", [x, grouped], f"/{name}/Reshape", c)
    y = net.node("Transpose", [y], f"/{name}/Transpose", c, perm=[0, 2, 1, 3, 4])
    return net.node("Reshape", [y, back], f"/{name}/Reshape_1", c)
