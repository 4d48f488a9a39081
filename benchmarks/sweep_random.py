"""The random searches of `python benchmarks/sweep.py --random` (issue 25): see benchmarks/sweep.py.

Each search is `costcalc sweep SPEC --random N --seed 0 --range ... --format csv` run as a child process (the
whole process: start-up, drawing, evaluating, writing), its rate N / wall seconds and N / its CPU seconds. The
baseline evaluates a sample of the same points one by one in this process: read the spec file, walk it, analyse
it (and estimate its latency, for the timed search), as a script calling costcalc per point would.
"""

from __future__ import annotations

import csv
import io
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

from ceiling import parallel_ceiling

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROFILE = str(ROOT / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml")
MOBILENET = ("mobilenet_v2", ["--range", "width=0.35:1.4", "--range", "n[*]=1:4", "--range", "k[*]=3,5,7"])
RESNET = ("resnet50", ["--range", "depths[*]=1:6", "--range", "width_per_group=16,32,48,64", "--range",
                       "groups=1,2,4,8,32"])
SEARCHES = [  # (label, spec, ranges, extra options, goal in points/s on one core)
    ("MobileNet V2: width, n[*], k[*]", *MOBILENET, [], 2000),
    ("MobileNet V2, --device", *MOBILENET, ["--device", PROFILE], 1000),
    ("ResNet-50: depths[*], width, groups", *RESNET, [], 1000),
]


def cases(jobs: int) -> list:
    """(label, spec, ranges, extra options, goal, the one-process search it splits or None): each search in one
    process, then each with --jobs N."""
    out = [(*search, None) for search in SEARCHES]
    out += [(f"{label.split(':')[0]}, --jobs {jobs}", spec, ranges, [*extra, "--jobs", str(jobs)], None, label)
            for label, spec, ranges, extra, _ in SEARCHES]
    return out





def command(spec: str, ranges: list, extra: list, points: int, seed: int = 0) -> list:
    return [sys.executable, "-m", "costcalc", "sweep", str(ROOT / "specs" / f"{spec}.yaml"), "--random", str(points),
            "--seed", str(seed), *ranges, *extra, "--format", "csv"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole_process(args: list) -> tuple:
    """(wall seconds, CPU seconds, stdout) of one run of the command."""
    start, cpu = time.perf_counter(), children_cpu()
    out = subprocess.run(args, capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"})
    return time.perf_counter() - start, children_cpu() - cpu, out.stdout


def sample_points(spec: str, ranges: list, points: int, size: int) -> list:
    """(index, point) of `size` of the search's points, spread over it: the very points the command draws."""
    from costcalc.analysis.sweep_points import expand_elements, parse_ranges, random_points
    from costcalc.api import load

    model = load(str(ROOT / "specs" / f"{spec}.yaml"))
    spans = expand_elements(model, parse_ranges(ranges[1::2]))
    drawn = random_points(points, spans, (), 0)
    step = max(1, points // size)
    return [(i, drawn[i]) for i in range(0, points, step)][:size], model.variables


def baseline(spec: str, sample: list, written: dict, timed: bool) -> list:
    """Per point: read the spec file, walk and analyse it (and estimate its latency)."""
    from costcalc.analysis import analyse
    from costcalc.analysis.sweep_points import settings
    from costcalc.graph import load
    from costcalc.latency import estimate
    from costcalc.latency import load as load_profile

    profile = load_profile(PROFILE) if timed else None
    out = []
    for _, point in sample:
        variables, shape = settings(point, written)
        try:
            graph = load(str(ROOT / "specs" / f"{spec}.yaml"), variables, shape)
        except Exception as e:  # noqa: BLE001 - a point that cannot be evaluated: its row says so
            out.append(type(e).__name__)
            continue
        out.append((analyse(graph).totals, estimate(graph, profile).total_s if timed else None))
    return out


def check(stdout: str, sample: list, expected: list) -> None:
    """The command's rows of the sampled points carry the baseline's totals (and estimate, exactly)."""
    from costcalc.ops import COUNT_FIELDS

    rows = list(csv.DictReader(io.StringIO(stdout)))
    for (index, _), want in zip(sample, expected):
        row = rows[index]
        if isinstance(want, str):
            assert row["error"], (index, row)
            continue
        totals, seconds = want
        assert [int(row[f]) for f in COUNT_FIELDS] == [getattr(totals, f) for f in COUNT_FIELDS], (index, row)
        assert seconds is None or float(row["latency_s"]) == seconds, (index, row, seconds)


def side_by_side(spec: str, ranges: list, extra: list, points: int, copies: int, split: bool = False) -> float:
    """Points/s of `copies` copies of the one-process search run at the same time, as whole processes: what that
    many processes of this very work reach on this machine now (cores, caches and memory shared, each its own
    start-up, draw and output), with nothing split, started or sent back. The ceiling --jobs N is held to. With
    `split`, each copy searches points / copies points (seeds 0, 1, ...): the naive split of a search into N whole
    processes, each paying its own start-up on its share, as the processes of --jobs N do, each meeting parts of
    every setting (--jobs hands alike points to one process); nothing is put back together."""
    start = time.perf_counter()
    share = points // copies if split else points
    running = [subprocess.Popen(command(spec, ranges, extra, share, seed if split else 0),
                                stdout=subprocess.DEVNULL) for seed in range(copies)]
    if any(copy.wait() for copy in running):
        raise RuntimeError("a copy of the search failed")
    return copies * share / (time.perf_counter() - start)


def dask_rate(points: int, workers: int) -> float | None:
    """Points/s of the MobileNet V2 search with --scheduler on a local cluster of `workers` single-threaded worker
    processes (the cluster started before the clock); None without dask.distributed."""
    try:
        from distributed import LocalCluster
    except ImportError:
        return None
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        args = command(*MOBILENET, ["--scheduler", cluster.scheduler_address], points)
        wall, _, _ = whole_process(args)
    return points / wall


def load_now() -> float:
    """The machine's 1-minute load average at this moment (what `uptime` prints first)."""
    return os.getloadavg()[0]


def main(runs: int, points: int, baseline_points: int, jobs: int = 2, dask: bool = True) -> None:
    table = cases(jobs)
    started = time.strftime("%H:%M:%S", time.gmtime())
    dask_label = f"MobileNet V2, --scheduler (local Dask, {jobs} workers)"
    samples = {}
    for label, spec, ranges, extra, *_ in table:
        sample, written = sample_points(spec, ranges, points, baseline_points)
        samples[label] = (sample, written, baseline(spec, sample, written, "--device" in extra))
    labels = [label for label, *_ in table] + [dask_label]
    rates: dict = {label: [] for label in labels}
    cpu_rates: dict = {label: [] for label in labels}
    base: dict = {label: [] for label in labels}
    base_cpu: dict = {label: [] for label in labels}
    loads: dict = {label: [] for label in labels}
    ceilings, copies = [], {label: [] for label, *_ in SEARCHES}
    halves = {label: [] for label, *_ in SEARCHES}
    for _ in range(runs):
        ceilings.append(parallel_ceiling(jobs))
        for label, spec, ranges, extra, _ in SEARCHES:
            copies[label].append(side_by_side(spec, ranges, extra, points, jobs))
            halves[label].append(side_by_side(spec, ranges, extra, points, jobs, split=True))
        for label, spec, ranges, extra, *_ in table:
            sample, written, expected = samples[label]
            start, cpu = time.perf_counter(), time.process_time()
            baseline(spec, sample, written, "--device" in extra)
            base[label].append(len(sample) / (time.perf_counter() - start))
            base_cpu[label].append(len(sample) / (time.process_time() - cpu))
            loads[label].append(load_now())
            wall, cpu, stdout = whole_process(command(spec, ranges, extra, points))
            rates[label].append(points / wall)
            cpu_rates[label].append(points / cpu)
            check(stdout, sample, expected)
        if dask:
            loads[dask_label].append(load_now())
            rate = dask_rate(points, jobs)
            if rate is not None:
                rates[dask_label].append(rate)
    print(f"random searches of {points:,} points, whole process (`costcalc sweep --random {points} ...`); medians "
          f"of {runs} runs; {os.cpu_count()} cores; load: the 1-minute load average (`uptime`) as each was run; "
          f"{started} to {time.strftime('%H:%M:%S UTC', time.gmtime())}")
    print(f"{'':44} {'points/s (wall)':>16} {'per CPU-second':>15} {'baseline: wall':>15} {'per CPU-s':>10}  "
          f"{'x (CPU)':>7}  {'load':>11}  goal")
    one_process = {label: statistics.median(rates[label]) for label, *_ in SEARCHES}
    for label, spec, ranges, extra, goal, split in table:
        wall, cpu, slow, slow_cpu = (statistics.median(v) for v in (rates[label], cpu_rates[label], base[label],
                                                                    base_cpu[label]))
        if goal is not None:
            note = (f">= {goal:,}/s: wall {'met' if wall >= goal else 'NOT met'}, per CPU-second "
                    f"{'met' if cpu >= goal else 'NOT met'}")
        else:
            speedup = wall / one_process[split]
            ceiling = statistics.median(copies[split]) / one_process[split]
            cut = statistics.median(halves[split]) / one_process[split]
            note = (f"{speedup:.2f}x one process (wall); {jobs} one-process copies side by side: {ceiling:.2f}x "
                    f"(the ceiling): --jobs {jobs} reached {speedup / ceiling:.0%} of it; {jobs} one-process searches "
                    f"of 1/{jobs} of the points side by side (each its own start-up): {cut:.2f}x")
        print(f"{label:44} {wall:16,.0f} {cpu:15,.0f} {slow:15,.0f} {slow_cpu:10,.0f}  {cpu / slow_cpu:7.1f}  "
              f"{_span(loads[label]):>11}  {note}")
    if rates[dask_label]:
        one = one_process[SEARCHES[0][0]]
        print(f"{dask_label:44} {statistics.median(rates[dask_label]):16,.0f} {'':15} {'':15} {'':10}  {'':7}  "
              f"{_span(loads[dask_label]):>11}  {statistics.median(rates[dask_label]) / one:.2f}x one process (wall)")
    ceiling = statistics.median(ceilings)
    print(f"{jobs} processes of pure CPU work on this machine in the same runs: {ceiling:.2f}x one ({jobs:.2f}x on "
          f"{jobs} free cores)")
    ranges = {spec: " ".join(r) for _, spec, r, *_ in SEARCHES}
    print(f"commands: python -m costcalc sweep specs/<spec>.yaml --random N --seed 0 <ranges> [--device ...] "
          f"[--jobs {jobs}] --format csv; the ranges: " + " | ".join(f"{spec}: {r}" for spec, r in ranges.items()))


def _span(values: list) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f}" if round(low, 1) == round(high, 1) else f"{low:.1f}-{high:.1f}"
