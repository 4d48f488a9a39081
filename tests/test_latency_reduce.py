"""Reductions in onnxruntime's generic loop (costcalc.latency.rows.reduce_rows, class reduce), by hand: which
axes and kinds run vectorised (element-wise, no rows) and which take the generic loop (rows: input and output
elements); a profile without the class still reads, and a fit that never saw the class charges its rows nothing."""

import pytest

from costcalc.latency.fit import OWN_ROWS, Sample, fit
from costcalc.latency.model import plan
from costcalc.latency.networks import _spec, build
from costcalc.latency.profile import OPTIONAL_CLASSES, uniform
from costcalc.latency.rows import reduce_rows

FLAT = uniform(1e10, 1e10, 1e-6)


def _kernel(shape, layer, batch=1):
    graph = build(_spec("t", shape, [], tail=[layer]), batch=batch)
    (k,) = [k for k in plan(graph, FLAT) if k.layer == "r"]
    return k


@pytest.mark.parametrize("op, shape, axes, batch, generic", [
    ("reduce_sum", (2, 64, 56, 56), [1], 1, True),  # SKResNet's branches: R K (the batch of one left out)
    ("reduce_sum", (2, 64, 56, 56), [1], 4, False),  # K R K at batch 4: vectorised
    ("reduce_sum", (2, 64, 56, 56), [2], 1, False),  # K R K
    ("reduce_sum", (2, 64, 56, 56), [3, 4], 1, False),  # K R: over the last axes
    ("reduce_mean", (2, 64, 56, 56), [1, 2], 1, True),  # R K
    ("reduce_max", (2, 64, 56, 56), [1, 4], 1, True),  # R K R: axes apart
    ("reduce_min", (2, 64, 56, 56), [2, 4], 4, True),  # K R K R
    ("reduce_mean", (196, 384), [1], 1, True),  # a mean over tokens at batch 1 (R K)
    ("reduce_mean", (196, 384), [1], 8, False),
    ("reduce_sum", (64, 7, 7), None, 1, False),  # every axis of a sample: R
    ("reduce_l2", (320, 28, 28), [2, 3], 1, True),  # ConvNeXt-V2's GRN: L2 has no vectorised loop
    ("reduce_sum_square", (64, 56, 56), [-1], 1, True),
    ("reduce_prod", (64, 56, 56), [3], 1, True),
    ("reduce_argmax", (64, 56, 56), [1], 1, False),  # not timed: element-wise, as before
])
def test_which_reductions_take_the_generic_loop(op, shape, axes, batch, generic):
    rows = reduce_rows(op, shape, axes, batch)
    assert (rows > 0) == generic


def test_a_generic_reductions_rows_are_its_input_and_output_elements():
    k = _kernel((2, 64, 56, 56), "{name: r, op: reduce_sum, axes: [1], keepdims: true}")
    inputs, outputs = 2 * 64 * 56 * 56, 64 * 56 * 56
    assert (k.op_class, k.rows, k.launches) == ("reduce", inputs + outputs, 1)
    assert k.bytes == (inputs + outputs) * 4
    k = _kernel((320, 28, 28), "{name: r, op: reduce_l2, axes: [2, 3], keepdims: true}", batch=2)
    assert (k.op_class, k.rows) == ("reduce", 2 * 320 * 28 * 28 + 2 * 320)


def test_a_vectorised_reduction_stays_element_wise():
    k = _kernel((2, 64, 56, 56), "{name: r, op: reduce_sum, axes: [1], keepdims: true}", batch=4)
    assert (k.op_class, k.rows) == ("elementwise", 0)
    k = _kernel((64, 28, 28), "{name: r, op: reduce_mean, axes: [2, 3], keepdims: true}")
    assert (k.op_class, k.rows) == ("elementwise", 0)


def test_without_the_class_a_profile_and_a_fit_cost_its_kernels_as_element_wise_ones():
    assert OPTIONAL_CLASSES["reduce"] == "elementwise" and "reduce" in OWN_ROWS
    graph = build(_spec("t", (64, 28, 28), ["{op: relu}"], tail=["{op: reduce_l2, axes: [2, 3]}"], repeat=2))
    kernels = tuple(plan(graph, FLAT))
    assert "reduce" in {k.op_class for k in kernels}
    relu = build(_spec("u", (64, 28, 28), ["{op: relu}", "{op: add, from: [input, input]}"], repeat=4))
    samples = [Sample("u", tuple(plan(relu, FLAT)), 1e-4), Sample("u2", tuple(plan(relu, FLAT)), 1e-4)]
    profile, _ = fit(samples, FLAT)
    assert profile["reduce"].row_s == 0.0  # never measured: its rows cost nothing
    assert profile["reduce"].bandwidth == profile["elementwise"].bandwidth
