"""README's table of the latency settings quotes the runs' JSON files (benchmarks/latency_accuracy.py --json): each
"N of M" there is the count of models within ±10 % that the file's rows give, recomputed here from the measured and
estimated times, never read from the file's own summary."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# README row (host, setting) -> the file, and which of its results are the zoo and the models outside it
ROWS = {
    ("Xeon, AVX-512", "1 thread"): ("latency_accuracy_2026-12-08_0230.json", 0, 1),
    ("Xeon, AVX-512", "2 threads"): ("latency_accuracy_2threads_2026-12-08_0244.json", 0, 1),
    ("Xeon, AVX-512", "batch 8"): ("latency_accuracy_batch8_2026-12-08_0257.json", 0, 1),
    ("EPYC, AVX2", "1 thread"): ("latency_accuracy_2026-12-07_2211.json", 0, 1),
    ("EPYC, AVX2", "2 threads"): ("latency_accuracy_2threads_2026-12-07_2113_refit.json", 0, 1),
}


def _within(rows, key: str, share: float = 0.10) -> int:
    return sum(abs(row[key] / row["measured_s"] - 1) < share for row in rows)


def _readme_row(host: str, setting: str) -> list:
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[:2] == [host, setting]:
            return cells
    raise AssertionError(f"README has no row for {host}, {setting}")


@pytest.mark.parametrize("host, setting", sorted(ROWS))
def test_the_readme_row_is_what_the_run_measured(host, setting):
    name, zoo, outside = ROWS[host, setting]
    results = json.loads((RESULTS / name).read_text(encoding="utf-8"))["results"]
    cells = _readme_row(host, setting)
    for result, estimate, flops in ((results[zoo], cells[3], cells[4]), (results[outside], cells[5], cells[6])):
        within = f"{_within(result['rows'], 'estimate_s')} of {len(result['rows'])}"
        assert re.match(rf"\*\*{within}\*\*", estimate), (result["name"], estimate)
        assert flops == str(_within(result["rows"], "baseline_s")), (result["name"], flops)
