"""What N processes can reach at best on this machine now: the ceiling `--jobs N` is held to in the sweep
benchmarks (benchmarks/sweep.py, benchmarks/sweep_random.py), measured in the same run as the figures it judges."""

from __future__ import annotations

import time


def _burn(seconds: float) -> int:
    start, n = time.process_time(), 0
    while time.process_time() - start < seconds:
        n += 1
    return n


def parallel_ceiling(jobs: int = 2, seconds: float = 0.3) -> float:
    """How much faster `jobs` processes of pure CPU work finish than one, on this machine now: `jobs` on that many
    free cores, 1.0 when other work leaves the equivalent of one. What --jobs N can reach at best in the same run."""
    import multiprocessing

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    walls = []
    for n in (1, jobs):
        with context.Pool(n) as pool:
            start = time.perf_counter()
            pool.map(_burn, [seconds] * n)
            walls.append(time.perf_counter() - start)
    return jobs * walls[0] / walls[1]
