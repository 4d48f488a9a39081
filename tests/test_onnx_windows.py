"""Valid ONNX windows costcalc used to refuse (issue 26): asymmetric pads (TensorFlow's SAME gives [0, 0, 1, 1])
and ceil-mode pooling whose window is larger than the padded input. Each case is checked three ways: the output
shape against onnxruntime's own run of the file, the counts against their closed form, and the imported graph
through the numpy reference (its counts) and onnxruntime again on costcalc's export (`pad_end` written back as ONNX
pads) with the same weights (its values)."""

from __future__ import annotations

import pytest

onnx = pytest.importorskip("onnx")

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from costcalc.graph import load  # noqa: E402
from costcalc.ops import OPS  # noqa: E402

# (op, C x H x W, kernel, strides, pads [top, left, bottom, right], dilations, ceil_mode)
CASES = [
    ("Conv", (3, 8, 8), (3, 3), (1, 1), [0, 0, 1, 1], (1, 1), 0),  # a 2x2 stride-1 SAME would be [0, 0, 1, 1]
    ("Conv", (3, 7, 9), (2, 2), (1, 1), [0, 0, 1, 1], (1, 1), 0),
    ("Conv", (4, 9, 6), (3, 1), (2, 1), [2, 0, 1, 0], (1, 1), 0),  # SAME_LOWER-like: more before than after
    ("Conv", (2, 6, 6), (3, 3), (1, 2), [1, 0, 2, 1], (2, 1), 0),
    ("MaxPool", (3, 8, 8), (2, 2), (1, 1), [0, 0, 1, 1], (1, 1), 0),
    ("MaxPool", (3, 2, 2), (3, 3), (2, 2), [0, 0, 0, 0], (1, 1), 1),  # the issue's: 2x2 in, kernel 3, ceil -> 1x1
    ("MaxPool", (2, 5, 4), (3, 3), (3, 2), [1, 0, 0, 1], (1, 1), 1),
    ("MaxPool", (2, 2, 3), (2, 3), (3, 3), [0, 1, 0, 0], (1, 1), 1),
    ("AveragePool", (3, 7, 7), (3, 3), (2, 2), [0, 0, 1, 1], (1, 1), 0),
    ("AveragePool", (3, 7, 7), (2, 2), (2, 2), [1, 1, 0, 0], (1, 1), 1),
    ("AveragePool", (1, 2, 2), (3, 3), (2, 2), [1, 1, 0, 0], (1, 1), 1),
]


def model_of(case):
    op, (c, h, w), k, s, pads, d, ceil = case
    attrs = {"kernel_shape": list(k), "strides": list(s), "pads": pads}
    inputs, inits, out = ["x"], [], c
    if op == "Conv":
        out = 4
        rng = np.random.default_rng(0)
        inits.append(numpy_helper.from_array(rng.standard_normal((out, c, *k)).astype(np.float32), "w"))
        inputs.append("w")
        attrs["dilations"] = list(d)
    else:
        attrs["ceil_mode"] = ceil
        if op == "AveragePool":
            attrs["count_include_pad"] = 1
    graph = helper.make_graph([helper.make_node(op, inputs, ["y"], name="window", **attrs)], "windows",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)]), out


def ort_output(model, x):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{'x'.join(map(str, c[1]))}-p{c[4]}-ceil{c[6]}")
def test_window_costed_as_onnxruntime_runs_it(tmp_path, case):
    op, (c, h, w), k, s, pads, d, ceil = case
    model, out_c = model_of(case)
    path = tmp_path / "window.onnx"
    path.write_bytes(model.SerializeToString())
    x = np.random.default_rng(1).standard_normal((1, c, h, w)).astype(np.float32)
    want = ort_output(model, x).shape
    graph = load(str(path))
    (node,) = graph.nodes
    assert (1, *graph.tensors[node.outputs[0]]) == want
    _, _, ho, wo = want
    if op == "Conv":  # closed form: every output element is k_h * k_w * C multiply-adds
        assert node.counts.flops == out_c * ho * wo * k[0] * k[1] * c
        assert node.counts.params == out_c * c * k[0] * k[1]
    else:  # one comparison or addition per window element
        assert node.counts.elementwise_flops == c * ho * wo * k[0] * k[1]
    assert node.counts.memory_access == c * h * w + out_c * ho * wo + node.counts.params

    from costcalc.analysis.verify import verify
    from costcalc.analysis.verify_runtime import verify_against_onnxruntime

    assert verify(graph).passed  # the numpy reference computes exactly these counts
    agreement = verify_against_onnxruntime(graph)
    assert agreement.output == want and agreement.passed, agreement


def test_asymmetric_pads_are_written_as_pad_end(tmp_path):
    from costcalc.importers.onnx import to_yaml

    model, _ = model_of(CASES[3])
    path = tmp_path / "window.onnx"
    path.write_bytes(model.SerializeToString())
    assert "pad: [1, 0], pad_end: [2, 1]" in to_yaml(str(path))


def test_a_symmetric_equivalent_is_written_as_pad():
    """Stride-2 SAME on an even input ([0, 0, 1, 1], 3x3) gives the output pad 1 gives: written as `pad`."""
    assert OPS["conv"].fn((3, 8, 8), out=4, k=(3, 3), stride=(2, 2), pad=(1, 1)).outputs == \
        OPS["conv"].fn((3, 8, 8), out=4, k=(3, 3), stride=(2, 2), pad=(0, 0), pad_end=(1, 1)).outputs


def test_ceil_mode_keeps_a_window_only_where_onnxruntime_does():
    from costcalc.ops import OpError, window_out

    assert window_out(2, 3, 2, 0, 1, True, "height") == 1
    with pytest.raises(OpError):  # stride 1: no window starts inside the input
        window_out(2, 3, 1, 0, 1, True, "height")
    with pytest.raises(OpError):  # floor mode: the window must fit
        window_out(2, 3, 2, 0, 1, False, "height")


@pytest.mark.parametrize("op", ["Conv", "MaxPool", "AveragePool"])
def test_asymmetric_pads_of_a_1d_window(tmp_path, op):
    """The rank-generic path (1-D and 3-D windows): pads [0, 1] are costed as onnxruntime runs them."""
    attrs = {"kernel_shape": [3], "strides": [1], "pads": [0, 1]}
    inputs, inits = ["x"], []
    if op == "Conv":
        inits.append(numpy_helper.from_array(np.ones((2, 3, 3), np.float32), "w"))
        inputs.append("w")
    graph = helper.make_graph([helper.make_node(op, inputs, ["y"], name="window", **attrs)], "windows",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    path = tmp_path / "window1d.onnx"
    path.write_bytes(model.SerializeToString())
    want = ort_output(model, np.zeros((1, 3, 10), np.float32)).shape
    graph = load(str(path))
    (node,) = graph.nodes
    assert (1, *graph.tensors[node.outputs[0]]) == want == (1, 2 if op == "Conv" else 3, 9)
