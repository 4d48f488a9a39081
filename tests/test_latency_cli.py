"""Estimated latency on the command line: report, compare, check and guidelines with --device, and calibrate with
a stand-in for the runtime whose times follow a known profile (the fit must find it again)."""

import json

import pytest

from costcalc.graph import load
from costcalc.latency import estimate, plan
from costcalc.latency.fit import predict
from costcalc.latency.profile import OP_CLASSES, load as load_profile, save, uniform, with_class

SPEC = "specs/shufflenet_v2_x1_0.yaml"


@pytest.fixture
def device(tmp_path):
    """A hand-made profile file: every class at 40 GFLOP/s, 10 GB/s, 5 us per kernel; 20 us per run."""
    path = tmp_path / "device.yaml"
    save(uniform(4e10, 1e10, 5e-6, run_overhead_s=2e-5, device="hand-made"), str(path))
    return path


def test_report_json_carries_the_estimate(run, device):
    result = run("report", SPEC, "--device", device, "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    expected = estimate(load(SPEC), load_profile(str(device)))
    assert doc["totals"]["latency_s"] == pytest.approx(expected.total_s, rel=1e-12)
    layers = sum(layer["latency_s"] for layer in doc["layers"])
    assert doc["totals"]["latency_s"] == pytest.approx(layers + 2e-5, rel=1e-12)
    assert doc["latency"]["estimate"] is True and doc["latency"]["threads"] == 1
    fused = [layer for layer in doc["layers"] if layer["fused_into"]]
    assert fused and all(layer["latency_s"] == 0 for layer in fused)
    assert {layer["op"] for layer in fused} <= {"bn", "relu"}


def test_report_table_labels_the_estimate(run, device):
    result = run("report", SPEC, "--device", device, "--depth", "1")
    assert result.exit_code == 0
    assert "Latency (est.)" in result.stdout
    assert "latency: an estimate, not a measurement" in result.stdout
    total = estimate(load(SPEC), load_profile(str(device))).total_s
    assert f"{total * 1e3:.2f} ms" in result.stdout
    plain = run("report", SPEC, "--depth", "1")
    assert "Latency" not in plain.stdout


def test_csv_and_markdown_show_it_too(run, device):
    csv = run("report", SPEC, "--device", device, "--format", "csv").stdout
    assert csv.splitlines()[0].split(",")[8] == "latency_s_estimate"
    markdown = run("report", SPEC, "--device", device, "--format", "markdown").stdout
    assert "Latency (est.)" in markdown


def test_the_estimate_of_an_onnx_model(run, device, tmp_path):
    pytest.importorskip("onnx")
    from onnx_graphs import Net

    net = Net((1, 64, 28, 28), "onnx_model")
    x = net.relu(net.bn(net.conv("x", 64, 3, pad=1)))
    path = net.save(net.relu(net.bn(net.conv(x, 128, 1))), tmp_path / "m.onnx")
    result = run("report", path, "--device", device, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    expected = estimate(load(path), load_profile(str(device)))
    assert doc["totals"]["latency_s"] == pytest.approx(expected.total_s, rel=1e-12)
    assert [layer["fused_into"] is not None for layer in doc["layers"]] == [False, True, True, False, True, True]


def test_compare_shows_latency_deltas(run, device):
    result = run("compare", SPEC, "specs/shufflenet_v2_x0_5.yaml", "--device", device, "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    profile = load_profile(str(device))
    a = estimate(load(SPEC), profile).total_s
    b = estimate(load("specs/shufflenet_v2_x0_5.yaml"), profile).total_s
    assert doc["latency_s"]["a"] == pytest.approx(a) and doc["latency_s"]["b"] == pytest.approx(b)
    assert doc["latency_s"]["delta"] == pytest.approx(b - a)
    assert sum(row["delta"]["latency_s"] for row in doc["layers"]) == pytest.approx(b - a, rel=1e-9)
    table = run("compare", SPEC, "specs/shufflenet_v2_x0_5.yaml", "--device", device).stdout
    assert "Latency (est.)" in table


def test_check_gates_on_the_estimated_latency(run, device):
    total = estimate(load(SPEC), load_profile(str(device))).total_s
    above = f"{total * 1e3 * 1.01:.3f}ms"
    below = f"{total * 1e6 * 0.99:.1f}us"
    ok = run("check", SPEC, "--max-latency", above, "--device", device)
    assert ok.exit_code == 0 and "latency" in ok.stdout and "(est.)" in ok.stdout
    over = run("check", SPEC, "--max-latency", below, "--device", device, "--format", "json")
    assert over.exit_code == 1
    (limit,) = [v for v in json.loads(over.stdout)["specs"][0]["limits"] if v["total"] == "latency_s"]
    assert limit["actual"] == pytest.approx(total) and not limit["ok"]


@pytest.mark.parametrize("args, message", [
    (("--max-latency", "10ms"), "give the device profile with --device"),
    (("--max-latency", "10 parsecs", "--device", "x.yaml"), "is not a duration"),
])
def test_check_latency_option_errors(run, args, message):
    result = run("check", SPEC, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_a_bad_profile_is_one_located_error(run, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("threads: 1\nclasses: {fc: {throughput: 1}}\n")
    result = run("report", SPEC, "--device", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:2:")
    assert "Traceback" not in result.stderr


def test_guideline_panel_costs_violations_in_time(run, device):
    result = run("guidelines", "specs/inception_resnet_v2.yaml", "--device", device, "--format", "json")
    doc = json.loads(result.stdout)
    g3 = doc["guidelines"]["G3"]["violations"]
    assert all(v["latency_s"] > 0 for v in g3)  # fragments cost launches and concats
    g4 = run("guidelines", "specs/resnet50.yaml", "--device", device, "--format", "json")
    for v in json.loads(g4.stdout)["guidelines"]["G4"]["violations"]:
        assert v["latency_s"] == 0.0  # batchnorm and ReLU fused into their conv by the runtime
    table = run("guidelines", "specs/inception_resnet_v2.yaml", "--device", device).stdout
    assert "est. " in table


def test_g3_cost_is_launches_and_data_movement(write_spec, tmp_path):
    from costcalc.analysis.guidelines import check
    from costcalc.analysis.time_costs import violation_costs

    g = load(write_spec("name: t\ninput: [32, 8, 8]\nlayers:\n"
                        + "".join(f"  - {{name: b{i}, op: conv, out: 8, k: 1, from: input}}\n" for i in range(4))
                        + "  - {name: cat, op: concat, from: [b0, b1, b2, b3]}\n"))
    profile = uniform(4e10, 1e10, 5e-6, layout_block=0)
    e = estimate(g, profile)
    (finding,) = check(g).violations(("G3",))
    concat = next(k for k in e.kernels if k.layer == "cat")
    cost = violation_costs(g, check(g), profile, e)[("G3", finding.where)]
    # five kernels (four convs, the concat): four launches beyond one, and the concat's copy
    assert cost == pytest.approx(4 * 5e-6 + concat.bytes / 1e10, rel=1e-12)


# ---- calibrate ----------------------------------------------------------------------------------------------


class Truth:
    """A stand-in for onnxruntime: each network's time is what the model says under a known profile."""

    runtime = "truth 1.0"

    def __init__(self):
        p = uniform(1.0, 1.0, 0.0, run_overhead_s=1.5e-5, combine="sum")
        for i, c in enumerate(OP_CLASSES):
            p = with_class(p, c, throughput=1e10 * (1 + i), bandwidth=2e9 * (1 + i % 5), overhead_s=1e-6 * (1 + i % 7))
        self.profile = p

    def seconds(self, graph, threads):
        return predict(plan(graph, self.profile), self.profile)


def test_calibrate_recovers_a_known_device(run, tmp_path, monkeypatch):
    truth = Truth()
    monkeypatch.setattr("costcalc.latency.calibration.default_measure", lambda clock: truth)
    out = tmp_path / "p.yaml"
    result = run("calibrate", "-o", out, "--budget", "30")
    assert result.exit_code == 0, result.stderr
    fitted = load_profile(str(out))
    assert fitted.runtime == "truth 1.0" and fitted.threads == 1 and fitted.combine == "sum"
    assert fitted.layout_block == truth.profile.layout_block == 8  # measured by the layout probe
    assert "layout block 8 (onnxruntime's NCHWc; measured: 20 channels took 0." in result.stdout
    assert fitted.run_overhead_s == pytest.approx(truth.profile.run_overhead_s, rel=1e-3)
    # how many networks a time budget measures depends on the machine's load: only the classes every first pass
    # exercises many times are checked here (test_latency_model recovers every class from a fixed sample)
    for c in ("pointwise_conv", "dense_conv"):
        assert fitted[c].throughput == pytest.approx(truth.profile[c].throughput, rel=1e-3), c
    # fitted on synthetic networks only, it estimates a zoo network as the known device runs it
    g = load("specs/resnet50.yaml")
    assert estimate(g, fitted).total_s == pytest.approx(truth.seconds(g, 1), rel=0.02)
    assert "fit: median |error| 0.0%, within +-10% 100%" in result.stdout


def test_calibrate_without_the_runtime_is_one_error(run, tmp_path, monkeypatch):
    import sys

    pytest.importorskip("costcalc.runtime")  # the adapter (issue 14)

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    result = run("calibrate", "-o", tmp_path / "p.yaml", "--budget", "5")
    assert result.exit_code == 2
    assert "onnxruntime" in result.stderr and "Traceback" not in result.stderr


def test_cpu_time_of_a_run_is_at_most_its_wall_time(write_spec):
    pytest.importorskip("onnxruntime")
    from costcalc.runtime import measure_graph

    m = measure_graph(load(write_spec("name: t\ninput: [16, 32, 32]\nlayers:\n  - {op: conv, out: 16, k: 3, pad: 1}\n")),
                      runs=5, profile=False)
    # per run, CPU time <= wall time, up to the two clocks' granularity
    assert 0 < m.cpu_s <= 1.05 * m.latency_s + 20e-6


def test_calibrate_refuses_cpu_clock_with_threads(run, tmp_path):
    result = run("calibrate", "-o", tmp_path / "p.yaml", "--clock", "cpu", "--threads", "2")
    assert result.exit_code == 2 and "--threads 1" in result.stderr


def _few_networks(monkeypatch):
    import numpy as np

    from costcalc.latency import calibration, networks
    from costcalc.latency.calibration import WHOLE

    every = networks.families(np.random.default_rng(0))
    few = [n for family, networks in every.items() if family != WHOLE for n in networks[:6]] + every[WHOLE][:5]
    monkeypatch.setattr(calibration, "interleaved", lambda rng, batch=1: few)
    return few


def test_units_and_whole_networks_consistent_with_the_classes_give_the_truth(monkeypatch):
    from costcalc.latency.calibration import WHOLE, calibrate

    truth = Truth()
    few = _few_networks(monkeypatch)
    result = calibrate(budget_s=600, measure=truth.seconds, structure=truth.profile)
    assert sum(result.families[s.name] == WHOLE for s in result.samples) == 5 and len(result.samples) == len(few)
    assert result.fitted.median_abs_error < 1e-6 and result.profile.context == pytest.approx(1.0, rel=1e-6)
    assert result.profile.calibration["context"]["weight"] == round((len(few) - 5) / 5, 2)  # 5 wholes = 66 units


def test_whole_networks_slower_than_their_units_are_fitted_with_the_units_then_the_context(monkeypatch):
    """Whole networks 1.2x slower than the units' classes say: weighed as much as all the units, they pull the
    classes part of the way, and the context factor takes the rest, so that on the whole networks the estimate is
    right on (geometric) average."""
    import numpy as np

    from costcalc.latency.calibration import WHOLE, calibrate
    from costcalc.latency.fit import predict

    truth = Truth()
    _few_networks(monkeypatch)

    def measure(graph, threads):
        return (1.2 if graph.path.startswith("net") else 1.0) * truth.seconds(graph, threads)

    result = calibrate(budget_s=600, measure=measure, structure=truth.profile)
    wholes = [s for s in result.samples if result.families[s.name] == WHOLE]
    ratios = [s.measured_s / predict(s.kernels, result.profile) for s in wholes]
    assert np.exp(np.mean(np.log(ratios))) == pytest.approx(1.0, rel=1e-3)  # the run overhead is not scaled
    assert 1.0 < result.profile.context < 1.2
    assert result.profile.calibration["context"]["networks"] == 5


def test_calibrate_passes_measure_each_network_that_many_times_keeping_the_fastest(run, tmp_path, monkeypatch):
    """--passes 4: every network measured four times (as the record says), and the profile fitted to the fastest
    of each network's times: a machine slowed by 1.5x in all passes but the last still gives the truth."""
    truth = Truth()
    calls: dict = {}

    class Slow:
        runtime = "truth 1.0"

        def seconds(self, graph, threads):
            calls[graph.path] = calls.get(graph.path, 0) + 1
            return truth.seconds(graph, threads) * (1.0 if calls[graph.path] == 4 else 1.5)

    monkeypatch.setattr("costcalc.latency.calibration.default_measure", lambda clock: Slow())
    out = tmp_path / "p.yaml"
    result = run("calibrate", "-o", out, "--budget", "60", "--passes", "4")
    assert result.exit_code == 0, result.stderr
    fitted = load_profile(str(out))
    probes = {path: n for path, n in calls.items() if "layout_probe" in path}  # the layout block's, once each
    assert fitted.calibration["passes"] == 4 and len(probes) == 2 and set(probes.values()) == {1}
    assert set(n for path, n in calls.items() if path not in probes) == {4}
    assert "fit: median |error| 0.0%, within +-10% 100%" in result.stdout
    g = load("specs/resnet50.yaml")
    assert estimate(g, fitted).total_s == pytest.approx(truth.seconds(g, 1), rel=0.02)


class FakeClock:
    """time.perf_counter for calibrate: it moves only when a test says so (a measurement, a slow step)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_budget_is_measuring_time_only(monkeypatch):
    """--budget is the seconds inside the runtime's measurements: generating the networks, building their graphs,
    the first measurement (it loads the runtime), a benchmark's work between passes and the fit are not charged.
    Each measurement here takes 0.25 s of the clock, generating the networks 100 s and the work between passes
    50 s: a 25 s budget in 5 passes measures 1 + 20 networks in the first pass (5 s: the first one free), then
    four more passes of the same 21 until 25 s of measuring is spent (80 measurements, 20 a pass)."""
    from costcalc.latency import calibration

    truth, clock = Truth(), FakeClock()
    few = _few_networks(monkeypatch)
    generate = calibration.interleaved

    def slow_generation(rng, batch=1):
        clock.now += 100.0
        return generate(rng)

    def measure(graph, threads):
        clock.now += 0.25
        return truth.seconds(graph, threads)

    def between(k):
        clock.now += 50.0

    monkeypatch.setattr(calibration, "interleaved", slow_generation)
    monkeypatch.setattr(calibration.time, "perf_counter", clock)
    result = calibration.calibrate(budget_s=25.0, measure=measure, structure=truth.profile, between_passes=between)
    assert len(few) > 21 and len(result.samples) == 21 and result.passes == 5
    assert result.measuring_s == 25.0 and result.profile.calibration["measuring_s"] == 25.0
    assert result.elapsed_s == 100 + 0.25 * (21 + 80) + 50 * 5


def test_the_first_pass_measures_twenty_networks_whatever_the_budget(monkeypatch):
    """Measurements of 1 s each and a 5 s budget: the first pass does not stop at 1 s but at the 20 networks a fit
    of every class takes (the first one not charged), and no later pass runs."""
    from costcalc.latency import calibration

    truth, clock = Truth(), FakeClock()
    _few_networks(monkeypatch)

    def measure(graph, threads):
        clock.now += 1.0
        return truth.seconds(graph, threads)

    monkeypatch.setattr(calibration.time, "perf_counter", clock)
    result = calibration.calibrate(budget_s=5.0, measure=measure, structure=truth.profile)
    assert len(result.samples) == calibration.MIN_NETWORKS and result.passes == 1
    assert result.measuring_s == calibration.MIN_NETWORKS - 1


def test_calibrate_batch_measures_the_networks_at_that_batch_and_the_profile_says_so(run, tmp_path, monkeypatch):
    """--batch 4: every calibration network is measured at batch 4 (the truth here sees the graphs' batch), the
    profile records it, and report --device says when a network's batch is not the profile's."""
    truth = Truth()
    batches = set()

    class AtBatch:
        runtime = "truth 1.0"

        def seconds(self, graph, threads):
            batches.add(graph.batch)
            return truth.seconds(graph, threads)

    monkeypatch.setattr("costcalc.latency.calibration.default_measure", lambda clock: AtBatch())
    _few_networks(monkeypatch)
    out = tmp_path / "p.yaml"
    result = run("calibrate", "-o", out, "--budget", "60", "--batch", "4")
    assert result.exit_code == 0, result.stderr
    assert batches == {4} and load_profile(str(out)).calibration["batch"] == 4
    covered = run("report", "specs/resnet18.yaml", "--batch", "4", "--device", out)
    other = run("report", "specs/resnet18.yaml", "--device", out)
    assert covered.exit_code == other.exit_code == 0
    flat = lambda text: " ".join(text.split())  # noqa: E731 - the footnote wraps to the terminal's width
    assert "does not cover" not in flat(covered.stdout)
    assert ("the profile was fitted at batch 4 and this network runs at batch 1, which it does not cover "
            "(`costcalc calibrate --batch 1` fits one that does)") in flat(other.stdout)
