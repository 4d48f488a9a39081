"""`costcalc measure` and costcalc.runtime: onnxruntime's time, per layer from its profiler. The attribution of
kernels to layers is checked on hand-made profiles (no runtime needed); the runs themselves need onnxruntime."""

import json
import sys

import pytest

from costcalc.graph import load

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper  # noqa: E402

from costcalc.runtime.ort import attribute  # noqa: E402


def _model(nodes, producer="costcalc"):
    """A ModelProto of (name, op_type, inputs, outputs) nodes: only the structure attribute() reads."""
    protos = [helper.make_node(op, ins, outs, name=name) for name, op, ins, outs in nodes]
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info(nodes[-1][3][0], TensorProto.FLOAT, [1, 4, 8, 8])
    model = helper.make_model(helper.make_graph(protos, "g", [x], [y]))
    model.producer_name = producer
    return model


RESIDUAL = [  # conv -> bn -> relu, then conv2 -> bn2 -> add(shortcut) -> relu2, as onnxruntime fuses them
    ("conv", "Conv", ["input", "w"], ["conv"]), ("bn", "BatchNormalization", ["conv"], ["bn"]),
    ("relu", "Relu", ["bn"], ["relu"]), ("conv2", "Conv", ["relu", "w2"], ["conv2"]),
    ("bn2", "BatchNormalization", ["conv2"], ["bn2"]), ("add", "Add", ["bn2", "relu"], ["add"]),
    ("relu2", "Relu", ["add"], ["relu2"]),
]


def test_a_fused_kernel_goes_on_its_first_layer_and_the_others_are_marked():
    runs = [[("relu_nchwc", "Conv", 0.003), ("bn2_nchwc", "Conv", 0.005), ("ReorderOutput", "ReorderOutput", 0.001)],
            [("relu_nchwc", "Conv", 0.002), ("bn2_nchwc", "Conv", 0.007), ("ReorderOutput", "ReorderOutput", 0.001)],
            [("relu_nchwc", "Conv", 0.004), ("bn2_nchwc", "Conv", 0.006), ("ReorderOutput", "ReorderOutput", 0.002)]]
    rows = {r.name: r for r in attribute(_model(RESIDUAL), runs)}
    assert list(rows) == ["conv", "bn", "relu", "conv2", "bn2", "add", "relu2", "[ReorderOutput]"]
    assert (rows["conv"].latency_s, rows["conv"].latency_median_s, rows["conv"].fused_into) == (0.002, 0.003, None)
    assert (rows["conv2"].latency_s, rows["conv2"].latency_median_s) == (0.005, 0.006)
    assert [rows[n].fused_into for n in ("bn", "relu", "bn2", "add", "relu2")] == ["conv", "conv", "conv2", "conv2", "conv2"]
    assert all(rows[n].latency_s == 0 for n in ("bn", "relu", "bn2", "add", "relu2"))
    assert rows["[ReorderOutput]"].latency_s == 0.001 and rows["[ReorderOutput]"].fused_into is None


def test_a_removed_first_node_is_marked_with_its_reader():
    nodes = [("drop", "Dropout", ["input"], ["drop"]), ("conv", "Conv", ["drop", "w"], ["conv"])]
    rows = {r.name: r for r in attribute(_model(nodes), [[("conv", "Conv", 0.002)]])}
    assert (rows["drop"].fused_into, rows["drop"].latency_s, rows["conv"].latency_s) == ("conv", 0.0, 0.002)


def test_unfused_kernels_and_sub_nodes_of_a_layer():
    """A costcalc layer written as several nodes (swish: Sigmoid + `<layer>/Mul`) sums its kernels; a kernel named
    after a sub-node (`act/Mul/QuickGeluFusion/`) belongs to the layer."""
    nodes = [("conv", "Conv", ["input", "w"], ["conv"]), ("act", "Sigmoid", ["conv"], ["act/Sigmoid"]),
             ("act/Mul", "Mul", ["conv", "act/Sigmoid"], ["act"])]
    rows = {r.name: r for r in attribute(_model(nodes), [[("conv", "Conv", 0.004), ("act/Mul/QuickGeluFusion/", "QuickGelu", 0.001)]])}
    assert list(rows) == ["conv", "act"]
    assert (rows["conv"].latency_s, rows["act"].latency_s, rows["act"].fused_into) == (0.004, 0.001, None)
    other = {r.name: r for r in attribute(_model(nodes, producer="pytorch"), [[("conv", "Conv", 0.004)]])}
    assert list(other) == ["conv", "act", "act/Mul"]  # another producer's nodes are layers of their own
    assert other["act/Mul"].fused_into == "conv"


ort = pytest.importorskip("onnxruntime")

from costcalc.runtime import measure, measure_graph  # noqa: E402


@pytest.fixture(scope="module")
def shufflenet():
    graph = load("specs/shufflenet_v2_x0_5.yaml", input_shape=(3, 64, 64))
    return graph, measure_graph(graph, runs=3, warmup=1)


def test_measure_graph_keeps_every_layer(shufflenet):
    graph, m = shufflenet
    names = [layer.name for layer in m.layers if not layer.name.startswith("[")]
    assert names == [node.name for node in graph.nodes]  # none dropped, in order
    assert m.runs == 3 and m.threads == 1 and m.warmup == 1 and len(m.times_s) == 3
    assert 0 < m.latency_s == min(m.times_s) <= m.latency_median_s
    assert 0 < m.cpu_s <= m.latency_s * 1.001 and m.cpu_s <= m.cpu_median_s  # a run's CPU time <= its wall time
    assert m.profiled_s == pytest.approx(sum(layer.latency_s for layer in m.layers))
    assert 0 < m.accounted <= 1
    timed = {layer.name for layer in m.layers if layer.fused_into is None}
    for layer in m.layers:
        if layer.fused_into is not None:
            assert layer.latency_s == 0 and layer.fused_into in timed
    fused = {layer.name for layer in m.layers if layer.fused_into}
    assert "bn1" in fused  # onnxruntime folds batchnorm into the conv before it


def test_measure_takes_a_path_bytes_or_proto(tmp_path):
    from costcalc.exporters.onnx import export, save

    model = export(load("specs/guidelines/g4_relu.yaml", input_shape=(128, 8, 8)))
    path = tmp_path / "m.onnx"
    save(model, str(path))
    for given in (model, model.SerializeToString(), str(path)):
        m = measure(given, runs=2, warmup=0, profile=False)
        assert m.runs == 2 and m.layers == () and m.latency_s > 0


def test_budget_stops_early():
    graph = load("specs/guidelines/g4_relu.yaml", input_shape=(128, 8, 8))
    m = measure_graph(graph, runs=1000, warmup=0, budget_s=0.05, profile=False)
    assert 1 <= m.runs < 1000


def test_cli_measure_json(run):
    result = run("measure", "specs/shufflenet_v2_x0_5.yaml", "--input", "3x64x64", "--runs", "2", "--warmup", "1",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["threads"] == 1 and doc["runs"] == 2
    assert 0 < doc["totals"]["latency_s"] <= doc["totals"]["latency_median_s"]
    assert 0 < doc["totals"]["cpu_s"] <= doc["totals"]["latency_s"] * 1.001
    assert doc["totals"]["flops"] == sum(layer["flops"] for layer in doc["layers"] if "flops" in layer)
    names = [layer["name"] for layer in doc["layers"]]
    assert names[:3] == ["conv1", "bn1", "relu1"] and "stage2.down.shuffle" in names
    assert all(isinstance(layer["latency_s"], float) for layer in doc["layers"])
    assert sum(layer["latency_s"] for layer in doc["layers"]) == pytest.approx(doc["totals"]["profiled_s"])


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_cli_measure_formats(run, fmt):
    result = run("measure", "specs/guidelines/g4_relu_shortcut.yaml", "--input", "128x8x8", "--runs", "2",
                 "--warmup", "0", "--depth", "1", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    if fmt == "csv":
        lines = result.stdout.splitlines()
        assert lines[0] == "name,latency_s,latency_median_s,fused_into,flops,memory_access"
        assert lines[-1].startswith("total,")
        layers = [line for line in lines[1:-1] if not line.startswith("[")]  # [..]: onnxruntime's own kernels
        assert len(layers) == 70  # every layer (json and csv ignore --depth)
    else:
        assert "wall time for the batch: min" in result.stdout
        assert "of that pass's time" in " ".join(result.stdout.split())


def test_cli_measure_an_onnx_file(run, tmp_path):
    path = tmp_path / "m.onnx"
    assert run("export", "specs/guidelines/g4_relu.yaml", "-o", path, "--input", "128x8x8").exit_code == 0
    result = run("measure", path, "--runs", "2", "--warmup", "0", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["layers"][0]["name"] == "unit.0.body.conv1"


def test_without_onnxruntime_one_located_error_names_the_extra(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    result = run("measure", "specs/resnet50.yaml")
    assert result.exit_code == 2
    assert result.stderr == "specs/resnet50.yaml:1:1: error: measuring needs onnxruntime: pip install 'costcalc[runtime]'\n"
    result = run("verify", "specs/resnet50.yaml", "--against", "onnxruntime")
    assert result.exit_code == 2 and "costcalc[runtime]" in result.stderr


def test_an_open_input_size_needs_input(run, tmp_path):
    """A file whose input is N x 4 x H x W: measure says to give the size, and runs with --input."""
    import numpy as np
    from onnx import numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 4, 1, 1), np.float32), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], "g", [x], [y], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    path = tmp_path / "open.onnx"
    path.write_bytes(model.SerializeToString())
    result = run("measure", path, "--runs", "1", "--warmup", "0")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:1:1: error: input 'x' has shape ['N', 4, 'H', 'W']: its size is not fixed")
    result = run("measure", path, "--runs", "1", "--warmup", "0", "--input", "4x8x8", "--batch", "2", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [layer["name"] for layer in json.loads(result.stdout)["layers"]][0] == "conv"
