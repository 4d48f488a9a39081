"""The zoo's latency tables of README.md and docs/latency.md, from the JSON `benchmarks/latency_accuracy.py --json`
writes: measured and estimated time per model beside its FLOPs and memory access (costcalc's own counts), and the
summary lines of both predictors. Prints Markdown; nothing is measured here.

    python scripts/latency_table.py results.json [--columns 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"


def rows(results: dict) -> list:
    from costcalc.analysis import analyse
    from costcalc.graph import load

    out = []
    for r in results["rows"]:
        totals = analyse(load(os.path.join(ROOT, "specs", f"{r['model']}.yaml"))).totals
        error = r["estimate_s"] / r["measured_s"] - 1
        out.append((r["model"], f"{r['flops'] / 1e9:.2f}", f"{totals.memory_access / 1e6:.0f}M",
                    _ms(r["measured_s"]), f"{_ms(r['estimate_s'])} ({error:+.0%})"))
    return out


def table(results: dict, columns: int) -> str:
    head = ["model", "GFLOPs", "mem. access", "measured", "estimate"]
    body = rows(results)
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


def summary(results: dict) -> str:
    lines = ["| predictor | within ±10 % | within ±20 % | Spearman ρ | pairwise (FLOPs within 20 %) |",
             "|---|---|---|---|---|"]
    n = len(results["rows"])
    for label, key in (("costcalc estimate", "estimate_s"), ("FLOPs-only baseline", "baseline_s")):
        s = results["summary"][key]
        lines.append(f"| {label} | {s['within_10']:.0%} ({round(s['within_10'] * n)} of {n}) | "
                     f"{s['within_20']:.0%} ({round(s['within_20'] * n)} of {n}) | {s['spearman']:.3f} | "
                     f"{s['pairwise']:.0%} ({round(s['pairwise'] * s['pairs'])} of {s['pairs']}) |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--columns", type=int, default=2)
    args = parser.parse_args()
    with open(args.results, encoding="utf-8") as f:
        results = json.load(f)
    print(summary(results))
    print()
    print(table(results, args.columns))


if __name__ == "__main__":
    main()
