"""The short, seeded run of the ONNX mutation fuzz (tests/onnx_fuzz.py; the long run is benchmarks/onnx_fuzz.py):
mutants of the hostile reproducers, of small fixtures and of random valid CNNs through report, import and, for
some, measure, in a worker process under a memory cap and a time limit. Every promise holds on every mutant."""

from __future__ import annotations

import os
import random

import pytest

onnx = pytest.importorskip("onnx")

import onnx_fuzz  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "onnx")
SEEDS = sorted(os.path.join(FIXTURES, "hostile", f) for f in os.listdir(os.path.join(FIXTURES, "hostile"))) + [
    os.path.join(FIXTURES, name) for name in ("resnet18_ts17.onnx",) if os.path.exists(os.path.join(FIXTURES, name))]


def test_random_cnns_are_valid_and_costed(tmp_path):
    """The generator's models are valid (onnx's checker) and costcalc costs each one (exit 0): a refusal of a
    valid model is a finding too."""
    from onnx import checker

    rng = random.Random(1)
    for k in range(12):
        model = onnx_fuzz.random_cnn(rng)
        checker.check_model(model, full_check=True)
        path = str(tmp_path / f"cnn{k}.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        results = onnx_fuzz.check_case(path, ("report", "import"), str(tmp_path))
        assert {command: code for command, (code, _, _) in results.items()} == {"report": 0, "import": 0}, results
        assert not any(broken for _, _, broken in results.values()), results


def test_a_short_seeded_fuzz_breaks_no_promise(tmp_path):
    measure = "measure" if _has_runtime() else None
    summary = onnx_fuzz.fuzz(SEEDS, count=60, seed=26, generated=6, measure_every=10 if measure else 0,
                             workdir=str(tmp_path), keep=str(tmp_path / "failures"))
    assert summary["mutants"] == 60
    assert summary["failures"] == [], summary["failures"][:3]
    exits = summary["exits"]
    assert exits.get("report exit 0", 0) and exits.get("report exit 2", 0)  # both outcomes reached


def test_the_checks_catch_a_broken_promise():
    """The checker itself: a traceback, two lines, an unlocated line and totals that are not the layers' sum
    are each reported."""
    ok = {"code": 2, "stdout": "", "stderr": "m.onnx:1:1: error: bad\n", "exception": None, "seconds": 0.1}
    assert onnx_fuzz.check_report("m.onnx", ok) == []
    assert onnx_fuzz.check_report("m.onnx", {**ok, "exception": "Traceback ..."})
    assert onnx_fuzz.check_report("m.onnx", {**ok, "stderr": "[E:onnxruntime] x\nm.onnx:1:1: error: bad\n"})
    assert onnx_fuzz.check_report("m.onnx", {**ok, "stderr": "error: bad\n"})
    doc = '{"totals": {"flops": 3, "elementwise_flops": 0, "params": 0, "memory_access": 0, "activations": 0}, ' \
          '"layers": [{"flops": 1, "elementwise_flops": 0, "params": 0, "memory_access": 0, "activations": 0}]}'
    assert onnx_fuzz.check_report("m.onnx", {**ok, "code": 0, "stderr": "", "stdout": doc}) == [
        "total flops 3 is not the sum of the layers' 1"]


def _has_runtime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
