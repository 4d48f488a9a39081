"""Fit a profile again from a latency benchmark's saved calibration measurements, with the model as it is now.

The benchmarks' `--json` keeps every calibration network's name, family, measured seconds and (since 7 December)
its unit's repeat; the networks are rebuilt from their names (costcalc.latency.networks, seed 0) with that repeat
(the sizing estimate may have changed since), planned by the current model, and fitted as `costcalc calibrate`
fits them (the cache-size search, both combines cross-validated, the context factor). The device, runtime and
calibration record come from `--like` (the profile that run wrote), with the new fit's figures and a `refit` note.
Nothing is measured.

`--rescore OUT.json` then writes the run's 1-thread batch-1 figures (the zoo, and the models outside it) again with
every estimate from the refitted profile (the measured times and the FLOPs-only baseline as the run had them; zoo
models from specs/, models outside the zoo from `--outside`, the directory the run read them from), for
scripts/latency_table.py; its other settings (batch 8, more threads) are left out; `--setting N` refits and
rescores the N-thread setting instead, `--setting b8` the batch-8 one (its networks built at batch 8).

    python scripts/latency_refit.py r.json --like run_profile.yaml -o devices/new.yaml --note "..." \
        [--rescore r_refit.json --outside /tmp/costcalc-outside]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from costcalc.graph import load as load_graph  # noqa: E402
from costcalc.latency import estimate  # noqa: E402
from costcalc.latency.calibration import fit_profile  # noqa: E402
from costcalc.latency.fit import Sample  # noqa: E402
from costcalc.latency.metrics import summary  # noqa: E402
from costcalc.latency.model import plan  # noqa: E402
from costcalc.latency.networks import build, interleaved, with_repeat  # noqa: E402
from costcalc.latency.profile import load, save  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures")
    parser.add_argument("--like", required=True)
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--note", default="")
    parser.add_argument("--rescore", default="", help="write the run's figures again, estimated on the new profile")
    parser.add_argument("--outside", default="", help="the directory of the run's models outside the zoo")
    parser.add_argument("--setting", default="1", help="of a latency_accuracy.py run: which setting's calibration")
    args = parser.parse_args()
    with open(args.figures, encoding="utf-8") as f:
        run = json.load(f)
    like = load(args.like)
    structure = replace(like, llc_bytes=0, context=1.0, context_slope=0.0, context_kernels=0.0)
    samples, family = [], {}
    setting = run.get("settings", {}).get(args.setting, {})
    batch = setting.get("batch", 1)  # b8: the networks were measured at 8
    networks = {n.name: n for n in interleaved(like.calibration.get("seed", 0), batch)}
    # the repeats recorded are those measured, but for a run at batch > 1 written before latency_accuracy.py said
    # `repeats_at_batch` (it recorded the batch-1 networks'): there the network's own, at the run's batch
    recorded = batch == 1 or setting.get("repeats_at_batch") == batch
    # benchmarks/latency_loaded.py keeps them at the top; latency_accuracy.py per setting (1 thread: "1")
    dropped = []  # networks the calibration no longer has (costcalc.latency.networks): left out of the fit
    for measured in run.get("calibration_networks") or run["settings"][args.setting]["calibration_networks"]:
        network = networks.get(measured["name"])
        if network is None:
            dropped.append(measured["name"])
            continue
        text = with_repeat(network.text, measured["repeat"]) if "repeat" in measured and recorded else network.text
        graph = build(text, f"{network.name}.yaml", batch)
        samples.append(Sample(network.name, tuple(plan(graph, structure)), measured["measured_s"],
                              sum(node.counts.flops for node in graph.nodes)))
        family[network.name] = measured["family"]
    if dropped:
        print(f"left out, no longer calibration networks: {', '.join(dropped)}")
    result = fit_profile(samples, family, structure)
    profile = result.profile
    record = {key: value for key, value in like.calibration.items() if not key.startswith("held_out")}
    record.update({**result.record, "refit": args.note or f"the measurements of {os.path.basename(args.figures)}, "
                                                            "fitted again"})
    save(replace(profile, device=like.device, runtime=like.runtime, calibration=record), args.output)
    print(f"{args.output}: combine {profile.combine}, llc {profile.llc_bytes} bytes, context {profile.context:.4f} "
          f"(slope {profile.context_slope:+.4f} at {profile.context_kernels:g} kernels), "
          f"held-out median |error| {result.held_out.median_abs_error:.1%}")
    if args.rescore:
        rescore(run, profile, args.outside, args.rescore, args.setting)


def rescore(run: dict, profile, outside: str, path: str, setting: str = "1") -> None:
    """The run's batch-1 results of `setting` (1: 1 thread, N: N threads; latency_accuracy.py's `results`, or
    latency_loaded.py's `rows`) with each estimate and summary computed again on `profile`. Writes them to
    `path`."""
    files = {}
    if outside:
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        from latency_outside_models import read_manifest

        files = {key: os.path.join(outside, record["file"]) for key, record in read_manifest(outside).items()
                 if record.get("status") == "ok"}
    batch = int(setting[1:]) if setting.startswith("b") else 1
    suffix = (f", batch-{batch} profile" if batch > 1 else ", 1 thread" if setting == "1"  # what the profile is for
              else f", {setting} threads")
    results = [r for r in run.get("results") or [{"name": "zoo, 1 thread", "rows": run["rows"]}]
               if r["name"].endswith(suffix) and ("batch" not in r["name"] or batch > 1)]
    for result in results:
        for row in result["rows"]:
            source = files[row["model"]] if "/" in row["model"] else os.path.join(ROOT, "specs", f"{row['model']}.yaml")
            row["estimate_s"] = estimate(load_graph(source, batch=batch), profile).total_s
        measured, flops = [r["measured_s"] for r in result["rows"]], [r["flops"] for r in result["rows"]]
        result["summary"] = {key: summary([r[key] for r in result["rows"]], measured, flops)
                             for key in ("estimate_s", "baseline_s")}
        e = result["summary"]["estimate_s"]
        print(f"{result['name']}: within 10 % {e['within_10']:.0%}, within 20 % {e['within_20']:.0%}, "
              f"pairwise {e['pairwise']:.0%}")
    out = {**run, "results": results, "rescored_on": profile.calibration}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
