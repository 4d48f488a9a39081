"""Throughput of `costcalc sweep` (issues 16 and 25), printed beside the naive baseline measured in the same run.

With --random (issue 25): random searches, each `costcalc sweep` run as a whole process (start-up, drawing the
points, writing the CSV included), N points over
- MobileNet V2: width in [0.35, 1.4], each row's depth n[i] in 1..4 and depthwise kernel k[i] in {3, 5, 7};
  without and with --device (the latency estimate);
- ResNet-50: each stage's depth in 1..6, width_per_group in {16, 32, 48, 64}, groups in {1, 2, 4, 8, 32};
- each of them with --jobs N (default 2), beside N copies of its one-process search run side by side (what N
  processes of this very work reach on the machine in the same run: the ceiling, printed with the share of it
  --jobs N reached), and beside N one-process searches of 1/N of the points each, side by side (the naive split:
  each its own start-up on its share, as in --jobs N), and the MobileNet V2 search with --scheduler on a local Dask cluster of N single-threaded
  worker processes (when dask.distributed is installed; --no-dask leaves it out);
beside the baseline: per point, read the spec, walk it, analyse it (and estimate its latency), on a sample of the
same points. Goals: >= 2,000 points/s (MobileNet V2), >= 1,000 with --device, >= 1,000 (ResNet-50), --jobs N
close to N times one process. Every sampled point's totals (and estimate) are checked equal to the baseline's.
Each figure is the median of --runs runs, the cases measured in turn within each run; beside each, the range of
the machine's 1-minute load average (`uptime`) as it was run, and what N processes of pure CPU work gain over
one on the machine in the same runs.

MobileNet V2 over width x resolution (a grid of widths times input sizes, the last varying fastest, as
`--grid width=... --grid input=...` orders it):
- baseline: what a script calling costcalc per point did before: read the spec file, walk it, analyse it;
- sweep, 1 process: `costcalc.analysis.sweep.run` with jobs=1 (parsed once, walks replayed across resolutions);
- sweep, N processes: the same with jobs=N (--jobs, default 2; the workers' start-up included).
Goal: >= 1,000 variants per second on one core, and jobs=N close to N times that. Each figure is the median of
--runs runs, measured in turn within each run so that machine noise hits them alike. Every point's totals are
checked equal to the baseline's. Each run also measures what N processes of pure CPU work gain over one on the
machine at that moment (N x only with N free cores), and what N copies of the one-process sweep running at the
same time reach together (the cores' shared caches and memory included): the ceiling of jobs=N.

Run: python benchmarks/sweep.py [--runs N] [--widths N] [--sizes N] [--grids WxS,...] [--jobs N]
     python benchmarks/sweep.py --random [--runs N] [--points N] [--jobs N] [--no-dask]
                                [--grids WxS,... [--grid-runs N]]   (the grids too, in the same run)
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import statistics
import sys
import time

from ceiling import parallel_ceiling

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPEC = str(ROOT / "specs" / "mobilenet_v2.yaml")


def grid(widths: int, sizes: int) -> list:
    width_values = [f"{0.35 + 0.05 * i:.2f}" for i in range(widths)]
    size_values = [f"3x{96 + 8 * j}x{96 + 8 * j}" for j in range(sizes)]
    return [(("width", w), ("input", s)) for w in width_values for s in size_values]


def baseline(points: list) -> list:
    """Per point: read the spec file, walk and analyse it (costcalc.graph.load + analysis.analyse)."""
    from costcalc.analysis import analyse
    from costcalc.analysis.sweep import settings
    from costcalc.graph import load

    out = []
    for point in points:
        variables, shape = settings(point)
        out.append(analyse(load(SPEC, variables, shape)).totals)
    return out


def swept(points: list, jobs: int) -> list:
    from costcalc.analysis.sweep import run
    from costcalc.api import load

    return [row.totals for row in run(load(SPEC), points, jobs=jobs)]


def _one_sweep(points: list) -> int:
    return len(swept(points, 1))


def copies(points: list, jobs: int) -> float:
    """Points per second when `jobs` processes each run the whole one-process sweep at the same time: what that
    many processes of this very work reach on this machine now (its cores, caches and memory shared), with nothing
    split, started or sent back. The ceiling --jobs N is held to, beside pure CPU work's."""
    import multiprocessing

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with context.Pool(jobs) as pool:
        pool.map(abs, [0] * jobs)  # all started before the clock
        start = time.perf_counter()
        pool.map(_one_sweep, [points] * jobs, chunksize=1)
        return jobs * len(points) / (time.perf_counter() - start)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the --jobs workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn, *args) -> tuple:
    """(wall seconds, CPU seconds, result) of fn(*args)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    result = fn(*args)
    return time.perf_counter() - start, cpu_seconds() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--widths", type=int, default=22, help="widths 0.35, 0.40, ... (default 22: to 1.40)")
    parser.add_argument("--sizes", type=int, default=17, help="input sizes 96, 104, ... (default 17: to 224)")
    parser.add_argument("--baseline-points", type=int, default=60, help="points the baseline is timed on")
    parser.add_argument("--jobs", type=int, default=2, help="processes of the --jobs figure and its ceiling")
    parser.add_argument("--random", action="store_true", help="the random searches of issue 25 instead")
    parser.add_argument("--points", type=int, default=10_000, help="points of each random search")
    parser.add_argument("--no-dask", action="store_true", help="without the --scheduler (Dask) figure")
    parser.add_argument("--grids", metavar="WxS,...", help="grids of W widths x S sizes (e.g. 22x17,160x34); with "
                        "--random, measured after the random searches in the same run")
    parser.add_argument("--grid-runs", type=int, help="with --random --grids: runs of each grid (default --runs)")
    args = parser.parse_args()
    grids = [tuple(int(n) for n in text.split("x")) for text in args.grids.split(",")] if args.grids else []
    if args.random:
        from sweep_random import main as random_main

        random_main(args.runs, args.points, args.baseline_points, args.jobs, not args.no_dask)
        for widths, sizes in grids:  # the grids in the same run, after the random searches
            print()
            grid_main(args.grid_runs or args.runs, widths, sizes, args.baseline_points, args.jobs)
        return
    for widths, sizes in grids or [(args.widths, args.sizes)]:
        grid_main(args.runs, widths, sizes, args.baseline_points, args.jobs)


def grid_main(runs: int, widths: int, sizes: int, baseline_points: int, jobs: int) -> None:
    """The grid of `widths` x `sizes` points: the baseline, one process, --jobs N and N copies, medians of `runs`."""
    points = grid(widths, sizes)
    sample = points[:: max(1, len(points) // baseline_points)][: baseline_points]
    reference = dict(zip(sample, baseline(sample)))
    rates: dict = {"baseline": [], "jobs=1": [], "jobs=N": [], "copies": []}
    cpu_rates: dict = {"baseline": [], "jobs=1": [], "jobs=N": []}
    ceilings = []
    for _ in range(runs):
        ceilings.append(parallel_ceiling(jobs))
        seconds, cpu, _ = timed(baseline, sample)
        rates["baseline"].append(len(sample) / seconds)
        cpu_rates["baseline"].append(len(sample) / cpu)
        for label, n in (("jobs=1", 1), ("jobs=N", jobs)):
            seconds, cpu, totals = timed(swept, points, n)
            rates[label].append(len(points) / seconds)
            cpu_rates[label].append(len(points) / cpu)
            index = {point: t for point, t in zip(points, totals)}
            assert all(index[p] == reference[p] for p in sample), "sweep totals differ from the baseline's"
        rates["copies"].append(copies(points, jobs))
    wall = {name: statistics.median(values) for name, values in rates.items()}
    cpu = {name: statistics.median(values) for name, values in cpu_rates.items()}
    speedup, ceiling = wall["jobs=N"] / wall["jobs=1"], wall["copies"] / wall["jobs=1"]
    print(f"grid: MobileNet V2, {widths} widths x {sizes} input sizes = {len(points)} points "
          f"(costcalc.analysis.sweep.run in process); medians of {runs} runs; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at {time.strftime('%H:%M:%S UTC', time.gmtime())}")
    print("                                    points/s (wall)   points per CPU-second")
    print(f"baseline (read + walk + analyse):   {wall['baseline']:15.0f}   {cpu['baseline']:21.0f}"
          f"   ({len(sample)} points)")
    print(f"sweep, 1 process:                   {wall['jobs=1']:15.0f}   {cpu['jobs=1']:21.0f}"
          f"   {wall['jobs=1'] / wall['baseline']:.1f}x the baseline (goal >= 1,000/s)")
    print(f"sweep, --jobs {jobs}:                    {wall['jobs=N']:15.0f}   {cpu['jobs=N']:21.0f}"
          f"   {speedup:.2f}x one process (goal close to {jobs}x)")
    print(f"{jobs} copies of the 1-process sweep at once: {wall['copies']:9.0f}   (points/s of all together: "
          f"{ceiling:.2f}x one process, the ceiling: --jobs {jobs} reached {speedup / ceiling:.0%} of it)")
    pure = statistics.median(ceilings)
    print(f"{jobs} processes of pure CPU work on this machine in the same runs: {pure:.2f}x one "
          f"({jobs:.2f}x on {jobs} free cores): --jobs {jobs} reached {speedup / pure:.0%} of that")
    print("On a machine shared with other work, wall rates fall with the load; points per CPU-second do not.")


if __name__ == "__main__":
    main()
