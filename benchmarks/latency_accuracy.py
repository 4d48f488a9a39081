"""How well the calibrated latency estimate predicts measured time, in one run, in three settings, beside a FLOPs-only
baseline:

- **1 thread**: the zoo (specs/*.yaml, less the two segmentation networks at 520 x 520, FCN and DeepLabV3, whose
  runs take seconds each) and the models outside the zoo (scripts/latency_outside_models.py: torchvision and timm
  models exported from torch, read by costcalc's ONNX importer and timed as exported), on a profile calibrated
  now at 1 thread;
- **N threads** (`--settings 2`, or any N > 1): the zoo at N threads (wall clock: a thread's CPU time is no
  latency once work is shared), on a profile calibrated now at N threads;
- **batch 8**: the zoo at batch 8, 1 thread, on a profile calibrated now at batch 8 (`calibrate --batch 8`: the
  same synthetic networks, measured at batch 8), and beside it on the batch-1 profile of the 1-thread setting (what
  a profile that does not cover the batch gives).

Each profile is fitted by `costcalc calibrate`'s machinery on its synthetic networks only, never on the models
judged here. The models are measured between the calibration's passes (`--passes`; each keeps its fastest), so that
both see the shared machine's load alike: onnxruntime, warm-up runs, then min over `--runs` runs, profiler off.
By the wall clock (N threads; 1 thread with --clock wall) only clean runs count: a run during which the process's
threads waited for a CPU (another process had a core) is run again, up to 4 times as many runs in all
(costcalc.runtime.waits: at 2 threads on 2 cores one busy core made a pass 3.2 times slower); a model that had no
clean run in some pass is marked with their number.

The FLOPs-only baseline of each setting is FLOPs / P, with the one throughput P fitted (least squares on relative
error, costcalc.latency.metrics.flops_baseline) on the same calibration's networks (the 1-thread calibration for
1 thread, the batch-8 one for batch 8, the 2-thread one for 2 threads): like the estimate, never on the answers.

Printed per setting and group (zoo, outside): per model, measured, both estimates and their errors; then for each
predictor the share within +-10 % and +-20 %, Spearman's rho, and the pairwise ranking accuracy over the pairs
whose FLOPs are within 20 % of each other (costcalc.latency.metrics). `--json` keeps every figure, the date, the
host, the onnxruntime version, the load average before and after, and each calibration network's measured time
(scripts/latency_refit.py fits a profile again from them).

    nice -n 15 /work/TV/bin/python scripts/latency_outside_models.py --out /tmp/costcalc-outside
    flock /work/measure.lock python benchmarks/latency_accuracy.py --outside /tmp/costcalc-outside \\
        [--budget 240] [--passes 5] [--runs 5] [--clock cpu] [--json r.json] [--settings 1,2,b8]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from costcalc.errors import CostcalcError  # noqa: E402
from costcalc.graph import load  # noqa: E402
from costcalc.latency import estimate  # noqa: E402
from costcalc.latency.calibration import PASSES, calibrate, device_name  # noqa: E402
from costcalc.latency.metrics import flops_baseline, summary  # noqa: E402
from costcalc.latency.networks import interleaved, repeat_of  # noqa: E402

LEFT_OUT = ("deeplabv3_resnet50", "fcn_resnet50")  # seconds per run at 520 x 520: the run would take an hour
BATCH = 8


class Target:
    """One model in one setting: its graph (what costcalc estimates) and the ONNX file onnxruntime times."""

    def __init__(self, name: str, group: str, graph, path: str):
        self.name, self.group, self.graph, self.path = name, group, graph, path
        self.flops = sum(node.counts.flops for node in graph.nodes)
        self.best = float("inf")
        self.unclean = 0  # measurements (by the wall clock) without a clean run (costcalc.runtime.waits)


def zoo_targets(work: str, batch: int, only: str = "") -> list:
    """The zoo at `batch` (or the specs named in `only`), each exported once (seeded random weights) to a file in
    `work`."""
    from costcalc.exporters.onnx import export

    out = []
    for spec in sorted(glob.glob(os.path.join(ROOT, "specs", "*.yaml"))):
        name = os.path.basename(spec)[:-5]
        if name in LEFT_OUT or only and name not in only.split(","):
            continue
        graph = load(spec, batch=batch)
        path = os.path.join(work, f"{name}_b{batch}.onnx")
        if not os.path.exists(path):  # a --work directory keeps them between runs
            with open(path + ".part", "wb") as f:
                f.write(export(graph, weights="random", seed=0).SerializeToString())
            os.replace(path + ".part", path)
        out.append(Target(name, "zoo", graph, path))
    return out


def outside_targets(directory: str, only: str = "", group: str = "outside", batch: int = 1) -> tuple:
    """(targets, refused): every model the manifest lists as exported that costcalc reads (at `batch`: the batch
    the directory's exports were made at), and (name, reason) of each it cannot read or that was not exported; the
    targets are of `group`."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from latency_outside_models import MODELS, read_manifest

    manifest = read_manifest(directory)
    targets, refused = [], [(f"{s}/{n}", "not exported yet") for s, n in MODELS if f"{s}/{n}" not in manifest]
    for key, record in sorted(manifest.items()):
        if only and key not in only.split(","):
            continue
        if record.get("status") != "ok":
            refused.append((key, f"not exported: {record.get('error', '')[:120]}"))
            continue
        if record.get("batch", 1) != batch:
            refused.append((key, f"exported at batch {record.get('batch', 1)}, not {batch}"))
            continue
        path = os.path.join(directory, record["file"])
        try:
            targets.append(Target(key, group, load(path, batch=batch), path))
        except CostcalcError as e:
            refused.append((key, " ".join(str(e).split())[:200]))
    return targets, refused


def measure_all(targets: list, threads: int, clock: str, warmup: int, runs: int) -> None:
    from costcalc.runtime import measure

    for t in targets:  # by the wall clock, the min over the clean runs (measure's clean=True)
        m = measure(t.path, threads=threads, warmup=warmup, runs=runs, profile=False, clean=clock == "wall")
        t.best = min(t.best, m.cpu_s if clock == "cpu" else m.latency_s)
        t.unclean += m.clean_runs == 0


def setting(label: str, threads: int, clock: str, targets: list, args, work_runs: tuple, batch: int = 1) -> dict:
    """Calibrate at `threads` and `batch` with the targets measured between the passes; return the setting's
    figures."""
    from dataclasses import replace

    from costcalc.latency.calibration import RuntimeMeasure

    measure = RuntimeMeasure(runs=args.runs, clock=clock)
    started, load_before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.getloadavg()

    def between(k: int) -> None:
        if k > args.passes:
            return
        for group, (warmup, runs, passes) in work_runs:
            if k <= passes:
                measure_all([t for t in targets if t.group == group], threads, clock, warmup, runs)
        print(f"  {label}: models' pass {k} of {args.passes} done", flush=True)

    print(f"{label}: calibrating ({args.budget:.0f} s, {threads} thread(s), batch {batch}, clock {clock}), the models "
          "measured between its passes ...", flush=True)
    calibration = calibrate(threads, args.budget, measure=measure.seconds, between_passes=between,
                            passes=args.passes, batch=batch)
    for k in range(calibration.passes + 1, args.passes + 1):
        between(k)
    profile = calibration.profile
    seed = profile.calibration.get("seed", 0)
    repeats = {n.name: repeat_of(n.text) for n in interleaved(seed, batch)}  # as measured, at the setting's batch
    if args.profile:
        from costcalc.latency.profile import save
        from costcalc.latency.provenance import fitted_record

        save(replace(profile, device=device_name(), runtime=measure.runtime,
                     calibration={**profile.calibration, "clock": clock,
                                  "fitted_on": fitted_record(measure.runtime, threads, clock)}),
             args.profile.replace("{threads}", str(threads)).replace("{batch}", str(batch)))
    return {"label": label, "threads": threads, "batch": batch, "clock": clock, "started": started,
            "runtime": measure.runtime,
            "load_before": load_before, "load_after": os.getloadavg(), "calibration": profile.calibration,
            "profile": profile, "baseline_throughput": flops_baseline(calibration.samples),
            "calibration_networks": [{"name": s.name, "family": calibration.families[s.name],  # for latency_refit.py
                                      "measured_s": s.measured_s, "repeat": repeats[s.name]}
                                     for s in calibration.samples],
            "calibration_passes": calibration.passes, "repeats_at_batch": batch}


def judged(name: str, targets: list, profile, throughput: float) -> dict:
    rows = [{"model": t.name, "flops": t.flops, "measured_s": t.best, "estimate_s": estimate(t.graph, profile).total_s,
             "baseline_s": t.flops / throughput, "unclean": t.unclean} for t in targets]
    measured, flops = [r["measured_s"] for r in rows], [r["flops"] for r in rows]
    return {"name": name, "rows": rows,
            "summary": {key: summary([r[key] for r in rows], measured, flops) for key in ("estimate_s", "baseline_s")}}


def show(result: dict) -> None:
    print(f"\n== {result['name']} ==")
    print(f"{'model':<34} {'GFLOPs':>7} {'measured':>10} {'estimate':>10} {'error':>7} {'FLOPs-only':>11} {'error':>7}")
    for r in result["rows"]:
        m = r["measured_s"]
        print(f"{r['model']:<34} {r['flops'] / 1e9:>7.2f} {m * 1e3:>8.2f}ms {r['estimate_s'] * 1e3:>8.2f}ms "
              f"{r['estimate_s'] / m - 1:>+7.1%} {r['baseline_s'] * 1e3:>9.2f}ms {r['baseline_s'] / m - 1:>+7.1%}"
              + (f"  ({r['unclean']} pass(es) without a clean run)" if r.get("unclean") else ""))
    n = len(result["rows"])
    print(f"{'predictor':<22} {'within 10%':>14} {'within 20%':>14} {'Spearman':>9} {'pairwise':>15}")
    for label, key in (("estimate (costcalc)", "estimate_s"), ("FLOPs-only baseline", "baseline_s")):
        s = result["summary"][key]
        print(f"{label:<22} {s['within_10']:>5.0%} ({round(s['within_10'] * n):>2} of {n}) "
              f"{s['within_20']:>5.0%} ({round(s['within_20'] * n):>2} of {n}) {s['spearman']:>9.3f} "
              f"{s['pairwise']:>7.0%} of {s['pairs']:>3}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outside", default="", help="directory of scripts/latency_outside_models.py's exports")
    parser.add_argument("--outside8", default="", help="the same models exported at batch 8 (the script's --batch 8)")
    parser.add_argument("--settings", default="1,2,b8", help="of 1 (1 thread), N (N threads, any N > 1), b8 (batch 8)")
    parser.add_argument("--budget", type=float, default=240.0, help="each calibration's budget, seconds")
    parser.add_argument("--passes", type=int, default=PASSES, help="passes of each calibration, and of the models")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (after 2 warm-up runs)")
    parser.add_argument("--batch-runs", type=int, default=2, help="timed runs per batch-8 measurement (1 warm-up)")
    parser.add_argument("--batch-passes", type=int, default=2, help="passes over the zoo at batch 8")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu", help="the clock at 1 thread")
    parser.add_argument("--profile", default="", help="write each fitted profile here ({threads} in the name)")
    parser.add_argument("--json", default="", help="write every figure here")
    parser.add_argument("--work", default="", help="keep the zoo's ONNX exports in this directory (reused)")
    parser.add_argument("--prepare", action="store_true", help="only export the zoo into --work, measure nothing")
    parser.add_argument("--zoo", default="", help="only these zoo specs (comma-separated names; a quick try)")
    parser.add_argument("--outside-only", default="", help="only these outside models (manifest keys)")
    args = parser.parse_args()
    chosen = args.settings.split(",")
    start = time.perf_counter()
    document = {"date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), "host": os.uname().nodename,
                "device": device_name(), "uptime_before": _uptime(), "args": vars(args), "settings": {}}
    results = []
    with tempfile.TemporaryDirectory(prefix="costcalc-latency-") as temporary:
        work = args.work or temporary
        os.makedirs(work, exist_ok=True)
        zoo = zoo_targets(work, 1, args.zoo)
        if args.prepare:
            zoo_targets(work, BATCH, args.zoo)
            return
        outside, refused = outside_targets(args.outside, args.outside_only) if args.outside else ([], [])
        zoo8 = zoo_targets(work, BATCH, args.zoo) if "b8" in chosen else []
        for t in zoo8:
            t.group = "zoo8"
        outside8, refused8 = (outside_targets(args.outside8, args.outside_only, "outside8", BATCH)
                              if args.outside8 and "b8" in chosen else ([], []))
        print(f"{len(zoo)} zoo models, {len(outside)} outside models read ({len(refused)} not), "
              f"{len(outside8)} at batch {BATCH} ({len(refused8)} not)", flush=True)
        runs = ("zoo", (2, args.runs, args.passes)), ("outside", (2, args.runs, args.passes)), \
            ("zoo8", (1, args.batch_runs, args.batch_passes)), ("outside8", (1, args.batch_runs, args.batch_passes))
        one = None
        if "1" in chosen:
            one = setting("1 thread", 1, args.clock, zoo + outside, args, runs)
            results.append(judged("zoo, 1 thread", zoo, one["profile"], one["baseline_throughput"]))
            if outside:
                results.append(judged("outside the zoo, 1 thread", outside, one["profile"], one["baseline_throughput"]))
            document["settings"]["1"] = {k: v for k, v in one.items() if k != "profile"}
            _write(args.json, {**document, "results": results, "refused": refused})  # kept if the rest fails
        if zoo8:
            eight = setting(f"batch {BATCH}", 1, args.clock, zoo8 + outside8, args, runs[2:], batch=BATCH)
            # the FLOPs-only baseline of a batch: FLOPs / P, P fitted on the calibration's networks at that batch
            results.append(judged(f"zoo, batch {BATCH}, 1 thread, batch-{BATCH} profile", zoo8, eight["profile"],
                                  eight["baseline_throughput"]))
            if outside8:
                results.append(judged(f"outside the zoo, batch {BATCH}, 1 thread, batch-{BATCH} profile", outside8,
                                      eight["profile"], eight["baseline_throughput"]))
            if one is not None:
                results.append(judged(f"zoo, batch {BATCH}, 1 thread, batch-1 profile (not covering it)", zoo8,
                                      one["profile"], one["baseline_throughput"]))
            document["settings"]["b8"] = {k: v for k, v in eight.items() if k != "profile"}
            _write(args.json, {**document, "results": results, "refused": refused})
        for threads in sorted(int(c) for c in chosen if c.isdigit() and int(c) > 1):  # any thread count
            for t in zoo + outside:
                t.best = float("inf")
            many = setting(f"{threads} threads", threads, "wall", zoo + outside, args, runs[:2])
            results.append(judged(f"zoo, {threads} threads", zoo, many["profile"], many["baseline_throughput"]))
            if outside:
                results.append(judged(f"outside the zoo, {threads} threads", outside, many["profile"],
                                      many["baseline_throughput"]))
            document["settings"][str(threads)] = {k: v for k, v in many.items() if k != "profile"}
    for result in results:
        show(result)
    for label, out in (("", refused), (f" at batch {BATCH}", refused8)):
        if out:
            print(f"\noutside models{label} costcalc cannot read (not judged):")
            for key, reason in out:
                print(f"  {key}: {reason}")
    document.update({"results": results, "refused": refused, "refused8": refused8, "uptime_after": _uptime(),
                     "seconds": round(time.perf_counter() - start)})
    print(f"\n{time.perf_counter() - start:.0f} s; uptime before: {document['uptime_before']}; after: "
          f"{document['uptime_after']}")
    _write(args.json, document)


def _write(path: str, document: dict) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1)


def _uptime() -> str:
    import subprocess

    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
