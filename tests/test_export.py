"""`costcalc export`: the walked spec as ONNX. The round trip over every shipped spec keeps the exporter and the
importer honest: `report exported.onnx` has the spec's totals and its layer names."""

import re

import pytest

from costcalc.analysis import analyse
from costcalc.errors import SpecError
from costcalc.graph import load
from tests.conftest import ROOT, SPECS

onnx = pytest.importorskip("onnx")

from costcalc.exporters.onnx import BUILDERS, export, save  # noqa: E402
from tests.modern_cases import CASES  # noqa: E402

ALL_SPECS = sorted(str(p.relative_to(SPECS.parent)) for p in SPECS.rglob("*.yaml"))


def _names(graph) -> list:
    """Layer names with every separator the importer may rewrite ('.', '/', '-') as '_'."""
    return [re.sub(r"[^A-Za-z0-9]+", "_", node.name) for node in graph.nodes]


def _round_trip(graph, tmp_path, **kwargs):
    path = tmp_path / "model.onnx"
    save(export(graph, weights="none", **kwargs), str(path))
    back = load(str(path))
    assert analyse(back).totals == analyse(graph).totals
    assert _names(back) == _names(graph)
    return back


SEVERAL_OUTPUTS = {"specs/fcn_resnet50.yaml", "specs/deeplabv3_resnet50.yaml"}  # the auxiliary head's output too
UNROLLED = {"specs/lraspp_mobilenet_v3_large.yaml"}  # repetitions too unlike for the importer's `repeat:`


# Issue 23's hybrids: the importer unrolls their unlike repetitions under other names (`rows.0` as `rows.rows_0`),
# so the names differ; every total comes back the same.
HYBRIDS = {f"specs/{name}.yaml" for name in (
    "vit_b_16", "swin_t", "maxvit_t", "mobilevit_xxs", "mobilevit_xs", "mobilevit_s", "efficientvit_b0",
    "levit_128s", "mobilenetv4_conv_small", "mobilenetv4_conv_medium", "mobilenetv4_hybrid_medium",
    "edgenext_xx_small", "fastvit_t8")}


@pytest.mark.parametrize("spec", sorted(set(ALL_SPECS) - SEVERAL_OUTPUTS - UNROLLED - HYBRIDS))
def test_round_trip_keeps_totals_and_names(spec, tmp_path):
    _round_trip(load(spec), tmp_path)


@pytest.mark.parametrize("spec", sorted(HYBRIDS))
def test_round_trip_of_the_hybrids(spec, tmp_path):
    graph = load(spec)
    path = tmp_path / "model.onnx"
    save(export(graph, weights="none"), str(path))
    assert analyse(load(str(path))).totals == analyse(graph).totals  # memory access and activations too


@pytest.mark.parametrize("spec", sorted(UNROLLED))
def test_round_trip_of_unlike_repetitions(spec, tmp_path):
    """MobileNetV3's units differ in kernel, SE and activation, more than block arguments and switched layers say:
    the importer writes them one by one, `units_low.0` as `units_low.units_low_0`, and flattens the head, which
    reads two tensors (importers/onnx/hierarchy.py)."""
    graph = load(spec)
    path = tmp_path / "model.onnx"
    save(export(graph, weights="none"), str(path))
    back = load(str(path))
    assert analyse(back).totals == analyse(graph).totals
    unrolled = [re.sub(r"^(\w+)\.(\d+)\.", r"\1_\1_\2_", node.name) for node in graph.nodes]
    assert _names(back) == [re.sub(r"[^A-Za-z0-9]+", "_", name) for name in unrolled]


@pytest.mark.parametrize("spec", sorted(SEVERAL_OUTPUTS))
def test_a_head_no_layer_reads_is_exported_as_an_output(spec, tmp_path):
    """The FCN and DeepLabV3 specs end in two heads, as torchvision's models return {"out", "aux"}: both are outputs
    of the exported file, which the importer reads back with the spec's totals, the first being the network's
    output; without the auxiliary head, the round trip of names too."""
    path = tmp_path / "model.onnx"
    graph = load(spec)
    save(export(graph, weights="none"), str(path))
    assert [o.name for o in onnx.load(str(path), load_external_data=False).graph.output] == ["resize", "aux.resize"]
    back = load(str(path))
    assert analyse(back).totals == analyse(graph).totals
    assert back.tensors[back.output] == graph.tensors[graph.output]
    _round_trip(load(spec, {"aux_loss": "False"}), tmp_path)


# One small network per form each op of the registry is exported in (the shipped specs use the seed ops): its
# round trip gives the spec's totals and names. A 1x1 conv before it and a relu after it write and read its tensor.
OP_CASES = {**{k: v for k, v in CASES.items() if k != "adaptive_avgpool_up"},
    "layernorm_flat": "[{op: gap}, {op: flatten}, {op: layernorm}]",
    "select": "{op: select, out: 5}",
    "select_flat": "[{op: gap}, {op: flatten}, {op: select, out: 6}]",
    "dropout": "{op: dropout, p: 0.2}",
    "scale": "{op: scale, factor: 0.5}",
    "mean": "{op: mean}",
    "leaky_relu": "{op: leaky_relu}",
    "tanh": "{op: tanh}",
    "hardsigmoid": "{op: hardsigmoid}",
    "hardswish": "{op: hardswish}",
    "swish": "{op: swish}",
    "relu6": "{op: relu6}",
    "shuffle": "{op: shuffle, groups: 2}",
    "split": "[{name: s, op: split, parts: 2}, {name: c, op: conv, out: 4, k: 1, from: s.0}, {op: mul, from: [c, s.1]}]",
    "add": "[{name: a, op: relu}, {op: add, from: [a, input]}]",
    "concat": "[{name: a, op: relu}, {op: concat, from: [a, input]}]",
    "maxpool": "{op: maxpool, k: 3, stride: 2, pad: 1}",
    "avgpool": "{op: avgpool, k: 2}",
    "identity": "{op: identity}",
}
# Forms the importer reads back as another op of other costs, by design: adaptive pooling to a larger size is
# written as a nearest Resize (every window one pixel), which imports as a resize (no arithmetic).
NOT_ROUND_TRIP = {"adaptive_avgpool_up": CASES["adaptive_avgpool_up"]}


def _op_spec(write_spec, body: str) -> str:
    layers = body[1:-1].split("}, ") if body.startswith("[") else [body[1:-1]]
    lines = "".join(f"  - {{{layer.strip('{}')}}}\n" for layer in layers)
    return write_spec(f"name: t\ninput: [8, 8, 8]\nlayers:\n  - {{op: conv, out: 8, k: 1}}\n{lines}"
                      "  - {op: relu}\n")


def test_the_op_cases_cover_the_registry():
    from costcalc.ops import OPS

    from tests.test_export_tensor import CASES as TENSOR_CASES  # the generic tensor layer, checked there

    shipped = {node.op for spec in ALL_SPECS for node in load(spec).nodes}
    for extra in ("recurrent_ops", "more_ops", "more_ops_opset26"):  # run through onnxruntime in tests/test_recurrent.py,
        # test_col2im.py and test_more_ops.py
        shipped |= {node.op for node in load(ROOT / "tests" / "data" / f"{extra}.yaml").nodes}
    bodies = [*OP_CASES.values(), *(body for _, body in TENSOR_CASES.values())]
    named = {body.split("op: ")[k].split(",")[0].split("}")[0] for body in bodies
             for k in range(1, body.count("op: ") + 1)}
    assert set(OPS) <= shipped | named, sorted(set(OPS) - shipped - named)


@pytest.mark.parametrize("opset", [17, 21])
@pytest.mark.parametrize("case", sorted(OP_CASES))
def test_round_trip_of_every_op(case, opset, write_spec, tmp_path):
    graph = load(_op_spec(write_spec, OP_CASES[case]))
    _round_trip(graph, tmp_path, opset=opset)


def test_what_does_not_round_trip_is_said(write_spec, tmp_path):
    """Adaptive pooling up to 16 x 24 counts one FLOP per output; the nearest Resize it is written as counts none."""
    graph = load(_op_spec(write_spec, NOT_ROUND_TRIP["adaptive_avgpool_up"]))
    path = tmp_path / "up.onnx"
    save(export(graph, weights="none"), str(path))
    back = load(str(path))
    assert [n.op for n in back.nodes] == ["conv", "resize", "relu"]
    pool = next(n for n in graph.nodes if n.op == "adaptive_avgpool")
    assert analyse(graph).totals.elementwise_flops - analyse(back).totals.elementwise_flops == 8 * 16 * 24
    assert pool.counts.elementwise_flops == 8 * 16 * 24


def test_round_trip_at_other_settings(tmp_path):
    graph = load("specs/resnext50_32x4d.yaml", {"groups": "8"}, (3, 96, 128), batch=1)
    path = tmp_path / "model.onnx"
    save(export(graph, weights="none"), str(path))
    assert analyse(load(str(path))).totals == analyse(graph).totals


@pytest.mark.parametrize("opset", [13, 14, 18])
def test_opsets_with_other_forms(opset, tmp_path):
    """ReduceMean's axes became an input at 18, HardSwish arrived at 14 (before it: x * HardSigmoid(x))."""
    text = ("name: forms\ninput: [8, 8, 8]\nlayers:\n  - {op: conv, out: 8, k: 3, pad: 1}\n  - {op: hardswish}\n"
            "  - {op: swish}\n  - {op: mean}\n  - {op: flatten}\n  - {op: fc, out: 4}\n")
    spec = tmp_path / "forms.yaml"
    spec.write_text(text)
    graph = load(str(spec))
    model = export(graph, opset=opset, weights="random")
    onnx.checker.check_model(model, full_check=True)
    assert ("HardSwish" in {n.op_type for n in model.graph.node}) == (opset >= 14)
    path = tmp_path / "forms.onnx"
    save(model, str(path))
    back = load(str(path))
    assert analyse(back).totals == analyse(graph).totals
    assert [n.op for n in back.nodes] == [n.op for n in graph.nodes]


@pytest.mark.parametrize("spec", ["specs/shufflenet_v2_x0_5.yaml", "specs/efficientnet_b0.yaml",
                                  "specs/condensenet.yaml", "specs/shufflenet_v1.yaml"])
def test_the_file_is_valid_onnx_with_the_walked_shapes(spec):
    """onnx's checker and its shape inference accept the file; its output shape is the walked one."""
    graph = load(spec, input_shape=(3, 224, 224) if "condensenet" in spec else (3, 64, 64), batch=2)
    model = onnx.shape_inference.infer_shapes(export(graph, weights="zeros"), strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    out = model.graph.output[0].type.tensor_type.shape
    assert [d.dim_value for d in out.dim] == [2, *graph.tensors[graph.output]]
    inferred = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.value_info}
    for node in graph.nodes:  # every layer's output tensor is named after it and has its walked shape
        for k, t in enumerate(node.outputs):
            name = node.name if len(node.outputs) == 1 else f"{node.name}.{k}"
            if name in inferred:
                assert inferred[name] == [2, *graph.tensors[t]], name


def test_node_names_are_layer_paths():
    graph = load("specs/resnet50.yaml")
    model = export(graph, weights="none")
    names = [n.name for n in model.graph.node]
    assert names[:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert "layer2.0.conv2" in names
    assert {n.partition("/")[0] for n in names} == {node.name for node in graph.nodes}


def test_weights_none_is_graph_only_with_dims(tmp_path):
    graph = load("specs/resnet50.yaml")
    path = tmp_path / "resnet50.onnx"
    save(export(graph, weights="none"), str(path))
    model = onnx.load(str(path), load_external_data=False)
    weights = [t for t in model.graph.initializer if not t.name.rpartition("/")[0]]
    assert weights and all(t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data for t in weights)
    conv1 = next(t for t in weights if t.name == "conv1.weight")
    assert list(conv1.dims) == [64, 3, 7, 7]
    assert sum(int(d) for t in weights if ".running_" not in t.name for d in [_size(t)]) == 25_557_032
    assert path.stat().st_size < 200_000  # 25.6 M parameters, no values


def _size(tensor) -> int:
    n = 1
    for d in tensor.dims:
        n *= d
    return n


def test_random_weights_are_seeded_and_zeros_are_zero():
    graph = load("specs/mobilenet_v1.yaml", input_shape=(3, 32, 32))
    a, b, c = (export(graph, weights="random", seed=s) for s in (1, 1, 2))
    assert a.SerializeToString() == b.SerializeToString() != c.SerializeToString()
    from onnx import numpy_helper

    zeros = export(graph, weights="zeros")
    assert all(not numpy_helper.to_array(t).any() for t in zeros.graph.initializer if t.name.endswith(".weight"))


def test_an_op_without_an_onnx_form_is_a_located_error(monkeypatch, write_spec):
    monkeypatch.delitem(BUILDERS, "tanh")
    path = write_spec("name: t\ninput: [4, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 1}\n  - {name: act, op: tanh}\n")
    with pytest.raises(SpecError) as e:
        export(load(path))
    assert str(e.value).startswith(f"{path}:5:5: error: layer 'act': op 'tanh' has no ONNX form")


def test_opset_out_of_range_is_an_error(run):
    result = run("export", "specs/resnet50.yaml", "-o", "/dev/null", "--opset", "9")
    assert result.exit_code == 2
    assert "error: --opset 9: costcalc exports opsets 13 to" in result.stderr


def test_cli_export_then_report(run, tmp_path):
    path = tmp_path / "m.onnx"
    result = run("export", "specs/squeezenet1_1.yaml", "-o", path, "--weights", "none", "--input", "3x96x96")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"wrote {path}: squeezenet1_1, ")
    spec = run("report", "specs/squeezenet1_1.yaml", "--input", "3x96x96", "--format", "json")
    exported = run("report", path, "--format", "json")
    import json

    assert json.loads(exported.stdout)["totals"] == json.loads(spec.stdout)["totals"]


def test_cli_export_of_a_bad_spec_is_located(run, write_spec):
    path = write_spec("name: t\ninput: [4, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 1, groups: 3}\n")
    result = run("export", path, "-o", "/dev/null")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:4:")
