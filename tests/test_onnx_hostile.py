"""Hostile ONNX files (issue 12), in the fuzz suite's terms (tests/hostile.py): truncated and corrupted protobuf,
garbage, cycles, more nodes than the limit, absurd dims, nested subgraphs. Each ends in exit 0 or 2 with one
located `model.onnx:N:1: error: ...` line per error, no traceback, within the time bound."""

import os
import pathlib

import pytest

onnx = pytest.importorskip("onnx")

from hostile import check_promises  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402
from onnx_graphs import Net  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "onnx")
SEED = os.path.join(FIXTURES, "resnet18_ts17.onnx")
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def write(tmp_path, data: bytes, name: str = "model.onnx") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def save(tmp_path, graph, name="model.onnx") -> str:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return str(path)


def refused(path: str, *fragments: str, line: int | None = None) -> str:
    code, lines = check_promises(path, "--format", "json")
    assert code == 2
    text = "\n".join(lines)
    for fragment in fragments:
        assert fragment in text, text
    if line is not None:
        assert lines[0].startswith(f"{path}:{line}:1: error: "), text
    return text


@pytest.mark.parametrize("cut", [1, 7, 100, 1000, 5000, -1])
def test_truncated_files(tmp_path, cut):
    data = pathlib.Path(SEED).read_bytes()
    refused(write(tmp_path, data[:cut]), "error: ", line=1)


def test_empty_and_garbage_files(tmp_path):
    refused(write(tmp_path, b""), "not a readable ONNX model")
    refused(write(tmp_path, b"\xff" * 64), "not a readable ONNX model")
    refused(write(tmp_path, b"layers: [relu]\n"), "error: ")
    refused(write(tmp_path, b"\x3a\xff\xff\xff\xff\x0f"), "truncated")  # a graph field claiming 4 GiB


@settings(parent=FUZZ)
@given(st.data())
def test_corrupted_exports(tmp_path_factory, data):
    """Bytes of a real export overwritten, dropped or truncated at random places."""
    original = bytearray(pathlib.Path(SEED).read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(original) - 1))
        kind = data.draw(st.sampled_from(["flip", "drop", "cut"]))
        if kind == "flip":
            original[at] = data.draw(st.integers(0, 255))
        elif kind == "drop":
            del original[at:at + data.draw(st.integers(1, 64))]
        else:
            del original[at:]
            break
    check_promises(write(tmp_path_factory.mktemp("onnx"), bytes(original)), "--format", "json")


@settings(parent=FUZZ)
@given(st.binary(max_size=2000))
def test_garbage(tmp_path_factory, data):
    check_promises(write(tmp_path_factory.mktemp("onnx"), data), "--format", "json")


def test_a_cycle(tmp_path):
    nodes = [helper.make_node("Relu", ["b"], ["a"], name="r1"), helper.make_node("Relu", ["a"], ["b"], name="r2"),
             helper.make_node("Add", ["x", "b"], ["y"], name="add")]
    graph = helper.make_graph(nodes, "cycle", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    refused(save(tmp_path, graph), "node 'r1' (Relu): input 'b' is not produced by any earlier node", line=1)


def test_more_nodes_than_the_limit(tmp_path):
    from costcalc.graph import MAX_NODES

    relu = helper.make_node("Relu", ["x"], ["x"]).SerializeToString()
    graph = helper.make_graph([], "many", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)])
    body = graph.SerializeToString() + b"".join(b"\x0a" + bytes([len(relu)]) + relu for _ in range(MAX_NODES + 1))
    model = helper.make_model(helper.make_graph([], "g", [], []), opset_imports=[helper.make_opsetid("", 17)])
    model.ClearField("graph")
    data = model.SerializeToString() + b"\x3a" + _varint(len(body)) + body
    refused(write(tmp_path, data), f"more than the limit of {MAX_NODES:,}", line=1)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


@pytest.mark.parametrize("dims", [[10**13, 3, 3, 3], [-4, 3, 3, 3], [1] * 9])
def test_absurd_weight_dims(tmp_path, dims):
    w = helper.make_tensor("w", TensorProto.FLOAT, [0], [])
    w.ClearField("dims")
    w.dims.extend(dims)
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], "dims",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    refused(save(tmp_path, graph), "initializer 'w' has dims", line=1)


def test_absurd_input_and_kernel(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "big",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10**14, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    refused(save(tmp_path, graph), "beyond the limit", line=1)
    net = Net((1, 3, 8, 8), "kernel")
    y = net.node("MaxPool", ["x"], "/pool/MaxPool", kernel_shape=[10**15, 10**15])
    refused(net.save(y, tmp_path / "kernel.onnx"), "node '/pool/MaxPool' (MaxPool)", line=1)


def test_nested_subgraphs(tmp_path):
    """An If whose branches nest If nodes deeper and deeper: refused as control flow, without recursing."""
    inner = helper.make_graph([helper.make_node("Relu", ["x"], ["z"])], "leaf", [],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
    leaf = inner
    for depth in range(20):  # each level holds the one below once: the file grows linearly
        node = helper.make_node("If", ["cond"], [f"o{depth}"], then_branch=inner, else_branch=leaf)
        inner = helper.make_graph([node], f"g{depth}", [], [helper.make_tensor_value_info(f"o{depth}",
                                                                                          TensorProto.FLOAT, None)])
    cond = helper.make_tensor("cond", TensorProto.BOOL, [], [True])
    graph = helper.make_graph([helper.make_node("If", ["cond"], ["y"], then_branch=inner, else_branch=leaf,
                                                name="branch")], "nested",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [cond])
    refused(save(tmp_path, graph), "error: ", line=1)


def test_subgraphs_nested_past_protobufs_depth(tmp_path):
    """Node -> attribute -> graph -> node ... 300 levels deep, written byte by byte: a located error."""
    message = b""
    for _ in range(300):
        attribute = b"\x0a\x01g" + b"\x32" + _varint(len(message)) + message  # name "g", field 6: g
        node = b"\x2a" + _varint(len(attribute)) + attribute  # NodeProto.attribute
        message = b"\x0a" + _varint(len(node)) + node  # GraphProto.node
    data = b"\x08\x08" + b"\x3a" + _varint(len(message)) + message  # ir_version 8, graph
    refused(write(tmp_path, data), "not a readable ONNX model", line=1)


def test_a_huge_constant_is_refused_not_built(tmp_path):
    net = Net((1, 3, 8, 8), "huge")
    big = net.node("ConstantOfShape", [net.const([10**6, 10**6])], channels=0)
    y = net.node("Add", ["x", net.node("Reshape", [big, net.const([-1])], channels=0)])
    text = refused(_save_unchecked(net, y, tmp_path), "too large")
    assert "ConstantOfShape" in text


def _save_unchecked(net, output, tmp_path) -> str:
    graph = helper.make_graph(net.nodes, net.name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, net.input_dims)],
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)], net.inits)
    return save(tmp_path, graph, "unchecked.onnx")
