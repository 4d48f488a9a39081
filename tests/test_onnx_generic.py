"""The importer's generic layer: ONNX nodes no recognizer names, costed op by op at any rank. Each graph is built
with onnx.helper; the output shape onnx's own shape inference declares is checked by the importer against its own
(an independent check of every shape on the way), and the counts against closed forms derived here."""

import os
from math import prod

import numpy as np
import pytest

pytest.importorskip("onnx")

from costcalc.analysis import analyse  # noqa: E402
from costcalc.graph import load  # noqa: E402
from tests.onnx_graphs import Net  # noqa: E402

HANDWRITTEN = os.path.join(os.path.dirname(__file__), "fixtures", "onnx", "handwritten")


def _imported(net, out, tmp_path, name="g.onnx", opset=17):
    path = str(tmp_path / name)
    import onnx
    onnx.save(net.model(out, opset=opset), path)
    graph = load(path)
    return graph, analyse(graph).totals, path


def _round_trip(path, tmp_path, run):
    """`import` then `report` of the written spec gives the file's totals."""
    spec = tmp_path / "imported.yaml"
    assert run("import", path, "-o", str(spec)).exit_code == 0
    graph = load(str(spec))
    return analyse(graph).totals


def test_attention_written_by_hand(tmp_path, run):
    """x (1 x C x H x W) -> tokens -> qkv Linear -> heads -> softmax(q k^T * s) v -> back; as timm writes it
    (reshape(B, N, 3, h, d).permute(2, 0, 3, 1, 4), q, k, v = qkv[0], qkv[1], qkv[2])."""
    c, hw, heads = 16, 8, 2
    n, d = hw * hw, c // heads
    net = Net((1, c, hw, hw), "attention")
    t = net.node("Reshape", ["x", net.const([1, c, n])], "/flat/Reshape")
    tok = net.node("Transpose", [t], "/tok/Transpose", perm=[0, 2, 1])
    qkv = net.node("MatMul", [tok, net.weight((c, 3 * c))], "/attn/qkv/MatMul")
    qkv = net.node("Add", [qkv, net.weight((3 * c,))], "/attn/qkv/Add")
    q5 = net.node("Reshape", [qkv, net.const([1, n, 3, heads, d])], "/attn/Reshape")
    qp = net.node("Transpose", [q5], "/attn/Transpose", perm=[2, 0, 3, 1, 4])
    q, k, v = (net.node("Gather", [qp, net.const(i)], f"/attn/Gather_{i}", axis=0) for i in range(3))
    kt = net.node("Transpose", [k], "/attn/Transpose_1", perm=[0, 1, 3, 2])
    att = net.node("MatMul", [q, kt], "/attn/MatMul")
    att = net.node("Mul", [att, net.weight((), value=d ** -0.5)], "/attn/Mul")
    p = net.node("Softmax", [att], "/attn/Softmax", axis=-1)
    o = net.node("MatMul", [p, v], "/attn/MatMul_1")
    o = net.node("Transpose", [o], "/attn/Transpose_2", perm=[0, 2, 1, 3])
    o = net.node("Reshape", [o, net.const([1, n, c])], "/attn/Reshape_1")
    o = net.node("MatMul", [o, net.weight((c, c))], "/attn/proj/MatMul")
    graph, totals, path = _imported(net, o, tmp_path)
    assert totals.flops == n * c * 3 * c + 2 * heads * n * n * d + n * c * c  # qkv, the two products, proj
    assert totals.params == c * 3 * c + 3 * c + c * c
    ops = [node.op for node in graph.nodes]
    assert ops.count("matmul") == 2 and ops.count("fc") == 2 and "softmax" in ops
    qkv_layer = next(node for node in graph.nodes if node.op == "fc")
    assert qkv_layer.args["bias"] is True  # MatMul + Add(bias) on tokens is one Linear
    softmax = next(node for node in graph.nodes if node.op == "softmax")
    assert softmax.counts.elementwise_flops == heads * n * (3 * n - 1)
    # the copies: tokens (transpose), heads (permute), k^T, the heads back; the reshapes are views
    copies = [node for node in graph.nodes if node.op == "permute"]
    assert [node.counts.memory_access for node in copies] == [2 * n * c, 2 * 3 * n * c, 2 * heads * n * d,
                                                              2 * heads * n * d]
    assert all(node.counts.memory_access == 0 for node in graph.nodes if node.op == "reshape")
    assert _round_trip(path, tmp_path, run) == totals


def test_constants_broadcast_as_values_or_parameters(tmp_path):
    """x + 3 (a constant), x * w with w of 1 x 1 x 8 x 1 (8 learned values), hardswish written as
    x * relu6(x + 3) / 6: every op an element-wise row of its own."""
    net = Net((1, 3, 8, 8), "consts")
    y = net.node("Mul", ["x", net.weight((1, 1, 8, 1))], "/m/Mul")
    z = net.node("Add", [y, net.weight((), value=3.0)], "/a/Add")
    r = net.relu6(z, "/r/Clip")
    o = net.node("Div", [net.node("Mul", [y, r], "/h/Mul"), net.weight((), value=6.0)], "/h/Div")
    graph, totals, _ = _imported(net, o, tmp_path)
    e = 3 * 8 * 8
    assert totals.params == 8
    assert totals.flops == 0
    assert [node.op for node in graph.nodes] == ["mul", "add", "relu6", "mul", "scale"]
    assert totals.elementwise_flops == e + e + 2 * e + e + e


def test_transpose_reshape_and_unsqueeze_are_views_or_copies(tmp_path):
    net = Net((1, 3, 8, 8), "views")
    t = net.node("Transpose", ["x"], "/t/Transpose", perm=[0, 1, 3, 2])  # a copy: W and H swap
    r = net.node("Reshape", [t, net.const([1, 3, 64])], "/r/Reshape")  # a view
    u = net.node("Unsqueeze", [r, net.const([1])], "/u/Unsqueeze")  # a view: 1 x 1 x 3 x 64
    s = net.node("Squeeze", [u, net.const([1])], "/s/Squeeze")
    graph, totals, _ = _imported(net, s, tmp_path)
    e = 3 * 64
    assert [node.op for node in graph.nodes] == ["permute", "reshape", "reshape", "reshape"]
    assert totals.memory_access == 2 * e and totals.activations == e  # views write nothing


def test_layernorm_on_the_last_axis_and_reductions(tmp_path):
    """LayerNormalization over W of N x C x H x W (axis -1), a GRN-like L2 norm over H and W, a mean."""
    net = Net((1, 4, 8, 8), "norms")
    y = net.node("LayerNormalization", ["x", net.weight((8,)), net.weight((8,))], "/n/LN", axis=-1)
    g = net.node("ReduceL2", [y, net.const([2, 3])], "/g/ReduceL2", keepdims=1)
    m = net.node("ReduceMean", [g, net.const([1])], "/g/ReduceMean", keepdims=1)
    o = net.node("Div", [g, m], "/g/Div")
    graph, totals, _ = _imported(net, o, tmp_path, opset=18)
    e = 4 * 64
    assert totals.params == 2 * 8
    assert [node.op for node in graph.nodes] == ["layernorm", "reduce_l2", "reduce_mean", "div"]
    assert totals.elementwise_flops == 7 * e + (2 * e + 4) + (4 + 1) + 4


def test_conv1d_across_channels_eca_style(tmp_path):
    """ECA: gap -> squeeze -> transpose -> Conv1d(1, 1, k=3) across the channels -> back -> sigmoid -> scale."""
    c = 16
    net = Net((1, c, 8, 8), "eca")
    p = net.node("GlobalAveragePool", ["x"], "/eca/gap")
    s = net.node("Squeeze", [p, net.const([3])], "/eca/Squeeze")  # 1 x C x 1
    t = net.node("Transpose", [s], "/eca/Transpose", perm=[0, 2, 1])  # 1 x 1 x C
    net.channels[t] = 1
    k = net.node("Conv", [t, net.weight((1, 1, 3))], "/eca/conv/Conv", kernel_shape=[3], pads=[1, 1])
    b = net.node("Transpose", [k], "/eca/Transpose_1", perm=[0, 2, 1])
    u = net.node("Unsqueeze", [b, net.const([3])], "/eca/Unsqueeze")
    g = net.node("Sigmoid", [u], "/eca/Sigmoid")
    o = net.node("Mul", ["x", g], "/eca/Mul")
    graph, totals, _ = _imported(net, o, tmp_path)
    conv = next(node for node in graph.nodes if node.op == "conv")
    assert conv.counts.flops == c * 3 and conv.counts.params == 3
    assert totals.params == 3


def test_einsum_of_two_activations(tmp_path):
    net = Net((1, 4, 8, 8), "einsum")
    y = net.node("Einsum", ["x", "x"], "/e/Einsum", equation="bchw,bdhw->bcd")
    graph, totals, _ = _imported(net, y, tmp_path)
    assert totals.flops == 4 * 4 * 8 * 8
    assert graph.nodes[-1].result.outputs == ((4, 4),)


def test_channels_last_output_and_conv_after_it(tmp_path):
    """A Transpose to channels last is a view the recognizers keep open; a graph ending in it, or a 1x1 Conv
    reading it along its last axis, is its real N x H x W x C tensor: read so straight from the Transpose, the copy
    the Transpose makes (4 x 8 x 8 read and written)."""
    net = Net((1, 4, 8, 8), "nhwc")
    t = net.node("Transpose", ["x"], "/t/Transpose", perm=[0, 2, 3, 1])
    graph, totals, _ = _imported(net, t, tmp_path)
    assert graph.nodes[-1].result.outputs == ((8, 8, 4),) and totals.memory_access == 2 * 4 * 8 * 8
    net = Net((1, 4, 8, 8), "nhwc_conv")
    t = net.node("Transpose", ["x"], "/t/Transpose", perm=[0, 2, 3, 1])
    net.channels[t] = 8
    y = net.conv(t, 2, 1, name="/c/Conv")
    graph, totals, _ = _imported(net, y, tmp_path)
    assert totals.flops == 2 * 8 * 8 * 4 and graph.nodes[-1].result.outputs == ((2, 8, 4),)


@pytest.mark.parametrize("op, attrs, inputs, per_sample", [
    ("Slice", {}, lambda net: [net.const([2]), net.const([6]), net.const([3]), net.const([2])], (3, 8, 2)),
    ("Split", {"axis": 2}, lambda net: [net.const([3, 5])], (3, 3, 8)),
    ("Tile", {}, lambda net: [net.const([1, 1, 2, 1])], (3, 16, 8)),
    ("Expand", {}, lambda net: [net.const([2, 1, 3, 1, 1])], None),
    ("Gather", {"axis": 3}, lambda net: [net.const([[0, 1], [2, 3]])], (3, 8, 2, 2)),
    ("ReduceMax", {"keepdims": 0}, lambda net: [net.const([1, 3])], (8,)),
])
def test_rearranging_ops_on_any_axis(tmp_path, op, attrs, inputs, per_sample):
    net = Net((1, 3, 8, 8), op.lower())
    y = net.node(op, ["x", *inputs(net)], f"/o/{op}", outputs=2 if op == "Split" else 1, **attrs)
    y = y[0] if op == "Split" else y
    if op == "Expand":  # expanding into the batch axis is not a per-sample op
        import onnx
        path = str(tmp_path / "e.onnx")
        onnx.save(net.model(y), path)
        from costcalc.errors import SpecError
        with pytest.raises(SpecError, match="across the batch"):
            load(path)
        return
    graph, totals, _ = _imported(net, y, tmp_path, opset=18)
    assert graph.nodes[0].result.outputs[0] == per_sample
    written = sum(prod(s) for s in graph.nodes[0].result.outputs)
    read = written if op in ("Slice", "Gather") else 3 * 64  # a slice or gather reads only what it picks
    assert totals.memory_access == read + written  # a copy each


def test_an_input_of_tokens(tmp_path):
    """N x L x C (a transformer block alone): LayerNorm and a Linear over the channels."""
    net = Net((1, 49, 32), "tokens")
    y = net.node("LayerNormalization", ["x", net.weight((32,)), net.weight((32,))], "/n/LN", axis=-1)
    y = net.node("MatMul", [y, net.weight((32, 64))], "/fc/MatMul")
    graph, totals, _ = _imported(net, y, tmp_path)
    assert graph.nodes[-1].result.outputs == ((49, 64),)
    assert totals.flops == 49 * 32 * 64 and totals.params == 64 + 32 * 64


@pytest.mark.parametrize("model", ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x0_5",
                                   "squeezenet1_1", "densenet121", "efficientnet_b0", "mnasnet0_5", "regnet_y_400mf",
                                   "tf_efficientnet_b0"])
def test_one_model_one_answer(model):
    """The TorchScript and the dynamo exports of one model give the same counts: a torch.cat of one tensor and a
    slice of all the channels are the tensor itself, the zero biases dynamo's optimiser drops from folded convs are
    counted (the header says so)."""
    import os

    root = os.path.join(os.path.dirname(__file__), "fixtures", "onnx")
    ts, dyn = (load(os.path.join(root, f"{model}_{kind}.onnx")) for kind in ("ts17", "dyn18"))
    assert analyse(ts).totals == analyse(dyn).totals


def test_a_slice_of_all_channels_is_a_view_and_a_cat_of_one_tensor_no_layer(tmp_path):
    """GhostNet's out[:, :oup]: a view in the counts (nothing moved), but a layer, since onnxruntime runs (and
    copies) the Slice (costcalc.latency.plan)."""
    net = Net((1, 4, 8, 8), "noop")
    y = net.conv("x", 8, 1)
    s = net.node("Slice", [y, net.const([0]), net.const([8]), net.const([1])], "/s/Slice")
    c = net.node("Concat", [s], "/c/Concat", axis=1)
    graph, totals, _ = _imported(net, c, tmp_path)
    assert [node.op for node in graph.nodes] == ["conv", "slice"]
    assert graph.nodes[1].counts.memory_access == 0 and totals.memory_access == graph.nodes[0].counts.memory_access


def test_a_product_on_weights_alone_is_costed_as_torch_runs_it(tmp_path, run):
    """Swin V2's continuous position bias: an MLP on a coordinate table, a buffer (its values unread: more than
    the 4 KiB costcalc reads of an initializer); its multiply-adds count as torch's FlopCounterMode counts them
    at every forward, on a `constant` layer that costs nothing itself."""
    net = Net((1, 23, 23, 3), "cpb")
    table = net.weight((1, 23, 23, 2))
    hidden = net.node("Relu", [net.node("MatMul", [table, net.weight((2, 64))])])
    bias = net.node("MatMul", [hidden, net.weight((64, 3))])
    graph, totals, path = _imported(net, net.node("Add", ["x", bias]), tmp_path)
    assert [n.op for n in graph.nodes][:4] == ["constant", "fc", "relu", "fc"]
    assert totals.flops == 23 * 23 * 2 * 64 + 23 * 23 * 64 * 3 and totals.params == 2 * 64 + 64 * 3
    assert next(n for n in graph.nodes if n.op == "constant").counts.memory_access == 0
    assert _round_trip(path, tmp_path, run) == totals


def test_a_conv_on_weights_alone(tmp_path, run):
    """EdgeNeXt's positional encoding: a conv on a constant the graph holds."""
    net = Net((1, 8, 12, 12), "pos")
    pos = net.node("Conv", [net.weight((1, 8, 12, 12)), net.weight((8, 8, 1, 1))], kernel_shape=[1, 1])
    graph, totals, path = _imported(net, net.node("Add", ["x", pos]), tmp_path)
    assert [n.op for n in graph.nodes][:2] == ["constant", "conv"]
    assert totals.flops == 12 * 12 * 8 * 8 and totals.params == 8 * 8
    assert _round_trip(path, tmp_path, run) == totals


def _literal(net, value):
    """A Constant node's number, as torch writes `x + 0`."""
    from onnx import numpy_helper

    return net.node("Constant", [], channels=0, value=numpy_helper.from_array(np.asarray(value, np.float32)))


def test_what_returns_its_input_is_no_layer_but_a_learned_zero_is(tmp_path):
    """x + 0 and x * 1 by a literal, and a Cast to float of a float tensor, are the tensor (nothing costed); an Add
    of a learned initializer whose value is 0 is a layer with its parameter (counts never read values)."""
    net = Net((1, 4, 8, 8), "noops")
    y = net.conv("x", 4, 1)
    y = net.node("Add", [y, _literal(net, 0.0)], "/m/Add")
    y = net.node("Mul", [_literal(net, 1.0), y], "/m/Mul")
    y = net.node("Cast", [y], "/m/Cast", to=1)
    y = net.node("Relu", [y], "/m/Relu")
    y = net.node("Add", [y, net.weight((4, 1, 1))], "/m/Add_1")
    graph, totals, _ = _imported(net, y, tmp_path)
    assert [node.op for node in graph.nodes] == ["conv", "relu", "add"]
    assert totals.params == 4 * 4 + 4


@pytest.mark.parametrize("through_identity", [True, False])
def test_a_repeated_node_is_computed_once_and_one_initializer_read_twice_is_shared_only_when_read_itself(
        through_identity, tmp_path):
    """Two equal ReduceMeans of one tensor (torch's x.var and x.mean) are one. Two convs reading one initializer
    through Identity nodes (TorchScript's storage of equal untrained weights: two modules) stay two layers, with
    their params; read directly (one nn.Conv2d applied twice), the second `shares` the first's weights."""
    net = Net((1, 4, 8, 8), "cse")
    w = net.weight((4, 4, 1, 1))
    a = net.node("Conv", ["x", net.node("Identity", [w]) if through_identity else w], "/a/Conv", kernel_shape=[1, 1])
    b = net.node("Conv", [a, net.node("Identity", [w]) if through_identity else w], "/b/Conv", kernel_shape=[1, 1])
    m1 = net.node("ReduceMean", [a], "/m/ReduceMean", axes=[2, 3], keepdims=1)
    m2 = net.node("ReduceMean", [a], "/m/ReduceMean_1", axes=[2, 3], keepdims=1)
    y = net.node("Add", [net.node("Add", [m1, m2], "/m/Add"), b], "/m/Add_1")
    graph, totals, _ = _imported(net, y, tmp_path)
    convs = [node for node in graph.nodes if node.op == "conv"]
    assert totals.flops == 2 * 16 * 64 and [node.op for node in graph.nodes].count("mean") == 1
    if through_identity:
        assert [node.shares for node in convs] == [None, None] and totals.params == 2 * 16
    else:
        assert [node.shares for node in convs] == [None, convs[0].name] and totals.params == 16


def _layernorm_written_out(c: int):
    """nn.LayerNorm(c) over the last axis of a 1 x 16 x c input as TorchScript writes it before opset 17, up to
    the multiply by gamma: (the net, that product's name)."""
    net = Net((1, 16, c), "ln")
    mean = net.node("ReduceMean", ["x"], "/norm/ReduceMean", axes=[-1], keepdims=1)
    d = net.node("Sub", ["x", mean], "/norm/Sub")
    var = net.node("ReduceMean", [net.node("Pow", [d, _literal(net, 2.0)], "/norm/Pow")], "/norm/ReduceMean_1",
                   axes=[-1], keepdims=1)
    s = net.node("Sqrt", [net.node("Add", [var, _literal(net, 1e-5)], "/norm/Add")], "/norm/Sqrt")
    return net, net.node("Mul", [net.node("Div", [d, s], "/norm/Div"), net.weight((c,))], "/norm/Mul")


def test_layernorm_written_out_is_layernormalization(tmp_path):
    """nn.LayerNorm over the last axis as TorchScript writes it before opset 17 costs what the fused node does."""
    c = 8
    net, scaled = _layernorm_written_out(c)
    y = net.node("Add", [scaled, net.weight((c,))], "/norm/Add_1")
    graph, totals, _ = _imported(net, y, tmp_path, opset=13)
    assert [(node.name, node.op) for node in graph.nodes] == [("norm", "layernorm")]
    assert totals.params == 2 * c and totals.elementwise_flops == 7 * 16 * c


def _named(net, name, shape, value=0.0):
    """An initializer named as torch's exporters name a module's parameter (its state-dict key) or a literal."""
    from onnx import numpy_helper

    net.inits.append(numpy_helper.from_array(np.full(shape, value, np.float32), name))
    return name


def test_a_learned_number_is_a_parameter_a_literal_is_not(tmp_path):
    """HGNetV2's learnable affine block, `scale * x + bias` with nn.Parameter of one value each: both exporters store
    them as one-value initializers named by their module path; dynamo stores `x * 2` as one named `val_3`. Values
    never decide (a learned bias of 0 counts)."""
    net = Net((1, 4, 8, 8), "lab")
    y = net.node("Mul", ["x", _named(net, "stages.0.lab.scale", (1,), 1.0)], "/lab/Mul")
    y = net.node("Add", [y, _named(net, "stages.0.lab.bias", (1,))], "/lab/Add")
    y = net.node("Mul", [y, _named(net, "val_3", (), 2.0)], "/out/Mul")
    graph, totals, path = _imported(net, y, tmp_path)
    assert [(node.op, node.args.get("param"), node.args.get("value")) for node in graph.nodes] == [
        ("mul", (1,), None), ("add", (1,), None), ("scale", None, None)]
    assert totals.params == 2 and totals.elementwise_flops == 3 * 4 * 8 * 8


@pytest.mark.parametrize("listed, params", [("PARAMETER", 654), ("BUFFER", 653), (None, 653), ("costcalc", 654),
                                            ("costcalc without it", 653)])
def test_the_dynamo_exporters_list_of_parameters_says_which_number_is_learned(listed, params, tmp_path):
    """A one-value parameter of the top module has no dot in its name (`lab_scale`). The dynamo exporter lists the
    module's parameters and buffers in the file (its graph signature): listed as a PARAMETER it is learned, as a
    BUFFER a number; without the list (TorchScript's files) a plain name reads as a number. costcalc's own list,
    which `costcalc.analyze(module)` writes into the file it exports, says the same. The handwritten
    learned_scalars export (654 parameters) with HGNetV2's `lab.scale` moved to the top module."""
    import onnx

    from costcalc.importers.onnx.batch import MODULE_PARAMETERS, parameters

    model = onnx.load(os.path.join(HANDWRITTEN, "learned_scalars_dyn18.onnx"), load_external_data=False)
    names = sorted({"lab_scale" if n == "lab.scale" else n for n in parameters(model.graph)}
                   - ({"lab_scale"} if listed == "costcalc without it" else set()))  # the module's, as in this file
    next(i for i in model.graph.initializer if i.name == "lab.scale").name = "lab_scale"
    for node in model.graph.node:
        node.input[:] = ["lab_scale" if t == "lab.scale" else t for t in node.input]
    signature = next(p for p in model.graph.metadata_props if p.key.endswith("graph_signature"))
    assert "p_lab_scale: PARAMETER target='lab.scale'" in signature.value
    entry = ("p_lab_scale: PARAMETER target='lab_scale'" if listed == "PARAMETER"
             else "b_lab_scale: BUFFER target='lab_scale' persistent=True")
    signature.value = signature.value.replace("p_lab_scale: PARAMETER target='lab.scale'", entry)
    if listed is None or listed.startswith("costcalc"):
        del model.graph.metadata_props[:]
    if listed is not None and listed.startswith("costcalc"):
        entry = model.graph.metadata_props.add()
        entry.key, entry.value = MODULE_PARAMETERS, "\n".join(names)
    path = str(tmp_path / "top.onnx")
    onnx.save(model, path)
    assert analyse(load(path)).totals.params == params


def test_layernorm_written_out_with_gamma_alone_has_no_shift(tmp_path):
    """nn.LayerNorm(C, bias=False) as TorchScript writes it before opset 17: the Mul by gamma and no Add after it."""
    c = 8
    net, y = _layernorm_written_out(c)
    graph, totals, _ = _imported(net, y, tmp_path, opset=13)
    assert [(node.name, node.op, node.args.get("bias")) for node in graph.nodes] == [("norm", "layernorm", False)]
    assert totals.params == c and totals.elementwise_flops == 6 * 16 * c


@pytest.mark.parametrize("scale, shift, params, per_element", [
    ("initializer", "initializer", 2, 7), ("initializer", "constant", 1, 6), ("initializer", None, 1, 6),
    ("constant", "constant", 0, 5)])
def test_layernormalization_learns_what_the_file_stores(scale, shift, params, per_element, tmp_path):
    """timm's LayerNorm2dNoBias exported by TorchScript: B is a Constant node of zeros torch made, no parameter;
    absent, none either; an initializer (whatever its values) is beta. nn.LayerNorm(elementwise_affine=False):
    TorchScript's Constant ones and zeros, no parameters."""
    from onnx import numpy_helper

    c = 8
    net = Net((1, 16, c), "ln")
    inputs = ["x"]
    for kind, value in ((scale, 1.0), (shift, 0.0)):
        if kind == "initializer":
            inputs.append(net.weight((c,)))
        elif kind == "constant":
            inputs.append(net.node("Constant", [], channels=0,
                                   value=numpy_helper.from_array(np.full(c, value, np.float32))))
    y = net.node("LayerNormalization", inputs, "/norm/LayerNormalization", axis=-1)
    graph, totals, _ = _imported(net, y, tmp_path)
    assert totals.params == params * c and totals.elementwise_flops == per_element * 16 * c
