"""How a run's estimate errs against two things of each model: the share of its conv FLOPs at channel counts that are
not a multiple of onnxruntime's channel block (where it reorders between layouts), and with `--device PROFILE` the
number of kernels the planner plans for it (beside the calibration's random whole networks', which the context
factor is fitted on) and the share of its measured time its weights would take read from memory at the profile's
bandwidth, then the run's own calibration whole networks estimated on the profile, grouped by their kernels. Reads a benchmarks/latency_accuracy.py JSON, rebuilds each model's graph (zoo specs from
specs/, models outside the zoo from `--outside`, the directory of the run's exports) and prints the correlations and
the median error of groups. Nothing is measured.

    python scripts/latency_block_share.py benchmarks/results/latency_accuracy_2026-12-08_0015.json \\
        --outside DIR [--block 16] [--device devices/xeon-2cpu-onnxruntime-1.32-1thread.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from costcalc.graph import load  # noqa: E402
from costcalc.latency.model import estimate, plan  # noqa: E402
from costcalc.latency.networks import WHOLE, build, interleaved, of_seed  # noqa: E402
from costcalc.latency.profile import load as load_profile  # noqa: E402


def off_block_share(graph, block: int) -> float:
    """The share of the graph's conv FLOPs whose output channels are not a multiple of `block`."""
    convs = [node for node in graph.nodes if node.op == "conv" and node.counts.flops]
    total = sum(node.counts.flops for node in convs)
    return sum(node.counts.flops for node in convs if node.args["out"] % block) / max(total, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures")
    parser.add_argument("--outside", default="", help="the directory of the run's models outside the zoo")
    parser.add_argument("--block", type=int, default=16)
    parser.add_argument("--device", default="", help="a profile: also group the models by their planned kernels")
    args = parser.parse_args()
    from latency_outside_models import read_manifest

    files = {key: os.path.join(args.outside, record["file"]) for key, record in
             (read_manifest(args.outside).items() if args.outside else ()) if record.get("status") == "ok"}
    profile = load_profile(args.device) if args.device else None
    shares, kernels, streamed, errors = [], [], [], []
    with open(args.figures, encoding="utf-8") as f:
        run = json.load(f)
    results = run["results"]
    for result in results:
        for row in result["rows"]:
            if "/" in row["model"] and row["model"] not in files:
                continue
            source = files[row["model"]] if "/" in row["model"] else os.path.join(ROOT, "specs", f"{row['model']}.yaml")
            graph = load(source)
            shares.append(off_block_share(graph, args.block))
            kernels.append(len(plan(graph, profile)) if profile else 0)
            weights = sum(node.counts.params for node in graph.nodes) * (profile.bytes_per_element if profile else 4)
            streamed.append(weights / profile.dram_bandwidth / row["measured_s"] if profile else 0.0)
            errors.append(row["estimate_s"] / row["measured_s"] - 1)
    shares, kernels, errors = np.array(shares), np.array(kernels), np.array(errors)
    print(f"{len(errors)} models; correlation of the off-block share with the error "
          f"{np.corrcoef(shares, errors)[0, 1]:+.2f}")
    _groups(errors, (("none", shares == 0), ("up to a fifth", (shares > 0) & (shares <= 0.2)),
                     ("more than a fifth", shares > 0.2)))
    if profile:
        whole = [len(plan(build(n.text, f"{n.name}.yaml", 1), profile)) for n in of_seed(0)[WHOLE]]
        print(f"planned kernels: the models' median {np.median(kernels):.0f}, the calibration's random whole networks' "
              f"{np.median(whole):.0f} (at most {max(whole)}); correlation of log kernels with the error "
              f"{np.corrcoef(np.log(kernels), errors)[0, 1]:+.2f}")
        _groups(errors, [(f"{lo} to {hi - 1} kernels", (kernels >= lo) & (kernels < hi))
                         for lo, hi in ((0, 60), (60, 120), (120, 250), (250, 100_000))])
        streamed = np.array(streamed)
        print(f"weights read from memory each run: {np.min(streamed):.0%} to {np.max(streamed):.0%} of the measured "
              f"time; correlation with the error {np.corrcoef(streamed, errors)[0, 1]:+.2f}")
        for setting in run.get("settings", {}).values():
            _wholes_by_length(setting, profile)


def _wholes_by_length(setting: dict, profile) -> None:
    """The run's calibration whole networks (as it measured them) estimated on `profile`, grouped by length."""
    batch = setting.get("batch", 1)
    networks = {n.name: n for n in interleaved(0, batch)}
    lengths, errors = [], []
    for measured in setting.get("calibration_networks", []):
        network = networks.get(measured["name"])
        if measured["family"] != WHOLE or network is None:
            continue
        estimated = estimate(build(network.text, f"{network.name}.yaml", batch), profile)
        lengths.append(len(estimated.kernels))
        errors.append(estimated.total_s / measured["measured_s"] - 1)
    if errors:
        lengths, errors = np.array(lengths), np.array(errors)
        print(f"the run's {len(errors)} calibration whole networks ({setting.get('label', '')}); correlation of log "
              f"kernels with the error {np.corrcoef(np.log(lengths), errors)[0, 1]:+.2f}")
        _groups(errors, [(f"{lo} to {hi - 1} kernels", (lengths >= lo) & (lengths < hi))
                         for lo, hi in ((0, 40), (40, 60), (60, 90), (90, 250), (250, 100_000))], "networks")


def _groups(errors, groups, what: str = "models") -> None:
    for label, chosen in groups:
        if chosen.any():
            print(f"{label:20s} {chosen.sum():3d} {what}, median error {np.median(errors[chosen]):+.1%}, "
                  f"{np.sum(np.abs(errors[chosen]) < 0.1)} within 10 %")

if __name__ == "__main__":
    main()
