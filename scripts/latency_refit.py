"""Fit a profile again from a latency benchmark's saved calibration measurements, with the model as it is now.

The benchmarks' `--json` keeps every calibration network's name, family and measured seconds; the networks are
rebuilt from their names (costcalc.latency.networks, seed 0), planned by the current model, and fitted as
`costcalc calibrate` fits them (the cache-size search, both combines cross-validated, the context factor). The
device, runtime and calibration record come from `--like` (the profile that run wrote), with the new fit's figures
and a `refit` note. Nothing is measured.

    python scripts/latency_refit.py r.json --like run_profile.yaml -o devices/new.yaml --note "..."
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from costcalc.latency.calibration import fit_profile  # noqa: E402
from costcalc.latency.fit import Sample  # noqa: E402
from costcalc.latency.model import plan  # noqa: E402
from costcalc.latency.networks import build, interleaved  # noqa: E402
from costcalc.latency.profile import load, save  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures")
    parser.add_argument("--like", required=True)
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    with open(args.figures, encoding="utf-8") as f:
        run = json.load(f)
    like = load(args.like)
    networks = {n.name: n for n in interleaved(np.random.default_rng(like.calibration.get("seed", 0)))}
    structure = replace(like, llc_bytes=0, context=1.0)
    samples, family = [], {}
    for measured in run["calibration_networks"]:
        network = networks[measured["name"]]
        graph = build(network.text, f"{network.name}.yaml")
        samples.append(Sample(network.name, tuple(plan(graph, structure)), measured["measured_s"],
                              sum(node.counts.flops for node in graph.nodes)))
        family[network.name] = measured["family"]
    result = fit_profile(samples, family, structure)
    profile = result.profile
    record = {key: value for key, value in like.calibration.items() if not key.startswith("held_out")}
    record.update({**result.record, "refit": args.note or f"the measurements of {os.path.basename(args.figures)}, "
                                                            "fitted again"})
    save(replace(profile, device=like.device, runtime=like.runtime, calibration=record), args.output)
    print(f"{args.output}: combine {profile.combine}, llc {profile.llc_bytes} bytes, context {profile.context:.4f}, "
          f"held-out median |error| {result.held_out.median_abs_error:.1%}")


if __name__ == "__main__":
    main()
