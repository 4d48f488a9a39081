"""The latency tables of README.md and docs/latency.md, from the JSON `benchmarks/latency_accuracy.py --json` writes:
for each setting (zoo at 1 thread, outside the zoo, batch 8, 2 threads) the summary of both predictors, and the
models with their measured and estimated times. Prints Markdown; nothing is measured here.

    python scripts/latency_table.py results.json [--columns 2] [--models] [--misses 0.10] [--against other.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"


def _share(value: float, n: int) -> str:
    return f"{value:.1%} ({round(value * n)} of {n})"  # one decimal: 53 of 59 is 89.8 %, not a 90 % goal met


def summary(results: list) -> str:
    """One row per setting and predictor."""
    lines = ["| setting | predictor | within ±10 % | within ±20 % | Spearman ρ | pairwise (FLOPs within 20 %) |",
             "|---|---|---|---|---|---|"]
    for result in results:
        n = len(result["rows"])
        for label, key in (("costcalc estimate", "estimate_s"), ("FLOPs-only baseline", "baseline_s")):
            s = result["summary"][key]
            pairwise = f"{s['pairwise']:.0%} ({round(s['pairwise'] * s['pairs'])} of {s['pairs']})" \
                if s["pairs"] else "no pairs"
            lines.append(f"| {result['name'] if key == 'estimate_s' else ''} | {label} | {_share(s['within_10'], n)} | "
                         f"{_share(s['within_20'], n)} | {s['spearman']:.3f} | {pairwise} |")
    return "\n".join(lines)


def misses(result: dict, beyond: float) -> str:
    """'AlexNet -24 %, ...': the models whose estimate is off by more than `beyond`, worst first."""
    off = sorted(((r["estimate_s"] / r["measured_s"] - 1, r["model"]) for r in result["rows"]),
                 key=lambda item: -abs(item[0]))
    return ", ".join(f"{name} {error:+.0%}" for error, name in off if abs(error) > beyond) or "none"


def against(result: dict, path: str) -> str:
    """The ratios of the setting's measured times to those of the same setting and models in the run at `path`."""
    with open(path, encoding="utf-8") as f:
        other = {r["model"]: r["measured_s"] for o in json.load(f)["results"] if o["name"] == result["name"]
                 for r in o["rows"]}
    ratios = [r["measured_s"] / other[r["model"]] for r in result["rows"] if r["model"] in other]
    if not ratios:
        return "no model in common"
    return f"{min(ratios):.2f} to {max(ratios):.2f}, median {statistics.median(ratios):.2f} ({len(ratios)} models)"


def table(result: dict, columns: int) -> str:
    head = ["model", "GFLOPs", "measured", "estimate", "FLOPs-only"]
    body = [(r["model"], f"{r['flops'] / 1e9:.2f}", _ms(r["measured_s"]),
             f"{_ms(r['estimate_s'])} ({r['estimate_s'] / r['measured_s'] - 1:+.0%})",
             f"{r['baseline_s'] / r['measured_s'] - 1:+.0%}") for r in result["rows"]]
    per = -(-len(body) // columns)
    lines = ["| " + " | ".join(head * columns) + " |",
             "|" + "|".join(["---", "---:", "---:", "---:", "---:"] * columns) + "|"]
    for i in range(per):
        cells = []
        for c in range(columns):
            k = c * per + i
            cells += list(body[k]) if k < len(body) else [""] * len(head)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--columns", type=int, default=2)
    parser.add_argument("--models", action="store_true", help="also each setting's table of models")
    parser.add_argument("--misses", type=float, default=0.10, help="list the models off by more than this")
    parser.add_argument("--against", default="", help="another run's JSON: each setting's measured times over its")
    args = parser.parse_args()
    with open(args.results, encoding="utf-8") as f:
        document = json.load(f)
    if "results" not in document:  # one setting's figures (benchmarks/latency_loaded.py --json)
        document = {"results": [{"name": "zoo", "rows": document["rows"], "summary": document["summary"]}]}
    print(summary(document["results"]))
    for result in document["results"]:
        errors = [r["estimate_s"] / r["measured_s"] - 1 for r in result["rows"]]
        print(f"\n{result['name']}: median error {statistics.median(errors):+.1%}; beyond ±{args.misses:.0%}: "
              f"{misses(result, args.misses)}")
        if args.against:
            print(f"  measured over {os.path.basename(args.against)}'s: {against(result, args.against)}")
        if args.models:
            print()
            print(table(result, args.columns))


if __name__ == "__main__":
    main()
