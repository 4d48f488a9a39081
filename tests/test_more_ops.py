"""The later standard ONNX ops: the generic tensor layer's part three (cumsum, cumprod, hardmax, trilu,
lp_normalization, lrn, gather_elements, scatter, topk), the unary thresholded_relu and shrink, lppool (ONNX's LpPool)
and rmsnorm (RMSNormalization, opset 23), and the ONNX op types
read as other ops (the trigonometric and hyperbolic functions, the bitwise ops, Mean, Swish, MeanVarianceNormalization,
GlobalLpPool, Upsample). Closed forms by hand; every op through the numpy reference and onnxruntime
(tests/data/more_ops.yaml: tests/test_col2im.py runs it); the exported file read back; one-node ONNX graphs whose
output shapes onnxruntime gives; the refusals and their reasons; the tool conventions against what fvcore, ptflops
and thop printed for the torch forms (scripts/more_ops_truth.py)."""

import json
from math import prod

import numpy as np
import pytest

from conftest import ROOT
from costcalc.analysis.conventions import CONVENTIONS, Site, count
from costcalc.errors import SpecError
from costcalc.graph import load
from costcalc.ops import OPS

TESTED = {"cumsum", "cumprod", "hardmax", "trilu", "lp_normalization", "lrn", "gather_elements", "scatter", "topk",
          "thresholded_relu", "shrink", "lppool", "rmsnorm"}
SPEC = ROOT / "tests" / "data" / "more_ops.yaml"
TOOLS = json.loads((ROOT / "tests" / "data" / "more_ops_tools.json").read_text())
X = (8, 6, 6)
N = prod(X)


def test_closed_forms_by_hand():
    assert OPS["cumsum"].fn(X, axis=-1).elementwise_flops == N  # one add per element
    assert OPS["cumprod"].fn(X, axis=2, exclusive=True).elementwise_flops == N
    assert OPS["hardmax"].fn(X, axis=1).elementwise_flops == N  # one compare per input element
    r = OPS["trilu"].fn(X, upper=False, k=-1)
    assert r.outputs == (X,) and r.elementwise_flops == 0 and r.moves_data  # a copy
    assert OPS["lp_normalization"].fn(X, axis=1, p=2).elementwise_flops == 3 * N + 36  # square, add, divide; sqrt
    assert OPS["lp_normalization"].fn(X, axis=1, p=1).elementwise_flops == 3 * N  # abs, add, divide
    # lrn, size 5 over 8 channels: channel i sums channels max(0, i - 2) .. min(7, i + 2): 3, 4, 5, 5, 5, 5, 4, 3
    assert OPS["lrn"].fn(X, size=5).elementwise_flops == 2 * 34 * 36 + 4 * N
    r = OPS["gather_elements"].fn(X, axis=2, index=(8, 4, 6))
    assert r.outputs == ((8, 4, 6),) and r.read == 8 * 4 * 6 and r.elementwise_flops == 0
    assert OPS["scatter"].fn(X, (8, 6, 5)).elementwise_flops == 0
    assert OPS["scatter"].fn(X, (8, 6, 5), reduction="add").elementwise_flops == 8 * 6 * 5
    r = OPS["topk"].fn(X, k=3, axis=-1)
    assert r.outputs == ((8, 6, 3), (8, 6, 3)) and r.elementwise_flops == N
    assert OPS["thresholded_relu"].fn(X).elementwise_flops == N and OPS["shrink"].fn(X).elementwise_flops == 3 * N


def test_lppool_and_rmsnorm_closed_forms_by_hand():
    # lppool 3x3 stride 2 pad 1 on 8 x 6 x 6: 8 x 3 x 3 outputs of 9 window elements each (padding included)
    r = OPS["lppool"].fn(X, k=(3, 3), stride=(2, 2), pad=(1, 1))
    assert r.outputs == ((8, 3, 3),) and r.elementwise_flops == 2 * 72 * 9 + 72  # square, add; a sqrt per output
    assert OPS["lppool"].fn(X, k=(3, 3), stride=(2, 2), pad=(1, 1), p=1).elementwise_flops == 2 * 72 * 9  # |x|, add
    assert OPS["lppool"].fn(X, k=(3, 3), stride=(2, 2), pad=(1, 1), p=3).elementwise_flops == 3 * 72 * 9 + 72
    r = OPS["lppool"].fn(X, k=(2, 2), dilation=(2, 2), stride=(1, 1))  # a 3 x 3 span: 4 x 4 outputs
    assert r.outputs == ((8, 4, 4),) and r.elementwise_flops == 2 * 128 * 4 + 128
    assert OPS["lppool"].fn((4, 10), k=(3,), stride=(1,)).elementwise_flops == 2 * 32 * 3 + 32  # 1-D
    with pytest.raises(Exception, match="p=0"):
        OPS["lppool"].fn(X, k=(2, 2), p=0)
    # rmsnorm: layernorm's 5 per element less the mean's add and subtract (3: square, add, divide) + gamma's multiply
    r = OPS["rmsnorm"].fn(X)
    assert r.outputs == (X,) and r.elementwise_flops == 4 * N and r.params == 6
    assert OPS["rmsnorm"].fn(X, axis=1).params == N  # gamma of 8 x 6 x 6
    r = OPS["rmsnorm"].fn(X, axis=2, affine=False)
    assert r.elementwise_flops == 3 * N and r.params == 0
    assert OPS["layernorm"].fn(X, axis=-1).elementwise_flops - OPS["rmsnorm"].fn(X).elementwise_flops == 3 * N


def test_exported_file_reads_back_to_the_same_counts(tmp_path):
    pytest.importorskip("onnx")
    from costcalc.exporters.onnx import export, save

    graph = load(SPEC)
    save(export(graph, opset=18, weights="none"), str(tmp_path / "m.onnx"))
    back = load(str(tmp_path / "m.onnx"))
    for op in TESTED - {"cumprod", "rmsnorm", "thresholded_relu", "shrink"}:  # CumProd from opset 26, RMSNormalization
        # from 23 (tests/data/more_ops_opset26.yaml)
        mine = [n.counts for n in graph.nodes if n.op == op]
        assert mine and [n.counts for n in back.nodes if n.op == op] == mine, op


def test_cumprod_and_rmsnorm_through_the_reference_and_onnxruntime_at_opset_26(tmp_path):
    """CumProd is ONNX's from opset 26 on, RMSNormalization from 23: their own spec, exported at 26 (onnxruntime 1.32
    runs both; the reference's values agree with its)."""
    from costcalc.analysis.verify import verify

    graph = load(ROOT / "tests" / "data" / "more_ops_opset26.yaml", batch=2)
    assert verify(graph).passed
    pytest.importorskip("onnxruntime")
    from costcalc.analysis.verify_runtime import verify_against_onnxruntime
    from costcalc.exporters.onnx import export, save

    assert verify_against_onnxruntime(graph, opset=26).passed
    with pytest.raises(SpecError, match="from opset 26 on"):
        export(graph, opset=18, weights="none")
    save(export(graph, opset=26, weights="none"), str(tmp_path / "c.onnx"))
    back = load(str(tmp_path / "c.onnx"), batch=2)
    for op in ("cumprod", "rmsnorm"):
        mine = [n.counts for n in graph.nodes if n.op == op]
        assert mine and [n.counts for n in back.nodes if n.op == op] == mine, op
    assert [n.args["affine"] for n in back.nodes if n.op == "rmsnorm"] == [True, True, False]  # ones: no gamma


def test_rmsnorm_and_lppool_refuse_the_opsets_before_theirs(tmp_path):
    pytest.importorskip("onnx")
    from costcalc.exporters.onnx import export

    (tmp_path / "r.yaml").write_text("name: r\ninput: [8, 6]\nlayers:\n  - {name: rms, op: rmsnorm}\n")
    graph = load(tmp_path / "r.yaml")
    with pytest.raises(SpecError, match="RMSNormalization, from opset 23 on"):
        export(graph, opset=21, weights="none")  # 21: the newest the lowest onnx allowed (1.16) knows
    (tmp_path / "p.yaml").write_text("name: p\ninput: [8, 6, 6]\nlayers:\n  - {name: lpp, op: lppool, k: 2}\n"
                                     "  - {name: lpd, op: lppool, k: 2, dilation: 2, from: input}\n")
    graph = load(tmp_path / "p.yaml")
    with pytest.raises(SpecError, match="layer 'lpd': .*LpPool from opset 18 on"):
        export(graph, opset=17, weights="none")


def _one_node(op_type, attrs=None, extra=(), opset=18, cast=None, shape=(1, 8, 6, 6), inputs=1):
    """x (and x again for an n-ary op) -> [Cast] -> op_type(..., extra constants) -> y."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, names, inits = [], ["x"] * inputs, []
    if cast is not None:
        nodes.append(helper.make_node("Cast", ["x"], ["xc"], to=cast))
        names = ["xc"] * inputs
    for k, value in enumerate(extra):
        inits.append(numpy_helper.from_array(np.asarray(value), f"c{k}"))
        names.append(f"c{k}" if value is not None else "")
    outputs = ["y", "indices"] if op_type == "TopK" else ["y"]
    nodes.append(helper.make_node(op_type, names, outputs, name="op", **(attrs or {})))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_empty_tensor_value_info("y")], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


INT32 = 6  # onnx.TensorProto.INT32
GRAPHS = [  # (ONNX op, _one_node's options, the costcalc op it is read as, its element-wise FLOPs on 1 x 8 x 6 x 6)
    *[(op, {}, "sin", N) for op in ("Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh")],
    ("BitwiseAnd", {"cast": INT32, "inputs": 2}, "compare", N),
    ("BitwiseNot", {"cast": INT32}, "compare", N),
    ("Not", {"cast": 9}, "compare", N),  # bool
    ("Mean", {"inputs": 3}, "div", N),  # the last of its two layers: the sum, then the divide by 3
    ("ThresholdedRelu", {"attrs": {"alpha": 0.5}}, "thresholded_relu", N),
    ("Shrink", {"attrs": {"lambd": 0.2, "bias": 0.1}}, "shrink", 3 * N),
    ("MeanVarianceNormalization", {"attrs": {"axes": [2, 3]}}, "layernorm", 5 * N),
    ("GlobalLpPool", {"attrs": {"p": 2}}, "reduce_l2", 2 * N + 8),
    ("CumSum", {"extra": [np.int64(2)], "attrs": {"exclusive": 1}}, "cumsum", N),
    ("Hardmax", {"attrs": {"axis": 1}}, "hardmax", N),
    ("Trilu", {"extra": [np.int64(1)], "attrs": {"upper": 0}}, "trilu", 0),
    ("LpNormalization", {"attrs": {"axis": 1, "p": 1}}, "lp_normalization", 3 * N),
    ("LRN", {"attrs": {"size": 3}}, "lrn", 2 * (2 + 3 * 6 + 2) * 36 + 4 * N),
    ("GatherElements", {"extra": [np.zeros((1, 8, 3, 6), np.int64)], "attrs": {"axis": 2}}, "gather_elements", 0),
    ("TopK", {"extra": [np.array([2], np.int64)], "attrs": {"axis": 3, "largest": 0}}, "topk", N),
    ("Upsample", {"extra": [np.array([1, 1, 2, 2], np.float32)], "opset": 9}, "resize", 0),
    # LpPool: ONNX's strides default to 1 (4 x 4 outputs of 3 x 3 windows), not to the window as torch's
    ("LpPool", {"attrs": {"kernel_shape": [3, 3], "p": 3}}, "lppool", 3 * 8 * 16 * 9 + 8 * 16),
    ("LpPool", {"attrs": {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "p": 1}}, "lppool",
     2 * 72 * 9),
    ("LpPool", {"attrs": {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1, "dilations": [1, 2]}},
     "lppool", 2 * 48 * 9 + 48),  # 8 x 3 x 2 outputs
    ("LpPool", {"attrs": {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "strides": [2, 2]}}, "lppool",
     2 * 72 * 9 + 72),
    ("LpPool", {"attrs": {"kernel_shape": [3], "p": 2}, "shape": (1, 8, 6)}, "lppool", 2 * 32 * 3 + 32),
    ("MaxPool", {"attrs": {"kernel_shape": [3]}, "shape": (1, 8, 6)}, "maxpool", 32 * 3),  # 1-D: stride 1 too
    ("AveragePool", {"attrs": {"kernel_shape": [2, 2, 2]}, "shape": (1, 8, 6, 6, 6)}, "avgpool", 8 * 125 * 8),
    ("RMSNormalization", {"extra": [np.ones(6, np.float32)], "opset": 23}, "rmsnorm", 4 * N),
    ("RMSNormalization", {"extra": [np.ones((6, 6), np.float32)], "attrs": {"axis": 2}, "opset": 24}, "rmsnorm",
     4 * N),
]


@pytest.mark.parametrize("op_type, options, op, elementwise", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_one_node_graphs_shapes_are_onnxruntimes(op_type, options, op, elementwise, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = _one_node(op_type, **options)
    x = np.random.default_rng(0).uniform(0.1, 0.9, options.get("shape", (1, 8, 6, 6))).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0].shape
    path = tmp_path / "g.onnx"
    path.write_bytes(model.SerializeToString())
    graph = load(str(path))
    node = graph.nodes[-1] if graph.nodes[-1].op != "identity" else graph.nodes[-2]
    assert node.op == op
    assert (1, *graph.tensors[node.outputs[0]]) == want
    assert node.counts.elementwise_flops == elementwise


def test_scatter_before_opset_11_is_scatter_elements(tmp_path):
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    index = numpy_helper.from_array(np.zeros((1, 8, 6, 6), np.int64), "index")
    graph = helper.make_graph([helper.make_node("Scatter", ["x", "index", "x"], ["y"], name="op", axis=1)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [index])
    path = tmp_path / "s.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)]).SerializeToString())
    node = load(str(path)).nodes[-1]
    assert node.op == "scatter" and node.counts.memory_access == 3 * N  # the tensor and the updates read, y written


def test_scatter_nd_and_scatter_elements_write_the_updates(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    index = numpy_helper.from_array(np.array([[[0, 0], [0, 1]]], np.int64), "index")  # channels 0 and 1
    nodes = [helper.make_node("Slice", ["x", "s", "e", "a"], ["u"]),  # the updates: 1 x 2 x 6 x 6
             helper.make_node("ScatterND", ["x", "index", "u"], ["y"], name="op")]
    inits = [index, *(numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
                      (("s", [0]), ("e", [2]), ("a", [1])))]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    x = np.random.default_rng(0).standard_normal((1, 8, 6, 6)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    path = tmp_path / "s.onnx"
    onnx.save(model, str(path))
    g = load(str(path))
    node = next(n for n in g.nodes if n.op == "scatter")
    assert (1, *g.tensors[node.outputs[0]]) == want.shape
    assert node.counts.memory_access == N + 2 * 36 + N  # the tensor and the updates read, the copy written


@pytest.mark.parametrize("op_type, options, message", [
    ("NonZero", {}, "a data-dependent shape"),
    ("RandomNormalLike", {}, "it draws random numbers"),
    ("MeanVarianceNormalization", {}, "take in the batch axis"),
    ("Swish", {"attrs": {"alpha": 2.0}, "opset": 24}, "Swish of alpha 1"),
    ("StringNormalizer", {}, "it works on strings"),
])
def test_refusals_are_located_and_say_why(op_type, options, message, tmp_path):
    pytest.importorskip("onnx")
    model = _one_node(op_type, **options)
    path = tmp_path / "g.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(SpecError, match=message) as e:
        load(str(path))
    assert str(e.value.loc) == f"{path}:1:1" and "\n" not in str(e.value)


@pytest.mark.parametrize("name", sorted(k for k in TOOLS if not k.startswith("_")))
def test_the_tools_conventions_are_what_the_tools_print(name):
    probe = TOOLS[name]
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in probe["args"].items()}
    shape = tuple(probe["input"])
    inputs = (shape, (8, 6, 5)) if probe["op"] == "scatter" else (shape,)
    site = Site(probe["op"], inputs, OPS[probe["op"]].fn(*inputs, **args).outputs, args)
    assert {tool: count(CONVENTIONS[tool], site) for tool in probe["tools"]} == probe["tools"]
