"""Every output format of report, compare and check: golden files (refresh them on purpose with
COSTCALC_REFRESH_GOLDEN=1 pytest tests/test_formats.py, then read the diff), and structural checks that hold
whatever the golden files say: CSV is one header row plus one row per layer whose columns sum to the totals,
Markdown tables are well-formed pipe tables, JSON counts are integers."""

import csv
import io
import json
import re

import pytest

from conftest import ROOT, assert_golden
from costcalc.analysis import analyse
from costcalc.graph import load
from costcalc.ops import COUNT_FIELDS
from costcalc.report import FORMATS, Format

TINY_A, TINY_B = "tests/golden/tiny_a.yaml", "tests/golden/tiny_b.yaml"
R50, RX50 = "specs/resnet50.yaml", "specs/resnext50_32x4d.yaml"
EXT = {"table": "txt", "json": "json", "csv": "csv", "markdown": "md"}

CASES = {
    "report_tiny": ("report", TINY_A, "--depth", "all"),
    "report_resnet50_depth1": ("report", R50, "--depth", "1"),
    "compare_tiny": ("compare", TINY_A, TINY_B, "--depth", "all"),
    "compare_resnet50_resnext50_depth1": ("compare", R50, RX50, "--depth", "1"),
    "check_tiny": ("check", TINY_A, TINY_B),
}


def test_every_format_is_in_the_enum():
    assert FORMATS == ("table", "json", "csv", "markdown")
    assert [f.value for f in Format] == list(FORMATS)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(run, case, fmt):
    if case == "report_resnet50_depth1" and fmt == "json":
        pytest.skip("the JSON of a report lists every layer: covered by report_tiny")
    result = run(*CASES[case], "--format", fmt)
    assert result.exit_code == (1 if case == "check_tiny" else 0), result.output
    assert_golden(f"{case}.{EXT[fmt]}", result.stdout)


@pytest.mark.parametrize("spec", [TINY_A, R50, "specs/shufflenet_v2_x1_0.yaml"])
@pytest.mark.parametrize("depth", [None, "1", "2"])
def test_report_csv_rows_follow_depth_and_sum_to_the_totals_row(run, spec, depth):
    """By default one row per layer; with --depth one per block, as in the table; either way a last `total` row
    holding the network's totals, equal to the sum of the rows above it."""
    result = run("report", spec, "--format", "csv", *(["--depth", depth] if depth else []))
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert header == ["name", "op", "output", *COUNT_FIELDS, "guidelines"]
    report = analyse(load(str(ROOT / spec)))
    names = [layer.name for layer in report.layers]
    if depth:
        names = list(dict.fromkeys(".".join(layer.path[:int(depth)]) for layer in report.layers))
    assert [row[0] for row in body] == names
    assert total[:3] == ["total", "", ""]
    for k, key in enumerate(COUNT_FIELDS, start=3):
        assert sum(int(row[k]) for row in body) == getattr(report.totals, key) == int(total[k])


def test_compare_csv_one_row_per_compared_row(run):
    text = run("compare", R50, RX50, "--depth", "all", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sum(int(row["flops_delta"]) for row in rows) == 141_295_616
    assert sum(int(row["params_delta"]) for row in rows) == -528_128
    assert len({len(row) for row in rows}) == 1


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _tables(markdown: str) -> list:
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


@pytest.mark.parametrize("args", [
    ("report", R50), ("report", TINY_A, "--depth", "all"), ("compare", R50, RX50, "--depth", "all"),
    ("compare", TINY_A, TINY_B, "--depth", "all"), ("check", TINY_A, TINY_B, R50),
])
def test_markdown_tables_are_well_formed(run, args):
    text = run(*args, "--format", "markdown").stdout
    tables = _tables(text)
    assert tables
    for table in tables:
        widths = {len(_UNESCAPED_PIPE.findall(line)) for line in table}
        assert len(widths) == 1, "every row of a pipe table has as many cells as its header"
        assert re.fullmatch(r"\|(:?-{3,}:?\|)+", table[1]), table[1]
        assert all(line.endswith("|") for line in table)
    assert "\x1b" not in text  # no terminal colour in a PR comment
    # a table after text needs a blank line before it to render on GitHub
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i and not lines[i - 1].startswith("|"):
            assert lines[i - 1] == ""


def test_markdown_folds_long_diffs(run):
    text = run("compare", R50, RX50, "--depth", "all", "--format", "markdown").stdout
    assert "<details><summary>" in text and "</details>\n\nGuideline violations" in text
    short = run("compare", R50, RX50, "--depth", "1", "--format", "markdown").stdout
    assert "<details>" not in short


def test_json_counts_are_integers(run):
    doc = json.loads(run("compare", TINY_A, TINY_B, "--depth", "all", "--format", "json").stdout)
    for row in doc["layers"]:
        for side in ("a", "b", "delta"):
            if row[side] is not None:
                assert all(type(row[side][key]) is int for key in COUNT_FIELDS)
