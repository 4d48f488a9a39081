"""The CI gate a reviewer trusts: --max-memory-access (and --max-mac refused, saying what MAC means here), which
gate failed, published figures beside the computed ones (--published), a baseline (--baseline,
--max-increase), --exclude, --convention and --bytes for check, --convention for compare, errors that name the
--set that caused them, zoo names and standard input."""

import json

import pytest

from costcalc.analysis.baseline import parse_increases
from costcalc.analysis.budget import QuantityError

R50, RX50, SHUFFLE = "specs/resnet50.yaml", "specs/resnext50_32x4d.yaml", "specs/shufflenet_v2_x1_0.yaml"
R50_FLOPS, R50_PARAMS, R50_MAC = 4_089_184_256, 25_557_032, 106_445_840


def test_max_memory_access_limits_memory_access_not_multiply_adds(run):
    """ResNet-50's memory access is 106.45M elements and its multiply-adds 4.09G: a 4.0G limit on memory access
    passes, one on FLOPs fails."""
    result = run("check", R50, "--max-memory-access", "4.0G")
    assert result.exit_code == 0, result.output
    assert "memory_access 106.45M of 4.00G (--max)" in result.stdout
    assert run("check", R50, "--max-memory-access", R50_MAC - 1).exit_code == 1
    assert run("check", R50, "--max-flops", "4.0G").exit_code == 1


def test_max_mac_is_refused_with_what_mac_means_here(run):
    result = run("check", R50, "--max-mac", "4.0G")
    assert result.exit_code == 2 and result.stdout == ""
    assert "MAC in costcalc is memory access cost" in result.stderr and "not multiply-accumulates" in result.stderr
    assert "--max-memory-access" in result.stderr and "--max-flops" in result.stderr
    assert "--max-mac" not in run("check", "--help").stdout


@pytest.mark.parametrize("key", ["mac", "MACs"])
def test_a_budget_mac_key_is_a_located_error_saying_which_key(run, write_spec, key):
    path = write_spec(f"input: [3, 8, 8]\nlayers:\n  - relu\nbudget:\n  {key}: 1M\n")
    result = run("check", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:5:3: error: budget: '{key}' is ambiguous: MAC in costcalc is memory "
                                    "access cost")
    assert "write memory_access: for a limit on memory access, or flops: for multiply-adds" in result.stderr


def test_the_summary_names_the_gate_that_failed(run):
    """--fail-on G2 on ResNeXt-50, within its budget: the guideline gate failed, not the budget."""
    result = run("check", RX50, R50, "--fail-on", "G2")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "2 specs: 1 within, 1 fails guidelines"
    assert result.stdout.startswith(f"{RX50}: fails guidelines: G2 violated by 16 layers")
    both = run("check", RX50, "--fail-on", "G2", "--max-flops", "4G")
    assert both.stdout.splitlines()[-1] == "1 spec: 1 over budget and fails guidelines"
    doc = json.loads(run("check", RX50, R50, "--fail-on", "G2", "--format", "json").stdout)
    assert [s["failed"] for s in doc["specs"]] == [["guidelines"], []]
    md = run("check", RX50, "--fail-on", "G2", "--format", "markdown").stdout
    assert "**fails guidelines**" in md and "over budget" not in md


def test_report_shows_published_beside_computed(run):
    text = run("report", R50, "--depth", "1").stdout
    assert (f"published: params {R50_PARAMS:,} = computed, flops {R50_FLOPS:,} = computed (torchvision resnet50"
            in text)
    # MobileNet V1's paper gives 569 million mult-adds; costcalc counts 568,740,352 (within the spec's 2%)
    mobilenet = run("report", "specs/mobilenet_v1.yaml", "--depth", "1", "--exact").stdout
    assert "flops 569,000,000, computed 568,740,352 (-0.05%, within its tolerance 2.0%)" in mobilenet
    doc = json.loads(run("report", R50, "--format", "json").stdout)
    assert doc["published"]["figures"] == [
        {"total": "params", "published": R50_PARAMS, "computed": R50_PARAMS, "difference": 0, "tolerance": 0.0,
         "ok": True},
        {"total": "flops", "published": R50_FLOPS, "computed": R50_FLOPS, "difference": 0, "tolerance": 0.0,
         "ok": True}]
    # another input size is another network: the published figures do not apply
    assert "published" not in run("report", R50, "--input", "3x160x160").stdout
    assert "published" not in json.loads(run("report", R50, "--batch", "2", "--format", "json").stdout)


def test_check_published_fails_beyond_the_tolerance(run, tmp_path):
    spec = tmp_path / "r50.yaml"
    text = open("specs/resnet50.yaml").read().replace(f"flops: {R50_FLOPS}", f"flops: {R50_FLOPS + 1}")
    assert text != open("specs/resnet50.yaml").read()
    spec.write_text(text)
    result = run("check", spec, "--published")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "1 spec: 1 differs from its published figures"
    assert (f"published: params {R50_PARAMS:,} = computed, flops {R50_FLOPS + 1:,}, computed {R50_FLOPS:,} "
            "(-<0.01%, published as exact)") in result.stdout
    assert run("check", spec).exit_code == 0  # shown, not a gate, without --published
    within = tmp_path / "r50_tolerant.yaml"
    within.write_text(text.replace(f"flops: {R50_FLOPS + 1}", f"flops: {R50_FLOPS + 1}\n  tolerance: 0.001"))
    ok = run("check", within, "--published")
    assert ok.exit_code == 0 and "published figures agree" in ok.stdout
    assert run("check", R50, RX50, SHUFFLE, "--published").exit_code == 0
    noted = run("check", R50, "--published", "--set", "num_classes=10")
    assert noted.exit_code == 0 and "note: published figures not compared" in noted.stdout


def test_a_bad_published_section_is_a_located_error(run, write_spec):
    path = write_spec("input: [3, 8, 8]\nlayers:\n  - relu\npublished:\n  flops: 12.5\n")
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:5:10: error: published: flops: a published figure is a whole count")
    typo = write_spec("input: [3, 8, 8]\nlayers:\n  - relu\npublished:\n  flop: 0\n  top1: 76.1\n", "typo.yaml")
    assert "published: unknown key 'flop' (did you mean 'flops'?)" in run("report", typo).stderr
    notes = write_spec("input: [3, 8, 8]\nlayers:\n  - relu\npublished:\n  flops: 0\n  top1: 76.1\n", "n.yaml")
    assert "published: flops 0 = computed" in run("report", notes).stdout  # top1 is a note


@pytest.mark.parametrize("text, expect", [
    ("flops=2%", ("flops", 2, None)), ("params=0", ("params", None, 0)), ("memory_access=1.5%", ("memory_access",
                                                                                                 1.5, None)),
    ("activations=10M", ("activations", None, 10_000_000)),
])
def test_increases(text, expect):
    (increase,) = parse_increases((text,)).values()
    assert (increase.field, increase.percent if increase.percent is None else float(increase.percent),
            increase.count) == expect


@pytest.mark.parametrize("bad", ["flops", "flopz=2%", "flops=-1%", "flops=x%", "flops=2X"])
def test_bad_increases_are_refused(bad):
    with pytest.raises(QuantityError):
        parse_increases((bad,))


def test_baseline_gate(run, tmp_path):
    """ResNeXt-50 against ResNet-50's report as the baseline (the model names differ, so the check's JSON maps
    the path): +3.46% FLOPs fails a 2% gate and passes a 4% one; params shrink."""
    base = tmp_path / "main.json"
    base.write_text(run("report", R50, "--format", "json").stdout)
    same = run("check", R50, "--baseline", base, "--max-increase", "flops=2%")
    assert same.exit_code == 0 and f"flops 4.09G of 4.17G (baseline {R50_FLOPS:,} +2%)" in same.stdout
    doc = json.loads(run("check", R50, "--format", "json").stdout)
    doc["specs"][0]["path"] = RX50
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(doc))
    result = run("check", RX50, "--baseline", moved, "--max-increase", "flops=2%", "--max-increase", "params=0")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{RX50}: over the baseline: flops 4.23G > 4.17G (baseline {R50_FLOPS:,} +2%) "
                                    "by 59.51M (+1.43%)")
    assert "params 25.03M of 25.56M" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 spec: 1 over the baseline"
    limit = R50_FLOPS * 102 // 100
    assert limit == 4_170_967_941 and f"by {4_230_479_872 - limit:,}" in run(
        "check", RX50, "--baseline", moved, "--max-increase", "flops=2%", "--exact").stdout
    assert run("check", RX50, "--baseline", moved, "--max-increase", "flops=4%").exit_code == 0
    alone = run("check", RX50, "--baseline", moved)  # flops, params and memory access may not grow
    assert alone.exit_code == 1 and "memory_access 125.64M > 106.45M" in alone.stdout
    missing = run("check", SHUFFLE, "--baseline", base)
    assert missing.exit_code == 0 and "note: no baseline for shufflenet_v2_x1_0" in missing.stdout


def test_bad_baselines(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run("check", R50, "--baseline", bad)
    assert result.exit_code == 2 and result.stderr.startswith(f"{bad}: error: the baseline is not JSON")
    fv = tmp_path / "fvcore.json"
    fv.write_text(run("report", R50, "--format", "json", "--convention", "fvcore").stdout)
    result = run("check", R50, "--baseline", fv)
    assert result.exit_code == 2 and "the baseline counts with convention 'fvcore', this check with 'paper'" in \
        result.stderr
    same = run("check", R50, "--baseline", fv, "--convention", "fvcore")
    fvcore = json.loads(fv.read_text())["totals"]["flops"]
    assert same.stderr == "" and f"flops {fvcore:,} of {fvcore:,} (baseline" in same.stdout
    assert run("check", R50, "--max-increase", "flops=2%").exit_code == 2  # no --baseline
    assert run("check", R50, "--baseline", fv, "--max-increase", "flopz=2%").exit_code == 2


def test_exclude(run):
    everything = run("check", "specs/").stdout.splitlines()[-1]
    result = run("check", "specs/", "--exclude", "guidelines/*", "--exclude", "shufflenet_v2_x*.yaml")
    assert result.exit_code == 0
    assert "specs/guidelines/" not in result.stdout and "shufflenet_v2_x1_0" not in result.stdout
    n_all, n_left = int(everything.split()[0]), int(result.stdout.splitlines()[-1].split()[0])
    assert n_all - n_left == len(__import__("glob").glob("specs/guidelines/*.yaml")) + 4


def test_check_convention_and_bytes(run):
    """Under --convention fvcore, check limits the FLOPs report --convention fvcore prints (fvcore also counts
    batchnorm); --bytes 4 makes memory access bytes, and a spec's memory_access budget (elements) is checked x 4."""
    fvcore = json.loads(run("report", R50, "--convention", "fvcore", "--format", "json").stdout)["totals"]["flops"]
    assert fvcore > R50_FLOPS
    result = run("check", R50, "--convention", "fvcore", "--max-flops", R50_FLOPS, "--exact")
    assert result.exit_code == 1 and f"flops {fvcore:,} > {R50_FLOPS:,} (--max)" in result.stdout
    in_bytes = run("check", R50, "--bytes", "4", "--max-memory-access", "400M", "--exact")
    assert in_bytes.exit_code == 1
    assert f"memory_access {4 * R50_MAC:,} > 400,000,000 (--max)" in in_bytes.stdout
    assert f"memory_access {4 * R50_MAC:,} of 428,000,000" in in_bytes.stdout  # budget 107M elements x 4 bytes


def test_compare_convention(run):
    result = run("compare", R50, RX50, "--convention", "fvcore", "--format", "json")
    doc = json.loads(result.stdout)
    fvcore = json.loads(run("report", R50, "--convention", "fvcore", "--format", "json").stdout)["totals"]["flops"]
    assert doc["convention"] == "fvcore" and doc["a"]["flops"] == fvcore != R50_FLOPS


def test_errors_caused_by_set_name_the_set(run, write_spec):
    result = run("report", R50, "--set", "groups=0")
    assert result.exit_code == 2
    line = next(i for i, text in enumerate(open(R50).read().splitlines(), 1) if "{name: conv1, op: conv, out: planes" in text)
    assert result.stderr == (f"{R50}:{line}:38: error: layer 'layer1.0.conv1': 'out' must be at least 1, not 0 "
                             "(from --set groups=0)\n")
    both = run("report", R50, "--set", "groups=0", "--set", "num_classes=10")  # only the culprit is named
    assert "(from --set groups=0)\n" in both.stderr
    path = write_spec("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3}\n  - {op: conv, out: 4, k: 3}\n")
    tiny = run("report", path, "--input", "3x4x4")  # 4 -> 2 -> 0: the second 3x3 conv has no output
    assert tiny.exit_code == 2 and tiny.stderr.rstrip().endswith("(from --input 3x4x4)"), tiny.stderr


def test_set_suggestions(run, write_spec):
    result = run("report", R50, "--set", "depths=3,4,6,3")
    assert result.exit_code == 2
    assert "(a list is written in brackets: --set depths=[3,4,6,3])" in result.stderr
    assert run("report", R50, "--set", "depths=[3,4,6,3]").exit_code == 0
    path = write_spec("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, kernel_size: 3}\n")
    assert "op 'conv' has no key 'kernel_size' (did you mean 'k'?)" in run("report", path).stderr


def test_zoo_names_and_stdin(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no specs/ here: the names come from the zoo
    from costcalc.zoo import resolve

    assert resolve("resnet50").endswith("resnet50.yaml") and resolve("guidelines/g1_ratio_1to2").endswith(".yaml")
    assert resolve("no_such_net") == "no_such_net"
    named = run("report", "resnet50", "--format", "json")  # run() works from the repository root
    assert json.loads(named.stdout)["totals"]["flops"] == R50_FLOPS
    text = open(resolve("resnet50")).read()
    from click.testing import CliRunner

    from costcalc.cli import main

    piped = CliRunner().invoke(main, ["report", "-", "--format", "json"], input=text, catch_exceptions=False)
    assert piped.exit_code == 0 and json.loads(piped.stdout)["totals"]["params"] == R50_PARAMS
    bad = CliRunner().invoke(main, ["report", "-"], input="input: [3, 8, 8]\nlayers: [{op: cnov}]\n")
    assert bad.exit_code == 2 and bad.stderr.startswith("<stdin>:2:")


def test_zoo_lists_published_and_computed(run):
    result = run("zoo")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    row = next(line for line in lines if "│ resnet50 " in line)
    assert "25.56M" in row and "4.09G" in row and "equal" in row
    doc = json.loads(run("zoo", "--format", "json").stdout)
    names = [item["name"] for item in doc]
    assert "resnet50" in names and "guidelines/g1_ratio_1to2" in names
    assert all(item["published"] is None or item["published"]["ok"] for item in doc)
    r50 = doc[names.index("resnet50")]
    assert r50["totals"] == {"params": R50_PARAMS, "flops": R50_FLOPS}
