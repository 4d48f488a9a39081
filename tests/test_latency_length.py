"""The context's length term (costcalc.latency.model.length_factor): a network of n planned kernels runs
(n / context_kernels) ** context_slope times slower a kernel than the context alone says; calibrate fits it on the
random whole networks, the long ones (costcalc.latency.whole_networks.long_networks) among them."""

from __future__ import annotations

import pathlib
import random
from dataclasses import replace

import numpy as np
import pytest

import costcalc
from costcalc.errors import CostcalcError
from costcalc.latency.calibration import context_factor
from costcalc.latency.fit import Sample, predict, quality
from costcalc.latency.model import estimate, length_factor, plan
from costcalc.latency.networks import WHOLE, build, of_seed
from costcalc.latency.profile import load, save
from test_latency_cli import Truth

SPECS = pathlib.Path(__file__).resolve().parent.parent / "specs"
SLOPED = dict(context=1.1, context_slope=0.05, context_kernels=37.5)


def test_every_kernel_of_a_network_is_multiplied_by_its_length_term():
    """The closed form: T = run overhead + (n / 37.5) ** 0.05 x (what the same profile without the term says less
    the run overhead), n the planned kernels; each layer's time by the same factor, so that they still add up."""
    flat = replace(Truth().profile, context=1.1)
    sloped = replace(flat, **SLOPED)
    for name in ("mobilenet_v2", "densenet121", "squeezenet1_1"):
        graph = costcalc.graph.load(str(SPECS / f"{name}.yaml"))
        without, with_term = estimate(graph, flat), estimate(graph, sloped)
        n = len(with_term.kernels)
        assert with_term.length == (n / 37.5) ** 0.05 == length_factor(sloped, n) != 1.0
        overhead = flat.run_overhead_s
        expected = (n / 37.5) ** 0.05 * (without.total_s - overhead)
        assert with_term.total_s - overhead == pytest.approx(expected, rel=1e-12)
        assert sum(layer.latency_s for layer in with_term.layers) == pytest.approx(with_term.total_s - overhead,
                                                                                   rel=1e-12)
        # the fit's vectorised estimate and fit.predict are the model's
        sample = Sample(name, tuple(plan(graph, sloped)), with_term.total_s)
        assert predict(sample.kernels, sloped) == pytest.approx(with_term.total_s, rel=1e-12)
        assert quality([sample], sloped).max_abs_error < 1e-12


def test_without_the_two_keys_a_profile_has_no_length_term():
    shipped = load(str(SPECS.parent / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml"))
    assert shipped.context_slope == 0.0 and length_factor(shipped, 1000) == 1.0


def test_the_length_term_is_written_read_back_and_checked(tmp_path):
    sloped = replace(Truth().profile, context=1.1, context_slope=-0.02, context_kernels=52.7)  # a slope may be < 0
    save(sloped, str(tmp_path / "p.yaml"))
    text = (tmp_path / "p.yaml").read_text()
    assert "context_slope: -0.02\ncontext_kernels: 52.7\n" in text
    back = load(str(tmp_path / "p.yaml"))
    assert (back.context_slope, back.context_kernels) == (-0.02, 52.7)
    save(Truth().profile, str(tmp_path / "flat.yaml"))  # no term: neither key written
    assert "context_slope" not in (tmp_path / "flat.yaml").read_text()
    for doc, col, words in (("context_slope: 0.05\n", 16, "context_slope: the length term needs context_kernels too"),
                            ("context_kernels: 50\n", 18, "context_kernels: the length term needs context_slope too"),
                            ("context_slope: fast\ncontext_kernels: 50\n", 16,
                             "context_slope must be a finite number, not 'fast'"),
                            ("context_slope: 0.05\ncontext_kernels: 0\n", 18, "context_kernels must be more than 0")):
        path = tmp_path / "bad.yaml"
        path.write_text(text.replace("context_slope: -0.02\ncontext_kernels: 52.7\n", doc))
        line = path.read_text().splitlines().index(doc.splitlines()[-1 if "kernels: 0" in doc else 0]) + 1
        with pytest.raises(CostcalcError) as e:
            load(str(path))
        assert str(e.value).startswith(f"{path}:{line}:{col}: error: {words}"), str(e.value)


def test_the_calibration_recovers_a_known_length_term_from_the_whole_networks():
    """Whole networks timed by a device whose kernels run (n / 60) ** 0.04 x 1.05 slower than its classes say:
    context_factor, given the classes, finds the slope and the context at its reference length (the wholes'
    geometric mean length, to 0.1) exactly; the long networks span 14 to 370 kernels."""
    truth = Truth().profile
    device = replace(truth, context=1.05, context_slope=0.04, context_kernels=60.0)
    wholes = []
    for network in of_seed(0)[WHOLE]:
        kernels = tuple(plan(build(network.text, f"{network.name}.yaml"), truth))
        wholes.append(Sample(network.name, kernels, predict(kernels, device)))
    lengths = [len(s.kernels) for s in wholes]
    assert min(lengths) < 30 and max(lengths) > 350  # the long ones reach past where the others stop
    context, slope, n0 = context_factor(wholes, truth)
    assert n0 == round(float(np.exp(np.mean(np.log(lengths)))), 1)
    # the run overhead is not multiplied: measured / estimated is only nearly a power of the length
    assert slope == pytest.approx(0.04, abs=2e-3)
    assert context == pytest.approx(1.05 * (n0 / 60) ** 0.04, rel=2e-3)
    fitted = replace(truth, context=context, context_slope=slope, context_kernels=n0)
    assert quality(wholes, fitted).max_abs_error < 5e-3


def test_too_few_whole_networks_give_the_context_alone():
    truth = Truth().profile
    few = []
    for network in of_seed(0)[WHOLE][:5]:
        kernels = tuple(plan(build(network.text, f"{network.name}.yaml"), truth))
        few.append(Sample(network.name, kernels, 1.2 * predict(kernels, truth)))
    context, slope, n0 = context_factor(few, truth)
    assert (slope, n0) == (0.0, 0.0) and context == pytest.approx(1.2)  # its geometric mean


def test_a_sweep_assembles_the_very_float_of_a_report_with_a_length_term(tmp_path):
    """The estimate from remembered parts (costcalc.analysis.parts_latency) multiplies by the same length term."""
    profile = replace(load(str(SPECS.parent / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml")), **SLOPED)
    path = tmp_path / "sloped.yaml"
    save(profile, str(path))
    profile = load(str(path))
    model = costcalc.load(SPECS / "mobilenet_v2.yaml")
    rng = random.Random(3)
    for _ in range(6):
        point = {"width": rng.choice([0.5, 0.75, 1.0, 1.4])}
        report = costcalc.analyze(SPECS / "mobilenet_v2.yaml", set=point, device=path)
        assert model.timed(profile, set=point) == (report.totals, report.latency_s)
    flat = costcalc.analyze(SPECS / "mobilenet_v2.yaml", device=SPECS.parent / "devices" /
                            "epyc-2cpu-onnxruntime-1.32-1thread.yaml").latency_s
    assert report.latency_s != flat


def test_calibrate_fits_and_states_the_length_term(run, tmp_path, monkeypatch):
    """End to end: `costcalc calibrate` on a device whose whole networks run (n / 60) ** 0.04 slower (units as the
    classes say) writes the slope and says what it means."""
    truth = Truth()
    device = replace(truth.profile, context_slope=0.04, context_kernels=60.0)

    class Sloped:
        runtime = "truth 1.0"

        def seconds(self, graph, threads):
            wholes = graph.path.startswith("net")
            return predict(plan(graph, device if wholes else truth.profile), device if wholes else truth.profile)

    monkeypatch.setattr("costcalc.latency.calibration.default_measure", lambda clock: Sloped())
    # every whole network, and of each unit family its first 12 (all of them: a simulated calibration of 20 s)
    every = of_seed(0)
    few = [n for family, networks in every.items() if family != WHOLE for n in networks[:12]] + every[WHOLE]
    monkeypatch.setattr("costcalc.latency.calibration.interleaved", lambda rng, batch=1: few)
    out = tmp_path / "p.yaml"
    result = run("calibrate", "-o", out, "--budget", "30")
    assert result.exit_code == 0, result.stderr
    fitted = load(str(out))
    # the classes, fitted with the whole networks weighed as much as all the units, take a part of it: the slope
    # fitted is less than the device's, and the whole networks' estimates, short and long, are right
    assert 0.02 < fitted.context_slope <= 0.04
    wholes = [n for n in of_seed(0)[WHOLE]]
    errors = {len(plan(g, fitted)): estimate(g, fitted).total_s / Sloped().seconds(g, 1) - 1
              for g in (build(n.text, f"{n.name}.yaml") for n in wholes)}
    lengths = sorted(errors)
    for part in (lengths[:20], lengths[-20:]):  # the shortest and the longest
        assert abs(np.median([errors[n] for n in part])) < 0.01, part
    assert fitted.calibration["context"]["slope"] == round(fitted.context_slope, 4)
    assert f"length term: a network of n planned kernels (n / {fitted.context_kernels:g}) ** " in result.stdout
