"""How long this process's threads waited for a CPU: what tells a clean timed run from one another process
disturbed, on a shared machine.

Linux keeps, for each thread, the time it was runnable but not running (`/proc/self/task/<tid>/schedstat`, its
second field, nanoseconds: the run-queue delay). A run of onnxruntime at N threads on N cores has all N of its
threads busy (the pool's threads spin while they wait for work): if another process takes a core, one of them
waits, and every fork and join of the run waits for it. Measured on this repository's 2-CPU machine (onnxruntime
1.32, 2 threads, the zoo in 5 interleaved passes, 15:03 to 15:11 UTC 7 December 2026, benchmarks/
thread_repeatability.py): one pass took 3.2 times the others (median over the models), while at 1 thread the same
pass was as fast as the best: a busy core slows N threads on N cores many times over, 1 thread not at all.

A run is clean when its threads waited for a CPU less than `CLEAN_SHARE` of its wall time; costcalc.runtime's
`measure(clean=True)` counts only clean runs (running more, up to `TRIES` times as many, when some are not).
"""

from __future__ import annotations

import os

CLEAN_SHARE = 0.01  # a run whose threads waited for a CPU less than 1 % of its wall time is clean
TRIES = 4  # with clean=True, at most TRIES x runs runs to find `runs` clean ones


def waited_ns() -> int | None:
    """Nanoseconds this process's threads have waited for a CPU since each started (the sum over its threads of
    their run-queue delay); None where the kernel does not tell (no /proc, or no schedstat)."""
    total = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/schedstat", "rb") as f:
                total += int(f.read().split()[1])
        except FileNotFoundError:  # a thread that ended between the listing and the read
            continue
        except (OSError, IndexError, ValueError):
            return None
    return total


def is_clean(wall_s: float, waited_s: float | None) -> bool:
    """Whether a run of `wall_s` seconds whose threads waited `waited_s` for a CPU is clean (unknown: clean)."""
    return waited_s is None or waited_s < CLEAN_SHARE * wall_s


def clean_min(times: list, waits: list) -> tuple:
    """(min over the clean runs, their number): over every run when none is clean (then the number is 0)."""
    clean = [t for t, w in zip(times, waits) if is_clean(t, w)]
    return (min(clean), len(clean)) if clean else (min(times), 0)
