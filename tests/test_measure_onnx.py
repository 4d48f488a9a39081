"""Issue 28: `measure` on an ONNX file shows the layers costcalc imports from it (module paths, ops, FLOPs and the
rate), each runtime kernel's time on the layer whose node it ran, on real exports: a dynamo-exported and a
TorchScript-exported MobileNetV4 and the hand-written modules of tests/fixtures/onnx/handwritten, their stripped
weights refilled with seeded random values (tests/onnx_weights.py) so that onnxruntime runs the exporters' own
graphs, and TorchScript exports of torchvision models and a dynamo export of MobileViT. The attribution rules
themselves are checked on hand-made profiles (no runtime needed)."""

import json

import pytest

from conftest import ROOT

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper  # noqa: E402

from costcalc.runtime.kernels import attribute, layers_by_dataflow  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "onnx"


def _model(nodes):
    """A dynamo-style ModelProto of (name, op_type, inputs, outputs) nodes: node `node_relu` writes tensor `relu`."""
    protos = [helper.make_node(op, ins, outs, name=name) for name, op, ins, outs in nodes]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info(nodes[-1][3][0], TensorProto.FLOAT, [1, 4, 8, 8])
    model = helper.make_model(helper.make_graph(protos, "g", [x], [y]))
    model.producer_name = "pytorch"
    return model


DYNAMO = [("node_Conv_7", "Conv", ["x", "w"], ["conv2d"]), ("node_relu", "Relu", ["conv2d"], ["relu"]),
          ("node_view", "Reshape", ["relu", "shape"], ["view"]), ("node_linear", "Gemm", ["view", "w2"], ["linear"]),
          ("node_relu_1", "Relu", ["linear"], ["relu_1"])]


def test_a_kernel_named_after_its_output_tensor_goes_on_the_node_that_writes_it():
    """onnxruntime names a fused NCHWc conv after the output of the group's last node (`relu_nchwc`): the conv's."""
    rows = {r.name: r for r in attribute(_model(DYNAMO), [[("relu_nchwc", "Conv", 0.003),
                                                          ("fused node_linear", "FusedGemm", 0.002)]])}
    assert (rows["node_Conv_7"].latency_s, rows["node_relu"].fused_into) == (0.003, "node_Conv_7")
    assert (rows["node_linear"].latency_s, rows["node_relu_1"].fused_into) == (0.002, "node_linear")
    assert not [name for name in rows if name.startswith("[")]


def test_the_kernels_a_fusion_adds_go_with_the_kernel_they_serve():
    runs = [[("relu_nchwc", "Conv", 0.003), ("gemm_input_reshape", "Reshape", 0.0005),
             ("node_linear/MatMulAddFusion", "Gemm", 0.002), ("gemm_output_reshape_token_5", "Reshape", 0.0002),
             ("ReorderOutput", "ReorderOutput", 0.0001)]]
    rows = {r.name: r for r in attribute(_model(DYNAMO), runs)}
    assert rows["node_linear"].latency_s == pytest.approx(0.0027)
    assert rows["node_Conv_7"].latency_s == 0.003
    assert [name for name in rows if name.startswith("[")] == ["[ReorderOutput]"]  # the layout's own, apart


def test_nodes_that_made_no_layer_join_the_layer_they_read_or_feed():
    """A view joins the layer whose output it reads; a weight's Identity (it reads no layer) the layer reading it."""
    nodes = [("Identity_0", "Identity", ["w0"], ["w"]), *DYNAMO]
    names = layers_by_dataflow(_model(nodes), {1: "stem.conv", 2: "stem.act", 4: "head.fc", 5: "head.act"})
    assert names == {"Identity_0": "stem.conv", "node_Conv_7": "stem.conv", "node_relu": "stem.act",
                     "node_view": "stem.act", "node_linear": "head.fc", "node_relu_1": "head.act"}
    rows = {r.name: r for r in attribute(_model(nodes), [[("relu_nchwc", "Conv", 0.003)]], names)}
    assert list(rows)[:2] == ["stem.conv", "stem.act"] and rows["stem.act"].fused_into == "stem.conv"


ort = pytest.importorskip("onnxruntime")

from onnx_weights import runnable  # noqa: E402


def _measured(run, path, *args) -> dict:
    result = run("measure", path, "--runs", "2", "--warmup", "1", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _report(run, path, *args) -> dict:
    result = run("report", path, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _check_layers(measured: dict, report: dict) -> None:
    """The rows are the imported layers with their FLOPs, every kernel on one of them, the runtime's own layout
    reorders apart; fused layers name a layer; the rows sum to the profiled kernel time."""
    layers = {layer["name"]: layer for layer in report["layers"]}
    rows = [row for row in measured["layers"] if not row["name"].startswith("[")]
    assert {row["name"] for row in rows} == set(layers)
    assert all(row["flops"] == layers[row["name"]]["flops"] for row in rows)
    assert measured["totals"]["flops"] == report["totals"]["flops"]
    assert {row["name"] for row in measured["layers"]} - set(layers) <= {"[ReorderInput]", "[ReorderOutput]"}
    assert all(row["fused_into"] in layers for row in rows if row["fused_into"])
    assert sum(row["latency_s"] for row in measured["layers"]) == pytest.approx(measured["totals"]["profiled_s"])
    assert sum(row["latency_s"] > 0 for row in rows) >= len(rows) // 3


@pytest.mark.parametrize("name", ["mobilenetv4_conv_small_dyn18", "mobilenetv4_conv_small_ts17"])
def test_mobilenet_v4_exports_measure_by_their_imported_layers(run, tmp_path, name):
    """The dynamo export showed one `[Conv]` row with 94.7 % of the time and every conv `fused into node_mean`; the
    TorchScript one 36 rows of `Identity_N ... fused into /blocks/blocks` and no FLOPs."""
    path = runnable(str(FIXTURES / "hybrid" / f"{name}.onnx.gz"), str(tmp_path / f"{name}.onnx"))
    measured = _measured(run, path)
    _check_layers(measured, _report(run, path))
    convs = [row for row in measured["layers"] if row["name"].startswith("blocks.") and row["latency_s"] > 0]
    assert len(convs) >= 20
    table = run("measure", path, "--runs", "1", "--warmup", "1", "--depth", "2").stdout
    assert "G MAC/s" in table and "blocks.blocks_2 " in table and "Identity_" not in table
    assert "node_" not in table and "fused into conv_stem" in table


@pytest.mark.parametrize("name", ["models/shufflenet_v2_x1_0_ts17", "models/googlenet_ts17",
                                  "models/regnet_y_400mf_ts17", "hybrid/mobilevit_xxs_dyn18"])
def test_torchvision_and_timm_exports_measure_by_their_imported_layers(run, tmp_path, name):
    path = runnable(str(FIXTURES / f"{name}.onnx.gz"), str(tmp_path / "m.onnx"))
    _check_layers(_measured(run, path), _report(run, path))


HANDWRITTEN = ["squeeze_excite", "mhsa", "einsum_attention", "grn", "channel_shuffle", "upsample_decoder"]


@pytest.mark.parametrize("exporter", ["ts17", "dyn18"])
@pytest.mark.parametrize("name", HANDWRITTEN)
def test_hand_written_modules_measure_by_their_imported_layers(run, tmp_path, name, exporter):
    path = runnable(str(FIXTURES / "handwritten" / f"{name}_{exporter}.onnx"), str(tmp_path / "m.onnx"))
    _check_layers(_measured(run, path), _report(run, path))


def test_a_dynamic_batch_file_takes_batch_and_input(run, tmp_path):
    """A file whose batch and size are open: --batch and --input choose them; the rows are the imported layers
    at that size (FLOPs as `report` counts the file there)."""
    path = runnable(str(FIXTURES / "resnet18_ts17_dynamic.onnx"), str(tmp_path / "dynamic.onnx"))
    args = ("--batch", "2", "--input", "3x64x64")
    measured = _measured(run, path, *args)
    assert measured["input"] == [2, 3, 64, 64]
    _check_layers(measured, _report(run, path, *args))


def test_no_profile_on_a_file_prints_the_total_without_a_table(run, tmp_path):
    path = runnable(str(FIXTURES / "handwritten" / "squeeze_excite_dyn18.onnx"), str(tmp_path / "m.onnx"))
    result = run("measure", path, "--runs", "2", "--warmup", "1", "--no-profile")
    assert result.exit_code == 0, result.stderr
    assert "┃" not in result.stdout and "0.000 │ 0.000" not in result.stdout
    assert result.stdout.splitlines()[1].startswith("total, wall time for the batch: min ")


def test_a_file_costcalc_cannot_read_is_measured_per_node_and_says_so(run, tmp_path):
    """onnxruntime runs an op costcalc does not cost (Det): the time is per ONNX node, and a line says why."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="act"), helper.make_node("Det", ["r"], ["y"], name="hm")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=8)
    path = tmp_path / "odd.onnx"
    path.write_bytes(model.SerializeToString())
    result = run("measure", path, "--runs", "2", "--warmup", "1")
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "rows: the file's ONNX nodes, as costcalc does not read its layers (" in text and "Det" in text
    assert "│ act " in result.stdout and "│ hm " in result.stdout
