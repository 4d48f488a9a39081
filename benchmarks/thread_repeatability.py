"""How repeatable onnxruntime's time of one model is, at 1 and N threads, and what its thread pool's spinning does
to it: the figure benchmarks/latency_accuracy.py takes as "measured" must be one that a second quiet run repeats.

Every zoo model (as latency_accuracy.py exports it, or the specs named by --zoo) is timed in `--passes` interleaved
passes within one run; in each pass, each configuration in turn: a fresh session, `--warmup` runs, then `--runs`
timed runs, wall clock, profiler off. The configurations:

- `1`: 1 thread;
- `N spin`: N intra-op threads, onnxruntime's default (`session.intra_op.allow_spinning` = 1: a pool thread that
  finds no work spins a while before it sleeps);
- `N nospin`: N threads, allow_spinning = 0 (a pool thread sleeps at once, and each fork wakes it);
- `N pin`: as `N spin`, each pool thread pinned to its own CPU (`session.intra_op_thread_affinities`) and the
  calling thread to CPU 0;

Each measurement keeps timing (up to costcalc.runtime.waits.TRIES x `--runs` runs) until `--runs` of its runs are
clean: its threads waited for a CPU less than 1 % of the run (costcalc.runtime.waits). Printed per configuration,
for the min over the first `--runs` runs (clean or not) and for the min over the clean runs: the spread between
passes (max / min - 1 of the per-pass minima: what a model moves when timed once, at another moment of the same
quiet run), and how far the min over the first half of the passes is from the min over the second half (what min
over passes repeats).

    scripts/timing --quiet python benchmarks/thread_repeatability.py --work /tmp/zoo-onnx [--threads 2] [--json r.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from costcalc.runtime.waits import TRIES, clean_min, is_clean, waited_ns  # noqa: E402


def session(ort, path: str, threads: int, spin: bool, pin: bool = False):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 4
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if pin:  # pool thread i on logical CPU i + 2 (onnxruntime counts from 1), the calling thread on CPU 0
        options.add_session_config_entry("session.intra_op_thread_affinities",
                                         ";".join(str(i + 2) for i in range(threads - 1)))
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def timed(ort, path: str, threads: int, spin: bool, warmup: int, runs: int, pin: bool = False) -> tuple:
    """(wall times, waits for a CPU) of the runs: `runs` of them, and more (up to waits.TRIES x `runs`) until
    `runs` are clean (costcalc.runtime.waits), as costcalc.runtime.measure(clean=True) runs them."""
    every = os.sched_getaffinity(0)
    if pin:
        os.sched_setaffinity(0, {0})
    s = session(ort, path, threads, spin, pin)
    feeds = {i.name: np.random.default_rng(0).standard_normal(i.shape, dtype=np.float32) for i in s.get_inputs()}
    for _ in range(warmup):
        s.run(None, feeds)
    times, waits = [], []
    while len(times) < TRIES * runs and sum(is_clean(t, w) for t, w in zip(times, waits)) < runs:
        before = waited_ns()
        t = time.perf_counter()
        s.run(None, feeds)
        times.append(time.perf_counter() - t)
        after = waited_ns()
        waits.append(None if before is None or after is None else (after - before) * 1e-9)
    os.sched_setaffinity(0, every)
    return times, waits


def main() -> None:
    import onnxruntime as ort
    from latency_accuracy import zoo_targets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="the zoo's ONNX exports (made here when absent)")
    parser.add_argument("--zoo", default="", help="only these specs (comma-separated)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--passes", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--configs", default="1,spin", help="of 1, spin, nospin, pin")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    targets = zoo_targets(args.work, 1, args.zoo)
    configs = {"1": (1, True, False), "spin": (args.threads, True, False), "nospin": (args.threads, False, False),
               "pin": (args.threads, True, True)}
    chosen = [c for c in args.configs.split(",")]
    times = {c: {t.name: [] for t in targets} for c in chosen}  # config -> model -> per pass, the runs
    started, load_before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.getloadavg()
    for k in range(args.passes):
        for c in chosen:
            threads, spin, pin = configs[c]
            for t in targets:
                times[c][t.name].append(timed(ort, t.path, threads, spin, args.warmup, args.runs, pin))
        print(f"pass {k + 1} of {args.passes} done ({time.strftime('%H:%M:%S', time.gmtime())} UTC)", flush=True)
    load_after = os.getloadavg()
    half = args.passes // 2
    print(f"\nstarted {started}, load before {load_before}, after {load_after}; {args.passes} passes x "
          f"({args.warmup} warm-up + {args.runs} runs, more until {args.runs} are clean)")
    print("model".ljust(28) + "".join(f"{c:>40}" for c in chosen))
    print(" " * 28 + "".join(f"{'min ms  spread  halves | clean: spread  halves':>40}" for _ in chosen))
    summary = {c: {k: [] for k in ("spread", "halves", "clean_spread", "clean_halves", "unclean")} for c in chosen}
    for t in targets:
        line = f"{t.name:<28}"
        for c in chosen:
            passes = times[c][t.name]  # per pass (times, waits)
            per = [min(ts[:args.runs]) for ts, _ in passes]  # min over the first `runs` runs, clean or not
            cleaned = [clean_min(ts, ws) for ts, ws in passes]
            for key, values in (("", per), ("clean_", [m for m, _ in cleaned])):
                summary[c][key + "spread"].append(max(values) / min(values) - 1)
                summary[c][key + "halves"].append(abs(min(values[:half]) / min(values[half:]) - 1))
            summary[c]["unclean"].append(sum(n == 0 for _, n in cleaned))
            line += (f"{min(per) * 1e3:>9.2f} {summary[c]['spread'][-1]:>7.1%} {summary[c]['halves'][-1]:>6.1%} | "
                     f"{summary[c]['clean_spread'][-1]:>6.1%} {summary[c]['clean_halves'][-1]:>6.1%}")
        print(line)
    print()
    for c in chosen:
        s = summary[c]
        for key, label in (("", "min over runs"), ("clean_", "min over clean runs")):
            h = s[key + "halves"]
            print(f"{c:>7}, {label:<20}: pass-to-pass spread median {statistics.median(s[key + 'spread']):.1%}, max "
                  f"{max(s[key + 'spread']):.1%}; min over the first half of the passes vs the second: median "
                  f"{statistics.median(h):.1%}, max {max(h):.1%}, within 2 %: {sum(x <= 0.02 for x in h)} of {len(h)}, "
                  f"within 5 %: {sum(x <= 0.05 for x in h)}")
        print(f"{c:>7}: measurements without a clean run: {sum(s['unclean'])} of {len(targets) * args.passes}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"started": started, "load_before": load_before, "load_after": load_after, "args": vars(args),
                       "onnxruntime": ort.__version__, "times": times}, f)


if __name__ == "__main__":
    main()
