"""The layout block `calibrate` measures (costcalc.latency.layout): closed forms of what each candidate block
predicts for the probe, and the probe against stand-in devices whose block is known."""

from dataclasses import replace

import pytest

from costcalc.latency.fit import predict
from costcalc.latency.layout import measured_block, nearest_block, predicted_ratio
from costcalc.latency.model import plan
from costcalc.latency.profile import uniform


def test_each_block_predicts_the_probes_padded_work():
    # 20 channels padded to 20, 24, 32 against 32: (20/32)^2, (24/32)^2, 1
    assert predicted_ratio(4) == pytest.approx(0.390625)
    assert predicted_ratio(8) == pytest.approx(0.5625)
    assert predicted_ratio(16) == 1.0


@pytest.mark.parametrize("ratio, block", [(0.99, 16), (1.2, 16), (0.8, 16), (0.7, 8), (0.6, 8), (0.5, 8), (0.45, 4),
                                          (0.3, 4)])
def test_the_nearest_block_on_a_log_scale(ratio, block):
    assert nearest_block(ratio) == block


@pytest.mark.parametrize("block", [4, 8, 16])
def test_the_probe_finds_a_stand_in_devices_block(block):
    device = replace(uniform(1e11, 2e10, 2e-6, run_overhead_s=1e-5, combine="sum"), layout_block=block)
    timed = []

    def seconds(graph):
        timed.append(graph.name)
        return predict(plan(graph, device), device)

    found, ratio = measured_block(seconds)
    assert found == block and timed == ["layout_probe_c20", "layout_probe_c32"]
    assert ratio == pytest.approx(predicted_ratio(block), rel=0.15)  # the reorders and launches besides


def test_a_slice_of_a_blocked_tensor_is_reordered_then_copied_in_the_plain_layout():
    """onnxruntime's Slice knows no NCHWc: GhostNet's out[:, :oup] after its blocked concat ran as ReorderOutput,
    Slice, and a ReorderInput before the next conv (its profiler, 7 December 2026)."""
    from costcalc.latency.networks import _spec, build

    profile = replace(uniform(1e10, 1e10, 1e-6), layout_block=8)
    graph = build(_spec("t", (16, 28, 28), [], tail=["{name: c, op: conv, out: 16, k: 1}",
                                                     "{name: s, op: slice, out: 16}",
                                                     "{name: d, op: conv, out: 16, k: 1}"]))
    kernels = [(k.layer, k.op_class, k.bytes, bool(k.members)) for k in plan(graph, profile)]
    moved = 2 * 16 * 28 * 28 * 4  # a tensor read and written
    assert [k for k in kernels if k[0] in ("s", "d")][:3] == [
        ("s", "data_movement", moved, False),  # the reorder to the plain layout
        ("s", "data_movement", moved, True),  # the Slice's copy
        ("d", "data_movement", moved, False)]  # the reorder back into the blocked layout for the next conv
