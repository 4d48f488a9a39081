"""The table on any terminal: at 60, 80, 100 and 120 columns no number is cut, the box fits the width, and
columns go in the documented order (docs/report.md); the Op cell says what a layer is; the header names --set and
--input in every format; --top says how many rows it kept; --no-guidelines drops the panel."""

import csv
import io
import json
import re

import pytest

from conftest import assert_golden
from costcalc.report.as_table import COMPARE_DROP_ORDER, REPORT_DROP_ORDER
from costcalc.report.labels import describe
from costcalc.report.layout import SQUEEZED, Column, fit, squeeze, table_width

R50, RX50, MBV2 = "specs/resnet50.yaml", "specs/resnext50_32x4d.yaml", "specs/mobilenet_v2.yaml"
WIDTHS = (60, 80, 100, 120)
NUMBER = re.compile(r"^[+-]?[\d,]+(\.\d+)?[KMGTPE%]?$|^-$")


def _tables(text: str) -> list:
    """Each box table of `text` as (header cells, body rows of cells)."""
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("┏"):
            current = []
        elif current is not None and line.startswith("└"):
            tables.append(current)
            current = None
        elif current is not None and line[:1] in "┃│":
            current.append([cell.strip() for cell in re.split(r"[┃│]", line)[1:-1]])
    return [(t[0], t[1:]) for t in tables]


def _box_lines(text: str) -> list:
    return [line for line in text.splitlines() if line[:1] in "┏┃┡│├└"]


CASES = {
    "report_depth1": ("report", R50, "--depth", "1"),
    "report_depth2": ("report", R50),
    "report_all": ("report", MBV2, "--depth", "all"),
    "compare_depth1": ("compare", R50, RX50, "--depth", "1"),
    "compare_all": ("compare", R50, RX50, "--depth", "all"),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_number_is_cut_and_the_box_fits(run, case, width):
    result = run(*CASES[case], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    for line in _box_lines(result.stdout):
        assert len(line) <= width, line
    for head, body in _tables(result.stdout):
        for row in body:
            for title, text in zip(head, row):
                if title not in ("Layer", "Op", "Output", "Match", "Guidelines", "Guide.", "Total") and text:
                    assert NUMBER.match(text), (title, text)  # whole: a K/M/G number, a signed delta or a share
    for head, body in _tables(result.stdout):
        assert "…" not in "".join(cell for row in body for title, cell in zip(head, row) if title not in ("Layer", "Op"))
    totals = {"report_all": ("300.77M",), "compare_depth1": ("+141.30M", "+19.19M"),
              "compare_all": ("+141.30M", "+19.19M")}.get(case, ("4.09G", "106.45M"))
    for figure in totals:  # the totals, whole, at every width
        assert f" {figure} " in result.stdout


def _titles(run, *args, width):
    return _tables(run(*args, env={"COLUMNS": str(width)}).stdout)[-1][0]


def test_report_columns_go_in_the_documented_order(run):
    """Wide: every column with its long title; narrower: short titles, then Intensity, Elem. FLOPs, Output,
    MAC %, FLOPs %, Guidelines, Params go, in that order."""
    assert _titles(run, "report", R50, "--depth", "1", width=160) == [
        "Layer", "Op", "Output", "Params", "FLOPs", "FLOPs %", "Elem. FLOPs", "MAC (mem. access)", "MAC %",
        "Intensity", "Guidelines"]
    assert REPORT_DROP_ORDER == ("Intensity", "Elem. FLOPs", "Output", "MAC %", "FLOPs %", "Guidelines", "Params")
    seen = []
    for width in range(160, 40, -4):
        titles = _titles(run, "report", R50, "--depth", "1", width=width)
        seen.append(titles)
        assert titles[:2] == ["Layer", "Op"] and "FLOPs" in titles and "Mem. acc." in titles or width >= 140
    assert _titles(run, "report", R50, "--depth", "1", width=120) == [
        "Layer", "Op", "Output", "Params", "FLOPs", "FLOPs%", "Elem.", "Mem. acc.", "MAC%", "Guide."]
    assert _titles(run, "report", R50, "--depth", "1", width=80) == [
        "Layer", "Op", "Params", "FLOPs", "FLOPs%", "Mem. acc.", "Guide."]
    assert _titles(run, "report", R50, "--depth", "1", width=60) == ["Layer", "Op", "Params", "FLOPs", "Mem. acc."]
    assert _titles(run, "report", R50, "--depth", "2", width=60) == ["Layer", "Op", "FLOPs", "Mem. acc."]
    short = {"Intensity": "Int.", "Elem. FLOPs": "Elem.", "MAC %": "MAC%", "FLOPs %": "FLOPs%",
             "Guidelines": "Guide.", "Output": "Output", "Params": "Params"}
    for narrower, wider in zip(seen[1:], seen):  # a column that went never comes back at a smaller width
        assert set(narrower) <= set(wider) | {"FLOPs%", "MAC%", "Elem.", "Mem. acc.", "Int.", "Guide."}
    gone = []
    for titles in seen:
        for title in REPORT_DROP_ORDER:
            if short[title] not in titles and title not in titles and title not in gone:
                gone.append(title)
    assert gone == list(REPORT_DROP_ORDER)


def test_compare_keeps_the_deltas_longest(run):
    assert _titles(run, "compare", R50, RX50, "--depth", "1", width=60) == [
        "Layer", "Op", "Match", "FLOPs B-A", "MAC B-A"]
    assert COMPARE_DROP_ORDER[:2] == ("Params A", "Params B")


@pytest.mark.parametrize("width", (60, 80))
def test_golden_narrow_tables(run, width):
    assert_golden(f"report_resnet50_depth1_w{width}.txt",
                  run("report", R50, "--depth", "1", "--no-guidelines", env={"COLUMNS": str(width)}).stdout)
    assert_golden(f"compare_resnet50_resnext50_depth1_w{width}.txt",
                  run("compare", R50, RX50, "--depth", "1", env={"COLUMNS": str(width)}).stdout)


@pytest.mark.parametrize("width", WIDTHS)
def test_check_lines_keep_their_numbers(run, width):
    result = run("check", R50, RX50, "--max-flops", "4.1G", env={"COLUMNS": str(width)})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert all(len(line) <= width for line in lines)  # broken between clauses, each number whole
    assert "flops 4.23G > 4.10G (--max) by 130.48M (+3.18%)" in " ".join(line.strip() for line in lines)
    assert "…" not in result.stdout


def test_long_names_lose_their_middle_never_a_number():
    assert squeeze("layer3.0.downsample.conv", 12) == "layer3….conv" and squeeze("conv1", 9) == "conv1"
    assert len(squeeze("layer3.0.downsample.conv", 12)) == 12
    assert squeeze("layer3.0.downsample.conv", 12).startswith("layer3") and \
        squeeze("layer3.0.downsample.conv", 12).endswith("conv")
    columns = [Column("Layer", lambda r: r[0], right=False, squeeze=True), Column("FLOPs", lambda r: r[1])]
    rows = [("stage4.units.15.branch2.pointwise_conv", "123,456,789,012")]
    layout = fit(columns, rows, 30)
    assert layout.cells[0][1] == "123,456,789,012" and layout.widths == [SQUEEZED, 15]
    assert table_width(layout.widths) == 3 + SQUEEZED + 3 + 15 + 1
    assert layout.cells[0][0].count("…") == 1
    layout = fit(columns, rows, 10)  # too narrow for the number: the table is wider than asked, the number whole
    assert layout.cells[0][1] == "123,456,789,012"


@pytest.mark.parametrize("op, args, inputs, label", [
    ("conv", {"k": (3, 3), "stride": (2, 2), "groups": 32}, ((1, 256, 56, 56),), "conv 3x3 s2 g32"),
    ("conv", {"k": (3, 3), "stride": (1, 1), "groups": 96}, ((1, 96, 56, 56),), "dwconv 3x3"),
    ("conv", {"k": (3, 3), "stride": (2, 2), "groups": 96}, ((1, 96, 56, 56),), "dwconv 3x3 s2"),
    ("conv", {"k": (1, 1), "stride": (1, 1), "groups": 1}, ((1, 64, 56, 56),), "conv 1x1"),
    ("conv", {"k": (1, 7), "stride": (2, 1), "dilation": (2, 2), "groups": 1}, ((1, 8, 9, 9),), "conv 1x7 s2x1 d2"),
    ("maxpool", {"k": (3, 3), "stride": (2, 2)}, ((1, 64, 112, 112),), "maxpool 3x3 s2"),
    ("avgpool", {"k": (2, 2), "stride": (2, 2)}, ((1, 64, 8, 8),), "avgpool 2x2 s2"),
    ("shuffle", {"groups": 2}, ((1, 64, 8, 8),), "shuffle g2"),
    ("fc", {"out": 10}, ((1, 64),), "fc"),
])
def test_op_cell(op, args, inputs, label):
    assert describe(op, args, inputs) == label


def test_op_cells_of_real_specs(run):
    rx = run("report", RX50, "--depth", "all", "--format", "markdown").stdout
    assert "| layer2.0.conv2 | conv 3x3 s2 g32 |" in rx and "| layer1.0.conv1 | conv 1x1 |" in rx
    assert "| maxpool | maxpool 3x3 s2 |" in rx
    mb = run("report", MBV2, "--depth", "all", "--format", "markdown").stdout
    assert re.search(r"\| stage2\.units\.0\.dw \| dwconv 3x3 s2 \|", mb.replace("residual.", "")) or \
        "dwconv 3x3 s2" in mb
    assert "dwconv 3x3 |" in mb
    assert "| layer1 | bottleneck x3 |" in run("report", R50, "--depth", "1", "--format", "markdown").stdout


def test_share_columns_are_each_rows_part_of_the_total(run):
    text = run("report", R50, "--depth", "1", "--format", "markdown", "--exact").stdout
    rows = {line.split(" | ")[0][2:]: [c.strip() for c in line.split("|")[1:-1]] for line in text.splitlines()
            if line.startswith("| layer")}
    head = [c.strip() for c in next(line for line in text.splitlines() if line.startswith("| Layer")).split("|")[1:-1]]
    layer3 = dict(zip(head, rows["layer3"]))
    flops, mac = int(layer3["FLOPs"].replace(",", "")), int(layer3["MAC (mem. access)"].replace(",", ""))
    assert layer3["FLOPs %"] == f"{flops * 100 / 4_089_184_256:.1f}%" == "35.8%"
    assert layer3["MAC %"] == f"{mac * 100 / 106_445_840:.1f}%"


SETS = ("--set", "width_per_group=32", "--input", "3x160x160")


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "csv"])
def test_every_format_names_the_settings(run, fmt):
    result = run("report", R50, *SETS, "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        assert json.loads(result.stdout)["settings"] == ["--set width_per_group=32", "--input 3x160x160"]
    else:
        first = result.stdout.splitlines()[0]
        assert "resnet50 (--set width\\_per\\_group=32, --input 3x160x160)" in first or \
            "resnet50 (--set width_per_group=32, --input 3x160x160)" in first
    if fmt == "csv":
        assert list(csv.reader(io.StringIO(result.stdout), ))[1][0] == "name"
    plain = run("report", R50, "--format", fmt).stdout
    assert "--set" not in plain


def test_guidelines_and_compare_name_the_settings(run):
    assert run("guidelines", R50, *SETS).stdout.startswith("resnet50 (--set width_per_group=32, --input 3x160x160) |")
    text = run("compare", R50, "--set", "groups=2", "--set-b", "width_per_group=32").stdout
    assert text.startswith("A: resnet50 (--set groups=2) | B: resnet50 (--set groups=2, --set width_per_group=32)")
    # --set-b over --set is no repetition
    assert run("compare", R50, "--set", "groups=2", "--set-b", "groups=4").exit_code == 0


@pytest.mark.parametrize("command", [("report", R50), ("check", R50), ("guidelines", R50), ("verify", R50)])
def test_a_repeated_set_is_an_error(run, command):
    result = run(*command, "--set", "groups=2", "--set", "groups=4")
    assert result.exit_code == 2
    assert "'groups' is set twice (groups=2 and groups=4): give each variable once" in result.stderr
    assert "Traceback" not in result.output


def test_top_says_how_many_rows_it_kept(run):
    text = run("report", "specs/shufflenet_v2_x1_0.yaml", "--depth", "all", "--top", "5").stdout
    n = len(run("report", "specs/shufflenet_v2_x1_0.yaml", "--format", "csv").stdout.splitlines()) - 2
    assert f"top 5 of {n} rows by flops (the total covers all)" in text
    assert "top 5 of" in run("report", R50, "--top", "5", "--format", "markdown").stdout
    assert "top " not in run("report", R50).stdout.split("ShuffleNet")[0]


def test_no_guidelines_drops_the_panel_and_the_markers(run):
    on = run("report", R50, "--depth", "1")
    off = run("report", R50, "--depth", "1", "--no-guidelines")
    assert off.exit_code == 0 and "ShuffleNet V2 guidelines" in on.stdout
    assert "ShuffleNet V2 guidelines" not in off.stdout and "Guidelines" not in off.stdout
    assert len(off.stdout.splitlines()) == 19  # header, 11 rows and the box, the published line
    assert "guidelines" not in json.loads(run("report", R50, "--no-guidelines", "--format", "json").stdout)
    assert run("report", R50, "--no-guidelines", "--threshold", "G1.max_ratio=3").exit_code == 2


def test_guidelines_csv_gives_each_figure_a_column(run):
    rows = list(csv.DictReader(io.StringIO(run("guidelines", RX50, "--format", "csv").stdout)))
    g2 = next(row for row in rows if row["guideline"] == "G2" and row["violated"] == "yes")
    assert g2["groups"] == "32" and int(g2["memory_access"]) > int(g2["memory_access_g1"])
    assert int(g2["excess"]) == int(g2["memory_access"]) - int(g2["memory_access_g1"])
    g1 = next(row for row in rows if row["guideline"] == "G1")
    assert g1["groups"] == "1" and g1["memory_access_g1"] == "" and g1["bound"] != ""


def test_check_and_compare_name_the_settings_in_every_format(run):
    sets = ("--set", "num_classes=10", "--input", "3x160x160")
    assert run("check", R50, *sets).stdout.splitlines()[-1].startswith(
        "1 spec (--set num_classes=10, --input 3x160x160): ")
    assert run("check", R50, *sets, "--format", "csv").stdout.startswith(
        "# checked with --set num_classes=10, --input 3x160x160\npath,")
    assert json.loads(run("check", R50, *sets, "--format", "json").stdout)["settings"] == [
        "--set num_classes=10", "--input 3x160x160"]
    assert "(--set num\\_classes=10" in run("check", R50, *sets, "--format", "markdown").stdout.splitlines()[0]
    compared = run("compare", R50, "--set-b", "num_classes=10", "--format", "csv").stdout
    assert compared.startswith("# A: resnet50 | B: resnet50 (--set num_classes=10)\nname,")
    assert not run("compare", R50, RX50, "--format", "csv").stdout.startswith("#")


def test_a_header_field_longer_than_the_width_is_broken_between_its_words():
    """An imported model's name with the exporter's changes (a dynamo export at 80 columns) is one field longer than
    the line: broken between words, 4 spaces in; the other fields as before, each on its own line."""
    from costcalc.report.lines import wrap_fields

    name = ("net_dyn [batchnorm folded into 7 convs: 816 params fewer if they had no bias; 816 dropped zero biases "
            "counted]")
    lines = wrap_fields(f"{name} | input 1x3x96x96 | memory access in elements", 80).splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[1] == "    816 dropped zero biases counted]" and lines[2] == "  input 1x3x96x96 | memory access in elements"
    assert " ".join(line.strip() for line in lines[:2]) == name
