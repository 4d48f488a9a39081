"""The ten failure classes a mutation fuzz of the ONNX paths found (issue 26), each from its smallest reproducer
(tests/fixtures/onnx/hostile/, copied from the fuzz's findings): one located error line and exit 2, or exit 0
with counts, never a traceback or a hang; `import` never writes a spec that does not load."""

from __future__ import annotations

import os

import pytest

onnx = pytest.importorskip("onnx")

from click.testing import CliRunner  # noqa: E402
from hostile import LOCATED, check_promises  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

HOSTILE = os.path.join(os.path.dirname(__file__), "fixtures", "onnx", "hostile")


def fixture(name: str) -> str:
    return os.path.join(HOSTILE, name)


def run(*args: str):
    """(exit code, stdout, stderr lines) of `costcalc ARGS` in-process; a traceback fails the test."""
    from costcalc.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"costcalc raised {type(result.exception).__name__}: {result.exception}")
    return result.exit_code, result.stdout, result.stderr.splitlines()


def one_error(path: str, lines: list, *fragments: str) -> str:
    assert len(lines) == 1, lines
    match = LOCATED.match(lines[0])
    assert match and match["file"] == path, lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def imported(tmp_path, path: str, *options: str):
    """`costcalc import PATH`: (exit code, stderr lines); on exit 0 the spec written must load and walk, with the
    totals `report` gives the ONNX file itself."""
    import json

    out = tmp_path / "imported.yaml"
    code, _, lines = run("import", path, "-o", str(out), *options)
    assert code in (0, 2), (code, lines)
    if code == 0:
        assert not lines, lines
        code_yaml, text_yaml, err = run("report", str(out), "--format", "json", *options)
        assert code_yaml == 0, err
        code_onnx, text_onnx, _ = run("report", path, "--format", "json", *options)
        assert code_onnx == 0
        assert json.loads(text_yaml)["totals"] == json.loads(text_onnx)["totals"]
    return code, lines


# ---- 1. a function's reference attribute in the main graph ----------------------------------------------------

def test_reference_attribute_of_a_needed_node_is_its_located_error(tmp_path):
    path = fixture("ref_attr_min.onnx")
    code, lines = check_promises(path, "--format", "json")
    assert code == 2
    one_error(path, lines, "node 'Relu_0' (Relu)", "attribute 'alpha' refers to attribute 'outer'")
    assert lines[0].startswith(f"{path}:1:1: ")
    code, lines = imported(tmp_path, path)
    assert code == 2
    one_error(path, lines, "attribute 'alpha'")


def test_reference_attribute_of_a_dead_node_is_never_read(tmp_path):
    """The Sigmoid no output depends on costs nothing, and its malformed attribute is not read."""
    path = fixture("ref_attr_dead.onnx")
    code, _ = check_promises(path, "--format", "json")
    assert code == 0
    assert imported(tmp_path, path)[0] == 0


# ---- 2. name de-duplication in linear time --------------------------------------------------------------------

def chain(tmp_path, n: int, name: str = "") -> str:
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=name) for i in range(n)]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info(f"t{n}", TensorProto.FLOAT, [1, 3, 4, 4])])
    path = tmp_path / f"chain_{n}_{name or 'unnamed'}.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return str(path)


class CountingSet(set):
    checks = 0

    def __contains__(self, item):
        CountingSet.checks += 1
        return super().__contains__(item)


def test_naming_n_equal_names_takes_linear_work():
    """Every de-duplication of names (the importer's layer names, the hierarchy's paths, the written entries) goes
    through `repeats.unique`: with its suffix memory, n equal names cost fewer than 3n set look-ups (the loop
    that restarted at `_2` for each took n^2 / 2: 81.6 s on 20,000 unnamed Relus)."""
    from costcalc.importers.onnx.repeats import unique

    n = 20_000
    used, suffixes = CountingSet(), {}
    CountingSet.checks = 0
    names = [unique("relu", used, suffixes) for _ in range(n)]
    assert len(set(names)) == n and names[:3] == ["relu", "relu_2", "relu_3"]
    assert CountingSet.checks < 3 * n
    used.add("conv_3")  # a name taken by another layer is skipped, not repeated
    assert [unique("conv", used, suffixes) for _ in range(3)] == ["conv", "conv_2", "conv_4"]


@pytest.mark.parametrize("name", ["", "same"])
def test_a_chain_of_20000_nodes(tmp_path, name):
    """The counts are the closed form: each Relu reads and writes 48 elements and does 48 comparisons; every
    layer has its own name. (Its time: benchmarks/onnx_names.py, recorded in docs/hostile-input.md.)"""
    import json

    from costcalc.importers.onnx import import_document

    n = 20_000
    path = chain(tmp_path, n, name)
    code, out, lines = run("report", path, "--format", "json")
    assert code == 0, lines
    totals = json.loads(out)["totals"]
    assert totals["elementwise_flops"] == 48 * n and totals["memory_access"] == 96 * n
    layers = import_document(path)["layers"]
    names = [entry["name"] for entry in layers]
    assert len(names) == n and len(set(names)) == n


# ---- 3. names of 247 path components ---------------------------------------------------------------------------

def test_deep_module_paths_nest_at_most_max_nesting(tmp_path):
    from costcalc.importers.onnx.hierarchy import MAX_NESTING

    path = fixture("deepname3_247.onnx")
    assert check_promises(path, "--format", "json")[0] == 0
    code, _ = imported(tmp_path, path)
    assert code == 0
    text = (tmp_path / "imported.yaml").read_text()
    depth = max(len(line) - len(line.lstrip()) for line in text.splitlines()) // 4
    assert depth <= MAX_NESTING + 1


# ---- 9. import writes only what loads --------------------------------------------------------------------------

def test_dilation_zero_is_refused_by_report_and_import_alike(tmp_path):
    path = fixture("import_dilation0.onnx")
    code, lines = check_promises(path, "--format", "json")
    assert code == 2
    expected = one_error(path, lines, "node 'conv' (Conv): 'dilation' must be at least 1, not 0")
    code, lines = imported(tmp_path, path)
    assert code == 2 and lines == [expected]
    assert not (tmp_path / "imported.yaml").exists()


@pytest.mark.parametrize("attrs, fragment", [
    ({"kernel_shape": [1, 1], "strides": [-1, 1]}, "'stride' must be at least 1, not -1"),
    ({"kernel_shape": [1, 1], "pads": [2**40, 0, 2**40, 0]}, "is beyond the limit of 1,000,000,000,000"),
    ({"kernel_shape": [1, 1], "dilations": [1, 0]}, "'dilation' must be at least 1, not 0"),
])
def test_arguments_out_of_range_are_refused(tmp_path, attrs, fragment):
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 1, 1], [0.0] * 12)
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "args.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    code, lines = check_promises(str(path), "--format", "json")
    assert code == 2
    one_error(str(path), lines, fragment)
    assert imported(tmp_path, str(path))[0] == 2


def test_control_characters_in_a_name_are_escaped_in_the_comment(tmp_path):
    path = fixture("import_ctrlchar_name.onnx")
    assert imported(tmp_path, path)[0] == 0
    text = (tmp_path / "imported.yaml").read_text()
    assert "\x12" not in text and "# a\\x12b (Relu)" in text


def test_names_longer_than_the_spec_limit_are_shortened(tmp_path):
    from costcalc.spec.model import MAX_NAME

    nodes = [helper.make_node("Relu", ["x" if k == 0 else f"t{k}"], [f"t{k + 1}"], name="n" * 300) for k in range(3)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("t3", TensorProto.FLOAT, None)])
    path = tmp_path / "long.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    assert imported(tmp_path, str(path))[0] == 0
    from costcalc.importers.onnx import import_document

    names = [entry["name"] for entry in import_document(str(path))["layers"]]
    assert len(set(names)) == 3 and all(len(n) <= MAX_NAME for n in names)


# ---- 10. declared attributes against the weights' dims ---------------------------------------------------------

@pytest.mark.parametrize("name, fragment", [
    ("incons_kshape_vs_w.onnx", "kernel_shape [5, 5] contradicts its weights of shape 16 x 3 x 3 x 3"),
    ("incons_w_zero_dim.onnx", "weights of shape 16 x 3 x 3 x 0 hold no values"),
])
def test_kernel_shape_is_checked_against_the_weights(tmp_path, name, fragment):
    path = fixture(name)
    code, lines = check_promises(path, "--format", "json")
    assert code == 2
    one_error(path, lines, "node 'conv' (Conv): " + fragment)
    assert imported(tmp_path, path)[0] == 2


def test_batchnorm_statistics_must_have_one_value_per_channel(tmp_path):
    inits = [helper.make_tensor(n, TensorProto.FLOAT, [c], [1.0] * c)
             for n, c in (("s", 3), ("b", 3), ("m", 5), ("v", 3))]
    graph = helper.make_graph([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn")],
                              "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    path = tmp_path / "bn.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    code, lines = check_promises(str(path), "--format", "json")
    assert code == 2
    one_error(str(path), lines, "node 'bn' (BatchNormalization): its mean has shape 5")


# ---- 4-8. measure: every failure of the runtime is one located line ---------------------------------------------

@pytest.mark.parametrize("name, options, fragment", [
    ("s00075.onnx", (), "input 'x' of shape 4611686018427387904 x 3 x 4 x 4 is 885,443,715,538,058,477,568 bytes"),
    ("relu_20000.onnx", (), "input 'x' of shape 1 x 3 x 20000 x 20000 is 4,800,000,000 bytes, beyond the "
                            "1,073,741,824"),
    ("s00332.onnx", (), "the model has no outputs"),
    ("gather_oob.onnx", (), "onnxruntime cannot run the model: "),
    ("garbage2.onnx", ("--input", "3x8x8"), "not a readable ONNX model"),
    ("garbage2.onnx", (), "not a readable ONNX model"),
    ("s02679.onnx", (), "onnxruntime cannot load the model: "),
    # benchmarks/onnx_fuzz.py's mutant 6,520 (seed 2931): a byte flipped in an external-data key; onnx's warning
    # about the key it ignores was a second line before the located one
    ("fuzz_external_data_key_bytes.onnx", (), "the weights kept in external data cannot be read"),
])
def test_measure_failures_are_one_located_line(capfd, name, options, fragment):
    """capfd, not only click's stderr: onnxruntime's own logger writes to the process's stderr (class 8)."""
    pytest.importorskip("onnxruntime")
    path = fixture(name)
    code, _, lines = run("measure", path, "--runs", "1", "--warmup", "0", *options)
    assert code == 2
    one_error(path, lines, fragment)
    assert capfd.readouterr().err == ""


# ---- opsets and 0/1 attributes -----------------------------------------------------------------------------------

def relu_model(tmp_path, opsets, node=None) -> str:
    node = node or helper.make_node("Relu", ["x"], ["y"], name="relu")
    inits = []
    if node.op_type == "Gemm":
        inits.append(helper.make_tensor("w", TensorProto.FLOAT, [4, 3], [0.0] * 12))
    dims = [1, 3] if node.op_type == "Gemm" else [1, 3, 4, 4]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    del model.opset_import[:]
    for domain, version in opsets:
        model.opset_import.add(domain=domain, version=version)
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return str(path)


@pytest.mark.parametrize("version", [0, -1, 99, 2**40])
def test_an_opset_onnx_does_not_define_is_refused(tmp_path, version):
    path = relu_model(tmp_path, [("", version)])
    code, lines = check_promises(path, "--format", "json")
    assert code == 2
    one_error(path, lines, f"opset {version} of the ONNX domain does not exist: ONNX defines opsets 1 to ")


def test_a_model_without_an_onnx_opset_is_refused(tmp_path):
    path = relu_model(tmp_path, [("com.example", 1)])
    code, lines = check_promises(path, "--format", "json")
    assert code == 2
    one_error(path, lines, "imports no opset of the ONNX domain")


def test_valid_opsets_are_read(tmp_path):
    for version in (7, 13, 17):
        assert check_promises(relu_model(tmp_path, [("", version)]), "--format", "json")[0] == 0


@pytest.mark.parametrize("node, fragment", [
    (helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=2**40), "transB=1099511627776: ONNX's transB is 0"),
    (helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transA=-1), "transA=-1"),
    (helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], ceil_mode=2), "ceil_mode=2"),
])
def test_a_flag_other_than_0_or_1_is_refused_not_read_as_true(tmp_path, node, fragment):
    """onnxruntime reads a transB of 2**40 as false; costcalc read it as true: now it says the file is wrong."""
    path = relu_model(tmp_path, [("", 17)], node)
    code, lines = check_promises(path, "--format", "json")
    assert code == 2
    one_error(path, lines, fragment)


def test_gemm_transb_0_and_1_are_read(tmp_path):
    import json

    for flag, w_shape in ((0, [3, 4]), (1, [4, 3])):
        node = helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=flag)
        path = relu_model(tmp_path, [("", 17)], node)
        model = onnx.load(path)
        model.graph.initializer[0].CopyFrom(helper.make_tensor("w", TensorProto.FLOAT, w_shape, [0.0] * 12))
        onnx.save(model, path)
        code, out, lines = run("report", path, "--format", "json")
        assert code == 0, lines
        assert json.loads(out)["totals"]["flops"] == 12  # 3 features x 4 outputs


# ---- found by the long run of the fuzz ------------------------------------------------------------------------------

def test_an_add_with_an_empty_input_name_is_its_located_error(tmp_path):
    """benchmarks/onnx_fuzz.py's mutant 3,201 (seed 26): an Add whose first input is '' raised StopIteration."""
    path = fixture("fuzz_add_empty_input.onnx")
    code, lines = check_promises(path, "--format", "json")
    assert code == 2
    one_error(path, lines, "node '/add5' (Add): ")
    assert lines[0].startswith(f"{path}:6:1: ")
    assert imported(tmp_path, path)[0] == 2


def test_an_attribute_name_that_is_not_text_is_no_traceback(tmp_path):
    """benchmarks/onnx_fuzz.py's mutant 1,637 (seed 2930): a byte flipped in a Conv's attribute name made it bytes
    that are not UTF-8, which the merging of repeated nodes (importers/onnx/rewrite.py) sorted beside text: a
    TypeError. The attribute is unknown, the Conv's kernel comes from its weight: the model reads (exit 0)."""
    path = fixture("fuzz_attribute_name_bytes.onnx")
    code, lines = check_promises(path, "--format", "json")
    assert (code, lines) == (0, [])
    assert imported(tmp_path, path)[0] == 0


def test_a_graph_signature_that_is_not_text_is_no_traceback(tmp_path):
    """benchmarks/onnx_fuzz.py's mutant 220 (seed 2931): a byte flipped in the dynamo exporter's graph signature (the
    list of the module's parameters the importer reads) made it bytes that are not UTF-8: a TypeError. It is read
    with the bad byte replaced: the model reads (exit 0)."""
    path = fixture("fuzz_signature_bytes.onnx")
    code, lines = check_promises(path, "--format", "json")
    assert (code, lines) == (0, [])
    assert imported(tmp_path, path)[0] == 0


def test_a_tensor_name_that_is_not_text_is_its_located_error(tmp_path):
    """Mutant 2,747 of seed 2930: a Constant's output name of bytes that are not UTF-8 (protobuf gives it as bytes),
    equal to another Constant, was set as the input of the nodes reading that one: a UnicodeDecodeError. Now the
    repeated node is left alone, and the Div that reads the name it lost is the located error it was before."""
    path = fixture("fuzz_output_name_bytes.onnx")
    code, lines = check_promises(path, "--format", "json")
    assert code == 2
    one_error(path, lines, "node '/Div' (Div): input '/Constant_13_output_0' is not produced")
    assert imported(tmp_path, path)[0] == 2
