"""col2im (torch's nn.Fold, ONNX's Col2Im from opset 18): the closed form by hand, the numpy reference and
onnxruntime on tests/data/more_ops.yaml, the exporter's opset, and torch's figures for a hand-written fold and timm's
volo_d1_224 (scripts/fold_truth.py: params and FlopCounterMode halved, timm's fused attention off)."""

import json

import pytest

from conftest import ROOT, onnx_fixture
from costcalc.analysis import analyse
from costcalc.errors import SpecError
from costcalc.graph import load
from costcalc.ops import OPS, OpError

TESTED = {"col2im"}  # for tests/test_ops.py and the tool conventions' probes (test_conventions.py)
SPEC = ROOT / "tests" / "data" / "more_ops.yaml"
FIXTURES = ROOT / "tests" / "fixtures" / "onnx" / "fold"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text()) if (FIXTURES / "expected.json").exists() else {}
CASES = sorted(k for k in EXPECTED if not k.startswith("_"))


def fixture(name: str, tmp_path) -> str:
    return onnx_fixture(FIXTURES, name, tmp_path)


@pytest.mark.parametrize("size, k, stride, pad, dilation", [((14, 14), (3, 3), (2, 2), (1, 1), (1, 1)),
                                                            ((9, 11), (2, 3), (1, 2), (0, 1), (2, 1))])
def test_col2im_by_hand(size, k, stride, pad, dilation):
    blocks = [(s + 2 * p - d * (kk - 1) - 1) // st + 1 for s, p, d, kk, st in zip(size, pad, dilation, k, stride)]
    c = 5
    x = (c * k[0] * k[1], blocks[0] * blocks[1])
    r = OPS["col2im"].fn(x, size=size, k=k, stride=stride, pad=pad, dilation=dilation)
    assert r.outputs == ((c, *size),)
    assert r.flops == 0 and r.params == 0
    assert r.elementwise_flops == x[0] * x[1]  # every column value added into the image once


def test_col2im_refuses_columns_that_do_not_fit():
    with pytest.raises(OpError, match="columns for a 14x14 image"):
        OPS["col2im"].fn((144, 50), size=(14, 14), k=(3, 3), stride=(2, 2), pad=(1, 1))
    with pytest.raises(OpError, match="not a whole number of 3x3 blocks"):
        OPS["col2im"].fn((100, 49), size=(14, 14), k=(3, 3), stride=(2, 2), pad=(1, 1))


def test_measured_by_the_numpy_reference():
    from costcalc.analysis.verify import verify

    assert verify(load(SPEC, batch=2)).passed


def test_computes_what_onnxruntime_computes_at_opset_18():
    pytest.importorskip("onnxruntime")
    from costcalc.analysis.verify_runtime import verify_against_onnxruntime

    assert verify_against_onnxruntime(load(SPEC, batch=2), opset=18).passed


def test_the_exporter_writes_col2im_from_opset_18_and_reads_it_back(tmp_path):
    pytest.importorskip("onnx")
    from costcalc.exporters.onnx import export, save

    graph = load(SPEC)
    with pytest.raises(SpecError, match="Col2Im, from opset 18 on"):
        export(graph, opset=17, weights="none")
    save(export(graph, opset=18, weights="none"), str(tmp_path / "f.onnx"))
    back = load(str(tmp_path / "f.onnx"))
    assert [n.counts for n in back.nodes if n.op == "col2im"] == [n.counts for n in graph.nodes if n.op == "col2im"]


def test_asymmetric_pads_are_refused_with_a_located_line(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(__import__("numpy").array(v, "int64"), n) for n, v in
             (("size", [14, 14]), ("block", [3, 3]))]
    node = helper.make_node("Col2Im", ["x", "size", "block"], ["y"], pads=[1, 1, 0, 0], strides=[2, 2])
    graph = helper.make_graph([node], "f", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 144, 42])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    path = tmp_path / "f.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    with pytest.raises(SpecError, match="padded equally on both sides") as e:
        load(str(path))
    assert str(e.value.loc) == f"{path}:1:1"


@pytest.mark.parametrize("name", CASES)
def test_params_and_flops_are_torchs(name, tmp_path):
    pytest.importorskip("onnx")
    truth = EXPECTED[name]
    totals = analyse(load(fixture(name, tmp_path))).totals
    assert (totals.params, totals.flops) == (truth["params"], truth["macs"])
    assert truth["opset17"].startswith("refused") and truth["onnxruntime_equal"]


def test_the_tools_conventions_are_what_the_tools_print(tmp_path):
    """nn.Fold alone: what fvcore, ptflops and thop printed for it (scripts/fold_truth.py)."""
    pytest.importorskip("onnx")
    from costcalc.analysis.conventions import recount

    graph = load(fixture("fold_only", tmp_path))
    assert {"col2im"} == {n.op for n in graph.nodes}
    for tool, printed in EXPECTED["fold_only"]["tools"].items():
        assert sum(recount(graph, tool)) == printed, tool
