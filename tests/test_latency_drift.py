"""A profile that stays true: `calibrate --check` finds a profile that is off and by how much, `--refit-scale`
brings it back, and `report --device` says where and when the profile was fitted.

The stand-in for onnxruntime (test_latency_cli.Truth) times every network as a known profile estimates it, so a
profile scaled 2x must be found exactly +100 % off; one test measures with onnxruntime itself, with tolerances
far wider than the machine's spread between runs."""

import datetime as dt
import json
import socket
from dataclasses import replace

import pytest

from costcalc.graph import load
from costcalc.latency import estimate
from costcalc.latency.drift import TOLERANCE, check, reestimate, reference_networks, rescaled
from costcalc.latency.profile import load as load_profile
from costcalc.latency.profile import save
from costcalc.latency.provenance import age_text, describe, fitted_record, parse_date
from test_latency_cli import Truth

SHIPPED = "devices/epyc-2cpu-onnxruntime-1.32-1thread.yaml"


@pytest.fixture(scope="module")
def few():
    return reference_networks(3)


def test_a_profile_scaled_2x_is_found_100_percent_off_and_refit_brings_it_back(few):
    truth = Truth()
    doubled = rescaled(truth.profile, 2.0)
    result = check(doubled, truth.seconds, few, passes=1)
    # every estimate doubles: T = 2 (run_overhead + context x kernels), so each network is +100 %
    assert [r.error for r in result.rows] == pytest.approx([1.0] * 3, rel=1e-9)
    assert result.overall == pytest.approx(1.0, rel=1e-9) and not result.holds
    assert result.factor == pytest.approx(0.5, rel=1e-9)
    fixed = rescaled(doubled, result.factor, result)
    assert fixed.calibration["rescaled"]["factor"] == pytest.approx(1.0)  # 2 x 0.5: the factors compound
    assert reestimate(result, fixed, few).overall == pytest.approx(0.0, abs=1e-9)
    again = check(fixed, truth.seconds, few, passes=1)
    assert again.holds and again.overall == pytest.approx(0.0, abs=1e-9)


def test_the_tolerance_is_on_the_geometric_mean(few):
    truth = Truth()
    near = check(rescaled(truth.profile, 1 + TOLERANCE * 0.9), truth.seconds, few, passes=1)
    far = check(rescaled(truth.profile, 1 / (1 + TOLERANCE * 1.2)), truth.seconds, few, passes=1)
    assert near.holds and near.overall == pytest.approx(TOLERANCE * 0.9)
    assert not far.holds and far.overall == pytest.approx(1 / (1 + TOLERANCE * 1.2) - 1)


def test_reference_networks_are_whole_calibration_networks_never_the_zoo():
    networks = reference_networks()
    assert len(networks) == 6 and {n.family for n in networks} == {"networks"}
    assert sum(n.name.startswith("net_res") for n in networks) == 3  # residual and mobile in turn


@pytest.fixture
def stand_in(monkeypatch):
    truth = Truth()
    monkeypatch.setattr("costcalc.latency.calibration.default_measure", lambda clock: truth)
    monkeypatch.setattr("costcalc.latency.drift.reference_networks",
                        lambda count=6: reference_networks(3))
    return truth


def test_check_and_refit_on_the_command_line(run, tmp_path, stand_in):
    doubled = tmp_path / "doubled.yaml"
    save(rescaled(stand_in.profile, 2.0), str(doubled))
    off = run("calibrate", "--check", doubled)
    assert off.exit_code == 1, off.stderr
    assert "overall" in off.stdout and "+100.0%" in off.stdout
    assert "the profile does not hold: its estimates are 100.0% too slow here now" in off.stdout
    out = tmp_path / "fixed.yaml"
    refit = run("calibrate", "--check", doubled, "--refit-scale", "-o", out)
    assert refit.exit_code == 0 and f"wrote {out}: the profile rescaled by x0.5000" in refit.stdout
    fixed = load_profile(str(out))
    assert fixed.context == pytest.approx(stand_in.profile.context, rel=1e-12)
    assert fixed.run_overhead_s == pytest.approx(stand_in.profile.run_overhead_s, rel=1e-12)
    ok = run("calibrate", "--check", out)
    assert ok.exit_code == 0 and "the profile holds" in ok.stdout
    assert "rescaled x1.0" in ok.stdout  # 2 x 0.5, recorded in the profile


def test_check_names_a_layout_block_other_than_the_profiles(run, tmp_path, stand_in):
    """The stand-in runs blocks of 8 channels; a profile fitted where they hold 16 (an AVX-512 CPU) is told apart by
    the layout probe, whatever its overall error; the stand-in's own profile is not."""
    from dataclasses import replace

    note = ("note: onnxruntime's channel blocks here hold 8 channels, the profile's 16 (a CPU with other vector "
            "instructions: a new calibration, not --refit-scale)")
    for block, named in ((16, True), (8, False)):
        path = tmp_path / f"block{block}.yaml"
        save(replace(stand_in.profile, layout_block=block), str(path))
        out = run("calibrate", "--check", path).stdout
        assert (note in out) is named and ("rescale it" in out) is (not named and "does not hold" in out), block
    assert check(stand_in.profile, stand_in.seconds, reference_networks(2), passes=1).layout_block == 8


@pytest.mark.parametrize("args, message", [
    (("--refit-scale",), "give --check PROFILE.yaml"),
    ((), "give -o PROFILE.yaml"),
    (("--check", SHIPPED, "-o", "x.yaml"), "give --refit-scale too"),
])
def test_check_option_errors(run, args, message):
    result = run("calibrate", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_check_of_a_bad_profile_is_one_located_error(run, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("threads: 1\nclasses: {fc: {throughput: 1}}\n")
    result = run("calibrate", "--check", path)
    assert result.exit_code == 2 and result.stderr.startswith(f"{path}:2:") and "Traceback" not in result.stderr


def test_onnxruntime_finds_a_profile_scaled_2x_off_and_refit_holds():
    """Measured: a profile first rescaled to this machine now, then doubled, is found off by about +100 %; refit,
    it holds again. Tolerances far beyond the machine's spread between two checks a few seconds apart."""
    pytest.importorskip("onnxruntime")
    from costcalc.latency.calibration import RuntimeMeasure

    shipped = load_profile(SHIPPED)
    measure = RuntimeMeasure(clock="cpu").seconds
    networks = reference_networks(4)
    here = rescaled(shipped, check(shipped, measure, networks, passes=2).factor)
    doubled = rescaled(here, 2.0)
    off = check(doubled, measure, networks, passes=2)
    assert not off.holds and 0.5 < off.overall < 3.0
    fixed = rescaled(doubled, off.factor, off)
    assert abs(check(fixed, measure, networks, passes=2).overall) < 0.3


# ---- where and when a profile was fitted --------------------------------------------------------------------


def test_describe_says_when_where_and_how_old():
    from dataclasses import replace

    profile = rescaled(load_profile(SHIPPED), 1.0)
    fitted_at = dt.datetime(2026, 12, 1, 18, 25, tzinfo=dt.timezone.utc)
    record = fitted_record("onnxruntime 1.31.0 (CPUExecutionProvider)", 1, "cpu", fitted_at)
    profile = replace(profile, calibration={**profile.calibration, "fitted_on": record})
    text = describe(profile, fitted_at + dt.timedelta(days=5, hours=3))
    assert text.startswith(f"fitted 2026-12-01T18:25Z (5 days ago) on host {socket.gethostname()}, AMD EPYC, 2 CPUs, "
                           "onnxruntime 1.31.0, 1 thread; rescaled x1.0 on ")
    assert age_text(59) == "less than a minute" and age_text(3600) == "1 hour" and age_text(7300) == "2 hours"


def test_a_profile_without_a_record_says_so():
    from dataclasses import replace

    bare = replace(load_profile(SHIPPED), calibration={})
    assert describe(bare) == ("fitted on an unrecorded date on an unrecorded host, AMD EPYC, 2 CPUs, "
                              "onnxruntime 1.32.0, 1 thread")


def test_calibrate_records_where_and_when(run, tmp_path, monkeypatch):
    from test_latency_cli import _few_networks

    truth = Truth()
    monkeypatch.setattr("costcalc.latency.calibration.default_measure", lambda clock: truth)
    _few_networks(monkeypatch)
    out = tmp_path / "p.yaml"
    before = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    assert run("calibrate", "-o", out, "--budget", "600", "--passes", "1").exit_code == 0
    after = dt.datetime.now(dt.timezone.utc)
    record = load_profile(str(out)).calibration["fitted_on"]
    assert before <= parse_date(record["date"]) <= after
    assert record["host"] == socket.gethostname() and record["threads"] == 1 and record["clock"] == "wall"
    assert record["onnxruntime"] == ""  # the stand-in's runtime is 'truth 1.0', no onnxruntime


def test_report_device_prints_the_profiles_age_and_origin(run):
    table = run("report", "specs/mobilenet_v2.yaml", "--device", SHIPPED, "--depth", "1")
    profile = load_profile(SHIPPED)
    assert " ".join(describe(profile).split()) in " ".join(table.stdout.split())
    assert f"costcalc calibrate --check {SHIPPED}" in " ".join(table.stdout.split())
    doc = json.loads(run("report", "specs/mobilenet_v2.yaml", "--device", SHIPPED, "--format", "json").stdout)
    assert doc["latency"]["fitted_on"] == profile.calibration["fitted_on"]
    assert doc["totals"]["latency_s"] == pytest.approx(estimate(load("specs/mobilenet_v2.yaml"), profile).total_s)


def test_the_check_judges_the_drift_since_the_fit_not_the_fits_own_error(few):
    """A profile that estimated its reference networks 12 % slow on the calibration's own measurements (as a
    2-thread profile can: docs/latency.md, Threads) holds while the machine runs as then; 30 % slower, it does not,
    and --refit-scale brings its error back to the 12 % it had, not to 0."""
    from dataclasses import replace

    truth = Truth()
    names = [n.name for n in few]
    profile = replace(rescaled(truth.profile, 1.12), calibration={"reference": {"names": names, "overall": 0.12}})
    same = check(profile, truth.seconds, few, passes=1)
    assert same.at_fit == 0.12 and same.overall == pytest.approx(0.12) and same.drift == pytest.approx(0.0, abs=1e-9)
    assert same.holds and same.factor == pytest.approx(1.0)
    slower = check(profile, lambda graph, threads: 1.3 * truth.seconds(graph, threads), few, passes=1)
    assert slower.drift == pytest.approx(1 / 1.3 - 1) and not slower.holds
    fixed = rescaled(profile, slower.factor, slower)
    assert slower.factor == pytest.approx(1.3)
    assert reestimate(slower, fixed, few).overall == pytest.approx(0.12)
    other = replace(profile, calibration={"reference": {"names": names[:2], "overall": 0.12}})  # other networks
    assert check(other, truth.seconds, few, passes=1).at_fit == 0.0


def test_calibrate_records_the_reference_networks_error(run, tmp_path, monkeypatch):
    truth = Truth()
    monkeypatch.setattr("costcalc.latency.calibration.default_measure", lambda clock: truth)
    out = tmp_path / "p.yaml"
    assert run("calibrate", "-o", out, "--budget", "30").exit_code == 0
    record = load_profile(str(out)).calibration["reference"]
    assert record["names"] == [n.name for n in reference_networks()]
    assert record["overall"] == pytest.approx(0.0, abs=0.01)  # the stand-in runs as a profile of the model


def test_every_random_whole_network_of_the_seed_is_in_the_calibration():
    """None is sized out (costcalc.latency.networks.WHOLE_LIMIT): a model change that makes one look longer would
    otherwise drop it, reshuffle the whole networks and change the reference networks that profiles record."""
    import numpy as np

    from costcalc.latency.networks import WHOLE, families

    names = {n.name for n in families(np.random.default_rng(0))[WHOLE]}
    expected = ({f"net{i}" for i in range(48)} | {f"net_res{i}" for i in range(24)}
                | {f"net_hybrid{i}" for i in range(32)} | {f"net_dense{i}" for i in range(12)}
                | {f"net_long{i}" for i in range(12)})
    assert names == expected
    shipped = load_profile(SHIPPED).calibration["reference"]["names"]
    assert [n.name for n in reference_networks()] == shipped


def test_a_batch_8_profile_is_checked_at_batch_8(few):
    # the check measures the reference networks at the batch the profile covers (its calibration's), and estimates
    # them there: a true batch-8 profile holds, exactly; measured at batch 1 instead, it would be far off
    truth = Truth()
    eight = replace(truth.profile, calibration={"batch": 8})
    batches = []

    def seconds(graph, threads):
        batches.append(graph.batch)
        return truth.seconds(graph, threads)

    result = check(eight, seconds, few, passes=1)
    assert set(batches) == {8} and result.holds and result.overall == pytest.approx(0.0, abs=1e-9)
    assert reestimate(result, eight, few).overall == pytest.approx(0.0, abs=1e-9)
    one = check(truth.profile, truth.seconds, few, passes=1)
    assert [r.estimate_s for r in one.rows] != [r.estimate_s for r in result.rows]
