"""The ONNX importer: graphs built with onnx.helper give exactly the counts of the same networks written as specs,
and of hand-derived closed forms; patterns (channel shuffle, swish, MatMul + bias, chunk as Slices, torch's
Shape/Gather arithmetic, auto_pad) are recognised; what costcalc cannot cost is a located error."""

import json
from collections import Counter
from math import prod

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx_graphs import Net, channel_shuffle  # noqa: E402

from costcalc.analysis import analyse  # noqa: E402
from costcalc.errors import SpecError  # noqa: E402
from costcalc.graph import load  # noqa: E402


def totals(path, **kwargs):
    return analyse(load(str(path), **kwargs)).totals


def layer_counts(path):
    """The multiset of (op, counts) of a graph's layers: the same network whatever its layers are named."""
    return Counter((node.op, node.counts) for node in load(str(path)).nodes)


def same_network(onnx_path, spec_path):
    assert totals(onnx_path) == totals(spec_path)
    graph = load(str(onnx_path))
    declared = onnx.load(str(onnx_path)).graph.output[0].type.tensor_type.shape.dim
    shape = (graph.batch, *graph.tensors[graph.output])
    assert len(shape) == len(declared)
    for got, dim in zip(shape, declared):  # the output shape onnx's own shape inference found, where it found one
        assert got == dim.dim_value or not dim.HasField("dim_value")
    assert layer_counts(onnx_path) == layer_counts(spec_path)


# ---- the five networks -------------------------------------------------------------------------------------


def residual_block(tmp_path):
    """ResNet basic block with a projection shortcut, then a classifier head, as torch exports it."""
    net = Net((1, 64, 56, 56), "residual")
    y = net.relu(net.bn(net.conv("x", 128, 3, stride=2, pad=1, name="/layer/conv1/Conv")))
    y = net.bn(net.conv(y, 128, 3, pad=1, name="/layer/conv2/Conv"))
    shortcut = net.bn(net.conv("x", 128, 1, stride=2, name="/layer/downsample/Conv"))
    y = net.relu(net.node("Add", [y, shortcut], "/layer/Add"))
    y = net.node("GlobalAveragePool", [y])
    y = net.torch_flatten(y, 128)
    return net.save(net.gemm(y, 10, "/fc/Gemm"), tmp_path / "residual.onnx")


RESIDUAL_SPEC = """
name: residual
input: [64, 56, 56]
layers:
  - {name: conv1, op: conv, out: 128, k: 3, stride: 2, pad: 1}
  - bn
  - relu
  - {name: conv2, op: conv, out: 128, k: 3, pad: 1}
  - {name: bn2, op: bn}
  - name: downsample
    from: input
    layers: [{op: conv, out: 128, k: 1, stride: 2}, bn]
  - {name: add, op: add, from: [bn2, downsample]}
  - relu
  - gap
  - flatten
  - {op: fc, out: 10}
"""


def test_residual_block(tmp_path, write_spec):
    path = residual_block(tmp_path)
    same_network(path, write_spec(RESIDUAL_SPEC))
    t = totals(path)
    hw = 28 * 28
    assert t.flops == hw * 128 * 9 * 64 + hw * 128 * 9 * 128 + hw * 128 * 64 + 128 * 10
    assert t.params == 9 * 64 * 128 + 9 * 128 * 128 + 64 * 128 + 3 * 2 * 128 + 128 * 10 + 10


def test_params_are_the_initializers_without_running_statistics(tmp_path):
    path = residual_block(tmp_path)
    model = onnx.load(path)
    sizes = {i.name: prod(i.dims) for i in model.graph.initializer}
    stats = {n.input[k] for n in model.graph.node if n.op_type == "BatchNormalization" for k in (3, 4)}
    shape_constants = {n.input[k] for n in model.graph.node if n.op_type in ("Gather", "Unsqueeze", "Concat")
                       for k in range(1, len(n.input))}
    expected = sum(size for name, size in sizes.items() if name not in stats | shape_constants)
    assert totals(path).params == expected
    assert sum(sizes[s] for s in stats) == 2 * 3 * 128  # the running statistics exist, and are left out


def grouped_conv(tmp_path):
    """A ResNeXt bottleneck (32 groups, the grouped conv with a bias) around an identity shortcut."""
    net = Net((1, 256, 14, 14), "grouped")
    y = net.relu(net.bn(net.conv("x", 128, 1)))
    y = net.relu(net.bn(net.conv(y, 128, 3, pad=1, groups=32, bias=True, name="/grouped/Conv")))
    y = net.bn(net.conv(y, 256, 1))
    return net.save(net.relu(net.node("Add", [y, "x"])), tmp_path / "grouped.onnx")


GROUPED_SPEC = """
input: [256, 14, 14]
layers:
  - {op: conv, out: 128, k: 1}
  - bn
  - relu
  - {op: conv, out: 128, k: 3, pad: 1, groups: 32, bias: true}
  - bn
  - relu
  - {op: conv, out: 256, k: 1}
  - {name: bn3, op: bn}
  - {op: add, from: [bn3, input]}
  - relu
"""


def test_grouped_conv(tmp_path, write_spec):
    path = grouped_conv(tmp_path)
    same_network(path, write_spec(GROUPED_SPEC))
    grouped = next(n for n in load(path).nodes if n.name == "grouped")
    assert grouped.args["groups"] == 32 and grouped.args["bias"] is True
    assert grouped.counts.flops == 14 * 14 * 128 * 9 * (128 // 32)
    assert grouped.counts.params == 9 * (128 // 32) * 128 + 128


def shufflenet_units(tmp_path, torch_style=True):
    """ShuffleNet V2: a downsampling unit (24 -> 116 channels), then two basic units, one splitting with Split
    and one with two channel Slices (torch's chunk); each ends in a Reshape-Transpose-Reshape shuffle."""
    net = Net((1, 24, 56, 56), "shufflenet_units")
    b1 = net.bn(net.conv("x", 24, 3, stride=2, pad=1, groups=24))
    b1 = net.relu(net.bn(net.conv(b1, 58, 1)))
    b2 = net.relu(net.bn(net.conv("x", 58, 1)))
    b2 = net.bn(net.conv(b2, 58, 3, stride=2, pad=1, groups=58))
    b2 = net.relu(net.bn(net.conv(b2, 58, 1)))
    y = channel_shuffle(net, net.node("Concat", [b1, b2], axis=1, channels=116), 2, torch_style, "shuffle0", (28, 28))

    def branch(x):
        x = net.relu(net.bn(net.conv(x, 58, 1)))
        x = net.bn(net.conv(x, 58, 3, pad=1, groups=58))
        return net.relu(net.bn(net.conv(x, 58, 1)))

    left, right = net.node("Split", [y, net.const([58, 58])], "/unit1/Split", 58, outputs=2, axis=1)
    y = channel_shuffle(net, net.node("Concat", [left, branch(right)], axis=1, channels=116), 2, torch_style,
                        "shuffle1", (28, 28))
    if torch_style:  # torch's chunk: the second Slice's end is computed after the first Slice, as torch emits it
        half = net.node("Div", [net.node("Add", [net.node("Gather", [net.node("Shape", [y]), net.const([1])], axis=0),
                                                 net.const([1])]), net.const([2])])
        left = net.node("Slice", [y, net.const([0]), net.node("Mul", [half, net.const([1])]), net.const([1])],
                        "/unit2/Slice", 58)
        right = net.node("Slice", [y, net.node("Mul", [half, net.const([1])]), net.node("Mul", [half, net.const([2])]),
                                   net.const([1])], "/unit2/Slice_1", 58)
    else:
        left = net.node("Slice", [y, net.const([0]), net.const([58]), net.const([1])], "/unit2/Slice", 58)
        right = net.node("Slice", [y, net.const([58]), net.const([2**62]), net.const([1])], "/unit2/Slice_1", 58)
    y = channel_shuffle(net, net.node("Concat", [left, branch(right)], axis=1, channels=116), 2, torch_style,
                        "shuffle2", (28, 28))
    return net.save(y, tmp_path / "shufflenet_units.onnx")


SHUFFLENET_SPEC = """
input: [24, 56, 56]
blocks:
  down_unit:                            # torchvision's layout, as specs/shufflenet_v2_x1_0.yaml
    args: {out_channels: ~}
    layers:
      - name: branch1
        from: input
        layers:
          - {op: conv, out: in_channels, k: 3, stride: 2, pad: 1, groups: in_channels}
          - bn
          - {op: conv, out: out_channels // 2, k: 1}
          - bn
          - relu
      - name: branch2
        from: input
        layers:
          - {op: conv, out: out_channels // 2, k: 1}
          - bn
          - relu
          - {op: conv, out: out_channels // 2, k: 3, stride: 2, pad: 1, groups: out_channels // 2}
          - bn
          - {op: conv, out: out_channels // 2, k: 1}
          - bn
          - relu
      - {name: concat, op: concat, from: [branch1, branch2]}
      - {name: shuffle, op: shuffle, groups: 2}
  basic_unit:
    layers:
      - {name: split, op: split, parts: 2}
      - name: branch2
        from: split.1
        layers:
          - {op: conv, out: in_channels, k: 1}
          - bn
          - relu
          - {op: conv, out: in_channels, k: 3, pad: 1, groups: in_channels}
          - bn
          - {op: conv, out: in_channels, k: 1}
          - bn
          - relu
      - {name: concat, op: concat, from: [split.0, branch2]}
      - {name: shuffle, op: shuffle, groups: 2}
layers:
  - {name: down, block: down_unit, args: {out_channels: 116}}
  - {name: units, block: basic_unit, repeat: 2}
"""


@pytest.mark.parametrize("torch_style", [True, False], ids=["shape-arithmetic", "constant-shapes"])
def test_shufflenet_v2_units(tmp_path, write_spec, torch_style):
    path = shufflenet_units(tmp_path, torch_style)
    same_network(path, write_spec(SHUFFLENET_SPEC))
    ops = Counter(node.op for node in load(path).nodes)
    assert ops["shuffle"] == 3 and ops["split"] == 2
    assert not {"reshape", "transpose"} & set(ops)
    basic_unit_flops = 2 * 28 * 28 * 58 * 58 + 28 * 28 * 58 * 9
    down_flops = 28 * 28 * 24 * 9 + 28 * 28 * 24 * 58 + 56 * 56 * 24 * 58 + 28 * 28 * 58 * 9 + 28 * 28 * 58 * 58
    assert totals(path).flops == down_flops + 2 * basic_unit_flops


def depthwise_separable(tmp_path):
    """MobileNet's depthwise-separable block with relu6 as Clip(0, 6), the stride-2 depthwise conv padded with
    auto_pad SAME_UPPER (0 before, 1 after), then a ceil-mode max pool (GoogLeNet's) and an average pool."""
    net = Net((1, 32, 112, 112), "depthwise_separable")
    y = net.relu6(net.bn(net.conv("x", 32, 3, stride=2, groups=32, auto_pad="SAME_UPPER")))
    y = net.relu6(net.bn(net.conv(y, 64, 1)))
    y = net.node("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    y = net.node("AveragePool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])
    return net.save(y, tmp_path / "dws.onnx")


DWS_SPEC = """
input: [32, 112, 112]
layers:
  - {op: conv, out: 32, k: 3, stride: 2, pad: 1, groups: 32}
  - bn
  - relu6
  - {op: conv, out: 64, k: 1}
  - bn
  - relu6
  - {op: maxpool, k: 3, stride: 2, ceil_mode: true}
  - {op: avgpool, k: 3, stride: 2, pad: 1}     # ONNX's 0 before, 1 after: the same 14 x 14 output
"""


def test_depthwise_separable_block(tmp_path, write_spec):
    path = depthwise_separable(tmp_path)
    same_network(path, write_spec(DWS_SPEC))
    graph = load(path)
    shapes = [graph.tensors[n.outputs[0]] for n in graph.nodes]
    # SAME_UPPER: ceil(112 / 2) = 56; ceil-mode pool: ceil((56 - 3) / 2) + 1 = 28; (28 + 0 + 1 - 3) // 2 + 1 = 14
    assert shapes[0] == (32, 56, 56) and shapes[-2] == (64, 28, 28) and shapes[-1] == (64, 14, 14)
    assert totals(path).flops == 56 * 56 * 32 * 9 + 56 * 56 * 64 * 32


def se_block(tmp_path, opset=17):
    """A squeeze-and-excitation block (ReduceMean, two 1x1 convs with bias, Sigmoid, Mul broadcasting over H and
    W), then swish written as x * Sigmoid(x) as exporters write SiLU."""
    net = Net((1, 64, 28, 28), "se")
    if opset >= 18:
        squeeze = net.node("ReduceMean", ["x", net.const([2, 3])], keepdims=1)
    else:
        squeeze = net.node("ReduceMean", ["x"], axes=[2, 3], keepdims=1)
    s = net.relu(net.conv(squeeze, 16, 1, bias=True))
    s = net.node("Sigmoid", [net.conv(s, 64, 1, bias=True)])
    y = net.node("Mul", ["x", s], "/se/Mul")
    y = net.node("Mul", [y, net.node("Sigmoid", [y], "/act/Sigmoid")], "/act/Mul")
    return net.save(y, tmp_path / "se.onnx", opset=opset)


SE_SPEC = """
input: [64, 28, 28]
layers:
  - mean
  - {op: conv, out: 16, k: 1, bias: true}
  - relu
  - {op: conv, out: 64, k: 1, bias: true}
  - {name: gate, op: sigmoid}
  - {op: mul, from: [input, gate]}
  - swish
"""


@pytest.mark.parametrize("opset", [17, 18])
def test_se_block(tmp_path, write_spec, opset):
    path = se_block(tmp_path, opset)
    same_network(path, write_spec(SE_SPEC))
    assert totals(path).params == 64 * 16 + 16 + 16 * 64 + 64


def shufflenet_unit_dynamo_style(tmp_path):
    """A ShuffleNet V2 basic unit as torch's dynamo exporter writes it unoptimised: chunk as SplitToSequence +
    SequenceAt, convs without bias given a zero bias computed by Shape/Expand/CastLike, .contiguous() as an
    Identity inside the shuffle."""
    net = Net((1, 116, 28, 28), "dynamo_unit")

    def conv(x, out, k, pad=0, groups=1):
        zero = net.node("CastLike", [net.const(0.0, np.float32), x])
        w = net.weight((out, net.channels[x] // groups, k, k))
        bias = net.node("Expand", [zero, net.node("Shape", [w], start=0, end=1)])
        return net.node("Conv", [x, w, bias], None, out, kernel_shape=[k, k], pads=[pad] * 4, group=groups)

    parts = net.node("SplitToSequence", ["x", net.const(58)], "/unit/split", axis=1, keepdims=1)
    left = net.node("SequenceAt", [parts, net.const(0)], channels=58)
    right = net.node("SequenceAt", [parts, net.const(1)], channels=58)
    b = net.relu(net.bn(conv(right, 58, 1)))
    b = net.bn(conv(b, 58, 3, pad=1, groups=58))
    b = net.relu(net.bn(conv(b, 58, 1)))
    y = net.node("Concat", [left, b], axis=1, channels=116)
    y = net.node("Reshape", [y, net.const([1, 2, 58, 28, 28])], "/shuffle/view", 116)
    y = net.node("Identity", [net.node("Transpose", [y], perm=[0, 2, 1, 3, 4])], "/shuffle/clone")
    y = net.node("Reshape", [y, net.const([1, 116, 28, 28])], "/shuffle/view_1", 116)
    return net.save(y, tmp_path / "dynamo_unit.onnx", opset=18)


def test_dynamo_style_unit(tmp_path, write_spec):
    spec = SHUFFLENET_SPEC.replace("input: [24, 56, 56]", "input: [116, 28, 28]").split("layers:\n  - {name: down")[0]
    same_network(shufflenet_unit_dynamo_style(tmp_path), write_spec(spec + "layers: [{block: basic_unit}]\n"))
    assert not any(node.args.get("bias") for node in load(str(tmp_path / "dynamo_unit.onnx")).nodes)


def test_torch_scope_names_are_shortened():
    from costcalc.importers.onnx.naming import node_name

    assert node_name("/features/features.2/branch1/branch1.0/branch1.0.0/Conv") == "features_2_branch1_0_0_Conv"
    assert node_name("/layer1/layer1.0/Add") == "layer1_0_Add"
    assert node_name("node_conv2d") == "node_conv2d"
    assert node_name("1/weird name:0") == "n1_weird_name_0"
    assert node_name("true") == "true_"


NETWORKS = {"residual": residual_block, "grouped": grouped_conv, "shufflenet": shufflenet_units,
            "depthwise_separable": depthwise_separable, "se": se_block}


# ---- `costcalc import` and the CLI ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
def test_import_writes_a_spec_with_the_same_totals(tmp_path, run, name):
    path = NETWORKS[name](tmp_path)
    out = tmp_path / "imported.yaml"
    result = run("import", path, "-o", out)
    assert result.exit_code == 0, result.output
    assert totals(out) == totals(path)
    assert [n.counts for n in load(str(out)).nodes] == [n.counts for n in load(path).nodes]
    text = out.read_text()
    assert "op: conv" in text and "# " in text


def test_imported_spec_reads_like_a_spec(tmp_path, run):
    result = run("import", residual_block(tmp_path))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "input: [64, 56, 56]" in lines
    assert any(line.startswith("  - {name: layer_conv1, op: conv, out: 128, k: 3, stride: 2, pad: 1}")
               for line in lines)
    assert any(line.startswith("  - {name: layer_add, from: [batchnormalization20, batchnormalization29], op: add}")
               for line in lines)


def test_report_json_on_onnx(tmp_path, run, write_spec):
    path = residual_block(tmp_path)
    result = run("report", path, "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    spec = json.loads(run("report", write_spec(RESIDUAL_SPEC), "--format", "json").stdout)
    assert doc["totals"] == spec["totals"]
    assert doc["input"] == [1, 64, 56, 56]


def test_batch_and_input_options(tmp_path, run):
    path = residual_block(tmp_path)
    one, eight = totals(path), totals(path, batch=8)
    assert eight.flops == 8 * one.flops and eight.params == one.params
    small = totals(path, input_shape=(64, 28, 28))
    assert small.flops == 14 * 14 * 128 * 9 * (64 + 128) + 14 * 14 * 128 * 64 + 1280


def test_symbolic_input_needs_input_option(tmp_path, run):
    net = Net((1, 3, 32, 32), "dynamic", input_dims=["N", 3, "H", "W"])
    path = net.save(net.relu(net.conv("x", 8, 3, pad=1)), tmp_path / "dynamic.onnx")
    result = run("report", path)
    assert result.exit_code == 2
    assert "dynamic.onnx:1:1: error: input 'x' has shape N x 3 x H x W" in result.stderr
    assert "--input" in result.stderr
    result = run("report", path, "--input", "3x32x32", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["flops"] == 32 * 32 * 8 * 27


def test_weights_in_an_absent_external_file(tmp_path):
    model = onnx.load(residual_block(tmp_path))
    path = tmp_path / "external.onnx"
    from onnx.external_data_helper import convert_model_to_external_data

    convert_model_to_external_data(model, location="weights.bin", size_threshold=1024)  # small shapes stay inline
    onnx.save_model(model, str(path))
    assert (tmp_path / "weights.bin").stat().st_size > 4 * 64 * 128 * 9
    (tmp_path / "weights.bin").unlink()  # absent: costcalc needs only the shapes, kept in the .onnx
    assert totals(path) == totals(tmp_path / "residual.onnx")


def test_matmul_and_bias_add_are_one_fc(tmp_path, write_spec):
    net = Net((1, 64), "mlp")
    w, b = net.weight((64, 10)), net.weight((10,))
    y = net.node("Add", [net.node("MatMul", ["x", w], "/fc/MatMul", 10), b], "/fc/Add")
    path = net.save(y, tmp_path / "mlp.onnx")
    (node,) = load(path).nodes
    assert (node.op, node.args["bias"], node.counts.flops, node.counts.params) == ("fc", True, 640, 650)
    same_network(path, write_spec("input: [64]\nlayers: [{op: fc, out: 10}]\n"))


# ---- errors --------------------------------------------------------------------------------------------------


def test_unknown_op_is_a_located_error(tmp_path, run):
    net = Net((1, 3, 8, 8), "unknown")
    y = net.conv("x", 4, 3, pad=1)
    path = net.save(net.node("NoSuchOp", [y], "/act/NoSuchOp"), tmp_path / "unknown.onnx", check=False)
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:2:1: error: node '/act/NoSuchOp' (NoSuchOp): op type 'NoSuchOp' is not "
                                    "one costcalc")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("low, high, op, args", [
    (None, 1.0, "minimum", {"value": 1.0}),  # torch.clamp_max
    (1e-12, None, "maximum", {"value": 1e-12}),  # torch.clamp_min: F.normalize's denominator
    (2.0, 1.0, "minimum", {"value": 1.0}),  # a lower bound above the upper one: the upper bound everywhere
    (-1.0, 1.0, "hardtanh", {"min_val": -1.0, "max_val": 1.0}),
])
def test_every_clip_is_costed(tmp_path, low, high, op, args):
    net = Net((1, 3, 8, 8), "clip")
    bounds = [net.weight((), value=v) if v is not None else "" for v in (low, high)]
    path = net.save(net.node("Clip", ["x", *bounds], "/c/Clip"), tmp_path / "clip.onnx")
    (node,) = [n for n in load(str(path)).nodes if n.op != "identity" or op == "identity"][-1:]
    assert node.op == op and {k: node.args[k] for k in args} == pytest.approx(args)
    assert node.counts.elementwise_flops == 3 * 8 * 8 * (2 if op == "hardtanh" else 1)


def test_not_an_onnx_file(tmp_path, run):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x00not a protobuf at all\xff" * 3)
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:1:1: error: not a readable ONNX model")


def test_import_of_a_yaml_spec_is_refused(run):
    result = run("import", "specs/resnet50.yaml")
    assert result.exit_code == 2
    assert ".onnx" in result.stderr


def test_errors_are_spec_errors(tmp_path):
    net = Net((1, 3, 8, 8), "unknown")
    path = net.save(net.node("NoSuchOp", ["x"], "/NoSuchOp"), tmp_path / "unknown.onnx", check=False)
    with pytest.raises(SpecError) as info:
        load(path)
    assert info.value.loc.line == 1


def raw_model(tmp_path, nodes, inits=(), inputs=(("x", [1, 3, 8, 8]),), output=("y", None)):
    """A model built without onnx's checks: what a broken or unusual exporter could write."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes, "raw", [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in inputs],
        [helper.make_tensor_value_info(output[0], TensorProto.FLOAT, output[1])],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in inits])
    path = tmp_path / "raw.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def make(op, inputs, outputs=("y",), name="", **attrs):
    return onnx.helper.make_node(op, list(inputs), list(outputs), name=name, **attrs)


@pytest.mark.parametrize("case, message", [
    (dict(nodes=[make("Conv", ["w", "x"], name="c")], inits=[("w", np.zeros((4, 3, 3, 3), np.float32))]),
     "node 'c' (Conv): its first input is a constant"),
    (dict(nodes=[make("Relu", ["nowhere"], name="r")]), "input 'nowhere' is not produced"),
    (dict(nodes=[make("Range", ["a", "b", "c"], ["big"], name="range"), make("Add", ["x", "big"], name="add")],
          inits=[("a", np.array(0)), ("b", np.array(10**12)), ("c", np.array(1))]),
     "node 'range' (Range): cannot evaluate it"),
    (dict(nodes=[make("Relu", ["x"])], inputs=(("x", [1, 3, 8, 8]), ("z", [1, 3]))), "one input; this graph has 2"),
    (dict(nodes=[make("Relu", ["x"])], inputs=(("x", [5]),)), "costcalc reads inputs of a batch and 1 to 8 dims"),
    (dict(nodes=[make("Relu", ["x"])], output=("y", [1, 5, 8, 8])), "but the file declares 1 x 5 x 8 x 8"),
    (dict(nodes=[make("SplitToSequence", ["x", "s"], ["q"], axis=1), make("Relu", ["q"], name="r")],
          inits=[("s", np.array(1))], output=("y", None)), "node 'r' (Relu): reads a sequence"),
    (dict(nodes=[make("Relu", ["x"], domain="com.microsoft")]), "of domain 'com.microsoft'"),
])
def test_malformed_graphs_are_located_errors(tmp_path, run, case, message):
    path = raw_model(tmp_path, **case)
    result = run("report", path)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{path}:") and len(result.stderr.strip().splitlines()) == 1


def test_gemm_bias_of_another_shape_is_refused(tmp_path, run):
    path = raw_model(tmp_path, [make("Gemm", ["x", "w", "b"], name="fc", transB=1)],
                     [("w", np.zeros((10, 64), np.float32)), ("b", np.zeros((1,), np.float32))],
                     inputs=(("x", [1, 64]),))
    result = run("report", path)
    assert result.exit_code == 2
    assert "node 'fc' (Gemm): a bias of shape 1: costcalc counts a bias of one value per output (10)" in result.stderr


def test_import_to_stdout_and_to_an_unwritable_path(tmp_path, run):
    path = grouped_conv(tmp_path)
    result = run("import", path)
    assert result.exit_code == 0 and result.stdout.startswith("# Imported by costcalc from ONNX file grouped.onnx")
    result = run("import", path, "-o", tmp_path / "no" / "such" / "dir.yaml")
    assert result.exit_code == 2 and "error: cannot write" in result.stderr


def test_every_command_takes_an_onnx_file(run, write_spec, tmp_path):
    """check, compare, guidelines and verify load models as report does: an .onnx file is imported."""
    path = grouped_conv(tmp_path)
    spec = write_spec(GROUPED_SPEC)
    flops = totals(path).flops
    assert flops == analyse(load(spec)).totals.flops
    assert run("check", path, "--max-flops", flops).exit_code == 0
    over = run("check", path, "--max-flops", flops - 1, "--fail-on", "G2")
    assert over.exit_code == 1 and "G2 violated by 1 layer" in over.stdout  # the g = 32 conv
    diff = json.loads(run("compare", path, spec, "--format", "json").stdout)
    assert diff["delta"] == {key: 0 for key in diff["delta"]}
    guidelines = json.loads(run("guidelines", path, "--format", "json").stdout)["guidelines"]
    assert [v["layer"] for v in guidelines["G2"]["violations"]] == ["grouped"]
    assert run("verify", path).exit_code == 0


def test_a_malformed_node_is_a_located_error_not_a_traceback(run, tmp_path):
    """A MaxPool without kernel_shape (onnx.helper lets one be written): one line naming the node, exit 2."""
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("MaxPool", ["x"], ["y"], name="/pool/MaxPool")], "malformed",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 8, 8, 8))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = str(tmp_path / "malformed.onnx")  # written as is: onnx's checker would refuse it, as it should
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    result = run("report", path)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"{path}:1:1: error: ") and "MaxPool" in result.stderr
    assert "Traceback" not in result.stderr
