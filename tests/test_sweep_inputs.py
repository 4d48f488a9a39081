"""Issue 25's search-style inputs: --random over ranges, steps and choices and over the elements of a list variable
(`n[*]`), a candidates file streamed in and out as JSON lines, and `--format jsonl`."""

from __future__ import annotations

import json

import pytest

import costcalc
from conftest import SPECS
from costcalc.analysis.sweep_points import check_names, expand_elements, parse_ranges, random_points, settings
from costcalc.errors import OptionError

MOBILENET = SPECS / "mobilenet_v2.yaml"


def test_ranges_steps_and_choices():
    ranges = parse_ranges(["width=0.35:1.4", "depth=1:4", "expand=2:6:2", "k=3,5,7", "scale=0.5:1.0:0.25"])
    assert ranges == [("width", 0.35, 1.4), ("depth", 1, 4), ("expand", ("2", "4", "6")), ("k", ("3", "5", "7")),
                      ("scale", ("0.5", "0.75", "1.0"))]
    points = random_points(300, ranges, seed=1)
    seen = {name: {dict(p)[name] for p in points} for name in ("depth", "expand", "k", "scale")}
    assert seen == {"depth": {"1", "2", "3", "4"}, "expand": {"2", "4", "6"}, "k": {"3", "5", "7"},
                    "scale": {"0.5", "0.75", "1.0"}}
    assert all(0.35 <= float(dict(p)["width"]) <= 1.4 for p in points)


def test_list_elements_are_swept_one_by_one():
    model = costcalc.load(MOBILENET)
    spans = expand_elements(model, parse_ranges(["n[*]=1:4", "k[2]=5,7"]))
    assert [name for name, *_ in spans] == [f"n[{i}]" for i in range(7)] + ["k[2]"]
    point = (("n[1]", "4"), ("k[2]", "7"), ("width", "0.5"))
    variables, shape = settings(point, model.variables)
    assert variables == {"n": [1, 4, 3, 4, 3, 3, 1], "k": [3, 3, 7, 3, 3, 3, 3], "width": 0.5} and shape is None
    for bad in (["n[7]=1:2"], ["c[*]=1:2", "c=[1]"], ["width[0]=1:2"], ["nope[*]=1:2"]):
        with pytest.raises(OptionError):
            spans = expand_elements(model, parse_ranges(bad))
            check_names(model, [name for name, *_ in spans])


def test_a_random_search_over_depths_and_kernels_gives_each_points_report(run):
    result = run("sweep", MOBILENET, "--random", "12", "--seed", "5", "--range", "width=0.35:1.4", "--range",
                 "n[*]=1:4", "--range", "k[*]=3,5,7", "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0 and len(rows) == 12
    for row in rows[::3]:
        values = row["values"]
        n = [int(values[f"n[{i}]"]) for i in range(7)]
        k = [int(values[f"k[{i}]"]) for i in range(7)]
        report = costcalc.analyze(MOBILENET, set={"width": values["width"], "n": n, "k": k})
        assert row["totals"] == {f: getattr(report.totals, f) for f in row["totals"]}


def test_candidates_stream_in_and_out(run, tmp_path):
    path = tmp_path / "candidates.jsonl"
    path.write_text('{"width": 0.5}\n\n{"width": 1.0, "n": [1, 1, 1, 1, 1, 1, 1], "input": "3x160x160"}\n'
                    '{"groups": 1}\n')
    result = run("sweep", SPECS / "shufflenet_v1.yaml", "--candidates", path)
    assert result.exit_code == 2 and len(result.stdout.splitlines()) == 1  # the first, then the located error
    assert result.stderr.startswith(f"{path}:3:16: error: candidate: ") and "no variable 'n'" in result.stderr
    result = run("sweep", MOBILENET, "--candidates", path, "--device", SPECS.parent / "devices" /
                 "epyc-2cpu-onnxruntime-1.32-1thread.yaml")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["index"] for line in lines] == [0, 1]  # the third candidate names no variable of the spec
    assert result.exit_code == 2 and result.stderr.startswith(f"{path}:4:2: error: candidate: ")
    second = costcalc.analyze(MOBILENET, set={"width": 1.0, "n": [1] * 7}, input="3x160x160",
                              device=SPECS.parent / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml")
    assert lines[1]["totals"]["flops"] == second.totals.flops and lines[1]["latency_s"] == second.latency_s
    assert lines[1]["values"] == {"width": 1.0, "n": [1] * 7, "input": "3x160x160"}


def test_candidates_from_standard_input_and_their_errors(run, tmp_path):
    from click.testing import CliRunner

    from costcalc.cli import main

    result = CliRunner().invoke(main, ["sweep", str(SPECS / "shufflenet_v1.yaml"), "--candidates", "-"],
                                input='{"groups": 5}\n{"groups": 3}\n[1]\n')
    lines = result.stdout.splitlines()
    assert result.exit_code == 2 and len(lines) == 2 and "<stdin>:3:1: error: candidate" in result.stderr
    assert json.loads(lines[0])["error"].endswith("'out' must be at least 1, not 0")
    for args in (["--random", "3"], ["--format", "csv"], ["--scheduler", "tcp://127.0.0.1:1"]):
        assert run("sweep", MOBILENET, "--candidates", "-", *args).exit_code == 2
    missing = run("sweep", MOBILENET, "--candidates", tmp_path / "none.jsonl")
    assert missing.exit_code == 2 and "cannot read the candidates" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"width": 0.5,}\n')
    assert run("sweep", MOBILENET, "--candidates", bad).stderr.startswith(f"{bad}:1:15: error: candidate: not JSON")


def test_the_python_sweep_takes_the_same_ranges():
    result = costcalc.sweep(MOBILENET, random=6, seed=2, ranges={"width": (0.35, 1.4), "n[*]": (1, 4),
                                                                "k[*]": [3, 5, 7], "t[1]": (2, 6, 2)})
    assert len(result.rows) == 6 and result.names[:2] == ("width", "n[0]")
    assert {dict(row.values)["t[1]"] for row in result.rows} <= {"2", "4", "6"}
