"""Issue 28's smaller traps, each fixed: zoo names everywhere a spec is read, and a suggestion for a slip of one."""

import pytest

import costcalc


def test_sweep_and_plot_take_zoo_names(run, tmp_path):
    swept = run("sweep", "resnet18", "--grid", "input=3x160x160,3x224x224", "--format", "csv")
    assert swept.exit_code == 0, swept.stderr
    assert swept.stdout.splitlines()[2].split(",")[1:3] == ["3x224x224", "1814073344"]
    pytest.importorskip("matplotlib")
    drawn = run("plot", "resnet18", "-o", tmp_path / "r.svg")
    assert drawn.exit_code == 0 and (tmp_path / "r.svg").stat().st_size > 0


def test_the_python_api_takes_zoo_names():
    assert costcalc.analyze("resnet18").totals.flops == 1_814_073_344
    assert costcalc.load("resnet18").path.endswith("resnet18.yaml")


@pytest.mark.parametrize("name, suggested", [
    ("resnet5", "did you mean 'resnet50' or 'resnet50_v1'?"),
    ("resnt50", "did you mean 'resnet50'?"),
    ("mobilenet_v2.yml", "did you mean 'mobilenet_v2'?"),
])
def test_a_slip_of_a_zoo_name_gets_a_suggestion(run, name, suggested):
    for command in (("report",), ("sweep",), ("compare", "resnet18")):
        args = [*command, name] + (["--grid", "input=3x64x64"] if command == ("sweep",) else [])
        result = run(*args)
        assert result.exit_code == 2
        assert result.stderr == (f"{name}:1:1: error: cannot read: no file '{name}', and the zoo has no spec of that "
                                 f"name ({suggested} `costcalc zoo` lists them)\n")


def test_no_suggestion_for_another_kind_of_file(run):
    result = run("report", "missing.onnx")
    assert result.exit_code == 2 and "did you mean" not in result.stderr


def test_the_front_is_counted_over_every_point_whatever_top_shows(run, tmp_path):
    args = ("sweep", "specs/mobilenet_v2.yaml", "--grid", "width=0.5,0.75,1.0,1.25", "--grid",
            "input=3x160x160,3x224x224", "--pareto", "flops,params", "--sort", "-flops")
    every = run(*args, "--format", "csv")
    front = [line.split(",")[0] for line in every.stdout.splitlines()[1:] if line.split(",")[-2] == "1"]
    assert front == ["0"]  # width 0.5 at 160 x 160: the fewest FLOPs and params of all; last after -flops
    top = run(*args, "--top", "3")
    assert top.exit_code == 0
    assert top.stdout.splitlines()[0] == ("mobilenet_v2 | batch 1 | 8 points (3 shown), 1 on the Pareto front of flops, "
                                          "params")
    import json

    doc = json.loads(run(*args, "--top", "3", "--format", "json").stdout)
    assert doc["on_front"] == 1 and len(doc["rows"]) == 3 and not any(row["pareto"] for row in doc["rows"])
    from costcalc.analysis import series

    swept = costcalc.sweep("specs/mobilenet_v2.yaml", grid={"width": [0.5, 0.75, 1.0, 1.25],
                                                            "input": ["3x160x160", "3x224x224"]},
                           pareto="flops,params", sort="-flops", top=3)
    drawn = series.pareto(swept)
    assert len(drawn.points) == 8 and sorted(str(p.index) for p in drawn.front) == sorted(front)


def test_g1_leaves_out_1x1_convs_on_1x1_maps(write_spec):
    """Squeeze-and-excitation's convs on the pooled vector are fully connected layers, not G1's feature maps; the
    same widths on a 2 x 2 map are measured."""
    from costcalc.analysis.guidelines import check
    from costcalc.graph import load

    se = ("input: [{c}, {s}, {s}]\nlayers:\n  - {{name: squeeze, op: conv, out: 16, k: 1, bias: true}}\n"
          "  - {{name: excite, op: conv, out: {c}, k: 1, bias: true}}\n")
    assert check(load(write_spec(se.format(c=64, s=1))))["G1"].findings == ()
    on_map = check(load(write_spec(se.format(c=64, s=2))))["G1"]
    assert [(f.where, f.violated) for f in on_map.findings] == [("squeeze", True), ("excite", True)]


def test_compare_judges_g4_per_network(run):
    """G4 is a check of the whole network: compared as its share and verdict, not as "5 -> 5 violations"."""
    import json

    result = run("compare", "specs/resnet50.yaml", "specs/resnext50_32x4d.yaml", "--depth", "1")
    lines = result.stdout.splitlines()
    at = lines.index("Guideline violations (ShuffleNet V2), A -> B: G1 29 -> 1, G2 0 -> 16, G3 0 -> 0")
    assert lines[at + 1] == "G4 element-wise share of MAC 54.5% (FAIL) -> 56.7% (FAIL), limit 50%"
    assert not any(line.startswith("   G4 ") for line in lines)
    doc = json.loads(run("compare", "specs/resnet50.yaml", "specs/resnext50_32x4d.yaml", "--format", "json").stdout)
    g4 = doc["guidelines"]["network"]["G4"]
    assert set(doc["guidelines"]["violations"]) == {"G1", "G2", "G3"}
    assert (g4["a"]["passed"], g4["b"]["passed"], g4["max_share"]) == (False, False, 0.5)
    report = json.loads(run("report", "specs/resnet50.yaml", "--format", "json").stdout)
    assert g4["a"]["elementwise_share"] == report["guidelines"]["G4"]["elementwise_share"]


def test_the_op_cell_of_resize_names_its_mode(run, write_spec):
    path = write_spec("input: [8, 4, 4]\nlayers:\n  - {name: near, op: resize, scale: 2}\n"
                      "  - {name: smooth, op: resize, scale: 2, mode: bilinear}\n")
    cells = [line.split("│")[2].strip() for line in run("report", path, "--no-guidelines").stdout.splitlines()
             if line.startswith("│ near") or line.startswith("│ smooth")]
    assert cells == ["resize nearest", "resize bilinear"]


@pytest.mark.parametrize("args", [
    ("report", "specs/mobilenet_v2.yaml", "--depth", "1"),
    ("guidelines", "specs/efficientnet_b0.yaml"),
    ("compare", "resnet50", "resnext50_32x4d", "--depth", "1"),
    ("check", "specs/resnet50.yaml", "specs/resnext50_32x4d.yaml", "--max-flops", "4.1G"),
], ids=["report", "guidelines", "compare", "check"])
def test_eighty_columns_hold_every_line(run, args):
    """The guideline panel, the published line, compare's guideline lines and check's lines fit a terminal of 80
    columns, broken between words (a number is never cut: the text joined again is the unbroken line's)."""
    narrow = run(*args, env={"COLUMNS": "80"})
    assert narrow.exit_code in (0, 1), narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    wide = run(*args, env={"COLUMNS": "400"})
    text = lambda out: " ".join(" ".join(out.split()).split())  # noqa: E731 - spacing aside
    tail = lambda out: out[out.index("published:"):] if "published:" in out else out[out.index("ShuffleNet V2 g"):] \
        if "ShuffleNet V2 g" in out else out  # noqa: E731 - the part after the table (whose columns differ)
    if args[0] != "compare":
        assert text(tail(narrow.stdout)) == text(tail(wide.stdout))
