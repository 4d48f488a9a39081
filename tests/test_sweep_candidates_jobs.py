"""`--candidates FILE --jobs N` (issue 25): a file read whole, in its order, its candidates evaluated over N processes
and their lines written in the file's order, byte for byte what one process writes (with failed candidates, input
sizes, blank lines, the latency estimate, and a bad line that ends the file's candidates); standard input from a pipe
is streamed as before, each line written before the next candidate is read. Run as whole processes."""

from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys

import pytest

import costcalc
from conftest import ROOT, SPECS
from costcalc.analysis.sweep import run_candidates

PROFILE = "devices/epyc-2cpu-onnxruntime-1.32-1thread.yaml"


def candidates(count: int, seed: int, bad_line: bool = False) -> str:
    """JSON lines of MobileNet V2 settings: width, depths and kernels, some with an input size, some that fail
    (a zero expansion, an input of no pixels), blank lines among them; with `bad_line`, a line naming no
    variable of the spec two thirds of the way."""
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        setting = {"width": round(rng.uniform(0.35, 1.4), 3), "n": [rng.randint(1, 4) for _ in range(7)],
                   "k": [rng.choice([3, 5, 7]) for _ in range(7)]}
        if i % 5 == 0:
            setting["input"] = rng.choice(["3x160x160", "3x224x224"])
        if i % 97 == 3:
            setting["t"] = [1, 6, 6, 6, 6, 6, 0]
        if i % 89 == 5:
            setting["input"] = "3x0x1"
        lines.append(json.dumps(setting))
        if i % 50 == 0:
            lines.append("")
        if bad_line and i == 2 * count // 3:
            lines.append('{"width": 0.5, "depth": 3}')
    return "\n".join(lines) + "\n"


def sweep(path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "costcalc", "sweep", "specs/mobilenet_v2.yaml", "--candidates",
                           str(path), *args], cwd=ROOT, capture_output=True)


@pytest.mark.parametrize("extra, bad_line", [([], False), (["--device", PROFILE], False), ([], True)],
                         ids=["totals", "device", "bad-line"])
def test_a_file_over_processes_writes_what_one_process_writes(tmp_path, extra, bad_line):
    path = tmp_path / "candidates.jsonl"
    path.write_text(candidates(400, 7, bad_line))
    one = sweep(path, *extra)
    assert one.returncode == (2 if bad_line else 0) and one.stdout.count(b"\n") == (267 if bad_line else 400)
    assert b'"error":null' in one.stdout and b'"totals":null' in one.stdout
    for jobs in ("2", "3"):
        over = sweep(path, *extra, "--jobs", jobs)
        assert (over.returncode, over.stdout, over.stderr) == (one.returncode, one.stdout, one.stderr)
    if bad_line:
        assert one.stderr.decode().startswith(f"{path}:{268 + 267 // 50 + 1}:16: error: candidate: ")
    else:
        row = json.loads(one.stdout.splitlines()[123])
        values = row["values"]
        report = costcalc.analyze(SPECS / "mobilenet_v2.yaml", set={k: v for k, v in values.items() if k != "input"},
                                  input=values.get("input"), device=ROOT / PROFILE if extra else None)
        assert row["totals"]["flops"] == report.totals.flops and row.get("latency_s") == report.latency_s


class _Pid:
    """Rows -> 'index pid' texts: which process evaluated each candidate."""

    def __call__(self, rows) -> list:
        return [f"{row.index} {os.getpid()}\n" for row in rows]


def test_the_candidates_are_evaluated_by_every_process_and_come_back_in_their_order():
    settings = [{"width": 0.35 + i / 1000} for i in range(600)]
    texts, failed = run_candidates(costcalc.load(SPECS / "mobilenet_v2.yaml"), settings, _Pid(), jobs=2)
    assert [int(text.split()[0]) for text in texts] == list(range(600)) and failed == 0
    assert len({text.split()[1] for text in texts}) == 2


def test_a_pipe_is_streamed_with_jobs_each_line_before_the_next_candidate():
    """From a pipe, --jobs N does not read ahead: each candidate's line comes back while the next is unwritten."""
    process = subprocess.Popen([sys.executable, "-m", "costcalc", "sweep", "specs/mobilenet_v2.yaml", "--candidates",
                                "-", "--jobs", "2"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        for width in (0.5, 0.75, 1.0):
            process.stdin.write(json.dumps({"width": width}).encode() + b"\n")
            process.stdin.flush()
            assert select.select([process.stdout], [], [], 60)[0], "no line before the next candidate"
            line = json.loads(process.stdout.readline())
            assert line["values"] == {"width": width} and line["totals"]["flops"] == \
                costcalc.analyze(SPECS / "mobilenet_v2.yaml", set={"width": width}).totals.flops
        process.stdin.close()
        assert process.wait(60) == 0
        assert b"note: --jobs 2: candidates from standard input or a pipe are evaluated in this process" in \
            process.stderr.read()
    finally:
        process.kill()
