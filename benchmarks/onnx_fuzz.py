"""The long run of the ONNX mutation fuzz (tests/onnx_fuzz.py: the mutations, the worker, the promises checked).

    nice -n 10 python benchmarks/onnx_fuzz.py --count 10000 --seed 26 --out fuzz-out
    python benchmarks/onnx_fuzz.py --count 500 new_fixtures/*.onnx      # any files as seeds

Seeds: the files given, else the hostile reproducers and every fixture of tests/fixtures/onnx/ under 200 KB, plus
--generated random valid CNNs. Prints progress, then the summary (exit codes per command, failures, the slowest
command); with --out, writes summary.json there and keeps each failing mutant beside it. Exit status 1 when a
promise broke.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import onnx_fuzz  # noqa: E402

MAX_SEED_BYTES = 200_000  # larger fixtures slow every case and add no structure the small ones lack


def default_seeds() -> list:
    fixtures = os.path.join(ROOT, "tests", "fixtures", "onnx")
    files = sorted(glob.glob(os.path.join(fixtures, "**", "*.onnx"), recursive=True))
    return [f for f in files if os.path.getsize(f) <= MAX_SEED_BYTES]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="*", help="ONNX files to mutate (default: the small test fixtures)")
    parser.add_argument("--count", type=int, default=10_000, help="mutants to try")
    parser.add_argument("--seed", type=int, default=26, help="seed of the mutations")
    parser.add_argument("--generated", type=int, default=100, help="random valid CNNs added to the seeds")
    parser.add_argument("--measure-every", type=int, default=4,
                        help="measure every Nth mutant that report accepts (0: never)")
    parser.add_argument("--out", help="folder for summary.json and the failing mutants")
    args = parser.parse_args()
    seeds = args.seeds or default_seeds()

    def progress(done: int, summary: dict) -> None:
        if done % 250 == 0 or done == args.count:
            print(f"{done:,} mutants, {len(summary['failures'])} failures, {summary['exits']}", flush=True)

    keep = os.path.join(args.out, "failures") if args.out else None
    with tempfile.TemporaryDirectory(prefix="costcalc-onnx-fuzz-") as workdir:
        summary = onnx_fuzz.fuzz(seeds, args.count, seed=args.seed, generated=args.generated,
                                 measure_every=args.measure_every, workdir=workdir, keep=keep, progress=progress)
    summary["seed_files"] = len(seeds)
    text = json.dumps(summary, indent=1)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "summary.json"), "w") as f:
            f.write(text)
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}, indent=1))
    for failure in summary["failures"][:50]:
        print(f"mutant {failure['mutant']} of {failure['seed']} {failure['mutations']}, {failure['command']}: "
              f"{failure['broken']} (kept: {failure['kept']})")
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
