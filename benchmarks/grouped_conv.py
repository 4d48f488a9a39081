"""The reference's grouped 3x3 conv against torch's CPU conv2d: ResNeXt's conv2 of stage 1 (256 channels, 56x56,
groups = 32, stride 1, padding 1), batch 1, float32. Goal: the numpy reference within 3x of torch.

    python benchmarks/grouped_conv.py [--runs 30] [--threads N]

Prints the median (and min) wall time of each over --runs runs after a warm-up. torch is optional: without it,
only the reference's figure is printed. --threads N gives the reference (costcalc.reference.set_threads: its conv
slices on N threads, BLAS on one each through OPENBLAS_NUM_THREADS=1, set before numpy loads) and torch
(torch.set_num_threads) the same thread count; by default the reference runs on one thread and torch on its own. The
load average is printed too: on a shared machine, medians move with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

CHANNELS, SIZE, GROUPS = 256, 56, 32


def timings(fns: list, runs: int) -> list:
    """Wall times of each function over `runs` rounds, interleaved (one call of each per round), so that the
    load of a shared machine falls on all of them alike; three warm-up rounds first."""
    out = [[] for _ in fns]
    for round_ in range(runs + 3):
        for fn, times in zip(fns, out):
            start = time.perf_counter()
            fn()
            if round_ >= 3:
                times.append(time.perf_counter() - start)
    return out


def line(name: str, times: list) -> str:
    return f"{name:<32} median {statistics.median(times) * 1e3:8.2f} ms   min {min(times) * 1e3:8.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None)
    options = parser.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import numpy as np

    from costcalc.reference import conv2d, set_threads

    set_threads(options.threads or 1)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, CHANNELS, SIZE, SIZE), dtype=np.float32)
    w = rng.standard_normal((CHANNELS, CHANNELS // GROUPS, 3, 3), dtype=np.float32)
    mult_adds = SIZE * SIZE * CHANNELS * 9 * CHANNELS // GROUPS
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"grouped conv: 1x{CHANNELS}x{SIZE}x{SIZE}, 3x3, groups={GROUPS}, padding 1: {mult_adds:,} multiply-adds")

    try:
        import torch
    except ImportError:
        torch = None
    if options.threads and torch is not None:
        torch.set_num_threads(options.threads)

    threads = options.threads or 1
    ours = lambda: conv2d(x, w, padding=1, groups=GROUPS)  # noqa: E731
    if torch is None:
        (times,) = timings([ours], options.runs)
        print(line(f"costcalc.reference ({threads} thr)", times))
        print("torch is not installed: no comparison (pip install torch to run it)")
        return
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    with torch.no_grad():
        diff = np.abs(ours() - torch.nn.functional.conv2d(tx, tw, padding=1, groups=GROUPS).numpy())
        ours, theirs = timings([ours, lambda: torch.nn.functional.conv2d(tx, tw, padding=1, groups=GROUPS)],
                               options.runs)
    print(line(f"costcalc.reference ({threads} thr)", ours))
    print(line(f"torch {torch.__version__} ({torch.get_num_threads()} thr)", theirs))
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"ratio (reference / torch, medians): {ratio:.2f}x   goal: within 3x -> {'met' if ratio <= 3 else 'NOT met'}")
    print(f"ratio of the minimums (least disturbed by other load): {min(ours) / min(theirs):.2f}x")
    print(f"max |difference| of outputs: {diff.max():.2e}")


if __name__ == "__main__":
    main()
