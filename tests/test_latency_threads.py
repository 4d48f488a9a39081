"""The thread model (costcalc.latency.threads): the parallelism rule in closed form, each class's work units, a
kernel's time at N threads by hand, the fork cost in the profile (round trip, located errors), the fit recovering
it, and a 1-thread profile estimating exactly as the 1-thread formula does."""

from dataclasses import replace
from math import ceil

import numpy as np
import pytest

from costcalc.graph import load
from costcalc.latency import estimate, plan
from costcalc.latency.fit import Sample, fit, predict
from costcalc.latency.model import Kernel, kernel_time, split_bytes
from costcalc.latency.profile import OP_CLASSES, ProfileError, dump, save, uniform, with_class
from costcalc.latency.profile import load as load_profile
from costcalc.latency.threads import BLOCK, SPLIT, TILE, parallelism, work_units

P, W, O = 4e10, 1e10, 5e-6


@pytest.mark.parametrize("units, threads, expected", [
    (8, 2, 2.0), (7, 2, 7 / 4), (3, 2, 1.5), (1, 2, 1.0), (0, 2, 1.0),  # the busiest thread: ceil(U / N) units
    (10, 4, 10 / 3), (3, 4, 3.0), (16, 4, 4.0), (100, 1, 1.0), (5, 8, 5.0),
])
def test_parallelism_is_units_over_the_busiest_threads_share(units, threads, expected):
    assert parallelism(units, threads) == expected
    assert parallelism(units, threads) <= max(min(units, threads), 1)


@pytest.mark.parametrize("op_class, shape, rows, expected", [
    ("dense_conv", (1, 20, 14, 14), 0, 1 * 3 * 14),  # output rows: batch x channel blocks (ceil 20 / 8) x height
    ("pointwise_conv", (4, 64, 7, 7), 0, 4 * 8 * 7),
    ("pooling", (1, 24, 28, 28), 0, 3 * 28),
    ("fc", (1, 1000), 0, ceil(1000 / TILE)),  # GEMM tiles of the output
    ("gemm", (1, 196, 384), 0, 196 * 384 // TILE),
    ("dense_conv_plain", (1, 58, 28, 28), 0, ceil(58 * 784 / TILE)),
    ("depthwise_conv_plain", (2, 58, 28, 28), 0, 2 * 58),  # channels
    ("pooling_plain", (1, 58, 1, 1), 0, 58),
    ("elementwise", (1, 64, 56, 56), 0, ceil(64 * 56 * 56 / BLOCK)),  # blocks of elements
    ("gelu", (1, 16), 0, 1),  # a vector: one block, one thread
    ("softmax", (1, 3, 64, 64), 192, 192),  # its rows
    ("normalization", (1, 196, 768), 196, 1),  # one thread
    ("grouped_conv_plain", (1, 128, 56, 56), 0, 1),
    ("data_movement", (1, 128, 56, 56), 0, 1),
    ("transpose", (1, 4, 64, 16), 256, 1),
    ("view", (1, 64), 0, 1),
])
def test_work_units_by_class(op_class, shape, rows, expected):
    assert work_units(op_class, shape, 8, rows) == expected


def test_a_layout_reorder_splits_over_blocks_of_elements_other_data_movement_not():
    assert work_units("data_movement", (1, 64, 56, 56), reorder=True) == ceil(64 * 56 * 56 / BLOCK)
    assert work_units("data_movement", (1, 64, 56, 56)) == 1


def test_every_class_has_a_rule():
    assert set(SPLIT) == set(OP_CLASSES)


def test_the_planner_gives_each_kernel_its_units(write_spec):
    g = load(write_spec("name: t\ninput: [16, 14, 14]\nlayers:\n"
                        "  - {name: c, op: conv, out: 20, k: 3, pad: 1}\n  - {name: relu, op: relu}\n"
                        "  - {name: ln, op: layernorm}\n  - {name: f, op: flatten}\n"
                        "  - {name: fc, op: fc, out: 100}\n"))
    kernels = {k.layer: k for k in plan(g, uniform(P, W, O, layout_block=8)) if k.members}
    assert kernels["c"].op_class == "dense_conv" and kernels["c"].units == ceil(20 / 8) * 14
    assert kernels["ln"].op_class == "normalization" and kernels["ln"].units == 1
    assert kernels["fc"].units == ceil(100 / TILE)
    reorder = next(k for k in plan(g, uniform(P, W, O, layout_block=8)) if not k.members)
    assert reorder.units == ceil(20 * 14 * 14 / BLOCK)


@pytest.mark.parametrize("combine", ["max", "sum"])
def test_a_kernels_time_at_two_threads_by_hand(combine):
    fork, row = 3e-6, 2e-8
    p = replace(with_class(uniform(P, W, O, threads=2, combine=combine, context=1.25), "softmax", row_s=row),
                fork_s=fork, llc_bytes=2 ** 20, dram_bandwidth=5e9)
    flops, moved, launches, rows = 10 ** 8, 3 * 2 ** 20, 2, 4000
    k = Kernel("softmax", flops, moved, launches, "s", ("s",), rows, 0, 7)
    share = 7 / 4
    compute, memory = flops / P / share, 2 ** 20 / W / share + 2 * 2 ** 20 / 5e9  # beyond the cache: not shared
    body = max(compute, memory) if combine == "max" else compute + memory
    assert kernel_time(k, p) == pytest.approx(1.25 * (body + launches * O + rows * row / share + launches * fork),
                                              rel=1e-12)
    alone = replace(k, units=1)  # one unit: no split, no fork, the 1-thread time
    body = max(flops / P, 2 ** 20 / W + 2 * 2 ** 20 / 5e9) if combine == "max" else \
        flops / P + 2 ** 20 / W + 2 * 2 ** 20 / 5e9
    assert kernel_time(alone, p) == pytest.approx(1.25 * (body + launches * O + rows * row), rel=1e-12)


def _one_thread_formula(kernel, profile, evicted):
    """The 1-thread model as costcalc.latency.model's docstring writes it, before threads: no parallelism term."""
    c = profile[kernel.op_class]
    cached, spilled = split_bytes(kernel.bytes, profile.llc_bytes, kernel.weight_bytes if evicted else 0)
    compute, memory = kernel.flops / c.throughput, cached / c.bandwidth + spilled / profile.dram_bandwidth
    body = max(compute, memory) if profile.combine == "max" else compute + memory
    return profile.context * (body + kernel.launches * c.overhead_s + kernel.rows * c.row_s)


@pytest.mark.parametrize("spec", ["resnet50", "shufflenet_v2_x1_0", "mobilevit_xxs", "efficientnet_b0", "swin_t"])
def test_a_one_thread_profile_estimates_exactly_as_the_one_thread_formula(spec):
    shipped = load_profile("devices/epyc-2cpu-onnxruntime-1.32-1thread.yaml")
    assert shipped.threads == 1 and shipped.fork_s == 0.0
    g = load(f"specs/{spec}.yaml")
    e = estimate(g, shipped)
    assert any(k.units > 1 for k in e.kernels)  # the units are there; at 1 thread they change nothing
    for k in e.kernels:
        assert kernel_time(k, shipped, e.evicted) == _one_thread_formula(k, shipped, e.evicted)  # to the last bit


def _synthetic(truth, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        kernels = [Kernel(OP_CLASSES[int(rng.integers(len(OP_CLASSES)))], int(10 ** rng.uniform(4, 9)),
                          int(10 ** rng.uniform(4, 8)), int(rng.integers(1, 4)), f"l{i}",
                          units=int(rng.choice([1, 1, 3, 8, 57])))
                   for _ in range(int(rng.integers(3, 12)))]
        samples.append(Sample(f"n{i}", tuple(kernels), predict(kernels, truth)))
    return samples


def _truth(threads: int, fork_s: float):
    rng = np.random.default_rng(11)
    p = uniform(1.0, 1.0, 0.0, threads=threads, combine="sum", run_overhead_s=3e-5)
    for c in OP_CLASSES:
        p = with_class(p, c, throughput=float(rng.uniform(5e9, 6e10)), bandwidth=float(rng.uniform(2e9, 2e10)),
                       overhead_s=float(rng.uniform(1e-6, 1e-5)))
    return replace(p, fork_s=fork_s)


def test_the_fit_recovers_the_fork_cost_and_the_serial_rates_at_two_threads():
    truth = _truth(2, 4e-6)
    fitted, q = fit(_synthetic(truth, 400, 1), uniform(1.0, 1.0, 0.0, threads=2), "sum")
    assert fitted.fork_s == pytest.approx(4e-6, rel=1e-6)
    for c in OP_CLASSES:
        assert fitted[c].throughput == pytest.approx(truth[c].throughput, rel=1e-6)
        assert fitted[c].overhead_s == pytest.approx(truth[c].overhead_s, rel=1e-6)
    assert q.max_abs_error < 1e-9


def test_at_one_thread_the_units_change_nothing_in_the_fit():
    truth = _truth(1, 0.0)
    samples = _synthetic(truth, 200, 2)
    flat = [replace(s, kernels=tuple(replace(k, units=1) for k in s.kernels)) for s in samples]
    structure = uniform(1.0, 1.0, 0.0)
    assert fit(samples, structure, "sum")[0] == fit(flat, structure, "sum")[0]
    assert fit(samples, structure, "sum")[0].fork_s == 0.0


def test_fork_s_round_trips_at_two_threads(tmp_path):
    p = replace(uniform(P, W, O, threads=2), fork_s=3.25e-06)
    path = tmp_path / "p.yaml"
    save(p, str(path))
    assert "fork_s: 3.25e-06" in path.read_text()
    assert load_profile(str(path)) == p
    assert "fork_s" not in dump(uniform(P, W, O))  # a 1-thread profile's file is as before


@pytest.mark.parametrize("threads, value, message", [
    (2, "-1.0e-06", "fork_s must be at least 0, not -1e-06"),
    (2, "soon", "fork_s must be a finite number, not 'soon'"),
    (1, "2.0e-06", "fork_s: a profile of 1 thread shares no kernel among threads, so its fork_s is 0, not 2e-06"),
])
def test_fork_s_errors_are_located(tmp_path, threads, value, message):
    text = dump(replace(uniform(P, W, O, threads=2), fork_s=1e-6)).replace("fork_s: 1.0e-06", f"fork_s: {value}")
    text = text.replace("threads: 2", f"threads: {threads}")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("fork_s:"))
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as e:
        load_profile(str(path))
    assert str(e.value) == f"{path}:{line}:9: error: {message}"


class TwoThreads:
    """A stand-in for onnxruntime at 2 threads: each network's time is what the thread model says under a known
    profile (serial rates, overheads and a fork cost of 3 us)."""

    runtime = "truth 1.0"

    def __init__(self):
        p = uniform(1.0, 1.0, 0.0, threads=2, run_overhead_s=1.5e-5, combine="sum")
        for i, c in enumerate(OP_CLASSES):
            p = with_class(p, c, throughput=1e10 * (1 + i), bandwidth=2e9 * (1 + i % 5), overhead_s=1e-6 * (1 + i % 7))
        self.profile = replace(p, fork_s=3e-6)

    def seconds(self, graph, threads):
        assert threads == 2
        return predict(plan(graph, self.profile), self.profile)


def test_calibrate_threads_2_fits_the_fork_cost(run, tmp_path, monkeypatch):
    truth = TwoThreads()
    monkeypatch.setattr("costcalc.latency.calibration.default_measure", lambda clock: truth)
    out = tmp_path / "p.yaml"
    result = run("calibrate", "-o", out, "--budget", "30", "--threads", "2")
    assert result.exit_code == 0, result.stderr
    fitted = load_profile(str(out))
    assert fitted.threads == 2 and fitted.fork_s == pytest.approx(3e-6, rel=1e-3)
    assert "fork and join 3.0 us per launch of a kernel shared among the 2 threads" in result.stdout
    for spec in ("resnet50", "shufflenet_v2_x0_5"):  # fitted on synthetic networks only
        g = load(f"specs/{spec}.yaml")
        assert estimate(g, fitted).total_s == pytest.approx(truth.seconds(g, 2), rel=0.02)


def test_no_calibration_shuffle_undoes_itself():
    """A channel shuffle of C channels in g groups is its own inverse when g x g = C (16 channels in 4 groups of 4):
    onnxruntime cancels two such shuffles in a row, so a network repeating one measures kernels the planner never
    planned (shuffle4_c16_hw112 ran 1 Transpose for its 7 shuffles). The calibration has none."""
    import re

    from costcalc.latency.networks import interleaved

    shuffles = 0
    for network in interleaved(np.random.default_rng(0)):
        channels = int(re.search(r"input: \[(\d+)", network.text).group(1))
        for groups in re.findall(r"op: shuffle, groups: (\d+)", network.text):
            shuffles += 1
            if "block: unit" in network.text and network.text.count("op: shuffle") == 1:
                assert int(groups) ** 2 != channels, network.name
    assert shuffles >= 20
