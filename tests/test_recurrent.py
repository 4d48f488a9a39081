"""lstm, gru and rnn: the closed forms by hand, the numpy reference and onnxruntime on every form of the spec ops
(tests/data/recurrent_ops.yaml), ONNX graphs of each layout whose shapes onnxruntime (and onnx's shape inference,
for layout 1, which onnxruntime does not run) confirms, the refusals, and torch's own figures for nn.LSTM / nn.GRU /
nn.RNN, a CRNN and timm's sequencer2d_s (scripts/recurrent_truth.py: params, FlopCounterMode halved, and what
fvcore, ptflops and thop print)."""

import json
import os

import numpy as np
import pytest

from conftest import ROOT, onnx_fixture
from costcalc.analysis import analyse
from costcalc.analysis.conventions import recount
from costcalc.analysis.verify import verify
from costcalc.errors import SpecError
from costcalc.graph import load
from costcalc.ops import OPS

TESTED = {"lstm", "gru", "rnn"}  # for tests/test_ops.py: every op has a test
SPEC = ROOT / "tests" / "data" / "recurrent_ops.yaml"
FIXTURES = ROOT / "tests" / "fixtures" / "onnx" / "recurrent"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
CASES = sorted(k for k in EXPECTED if not k.startswith("_"))


def fixture(name: str, tmp_path) -> str:
    return onnx_fixture(FIXTURES, name, tmp_path)


# ---- closed forms, derived here -------------------------------------------------------------------------------

@pytest.mark.parametrize("direction, d", [("forward", 1), ("reverse", 1), ("bidirectional", 2)])
def test_lstm_by_hand(direction, d):
    t, i, h = 7, 10, 6
    r = OPS["lstm"].fn((t, i), hidden=h, direction=direction)
    assert r.outputs == ((t, d, h), (d, h), (d, h))
    assert r.flops == d * t * 4 * h * (i + h)  # W x_t and R h_{t-1}, four gates, every step and direction
    assert r.params == d * (4 * h * i + 4 * h * h + 8 * h)  # W, R, and B = Wb + Rb
    # per unit: 4 adds (W x + R h) + 8 (two biases) + 3 sigmoids x 3 + 2 tanh + c = f c + i g (3) + o * tanh (1)
    assert r.elementwise_flops == d * t * h * (4 + 8 + 9 + 2 + 3 + 1)
    assert r.read == t * i


def test_lstm_peepholes_steps_states_and_sequences():
    t, m, i, h = 6, 3, 5, 4
    states = ((2, m, h), (2, m, h))
    r = OPS["lstm"].fn((t, m, i), *states, hidden=h, direction="bidirectional", peepholes=True, steps=4, bias=False)
    assert r.outputs == ((t, 2, m, h), (2, m, h), (2, m, h))
    assert r.flops == 2 * m * 4 * 4 * h * (i + h)  # 4 of the 6 steps
    assert r.params == 2 * (4 * h * i + 4 * h * h + 3 * h)  # P: 3 H a direction
    assert r.elementwise_flops == 2 * m * 4 * h * (4 + 9 + 2 + 3 + 1 + 6)  # peepholes: 2 per gate they feed
    assert r.read == 4 * m * i + 2 * 2 * m * h


def test_learned_initial_states_are_parameters(tmp_path):
    r = OPS["gru"].fn((6, 5), hidden=4, learned_states=8)  # nn.Parameter h_0, 2 x 4, read from the file
    assert r.params == 3 * 4 * 5 + 3 * 4 * 4 + 6 * 4 + 8
    spec = tmp_path / "learned.yaml"
    spec.write_text("name: learned\ninput: [6, 5]\nlayers:\n"
                    "  - {name: rec, op: lstm, hidden: 4, direction: bidirectional, learned_states: 16}\n"
                    "  - {name: y, op: identity, from: rec.0}\n")
    graph = load(spec, batch=2)
    assert verify(graph).passed  # the reference reads h_0 and c_0 from a learned vector of 16 values
    pytest.importorskip("onnx")
    from costcalc.exporters.onnx import export

    with pytest.raises(SpecError, match="learned_states: the exporter writes no learned initial state"):
        export(graph, opset=17, weights="none")


def test_a_learned_h0_counts_once_at_the_layer_that_reads_it_first(tmp_path):
    """Two GRU layers, bidirectional, nn.Parameter h_0 of 4 x 1 x 40 repeated over the batch, which
    TorchScript stores once and slices per layer (scripts/recurrent_truth.py's gru_learned_h0)."""
    pytest.importorskip("onnx")
    graph = load(fixture("gru_learned_h0", tmp_path))
    assert [n.args.get("learned_states", 0) for n in graph.nodes if n.op == "gru"] == [4 * 40, 0]
    assert EXPECTED["gru_learned_h0"]["params"] == analyse(graph).totals.params


@pytest.mark.parametrize("lbr", [False, True])
def test_gru_by_hand(lbr):
    t, i, h = 5, 8, 3
    r = OPS["gru"].fn((t, i), (1, h), hidden=h, linear_before_reset=lbr)
    assert r.outputs == ((t, 1, h), (1, h))
    assert r.flops == t * 3 * h * (i + h)
    assert r.params == 3 * h * i + 3 * h * h + 6 * h
    # 3 adds + 6 bias adds + 2 sigmoids x 3 + r * (.) 1 + tanh 1 + (1 - z) n + z h 4
    assert r.elementwise_flops == t * h * (3 + 6 + 6 + 1 + 1 + 4)


@pytest.mark.parametrize("activation, per", [("tanh", 1), ("relu", 1), ("sigmoid", 3)])
def test_rnn_by_hand(activation, per):
    t, i, h = 9, 4, 5
    r = OPS["rnn"].fn((t, i), hidden=h, activation=activation, direction="reverse")
    assert r.flops == t * h * (i + h) and r.params == h * i + h * h + 2 * h
    assert r.elementwise_flops == t * h * (1 + 2 + per)


@pytest.mark.parametrize("op, args, message", [
    ("lstm", {"steps": 8}, "steps=8 is beyond"),
    ("gru", {"peepholes": True}, "peepholes belong to the lstm"),
    ("lstm", {"activation": "relu"}, "standard sigmoid and tanh"),
])
def test_bad_arguments(op, args, message):
    from costcalc.ops import OpError

    with pytest.raises(OpError, match=message):
        OPS[op].fn((7, 4), hidden=3, **args)


# ---- the numpy reference and onnxruntime ---------------------------------------------------------------------

def test_every_form_measured_by_the_numpy_reference():
    from costcalc.analysis.verify import verify

    result = verify(load(SPEC, batch=2))
    assert result.passed, [row for row in result.rows if not row.passed]


def test_every_form_computes_what_onnxruntime_computes():
    pytest.importorskip("onnxruntime")
    from costcalc.analysis.verify_runtime import verify_against_onnxruntime

    assert verify_against_onnxruntime(load(SPEC, batch=2)).passed


def test_exported_file_reads_back_to_the_same_counts(tmp_path):
    pytest.importorskip("onnx")
    from costcalc.exporters.onnx import export, save

    graph = load(SPEC)
    save(export(graph, weights="none"), str(tmp_path / "r.onnx"))
    layers = {n.op: 0 for n in graph.nodes}
    back = load(str(tmp_path / "r.onnx"))
    for op in TESTED:
        mine = [n.counts for n in graph.nodes if n.op == op]
        theirs = [n.counts for n in back.nodes if n.op == op]
        assert mine == theirs and mine, op
    assert layers


# ---- ONNX graphs of each form, shapes from onnxruntime --------------------------------------------------------

def _graph(cell, t=5, n=2, i=6, h=4, direction="bidirectional", bias=True, peep=False, lengths=None, layout=0,
           attrs=None, folded=False):
    """X N x T x I (folded: 1 x N x T x I, the N sequences one sample) -> (Transpose) -> one recurrent node whose
    outputs are the graph's."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    d, g = (2 if direction == "bidirectional" else 1), {"LSTM": 4, "GRU": 3, "RNN": 1}[cell]
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), name) for name, s in
             (("W", (d, g * h, i)), ("R", (d, g * h, h)), ("B", (d, 2 * g * h)), ("P", (d, 3 * h)))]
    nodes, x = [], "x"
    if folded:
        inits.append(numpy_helper.from_array(np.array([n, t, i], np.int64), "flat"))
        nodes.append(helper.make_node("Reshape", ["x", "flat"], ["xf"]))
        x = "xf"
    if layout == 0:
        nodes.append(helper.make_node("Transpose", [x], ["xt"], perm=[1, 0, 2]))
        x = "xt"
    inputs = [x, "W", "R", "B" if bias else ""]
    if lengths is not None:
        inits.append(numpy_helper.from_array(np.array(lengths, np.int32), "lens"))
    inputs.append("lens" if lengths is not None else "")
    if peep:
        inputs += ["", "", "P"]
    outputs = ["y", "y_h", "y_c"][:3 if cell == "LSTM" else 2]
    nodes.append(helper.make_node(cell, inputs, outputs, name="cell", hidden_size=h, direction=direction,
                                  **({"layout": 1} if layout else {}), **(attrs or {})))
    shape = [1, n, t, i] if folded else [n, t, i]
    graph = helper.make_graph(nodes, "rec", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14 if layout else 17)]), shape


def _costcalc_shapes(model, tmp_path):
    path = tmp_path / "rec.onnx"
    path.write_bytes(model.SerializeToString())
    graph = load(str(path))
    (node,) = [n for n in graph.nodes if n.op in TESTED]
    return node, [graph.tensors[o] for o in node.outputs], graph.batch


FORMS = [("LSTM", {}), ("LSTM", {"direction": "reverse", "peep": True, "lengths": [3, 3]}),
         ("LSTM", {"bias": False, "folded": True}), ("GRU", {"attrs": {"linear_before_reset": 1}}),
         ("GRU", {"direction": "forward", "folded": True, "lengths": [4, 4, 4]}),
         ("RNN", {"attrs": {"activations": ["Relu", "Relu"]}}), ("RNN", {"direction": "forward", "bias": False})]


@pytest.mark.parametrize("cell, options", FORMS, ids=[f"{c}-{'-'.join(o)}" for c, o in FORMS])
def test_shapes_are_onnxruntimes(cell, options, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    options = dict(options)
    if options.get("folded") and options.get("lengths"):
        options["n"] = len(options["lengths"])
    model, shape = _graph(cell, **options)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = [o.shape for o in session.run(None, {"x": x})]
    node, mine, batch = _costcalc_shapes(model, tmp_path)
    if options.get("folded"):  # batch 1, the sequences one sample's: the same tensors
        assert [tuple(s) for s in got] == [tuple(m) for m in mine] and batch == 1
    else:  # the batch at axis 2 of Y and 1 of the states (layout 0)
        assert [tuple(np.delete(s, 2 if k == 0 else 1)) for k, s in enumerate(got)] == [tuple(m) for m in mine]
    sequences = batch * (shape[1] if options.get("folded") else 1)
    steps = (options.get("lengths") or [shape[-2]])[0]
    g, d = {"LSTM": 4, "GRU": 3, "RNN": 1}[cell], 1 if options.get("direction") in ("forward", "reverse") else 2
    assert node.counts.flops == sequences * d * steps * g * 4 * (6 + 4)


def test_layout_1_shapes_are_onnx_shape_inference(tmp_path):
    """onnxruntime does not run layout 1 (batch first); onnx's shape inference gives its shapes."""
    onnx = pytest.importorskip("onnx")
    model, _ = _graph("LSTM", layout=1)
    inferred = onnx.shape_inference.infer_shapes(model).graph.output
    want = [tuple(d.dim_value for d in o.type.tensor_type.shape.dim) for o in inferred]
    assert want == [(2, 5, 2, 4), (2, 2, 4), (2, 2, 4)]
    node, mine, _ = _costcalc_shapes(model, tmp_path)
    assert [(2, *m) for m in mine] == want  # the file's batch, 2, in front


@pytest.mark.parametrize("options, message", [
    ({"lengths": [3, 5]}, "costcalc costs lengths that are the same for every sequence"),
    ({"attrs": {"clip": 3.0}}, "clip / input_forget"),
    ({"attrs": {"activations": ["Sigmoid", "Relu", "Tanh"] * 2}}, "standard sigmoid / tanh / tanh gates"),
])
def test_refusals_are_located_and_say_why(options, message, tmp_path):
    pytest.importorskip("onnx")
    model, _ = _graph("LSTM", **options)
    path = tmp_path / "rec.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(SpecError, match=message) as e:
        load(str(path))
    assert str(e.value.loc).startswith(f"{path}:")


# ---- torch's figures ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CASES)
def test_params_and_flops_are_torchs(name, tmp_path):
    pytest.importorskip("onnx")
    truth = EXPECTED[name]
    totals = analyse(load(fixture(name, tmp_path))).totals
    assert totals.params == truth["params_in_file"]  # torch's params, less a batchnorm folded into its conv
    assert totals.flops == truth["macs"]


def test_the_fixtures_say_what_torch_counts_with_onednn_on():
    """FlopCounterMode on CPU (oneDNN on) has no formula for aten::mkldnn_rnn_layer: nn.LSTM counts 0 there, and
    the truth is taken with oneDNN off; GRU and RNN run as addmm either way."""
    for name in CASES:
        truth = EXPECTED[name]
        lstm = "mkldnn_rnn_layer" in " ".join(truth["ops_onednn"])
        assert lstm == (name.startswith(("lstm", "crnn", "sequencer")))
        assert (truth["macs_onednn"] < truth["macs"]) == lstm
    assert EXPECTED["crnn"]["params"] - EXPECTED["crnn"]["params_in_file"] == 32 + 64 + 128 + 128  # folded bns


@pytest.mark.parametrize("name", [n for n in CASES if "tools" in EXPECTED[n]])
def test_the_tools_conventions_are_what_the_tools_print(name, tmp_path):
    pytest.importorskip("onnx")
    graph = load(fixture(name, tmp_path))
    for tool, printed in EXPECTED[name]["tools"].items():
        assert sum(recount(graph, tool)) == printed, tool


def test_onnx_fixtures_run_in_torch_as_in_onnxruntime():
    assert all(EXPECTED[name]["onnxruntime_equal"] for name in CASES)
    assert EXPECTED["_proj_size"].startswith("refused")  # torch's exporter writes no LSTM with proj_size
