"""Time and peak memory of `costcalc report` on the largest real networks, the 100,000-layer stress spec, and the
hostile inputs that push hardest against the limits (issue 7). Each case runs in a fresh process, several times;
the script prints the median wall time and the largest peak RSS.

    python benchmarks/limits.py [--runs 3]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import big_specs  # noqa: E402


def _layer_bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["input: [3, 8, 8]", "published:", "  a0: &a0 {op: relu}"]
    lines += [f"  a{i}: &a{i} {{layers: [{', '.join([f'*a{i - 1}'] * width)}]}}" for i in range(1, levels)]
    return "\n".join(lines + [f"layers: [*a{levels - 1}, *a{levels - 1}]"]) + "\n"


def _laughs() -> str:
    lines = ["input: [3, 8, 8]", "layers: [relu]", "published:", "  a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    return "\n".join(lines) + "\n"


CASES = [
    ("pre-act ResNet-1001", big_specs.PREACT_RESNET_1001, ("--format", "json")),
    ("DenseNet-264", big_specs.DENSENET_264, ("--format", "json")),
    ("stress 100,000 layers (json)", big_specs.stress(100_000), ("--format", "json")),
    ("stress 100,000 layers (table --depth 1)", big_specs.stress(100_000), ("--depth", "1")),
    ("hostile: repeat at the limit (250,000 relu)", "input: [3, 8, 8]\nlayers: [{op: relu, repeat: 250000}]\n",
     ("--format", "json")),
    ("hostile: layer alias bomb (10^8 layers, stopped)", _layer_bomb(), ("--format", "json")),
    ("hostile: 524,288 layers through aliases (stopped)", _layer_bomb(levels=7, width=8), ("--format", "json")),
    ("hostile: billion laughs x100 in a free section", _laughs(), ("--format", "json")),
    ("hostile: 100,000-deep flow nesting", "layers: " + "[" * 100_000 + "]" * 100_000 + "\n", ()),
]


def child(path: str, options: list) -> None:
    """Run the CLI once, report on stdout discarded; print exit code, seconds and peak RSS as JSON on stderr."""
    import resource

    from costcalc.cli import main

    start = time.perf_counter()
    real_stdout, real_stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = open(os.devnull, "w")
    try:
        main(["report", path, *options], standalone_mode=False)
        code = 0
    except SystemExit as e:
        code = e.code
    finally:
        sys.stdout, sys.stderr = real_stdout, real_stderr
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"code": code, "seconds": seconds, "rss_mib": rss}), file=sys.stderr)


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    print(f"{'case':50} {'exit':>4} {'median s':>9} {'peak RSS MiB':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for title, text, options in CASES:
            path = os.path.join(tmp, "spec.yaml")
            with open(path, "w") as f:
                f.write(text)
            results = []
            for _ in range(runs):
                done = subprocess.run([sys.executable, __file__, "--child", path, *options], capture_output=True,
                                      text=True, timeout=600)
                results.append(json.loads(done.stderr.strip().splitlines()[-1]))
            codes = {r["code"] for r in results}
            print(f"{title:50} {'/'.join(map(str, codes)):>4} {statistics.median(r['seconds'] for r in results):9.2f} "
                  f"{max(r['rss_mib'] for r in results):13.0f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
    else:
        main()
