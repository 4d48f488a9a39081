"""Issue 27: a timed run during which the process's threads waited for a CPU (another process had a core) is not
clean; measure(clean=True) counts only clean runs, running more (up to waits.TRIES x runs) when some are not."""

import threading
import time

import pytest

from costcalc.graph import load
from costcalc.runtime.waits import CLEAN_SHARE, TRIES, clean_min, is_clean, waited_ns


def test_the_clean_rule_in_closed_form():
    assert is_clean(1e-3, 0.0) and is_clean(1e-3, None)  # no wait, or a kernel that does not tell
    assert is_clean(1e-3, CLEAN_SHARE * 1e-3 * 0.99) and not is_clean(1e-3, CLEAN_SHARE * 1e-3)
    assert clean_min([3.0, 1.0, 2.0], [0.0, 0.5, 0.0]) == (2.0, 2)  # the fastest run waited: not counted
    assert clean_min([3.0, 1.0], [0.5, 0.5]) == (1.0, 0)  # none clean: the min of all, and 0 clean


def test_waited_ns_grows_when_threads_outnumber_the_cpus():
    import hashlib
    import os

    first = waited_ns()
    if first is None:
        pytest.skip("this kernel keeps no schedstat")
    assert isinstance(first, int) and first >= 0
    data = bytes(1 << 20)

    def hash_for(until):  # hashlib lets go of the GIL on large buffers: the threads run at once
        while time.perf_counter() < until:
            hashlib.sha256(data).digest()

    until = time.perf_counter() + 0.3
    workers = [threading.Thread(target=hash_for, args=(until,)) for _ in range(2 * (os.cpu_count() or 1) + 1)]
    for w in workers:
        w.start()
    time.sleep(0.2)
    during = waited_ns()  # while they run: a thread's delay is counted while it lives
    for w in workers:
        w.join()
    # more runnable threads than CPUs: each waits its turn for one, and its run-queue delay is counted
    assert during - first > 0.05 * 1e9


def test_measure_clean_runs_more_and_counts_only_clean_runs(monkeypatch):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from costcalc.exporters.onnx import export
    from costcalc.runtime import ort as adapter
    from costcalc.runtime import measure

    model = export(load("specs/shufflenet_v2_x0_5.yaml", input_shape=(3, 32, 32)), weights="random", seed=0)
    reads = []

    def stand_in():  # each of the first 3 timed runs waits 1 s for a CPU, the later ones not at all
        reads.append(1)
        return min(len(reads) // 2, 3) * 10**9

    monkeypatch.setattr(adapter, "waited_ns", stand_in)
    m = measure(model, runs=2, warmup=1, profile=False, clean=True)
    assert m.runs == 5 and m.clean_runs == 2  # 3 unclean, then 2 clean
    assert [w > 0 for w in m.waited_s] == [True, True, True, False, False]
    assert m.latency_s == min(m.times_s[3:])
    monkeypatch.setattr(adapter, "waited_ns", lambda: 10**9 * len(reads.append(1) or reads))  # never clean
    m = measure(model, runs=2, warmup=1, profile=False, clean=True)
    assert m.runs == TRIES * 2 and m.clean_runs == 0 and m.latency_s == min(m.times_s)
    m = measure(model, runs=2, warmup=1, profile=False)  # without clean: as before, the runs asked for
    assert m.runs == 2 and m.clean_runs == -1 and m.latency_s == min(m.times_s)
