"""The latency model on the generic tensor layer and on attention (costcalc.latency.plan): every op that moves data
gets a kernel of the class onnxruntime runs for it, with its closed-form FLOPs and bytes; views launch a Reshape
and move nothing; onnxruntime's fusions around a product (FusedMatMul) and a token fc (Gemm between Reshapes)."""

from math import prod

from conftest import ROOT
from costcalc.graph import load
from costcalc.latency.model import estimate, plan
from costcalc.latency.networks import _spec, build
from costcalc.latency.plan import transpose_class
from costcalc.latency.profile import uniform

SPEC = ROOT / "tests" / "data" / "tensor_ops.yaml"
FLAT = uniform(1e10, 1e10, 1e-6)


def test_every_layer_that_moves_data_has_a_kernel_and_a_time():
    graph = load(SPEC, batch=2)
    result = estimate(graph, FLAT)
    kernels = {k.layer: k for k in result.kernels if k.members}
    for node, layer in zip(graph.nodes, result.layers):
        if node.counts.memory_access:
            assert layer.latency_s > 0 and layer.op_class or layer.fused_into, node.name
        elif node.op == "slice":  # a view in the counts; onnxruntime's Slice copies its output
            assert kernels[node.name].op_class == "data_movement", node.name
            assert kernels[node.name].bytes == 2 * 4 * 2 * prod(graph.tensors[node.outputs[0]]), node.name
        elif layer.latency_s:  # a view: onnxruntime launches its Reshape, which moves nothing
            assert not node.result.moves_data and kernels[node.name].bytes == 0, node.name
            assert layer.op_class == "view" and layer.latency_s == FLAT["view"].overhead_s, node.name


def test_the_classes_of_the_tensor_layer():
    graph = load(SPEC)
    classes = {k.layer: k.op_class for k in plan(graph, FLAT) if k.members}
    op = {node.name: node.op for node in graph.nodes}
    by_op = {}
    for name, op_class in classes.items():
        by_op.setdefault(op[name], set()).add(op_class)
    assert by_op["matmul"] == {"matmul"} and by_op["fc"] == {"gemm"}  # the fc reads 36 tokens of 8
    # the 3-D 1x3x3 and 1-D 3 convs and the convs of windows: plain layout, im2col (the depthwise one: its own)
    assert by_op["conv"] == {"dense_conv_plain", "depthwise_conv_plain"}
    assert by_op["maxpool"] == {"pooling_plain"}
    assert by_op["permute"] == {"transpose_inner"}  # 8 x 6 x 6 -> 6 x 6 x 8: the innermost axis moves
    assert by_op["softmax"] == {"softmax"} and by_op["exp"] == {"elementwise_exp"}
    assert by_op["reduce_mean"] == by_op["where"] == by_op["sub"] == by_op["reduce_argmax"] == {"elementwise"}
    # over the channels (R K at batch 1), or an L1, L2, ...: onnxruntime's generic loop (costcalc.latency.rows)
    assert by_op["reduce_log_sum_exp"] == by_op["reduce_l2"] == by_op["reduce_prod"] == {"reduce"}
    assert by_op["layernorm"] == {"normalization"} and by_op["tile"] == by_op["gather"] == {"data_movement"}
    assert by_op["reshape"] == {"view"}


def test_layernorm_on_tokens_is_one_kernel_without_transposes():
    graph = load(SPEC)
    node = next(n for n in graph.nodes if n.op == "layernorm")
    kernel = next(k for k in plan(graph, FLAT) if k.layer == node.name and k.members)
    assert kernel.launches == 1 and kernel.bytes == 4 * node.counts.memory_access


def _plan(shape, layers, batch=1):
    graph = build(_spec("t", shape, [], tail=layers))
    graph.batch = batch
    return graph, plan(graph, FLAT)


def test_a_token_fc_is_a_gemm_between_two_reshapes_and_a_vector_fc_is_not():
    # 49 tokens of 96 -> 192, bias: Gemm of 49 x 96 x 192 multiply-adds; MatMulAddFusion's Reshapes: 2 launches
    graph, kernels = _plan((49, 96), ["{name: a, op: fc, out: 192}"])
    gemm, views = kernels
    assert (gemm.op_class, gemm.flops, gemm.launches) == ("gemm", 49 * 96 * 192, 1)
    assert gemm.bytes == 4 * (49 * 96 + 96 * 192 + 192 + 49 * 192)  # input, weights, bias, output
    assert (views.op_class, views.bytes, views.launches, views.members) == ("view", 0, 2, ())
    _, kernels = _plan((49, 96), ["{op: fc, out: 192, bias: false}"])  # MatMul: no Reshapes
    assert [k.op_class for k in kernels] == ["gemm"]
    _, kernels = _plan((96, 7, 7), ["{op: gap}", "{op: flatten}", "{op: fc, out: 10}"])
    assert kernels[-1].op_class == "fc" and kernels[-1].flops == 960
    # a reshape before the token fc: the Gemm's input Reshape merges into it (1 launch left)
    _, kernels = _plan((49, 96), ["{op: reshape, shape: [7, 7, 96]}", "{op: reshape, shape: [49, 96]}",
                                  "{op: fc, out: 8}", "{op: reshape, shape: [392]}"])
    assert [(k.op_class, k.launches) for k in kernels] == [("view", 1), ("gemm", 1), ("view", 1)]


def test_fused_matmul_takes_the_scale_and_the_transpose_of_k():
    # q (4 heads x 64 tokens x 16) scaled, k^T: FusedMatMul of 4 x 64 x 16 x 64 multiply-adds, one kernel
    layers = ["{name: q, op: mul, value: 0.25, from: input}", "{name: kt, op: permute, perm: [0, 1, 3, 2], from: input}",
              "{name: s, op: matmul, from: [q, kt]}", "{op: softmax, axis: -1}"]
    graph, kernels = _plan((4, 64, 16), layers)
    product, softmax = kernels
    assert product.op_class == "matmul" and product.flops == 4 * 64 * 16 * 64 and set(product.members) == {"s", "q", "kt"}
    assert product.bytes == 4 * (2 * 4 * 64 * 16 + 4 * 64 * 64)  # q and k read once each, the scores written
    assert softmax.op_class == "softmax"
    fused = {layer.name: layer.fused_into for layer in estimate(graph, FLAT).layers}
    assert fused["q"] == fused["kt"] == "s"
    with_off = uniform(1e10, 1e10, 1e-6, fusion=("conv+bn",))
    assert len(plan(graph, with_off)) == 4


def test_a_transpose_of_a_split_of_a_permute_is_not_fused():
    # heads first, split, then k^T: onnxruntime's transpose optimizer merges the two permutes (measured: a
    # Transpose kernel runs before FusedMatMul), so k^T stays a kernel of its own
    layers = ["{op: reshape, shape: [64, 3, 4, 16]}", "{name: h, op: permute, perm: [0, 2, 3, 1, 4]}",
              "{name: u, op: split, axis: 1, parts: 3}", "{name: kt, op: permute, perm: [0, 1, 2, 4, 3], from: u.1}",
              "{name: s, op: matmul, from: [u.0, kt]}"]
    _, kernels = _plan((64, 192), layers)
    assert [k.op_class for k in kernels] == ["view", "transpose", "data_movement", "transpose_inner", "matmul"]


def test_transpose_classes_by_the_innermost_axis():
    assert transpose_class((4, 64, 16), [0, 2, 1, 3]) == "transpose"  # heads <-> tokens: rows of 16 copied
    assert transpose_class((4, 64, 16), [0, 1, 3, 2]) == "transpose_inner"
    assert transpose_class((64, 16, 1), [0, 1, 3, 2]) == "transpose"  # the unit axis moved: 16 stays innermost
