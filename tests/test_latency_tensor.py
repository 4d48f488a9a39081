"""The latency model on the generic tensor layer (costcalc.latency.model): every op that moves data gets a kernel of
a class onnxruntime would run for it and a time above zero; the views cost nothing; nothing crashes."""

from conftest import ROOT
from costcalc.graph import load
from costcalc.latency.model import estimate, plan
from costcalc.latency.profile import uniform

SPEC = ROOT / "tests" / "data" / "tensor_ops.yaml"


def test_every_layer_that_moves_data_has_a_kernel_and_a_time():
    graph = load(SPEC, batch=2)
    result = estimate(graph, uniform(1e10, 1e10, 1e-6))
    for node, layer in zip(graph.nodes, result.layers):
        if node.counts.memory_access:
            assert layer.latency_s > 0 and (layer.op_class or layer.fused_into), node.name
        else:  # a view: reshape, a permute of size-1 axes, a slice of a block of channels
            assert layer.latency_s == 0 and not node.result.moves_data, node.name


def test_the_classes_of_the_tensor_layer():
    graph = load(SPEC)
    classes = {k.layer: k.op_class for k in plan(graph, uniform(1e10, 1e10, 1e-6)) if k.members}
    op = {node.name: node.op for node in graph.nodes}
    by_op = {}
    for name, op_class in classes.items():
        by_op.setdefault(op[name], set()).add(op_class)
    assert by_op["matmul"] == {"fc"} and by_op["fc"] == {"fc"}
    # the 3-D 1x3x3 and 1-D 3 convs and the convs of windows: plain layout, im2col (the depthwise one: its own)
    assert by_op["conv"] == {"dense_conv_plain", "depthwise_conv_plain"}
    assert by_op["maxpool"] == {"pooling_plain"} and by_op["permute"] == {"data_movement"}
    assert by_op["softmax"] == by_op["exp"] == by_op["reduce_log_sum_exp"] == {"elementwise_exp"}
    assert by_op["reduce_mean"] == by_op["where"] == by_op["sub"] == {"elementwise"}
    assert by_op["layernorm"] == {"normalization"} and by_op["tile"] == by_op["gather"] == {"data_movement"}


def test_layernorm_on_tokens_is_one_kernel_without_transposes():
    graph = load(SPEC)
    node = next(n for n in graph.nodes if n.op == "layernorm")
    kernel = next(k for k in plan(graph, uniform(1e10, 1e10, 1e-6)) if k.layer == node.name and k.members)
    assert kernel.launches == 1 and kernel.bytes == 4 * node.counts.memory_access
