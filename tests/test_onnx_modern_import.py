"""Importing the modern ops' ONNX forms: real torch exports of small modules (scripts/make_onnx_modern_fixtures.py,
torch's own parameter counts and multiply-adds), and graphs built by hand with closed forms derived here."""

import json
import math
import os

import numpy as np
import pytest

pytest.importorskip("onnx")

from costcalc.analysis import analyse  # noqa: E402
from costcalc.graph import load  # noqa: E402
from tests.onnx_graphs import Net  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "onnx", "modern")
with open(os.path.join(FIXTURES, "expected.json")) as f:
    EXPECTED = json.load(f)
# the ops each module's layers are, in order (the modules' docstrings in the script)
OPS = {
    "activations": ["conv", "gelu", "conv", "gelu", "mish", "hardtanh", "softmax"],
    "norms": ["conv", "groupnorm", "layernorm", "conv", "layernorm", "conv", "gelu", "conv", "layer_scale", "add",
              "groupnorm"],
    "resampling": ["conv", "conv_transpose", "resize", "resize", "pad", "select", "slice", "gap", "flatten", "fc"],
}
# The dynamo exporter writes a GroupNorm without affine parameters with its constant ones and zeros (8 x 1 x 1) as
# initializers, as it writes an affine one's learned gamma and beta (reshaped): the files differ only in the values,
# which costcalc never reads, so it counts 2 x 8 parameters torch does not.
EXTRA_PARAMS = {"norms_dyn18": 2 * 8}


def _path(key: str) -> str:
    return os.path.join(FIXTURES, key + ".onnx")


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_params_and_flops_are_torchs(key):
    e = EXPECTED[key]
    graph = load(_path(key))
    totals = analyse(graph).totals
    assert (totals.params, totals.flops) == (e["params"] + EXTRA_PARAMS.get(key, 0), e["flops"])
    ops = [n.op for n in graph.nodes]
    assert ops == [("mean" if op == "gap" and e["style"].startswith("dyn") else op) for op in OPS[e["module"]]]


@pytest.mark.parametrize("key", sorted(k for k in EXPECTED if EXPECTED[k]["module"] == "activations"))
def test_gelu_forms_and_their_costs(key):
    """GELU's tanh form costs 9 per element, the erf form 5 (costcalc.ops.activation), whichever way the file
    writes them: the formula (opset 17, both exporters) or the Gelu node (opset 20)."""
    nodes = load(_path(key)).nodes
    gelus = [n for n in nodes if n.op == "gelu"]
    assert [n.args.get("approximate", "none") for n in gelus] == ["tanh", "none"]
    elements = 8 * 16 * 16
    assert [n.counts.elementwise_flops for n in gelus] == [9 * elements, 5 * elements]


@pytest.mark.parametrize("key", sorted(k for k in EXPECTED if EXPECTED[k]["module"] == "norms"))
def test_cnblock_stochastic_depth_and_dropout_are_free(key):
    """torchvision's CNBlock at inference: its stochastic depth and the Dropout leave no node or a free one; the
    Linear layers on the permuted tensor are 1x1 convs with bias, the layer scale C parameters."""
    nodes = load(_path(key)).nodes
    assert all(n.counts.memory_access == 0 for n in nodes if n.op in ("dropout", "identity"))
    scale = next(n for n in nodes if n.op == "layer_scale")
    assert (scale.counts.params, scale.counts.elementwise_flops) == (8, 8 * 16 * 16)
    linear = [n for n in nodes if n.op == "conv" and n.args["k"] == (1, 1)]
    assert [n.counts.params for n in linear] == [8 * 32 + 32, 32 * 8 + 8]


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_the_imported_spec_gives_the_same_counts(key, tmp_path):
    from costcalc.importers.onnx import to_yaml

    path = tmp_path / "imported.yaml"
    path.write_text(to_yaml(_path(key)))
    assert [n.counts for n in load(str(path)).nodes] == [n.counts for n in load(_path(key)).nodes]


# ---- hand-built graphs -------------------------------------------------------------------------------------


def _const(net, value):
    return net.weight((), value=value)


def _gelu_torch(net, x):
    """torch's TorchScript form: x / sqrt 2, Erf, + 1, x * that, * 0.5."""
    t = net.node("Erf", [net.node("Div", [x, _const(net, math.sqrt(2))], "/gelu/Div")], "/gelu/Erf")
    t = net.node("Mul", [x, net.node("Add", [t, _const(net, 1.0)], "/gelu/Add")], "/gelu/Mul")
    return net.node("Mul", [t, _const(net, 0.5)], "/gelu/Mul_1")


def _gelu_scaled_first(net, x):
    """x * (1 / sqrt 2) instead of the Div, 0.5 multiplied in before x."""
    t = net.node("Erf", [net.node("Mul", [_const(net, 1 / math.sqrt(2)), x], "/gelu/Mul")], "/gelu/Erf")
    t = net.node("Mul", [_const(net, 0.5), net.node("Add", [_const(net, 1.0), t], "/gelu/Add")], "/gelu/Mul_1")
    return net.node("Mul", [x, t], "/gelu/Mul_2")


def _gelu_tanh_pow(net, x):
    """The dynamo exporter's tanh form: Pow(x, 3)."""
    cube = net.node("Mul", [net.node("Pow", [x, _const(net, 3.0)], "/gelu/Pow"), _const(net, 0.044715)], "/gelu/M")
    inner = net.node("Mul", [net.node("Add", [x, cube], "/gelu/Add"), _const(net, math.sqrt(2 / math.pi))], "/gelu/K")
    t = net.node("Add", [net.node("Tanh", [inner], "/gelu/Tanh"), _const(net, 1.0)], "/gelu/Add_1")
    return net.node("Mul", [x, net.node("Mul", [t, _const(net, 0.5)], "/gelu/Half")], "/gelu/Mul")


@pytest.mark.parametrize("form, per_element", [(_gelu_torch, 5), (_gelu_scaled_first, 5), (_gelu_tanh_pow, 9)])
def test_gelu_formula_forms(form, per_element, tmp_path):
    net = Net((1, 4, 6, 6), "gelu")
    y = form(net, net.conv("x", 4, 1))
    graph = load(net.save(net.relu(y), tmp_path / "gelu.onnx"))
    assert [n.op for n in graph.nodes] == ["conv", "gelu", "relu"]
    assert graph.nodes[1].counts.elementwise_flops == per_element * 4 * 6 * 6
    assert graph.nodes[1].name == "gelu"  # the module path of its nodes, /gelu/


def _convnext_block(net, x, c):
    """torchvision's CNBlock as the TorchScript exporter writes it, on an N x C x H x W tensor x."""
    y = net.conv(x, c, 7, pad=3, groups=c, bias=True, name="/block/block.0/Conv")
    y = net.node("Transpose", [y], "/block/block.1/Transpose", perm=[0, 2, 3, 1])
    y = net.node("LayerNormalization", [y, net.weight((c,)), net.weight((c,))], "/block/block.2/LayerNormalization",
                 axis=-1, epsilon=1e-6)
    y = net.node("MatMul", [y, net.weight((c, 4 * c))], "/block/block.3/MatMul")
    y = net.node("Add", [net.weight((4 * c,)), y], "/block/block.3/Add")
    y = _gelu_torch(net, y)
    y = net.node("MatMul", [y, net.weight((4 * c, c))], "/block/block.5/MatMul")
    y = net.node("Add", [net.weight((c,)), y], "/block/block.5/Add")
    y = net.node("Transpose", [y], "/block/block.6/Transpose", perm=[0, 3, 1, 2])
    y = net.node("Mul", [net.weight((c, 1, 1)), y], "/Mul")
    return net.node("Add", [y, x], "/Add")


def test_a_convnext_block_by_closed_forms(tmp_path):
    """C = 8 at 6 x 6 (P = 36 positions): the depthwise 7x7 conv has 8 * 49 + 8 parameters and P * 8 * 49
    multiply-adds; the LayerNorm 2 * 8 parameters and 7 per element (5 + 2 affine); each Linear C_in * C_out +
    C_out parameters and P * C_in * C_out multiply-adds; GELU 5 per element of the 4C wide tensor; the layer scale
    8 parameters, the residual add 1 per element. The Transposes are views: no layer."""
    c, p = 8, 36
    net = Net((1, c, 6, 6), "cnblock")
    graph = load(net.save(_convnext_block(net, "x", c), tmp_path / "block.onnx"))
    assert [n.op for n in graph.nodes] == ["conv", "layernorm", "conv", "gelu", "conv", "layer_scale", "add"]
    totals = analyse(graph).totals
    assert totals.params == (c * 49 + c) + 2 * c + (c * 4 * c + 4 * c) + (4 * c * c + c) + c
    assert totals.flops == p * c * 49 + p * c * 4 * c + p * 4 * c * c
    assert totals.elementwise_flops == (p * c + 7 * p * c + p * 4 * c + 5 * p * 4 * c + p * c + p * c + p * c)
    assert graph.nodes[1].args["layout"] == "channels_last"


def _unchecked(net, build, tmp_path) -> str:
    """A model whose output shape onnx's checker cannot infer from an N x C x H x W declaration: written as is."""
    import onnx
    from onnx import TensorProto, helper

    out = build(net)
    graph = helper.make_graph(net.nodes, net.name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, net.shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], net.inits)
    path = str(tmp_path / "last.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_select_costs_by_the_index_length(tmp_path):
    """Gather of 5 of 4 channels (repeats allowed) at 8 x 8: no arithmetic, reads 4 * 64, writes 5 * 64."""
    net = Net((1, 4, 8, 8), "select")
    y = net.node("Gather", ["x", net.const(np.array([3, 0, 1, 1, 2]))], "/s/Gather", axis=1)
    graph = load(net.save(y, tmp_path / "select.onnx"))
    (node,) = [n for n in graph.nodes if n.op == "select"]
    assert (node.counts.params, node.counts.memory_access) == (0, 4 * 64 + 5 * 64)


def test_formula_search_is_bounded(tmp_path):
    """A tensor read by 1,000 element-wise nodes: the formula search looks at a bounded number of them (each is
    then a `scale` layer of its own), in bounded time."""
    import time

    net = Net((1, 4, 6, 6), "wide")
    y = net.conv("x", 4, 1)
    outs = [net.node("Mul", [y, _const(net, float(k))], f"/m{k}/Mul") for k in range(1000)]
    path = net.save(net.node("Sum", outs, "/sum/Sum"), tmp_path / "wide.onnx")
    start = time.perf_counter()
    graph = load(path)
    assert time.perf_counter() - start < 30
    assert [n.op for n in graph.nodes].count("scale") == 1000
