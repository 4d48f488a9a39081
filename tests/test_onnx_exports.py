"""What torch's exporters really write (issue 12), each pattern as a small graph built with onnx.helper: shared
initializers through Identity, weights as graph inputs, explicit Pad before a window, Clip in shape arithmetic,
scripted models' sequences and optionals, ONNX Runtime's fused ops. The counts are derived by hand."""

import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper  # noqa: E402
from onnx.external_data_helper import convert_model_to_external_data  # noqa: E402
from onnx_graphs import Net  # noqa: E402

from costcalc.analysis import analyse  # noqa: E402
from costcalc.graph import load  # noqa: E402

# two 3x3 convs 8 -> 8 (pad 1) on 1x8x8x8, one bias each: 2 * (8*8*9 + 8) params, 2 * 64 * 8 * 72 multiply-adds
SHARED_BIAS_PARAMS = 2 * (8 * 8 * 9 + 8)
SHARED_BIAS_FLOPS = 2 * (8 * 8) * 8 * (8 * 9)


def totals(path, **kwargs):
    return analyse(load(str(path), **kwargs)).totals


def shared_bias(tmp_path, where: str):
    """torch's TorchScript exporter deduplicates equal initializers (every zero bias of an untrained model) and
    feeds the copies through Identity nodes: the second conv reads Identity(b)."""
    net = Net((1, 8, 8, 8), "shared_bias")
    b = net.weight((8,))  # all zeros, as an untrained model's biases
    shared = net.node("Identity", [b], "Identity_0", channels=0)
    y = net.node("Conv", ["x", net.weight((8, 8, 3, 3)), b], "/conv1/Conv", 8, kernel_shape=[3, 3], pads=[1] * 4)
    y = net.node("Conv", [y, net.weight((8, 8, 3, 3)), shared], "/conv2/Conv", 8, kernel_shape=[3, 3], pads=[1] * 4)
    model = net.model(y)
    path = tmp_path / f"shared_{where}.onnx"
    if where != "inline":
        convert_model_to_external_data(model, location="weights.bin", size_threshold=0)
    onnx.save_model(model, str(path))
    if where == "external-absent":
        (tmp_path / "weights.bin").unlink()
    return path


@pytest.mark.parametrize("where", ["inline", "external-present", "external-absent"])
def test_identity_of_a_shared_bias(tmp_path, where):
    t = totals(shared_bias(tmp_path, where))
    assert (t.params, t.flops) == (SHARED_BIAS_PARAMS, SHARED_BIAS_FLOPS) == (1_168, 73_728)


def test_an_all_zero_bias_is_a_parameter(tmp_path):
    nodes = load(str(shared_bias(tmp_path, "inline"))).nodes
    assert [n.args["bias"] for n in nodes if n.op == "conv"] == [True, True]


def test_weights_as_graph_inputs(tmp_path):
    """torch.onnx.export(..., export_params=False): every weight is a graph input of fixed shape."""
    net = Net((1, 3, 16, 16), "no_params")
    y = net.relu(net.bn(net.conv("x", 8, 3, pad=1, bias=True)))
    y = net.node("GlobalAveragePool", [y])
    y = net.gemm(net.node("Flatten", [y], axis=1), 10)
    with_params = net.save(y, tmp_path / "with.onnx")
    model = net.model(y)
    weights = [i for i in model.graph.initializer if len(i.dims)]
    model.graph.input.extend(helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in weights)
    kept = [i for i in model.graph.initializer if not len(i.dims)]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    path = tmp_path / "without.onnx"
    onnx.save_model(model, str(path))
    assert len(model.graph.input) == 1 + len(weights)
    t = totals(path)
    assert t == totals(with_params)
    assert t.params == 3 * 9 * 8 + 8 + 2 * 8 + 8 * 10 + 10


def pad_then(tmp_path, op: str, pads: list, **attrs):
    net = Net((1, 8, 16, 16), "pad")
    amounts = net.const(pads)
    y = net.node("Pad", ["x", amounts], "/pad/Pad", mode="constant")
    if op == "Conv":
        y = net.node("Conv", [y, net.weight((16, 8, 3, 3))], "/conv/Conv", 16, kernel_shape=[3, 3], strides=[2, 2],
                     pads=[0] * 4)
    else:
        y = net.node("AveragePool", [y], "/pool/AveragePool", kernel_shape=[2, 2], strides=[2, 2], **attrs)
    return net.save(y, tmp_path / "pad.onnx")


def test_zero_pad_before_average_pool_is_free(tmp_path):
    graph = load(pad_then(tmp_path, "AveragePool", [0] * 8))
    assert [n.op for n in graph.nodes] == ["avgpool"]
    assert graph.tensors[graph.output] == (8, 8, 8)


def test_tf_same_pad_before_a_stride_2_conv(tmp_path, write_spec):
    """timm's tf_ models: Pad [0,0,0,0, 0,0,1,1] then a 3x3 stride-2 conv with pads 0: 16 -> 8, as TF's SAME."""
    path = pad_then(tmp_path, "Conv", [0, 0, 0, 0, 0, 0, 1, 1])
    graph = load(path)
    assert [n.op for n in graph.nodes] == ["conv"]
    assert graph.tensors[graph.output] == (16, 8, 8)
    assert totals(path).flops == 8 * 8 * 16 * 8 * 9
    spec = write_spec("input: [8, 16, 16]\nlayers: [{op: conv, out: 16, k: 3, stride: 2, pad: 1}]\n")
    assert totals(path) == totals(spec)


def test_clip_on_constants_folds(tmp_path):
    """A pad amount computed as Clip(Constant, min=0) -> Cast -> Unsqueeze -> Concat -> Pad (timm's dynamic
    SAME padding) folds like the other constant ops."""
    net = Net((1, 8, 16, 16), "clip")
    amount = net.node("Clip", [net.const(np.array(1, np.int64)), net.const(np.array(0, np.int64))])
    amount = net.node("Unsqueeze", [net.node("Cast", [amount], to=TensorProto.INT64), net.const([0])])
    pads = net.node("Concat", [net.const([0, 0, 0, 0, 0, 0]), amount, amount], axis=0)
    y = net.node("Pad", ["x", pads], "/pad/Pad", mode="constant")
    y = net.node("Conv", [y, net.weight((16, 8, 3, 3))], "/conv/Conv", 16, kernel_shape=[3, 3], strides=[2, 2],
                 pads=[0] * 4)
    path = net.save(y, tmp_path / "clip.onnx")
    assert totals(path).flops == 8 * 8 * 16 * 8 * 9


def test_scripted_sequences_and_an_optional_output(tmp_path, write_spec):
    """torch.jit.script then export: torch.cat of a list is SequenceConstruct + ConcatFromSequence, and an
    Optional with no value feeds an extra graph output."""
    net = Net((1, 8, 8, 8), "scripted")
    a = net.conv("x", 8, 1, name="/a/Conv")
    b = net.conv("x", 16, 1, name="/b/Conv")
    seq = net.node("SequenceConstruct", [a, b], "/cat/SequenceConstruct")
    y = net.node("ConcatFromSequence", [seq], "/cat/ConcatFromSequence", channels=24, axis=1)
    empty = net.node("Optional", [], "/none/Optional", channels=0, type=helper.make_tensor_type_proto(TensorProto.FLOAT, None))
    graph = helper.make_graph(net.nodes, "scripted", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 8, 8])],
                              [helper.make_tensor_value_info(y, TensorProto.FLOAT, None),
                               helper.make_value_info(empty, helper.make_optional_type_proto(
                                   helper.make_tensor_type_proto(TensorProto.FLOAT, None)))], net.inits)
    path = tmp_path / "scripted.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    spec = write_spec("input: [8, 8, 8]\nlayers:\n  - {name: a, op: conv, out: 8, k: 1}\n"
                      "  - {name: b, op: conv, out: 16, k: 1, from: input}\n  - {op: concat, from: [a, b]}\n")
    assert totals(path) == totals(spec)


def test_onnxruntime_fused_ops_are_refused(tmp_path, run):
    net = Net((1, 8, 8, 8), "fused")
    net.nodes.append(helper.make_node("FusedConv", ["x", net.weight((8, 8, 3, 3))], ["y"], name="fused0",
                                      domain="com.microsoft", activation="Relu", pads=[1] * 4))
    graph = helper.make_graph(net.nodes, "fused", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], net.inits)
    path = tmp_path / "fused.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                            helper.make_opsetid("com.microsoft", 1)]), str(path))
    result = run("report", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:1:1: error: node 'fused0' (FusedConv): ")
    assert "com.microsoft" in result.stderr and "as exported" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_large_initializer_is_not_read(tmp_path):
    """The importer never parses a weight's data: the tensor is left out of what protobuf parses."""
    from costcalc.importers.onnx import wire

    net = Net((1, 64, 8, 8), "big")
    y = net.conv("x", 64, 3, pad=1)
    path = net.save(y, tmp_path / "big.onnx")
    data, omitted = wire.model_bytes(str(path))
    assert len(data) < 4096 < os.path.getsize(path)
    assert list(omitted) == [onnx.load(str(path)).graph.initializer[0].name]
    assert totals(path).params == 64 * 64 * 9
    parsed = onnx.ModelProto.FromString(data).graph.initializer[0]
    assert list(parsed.dims) == [64, 64, 3, 3] and not parsed.raw_data


def _with_metadata(node, **props):
    for key, value in props.items():
        entry = node.metadata_props.add()
        entry.key, entry.value = key.replace("__", "."), value
    return node


def test_dynamo_module_paths_from_metadata(tmp_path):
    """The dynamo exporter's node names say nothing (`node_Conv_3`); the module path is in the metadata, as
    name_scopes or namespace; a conv the optimiser folded a batchnorm into has the batchnorm's scope, and its
    weight's name gives the conv's path."""
    net = Net((1, 8, 8, 8), "dynamo")
    w = "layer1.0.conv1.weight"
    net.inits.append(onnx.numpy_helper.from_array(np.zeros((8, 8, 3, 3), np.float32), w))
    b = net.weight((8,))
    conv = _with_metadata(helper.make_node("Conv", ["x", w, b], ["c"], name="node_Conv_3", pads=[1] * 4),
                          pkg__torch__onnx__name_scopes="['', 'layer1', 'layer1.0', 'layer1.0.bn1', '_native_batch_norm_1']")
    relu = _with_metadata(helper.make_node("Relu", ["c"], ["r"], name="node_relu_7"),
                          namespace=": m.ResNet/layer1: nn.Sequential/layer1.0: m.BasicBlock/layer1.0.relu: nn.ReLU/"
                                    "relu_7: aten.relu.default")
    add = _with_metadata(helper.make_node("Add", ["r", "x"], ["y"], name="node_add_2"),
                         pkg__torch__onnx__name_scopes="['', 'layer1', 'layer1.0', 'add_2']")
    graph = helper.make_graph([conv, relu, add], "dynamo",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], net.inits)
    path = tmp_path / "dynamo.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    graph = load(str(path))
    assert [n.name for n in graph.nodes] == ["layer1.0.conv1", "layer1.0.relu", "layer1.0.add"]
    assert "batchnorm folded into 1 convs" in graph.name
