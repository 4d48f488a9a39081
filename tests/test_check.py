"""costcalc check: limits parsed exactly, exit codes 0/1/2, budgets from the spec and the command line, located
errors for a bad budget, GitHub annotations at the `budget:` line, JUnit XML, and the shipped specs' budgets."""

import json
import xml.etree.ElementTree as ET

import pytest

from conftest import SPECS
from costcalc.analysis.budget import QuantityError, parse_quantity
from costcalc.spec.reader import read_spec

R50 = "specs/resnet50.yaml"
R50_FLOPS, R50_PARAMS = 4_089_184_256, 25_557_032  # torchvision's published figures


@pytest.mark.parametrize("text, value", [
    ("4.5G", 4_500_000_000), ("26M", 26_000_000), ("130M", 130_000_000), ("1.2T", 1_200_000_000_000),
    ("0.5K", 500), ("2k", 2000), (1200, 1200), ("1200", 1200), ("4.09G", 4_090_000_000), ("25.557032M", R50_PARAMS),
    ("4_089_184_256", R50_FLOPS), (0, 0), ("1.0000000000000000001T", None),
])
def test_quantities_are_exact_powers_of_1000(text, value):
    if value is None:
        with pytest.raises(QuantityError, match="not a whole count"):
            parse_quantity(text)
    else:
        got = parse_quantity(text)
        assert got == value and type(got) is int


@pytest.mark.parametrize("bad", ["4.5X", "1.2345K", -3, "-3M", True, None, 1.5, "", "G", "4.5 GB", [1], "1" * 5000, "1" * 40 + "T"])
def test_bad_quantities_are_refused(bad):
    with pytest.raises(QuantityError):
        parse_quantity(bad)


def test_a_budget_equal_to_the_total_passes(run):
    result = run("check", R50, "--max-flops", R50_FLOPS, "--max-params", R50_PARAMS)
    assert result.exit_code == 0, result.output
    result = run("check", R50, "--max-flops", R50_FLOPS - 1)
    assert result.exit_code == 1
    # a total and a limit that look the same in K/M/G are shown whole
    assert "over budget: flops 4,089,184,256 > 4,089,184,255 (--max) by 1 (+<0.01%)" in result.stdout
    result = run("check", R50, "--max-params", "25.5M", "--exact")
    assert result.exit_code == 1
    assert f"params {R50_PARAMS:,} > 25,500,000 (--max) by {R50_PARAMS - 25_500_000:,}" in result.stdout


def test_bad_command_line_limit_is_a_usage_error(run):
    result = run("check", R50, "--max-flops", "4.5X")
    assert result.exit_code == 2 and "--max-flops" in result.stderr and "Traceback" not in result.output


def _line_of(path, text):
    return next(i for i, line in enumerate(open(path).read().splitlines(), 1) if line.startswith(text))


def test_spec_budget_over_exit_1_and_github_annotation(run, write_spec):
    path = write_spec("name: small\ninput: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3, pad: 1}\n"
                      "budget:\n  flops: 6.9K\n  params: 108\n")
    # the conv costs 8*8*4*3*3*3 = 6912 FLOPs and 4*3*3*3 = 108 params
    result = run("check", path, env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1
    line = _line_of(path, "budget:")
    assert f"::error file={path},line={line},title=costcalc budget::small: over budget: flops 6.91K > 6.90K by 12 (+0.17%25)" \
        in result.stdout
    assert "params" not in result.stdout.split("::error")[-1]  # 108 of 108 is within budget
    without = run("check", path, env={"GITHUB_ACTIONS": ""})
    assert "::error" not in without.stdout


def test_annotations_keep_json_parseable(run, write_spec):
    path = write_spec("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3, pad: 1}\nbudget: {flops: 1K}\n")
    result = run("check", path, "--format", "json", env={"GITHUB_ACTIONS": "true"})
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 1 == result.exit_code
    (spec,) = doc["specs"]
    assert spec["status"] == "over"
    assert spec["limits"] == [{"total": "flops", "limit": 1000, "actual": 6912, "over": 5912, "ok": False,
                               "source": "spec", "budget": {"file": path, "line": 4}}]
    assert "::error" in result.stderr


@pytest.mark.parametrize("budget, line, col, message", [
    ("budget: {flops: 4.5X}", 4, 17, "budget: flops: '4.5X': unknown suffix 'X'"),
    ("budget:\n  params: 1M\n  flopz: 4G", 6, 3, "budget: unknown total 'flopz' (did you mean 'flops'?)"),
    ("budget: {params: 1.5}", 4, 18, "budget: params: a limit is a count"),
    ("budget: {params: -3}", 4, 18, "budget: params: a limit cannot be negative"),
    ("budget: [1, 2]", 4, 9, "'budget' must be a mapping"),
])
def test_bad_budget_is_a_located_error(run, write_spec, budget, line, col, message):
    path = write_spec(f"input: [3, 8, 8]\nlayers:\n  - relu\n{budget}\n")
    result = run("check", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:{line}:{col}: error: {message}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_directory_argument_and_exit_code_priority(run, tmp_path):
    good = "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3, pad: 1}\nbudget: {flops: 6912}\n"
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(good.replace("6912", "6911"))
    (tmp_path / "notes.txt").write_text("not a spec")
    result = run("check", tmp_path)
    assert result.exit_code == 1
    assert f"{tmp_path}/a.yaml: within budget" in result.stdout
    assert f"{tmp_path}/sub/b.yml: over budget" in result.stdout
    assert result.stdout.strip().endswith("2 specs: 1 within, 1 over budget")
    (tmp_path / "c.yaml").write_text("input: [3, 8, 8]\nlayers: 7\n")
    result = run("check", tmp_path)
    assert result.exit_code == 2  # an unreadable spec outranks a budget exceeded
    assert result.stderr.startswith(f"{tmp_path}/c.yaml:2:9: error: ")
    assert f"{tmp_path}/c.yaml: could not be read" in result.stdout


def test_no_budget_passes_unless_required(run, write_spec):
    path = write_spec("input: [3, 8, 8]\nlayers:\n  - relu\n")
    result = run("check", path)
    assert result.exit_code == 0 and "no budget" in result.stdout
    assert run("check", path, "--require-budget").exit_code == 1


def test_command_line_and_spec_limits_both_apply(run, write_spec):
    path = write_spec("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3, pad: 1}\nbudget: {flops: 7K}\n")
    assert run("check", path).exit_code == 0
    result = run("check", path, "--max-flops", "6K")  # within the spec's 7K, over the command line's 6K
    assert result.exit_code == 1 and "(--max)" in result.stdout


def test_junit_xml(run, tmp_path):
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    (tmp_path / "bad.yaml").write_text("input: [3, 8, 8]\nlayers: 7\n")
    result = run("check", R50, "specs/resnext50_32x4d.yaml", tmp_path / "bad.yaml", "--max-flops", "4.1G",
                 "--junit", junit)
    assert result.exit_code == 2
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert cases[R50].find("failure") is None and cases[R50].find("error") is None
    failure = cases["specs/resnext50_32x4d.yaml"].find("failure")
    # ResNeXt-50's published 4,230,479,872 FLOPs against 4.1G
    assert "flops 4,230,479,872 > 4,100,000,000 (--max) by 130,479,872" in failure.text
    assert cases[str(tmp_path / "bad.yaml")].find("error") is not None


def test_unwritable_junit_file_is_an_error_not_a_traceback(run, tmp_path):
    result = run("check", R50, "--junit", tmp_path / "missing" / "junit.xml")
    assert result.exit_code == 2 and "cannot write the JUnit file" in result.stderr


RX50 = "specs/resnext50_32x4d.yaml"
SHUFFLE = "specs/shufflenet_v2_x1_0.yaml"


def test_fail_on_turns_guideline_violations_into_failures(run):
    """ResNeXt-50 has one grouped 3x3 conv (g = 32) per bottleneck: 3 + 4 + 6 + 3 = 16 G2 violations; ShuffleNet V2
    has none (its only grouped convs are depthwise) and no fork-join block with more than 2 branches."""
    result = run("check", RX50, SHUFFLE, "--fail-on", "G2,G3")
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if not line.startswith("   published: ")]
    assert lines[0].startswith(f"{RX50}: fails guidelines: G2 violated by 16 layers (worst: layer")
    assert lines[1].startswith(f"{SHUFFLE}: within budget: ") and lines[1].endswith("guidelines G2, G3 pass")
    assert run("check", SHUFFLE, "--fail-on", "g2,G3").exit_code == 0


def test_fail_on_alone_is_a_check_even_without_a_budget(run, write_spec):
    path = write_spec("input: [8, 8, 8]\nlayers:\n  - {op: conv, out: 8, k: 3, pad: 1, groups: 4}\n")
    assert run("check", path).stdout.startswith(f"{path}: no budget")
    result = run("check", path, "--fail-on", "G2", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)["specs"][0]
    assert doc["status"] == "over" and doc["guidelines"]["checked"] == ["G2"]
    assert [(v["guideline"], v["layer"]) for v in doc["guidelines"]["violations"]] == [("G2", "conv_0")]
    assert run("check", path, "--fail-on", "G2", "--threshold", "G2.max_groups=4",
               "--threshold", "G2.max_excess=10").exit_code == 0


def test_fail_on_reaches_junit_annotations_csv_and_markdown(run, tmp_path):
    junit = tmp_path / "junit.xml"
    result = run("check", RX50, "--fail-on", "G2", "--junit", junit, env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert len(annotations) == 16 and all("title=costcalc guidelines::resnext50_32x4d: G2 at layer" in a
                                          for a in annotations)
    failure = ET.parse(junit).getroot().find("testsuite/testcase/failure")
    assert failure.text.count("G2 at layer") == 16
    csv_rows = run("check", RX50, "--fail-on", "G2", "--format", "csv").stdout.splitlines()[1:]
    assert sum(",G2," in row for row in csv_rows) == 16
    assert "G2 violated by 16 layers" in run("check", RX50, "--fail-on", "G2", "--format", "markdown").stdout


def test_fail_on_an_unknown_guideline_is_a_usage_error(run):
    result = run("check", R50, "--fail-on", "G5")
    assert result.exit_code == 2 and "unknown guideline 'G5'" in result.stderr


def test_the_core_specs_carry_budgets_and_pass(run):
    for name in ("resnet50", "resnext50_32x4d", "shufflenet_v2_x1_0"):
        spec = read_spec(str(SPECS / f"{name}.yaml"))
        assert spec.budget is not None and set(spec.budget) == {"flops", "params", "memory_access", "activations"}
        # its own section, not one inherited through `extends`
        assert spec.section_locs["budget"].file.endswith(f"{name}.yaml")
    result = run("check", "specs/", "--require-budget")  # every shipped spec carries a budget and keeps to it
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].endswith(" within") and "no budget" not in result.stdout


def test_pre_commit_hook_is_shipped():
    import yaml

    from conftest import ROOT

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "costcalc-check"]
    assert hook["entry"].split()[:2] == ["costcalc", "check"] and hook["language"] == "python"


def test_check_reports_every_independent_error_of_a_spec(run, write_spec):
    path = write_spec("input: [3, 8, 8]\nlayers:\n  - {op: cnov, out: 8, k: 3}\n  - {op: relu, bogus: 1}\n")
    result = run("check", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:3:10: error: layer 'cnov_0': unknown op 'cnov' (did you mean 'conv'?)",
        f"{path}:4:16: error: layer 'relu_1': op 'relu' has no key 'bogus' (it takes: no arguments)",
    ]


def test_threshold_without_fail_on_is_a_usage_error(run):
    result = run("check", R50, "--threshold", "G1.max_ratio=3")
    assert result.exit_code == 2 and "give --fail-on too" in result.stderr
