"""`costcalc export` of the generic tensor layer: each op in a small network is a valid ONNX graph whose shapes, as
onnx's own shape inference derives them, are costcalc's; and onnxruntime, run on the numpy reference's weights and
input, computes what the reference computes (`verify --against onnxruntime`), op by op; and the importer reads each file
back with the spec's totals (the few nodes ONNX's element types make the file add are pinned below)."""

import pytest

from conftest import ROOT
from costcalc.graph import load

onnx = pytest.importorskip("onnx")

from costcalc.exporters.onnx import export  # noqa: E402

# input 8 x 6 x 6 unless the case says otherwise; each case is the layers of a network ending in its op
CASES = {
    "conv1d": ("[8, 20]", "{op: conv, out: 4, k: 3, stride: 2, pad: 1, bias: true}"),
    "conv3d": ("[4, 3, 6, 6]", "{op: conv, out: 6, k: [1, 3, 3], pad: [0, 1, 1], groups: 2}"),
    "conv_transpose1d": ("[8, 5]", "{op: conv_transpose, out: 4, k: 4, stride: 2, pad: 1}"),
    "conv_transpose3d": ("[4, 2, 3, 3]", "{op: conv_transpose, out: 2, k: 2, stride: 2, bias: true}"),
    "maxpool1d": ("[8, 9]", "{op: maxpool, k: 3, stride: 2, pad: 1}"),
    "avgpool3d": ("[4, 4, 6, 6]", "{op: avgpool, k: 2}"),
    "gap3d": ("[4, 4, 6, 6]", "{op: gap}"),
    "fc_tokens": ("[12, 8]", "{op: fc, out: 5}"),
    "fc_tokens_no_bias": ("[12, 8]", "{op: fc, out: 5, bias: false}"),
    "softmax_last": (None, "{op: softmax, axis: -1}"),
    "layernorm_tokens": ("[12, 8]", "{op: layernorm, axis: -1}"),
    "layernorm_axis1": (None, "{op: layernorm, axis: 1, affine: false}"),
    "layernorm_tokens_scale_only": ("[12, 8]", "{op: layernorm, axis: -1, bias: false}"),
    "mul_learned_number": (None, "{op: mul, param: [1]}"),
    "concat_last": (None, "[{name: a, op: relu}, {op: concat, axis: -1, from: [a, input]}]"),
    "split_axis2": (None, "[{name: s, op: split, sizes: [2, 4], axis: 2}, {op: concat, axis: 2, from: [s.1, s.0]}]"),
    "slice_step": (None, "{op: slice, out: 2, start: 1, step: 2, axis: -1}"),
    "add_value": (None, "{op: add, value: 3}"),
    "add_three": (None, "[{name: a, op: relu}, {name: b, op: neg}, {op: add, from: [a, b, input]}]"),
    "sub_param": (None, "{op: sub, param: [8, 1, 1]}"),
    "mul_param": (None, "{op: mul, param: [6]}"),
    "div_value": (None, "{op: div, value: 4}"),
    "pow_value": (None, "{op: pow, value: 2}"),
    "maximum": (None, "[{name: a, op: neg}, {op: maximum, from: [a, input]}]"),
    "minimum_value": (None, "{op: minimum, value: 0.5}"),
    "compare_value": (None, "{op: compare, value: 0}"),
    "where": (None, "[{name: a, op: neg}, {op: where, from: [input, a, input]}]"),
    "where_constant": ("[1, 6, 6]", "{op: where, shape: [8, 1, 1]}"),
    **{op: (None, f"[{{op: abs}}, {{op: add, value: 1}}, {{op: {op}}}]")
       for op in ("exp", "log", "sqrt", "reciprocal", "abs", "neg", "erf", "round", "sin", "softplus", "elu",
                  "cast")},
    **{f"reduce_{kind}": (None, f"[{{op: abs}}, {{op: add, value: 1}}, {{op: reduce_{kind}, axes: [2, 3], "
                                f"keepdims: true}}]")
       for kind in ("sum", "mean", "max", "min", "prod", "l1", "l2", "sum_square", "log_sum_exp", "log_sum",
                    "argmax", "argmin")},
    "reduce_mean_last": (None, "{op: reduce_mean, axes: [-1]}"),
    "reduce_sum_all": (None, "{op: reduce_sum}"),
    "matmul": (None, "[{name: t, op: permute, perm: [0, 1, 3, 2]}, {op: matmul, from: [input, t]}]"),
    "einsum_two": ("[12, 8]", "[{name: q, op: fc, out: 8}, {op: einsum, equation: 'bnc,bmc->bnm', from: [q, input]}]"),
    "einsum_param": ("[12, 8]", "{op: einsum, equation: 'bnc,cd->bnd', param: [8, 3]}"),
    "einsum_one": ("[12, 8]", "{op: einsum, equation: 'bnc->bc'}"),
    "reshape": (None, "{op: reshape, shape: [8, -1]}"),
    "conv_windows": (None, "[{op: reshape, shape: [4, 2, 6, 6]}, {op: conv, out: 4, k: [3, 3], pad: [1, 1]}]"),
    "constant": (None, "[{name: k, op: constant, shape: [8, 6, 6], from: input}, {name: f, op: fc, out: 6, from: k}, "
                       "{op: add, from: [input, f]}]"),
    "permute": (None, "{op: permute, perm: [0, 2, 3, 1]}"),
    "expand": ("[8, 1, 6]", "{op: expand, shape: [8, 5, 6]}"),
    "tile": (None, "{op: tile, repeats: [1, 2, 1]}"),
    "gather": (None, "{op: gather, axis: 2, index: [3]}"),
    "gather_one": (None, "{op: gather, axis: -1}"),
    "depth_to_space": (None, "{op: depth_to_space, blocksize: 2}"),
    "space_to_depth": (None, "{op: space_to_depth, blocksize: 2}"),
}


def _spec(write_spec, case: str) -> str:
    shape, body = CASES[case]
    layers = body[1:-1].split("}, ") if body.startswith("[") else [body[1:-1]]
    lines = "".join(f"  - {{{layer.strip('{}')}}}\n" for layer in layers)
    return write_spec(f"name: t\ninput: {shape or '[8, 6, 6]'}\nlayers:\n{lines}")


def test_the_cases_cover_the_tensor_layer():
    from costcalc.ops import BINARY_OPS, REARRANGE_OPS, REDUCE_OPS, UNARY_OPS

    named = {layer.split("op: ")[1].split(",")[0].split("}")[0] for _, body in CASES.values()
             for layer in body.split("{")[1:] if "op: " in layer}
    assert {*BINARY_OPS, *UNARY_OPS, *REDUCE_OPS, *REARRANGE_OPS, "where", "matmul", "einsum", "slice"} <= named


@pytest.mark.parametrize("case", sorted(CASES))
def test_export_is_valid_and_has_costcalcs_shapes(case, write_spec):
    graph = load(_spec(write_spec, case), batch=2)
    model = export(graph, weights="zeros", opset=18)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (*inferred.graph.value_info, *inferred.graph.output)}
    for node in graph.nodes:
        for k, t in enumerate(node.outputs):
            name = node.name if len(node.outputs) == 1 else f"{node.name}.{k}"
            assert dims[name] == [2, *graph.tensors[t]], name


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("opset", [17, 18])
def test_onnxruntime_computes_what_the_reference_computes(case, opset, write_spec):
    pytest.importorskip("onnxruntime")
    from costcalc.analysis.verify_runtime import verify_against_onnxruntime

    if case.startswith("layernorm") and opset < 17:
        pytest.skip("LayerNormalization is opset 17")
    result = verify_against_onnxruntime(load(_spec(write_spec, case), batch=2), seed=1, opset=opset)
    assert result.passed, (result.max_abs_diff, result.max_abs_reference)


def test_the_spec_of_every_tensor_op_runs_in_onnxruntime():
    pytest.importorskip("onnxruntime")
    from costcalc.analysis.verify_runtime import verify_against_onnxruntime

    assert verify_against_onnxruntime(load(ROOT / "tests" / "data" / "tensor_ops.yaml")).passed


def test_measure_runs_a_spec_of_the_tensor_layer(run):
    pytest.importorskip("onnxruntime")
    import json

    result = run("measure", str(ROOT / "tests" / "data" / "tensor_ops.yaml"), "--runs", "1", "--warmup", "0",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    graph = load(ROOT / "tests" / "data" / "tensor_ops.yaml")
    assert [layer["name"] for layer in doc["layers"]][:len(graph.nodes)] == [node.name for node in graph.nodes]
    assert doc["totals"]["flops"] == sum(node.counts.flops for node in graph.nodes)


# What the exported file adds or drops, by design, for the element types ONNX has: the Cast of a comparison's
# booleans to the numbers costcalc's `compare` gives, the comparison that makes `where`'s numeric condition a
# boolean, the Cast of ArgMax's int64 indices; ReduceMean over H and W reads back as `mean` (global average
# pooling, which counts no divides); a layernorm without affine parameters still has LayerNormalization's required
# scale and shift, read back as affine. n: the elements of the op's output.
N = 8 * 6 * 6
ROUND_TRIP_DIFFERENCES = {
    "compare_value": {"memory_access": 2 * N, "activations": N},
    "where": {"elementwise_flops": N, "memory_access": 2 * N, "activations": N},
    "where_constant": {"elementwise_flops": 36, "memory_access": 2 * 36, "activations": 36},
    "reduce_argmax": {"memory_access": 2 * 8, "activations": 8},
    "reduce_argmin": {"memory_access": 2 * 8, "activations": 8},
    "reduce_mean": {"elementwise_flops": -8},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("opset", [17, 18])
def test_export_then_import_gives_the_specs_totals(case, opset, write_spec, tmp_path):
    """`costcalc export` then `report` on the file: the spec's totals, for every op of the tensor layer (but the
    differences above, each the cost of the nodes ONNX's types make the file add)."""
    from costcalc.analysis import analyse

    graph = load(_spec(write_spec, case))
    path = tmp_path / "t.onnx"
    onnx.save(export(graph, weights="zeros", opset=opset), str(path))
    spec, back = analyse(graph).totals, analyse(load(str(path))).totals
    fields = ("flops", "elementwise_flops", "params", "memory_access", "activations")
    delta = {f: getattr(back, f) - getattr(spec, f) for f in fields if getattr(back, f) != getattr(spec, f)}
    assert delta == ROUND_TRIP_DIFFERENCES.get(case, {})


def test_a_spec_of_several_outputs_imports_with_its_totals(tmp_path):
    """tests/data/tensor_ops.yaml ends in 16 layers no layer reads: the exported file has 16 outputs, the first the
    network's; the import reads them all (the casts, comparisons and argmax above aside)."""
    from costcalc.analysis import analyse

    graph = load(ROOT / "tests" / "data" / "tensor_ops.yaml")
    path = tmp_path / "t.onnx"
    onnx.save(export(graph, weights="zeros", opset=18), str(path))
    assert len(onnx.load(str(path), load_external_data=False).graph.output) == 16
    back = load(str(path))
    assert back.tensors[back.output] == graph.tensors[graph.output]
    spec, got = analyse(graph).totals, analyse(back).totals
    assert (got.flops, got.params) == (spec.flops, spec.params)
