"""costcalc compare: totals deltas against the issue's figures, per-layer deltas against hand-derived conv
formulas, matching by name and by position, and the one-file sweep options."""

import json
import os

import pytest

from conftest import ROOT, SPECS
from costcalc.analysis import analyse
from costcalc.analysis.compare import MATCHED_BY_NAME, MATCHED_BY_POSITION, compare
from costcalc.graph import load
from costcalc.ops import COUNT_FIELDS

GOLDEN = ROOT / "tests" / "golden"
R50, RX50 = "specs/resnet50.yaml", "specs/resnext50_32x4d.yaml"


def conv_flops(h_out, w_out, c_in, c_out, k, groups=1):
    return h_out * w_out * c_out * k * k * c_in // groups


def test_resnet50_vs_resnext50_totals_json(run):
    result = run("compare", R50, RX50, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # the figures issue 4 names
    assert doc["delta"]["flops"] == 141_295_616
    assert doc["delta"]["params"] == -528_128
    # and the published totals of each model (torchvision), independently of the delta
    assert (doc["a"]["flops"], doc["a"]["params"]) == (4_089_184_256, 25_557_032)
    assert (doc["b"]["flops"], doc["b"]["params"]) == (4_230_479_872, 25_028_904)
    assert set(doc["delta"]) == set(COUNT_FIELDS)
    for key in COUNT_FIELDS:
        assert doc["delta"][key] == doc["b"][key] - doc["a"][key]
        assert isinstance(doc["delta"][key], int)
    assert doc["relative"]["flops"] == pytest.approx(141_295_616 / 4_089_184_256)


@pytest.mark.parametrize("depth", [None, 1, 2])
def test_row_deltas_sum_to_total_delta(depth):
    comparison = compare(analyse(load(str(SPECS / "resnet50.yaml"))),
                         analyse(load(str(SPECS / "resnext50_32x4d.yaml"))), depth)
    # ResNeXt-50 is ResNet-50 with other widths: every row lines up by name, none on one side only
    assert all(row.status == "both" and row.matched_by == MATCHED_BY_NAME for row in comparison.rows)
    for key in COUNT_FIELDS:
        assert sum(getattr(row.delta, key) for row in comparison.rows) == getattr(comparison.delta, key)


def test_layer_deltas_match_hand_derived_convs(run):
    doc = json.loads(run("compare", R50, RX50, "--depth", "all", "--format", "json").stdout)
    layers = {row["name"]: row for row in doc["layers"]}
    # layer1.0: 64 input channels at 56x56. ResNet-50 width 64; ResNeXt-50 (32x4d) width 4*32 = 128, conv2 in 32 groups
    conv2 = layers["layer1.0.conv2"]
    assert conv2["a"]["flops"] == conv_flops(56, 56, 64, 64, 3) == 115_605_504
    assert conv2["b"]["flops"] == conv_flops(56, 56, 128, 128, 3, groups=32) == 14_450_688
    assert conv2["delta"]["flops"] == 14_450_688 - 115_605_504
    assert conv2["delta"]["params"] == 128 * 128 * 9 // 32 - 64 * 64 * 9
    conv1 = layers["layer1.0.conv1"]
    assert conv1["delta"]["flops"] == conv_flops(56, 56, 64, 128, 1) - conv_flops(56, 56, 64, 64, 1)
    # layer4.0.conv2 carries the stride: 7x7 output, ResNet width 512, ResNeXt width 4*8*32 = 1024
    conv2 = layers["layer4.0.conv2"]
    assert conv2["delta"]["flops"] == conv_flops(7, 7, 1024, 1024, 3, 32) - conv_flops(7, 7, 512, 512, 3)
    assert layers["fc"]["delta"] == {key: 0 for key in COUNT_FIELDS}


def test_changed_hides_equal_rows(run):
    everything = json.loads(run("compare", R50, RX50, "--depth", "all", "--format", "json").stdout)["layers"]
    changed = json.loads(run("compare", R50, RX50, "--depth", "all", "--changed", "--format", "json").stdout)["layers"]
    names = {row["name"] for row in changed}
    assert "layer1.0.conv2" in names and "layer1.0.conv3" in names  # conv3 reads 128 channels instead of 64
    assert not {"conv1", "bn1", "fc", "layer1.0.bn3", "layer1.0.add"} & names  # same shapes, same counts
    assert len(changed) < len(everything)
    assert all(any(row["delta"].values()) or row["a"]["output"] != row["b"]["output"] for row in changed)


def test_one_file_under_two_settings_equals_two_files(run):
    two_files = json.loads(run("compare", R50, RX50, "--format", "json").stdout)
    sweep = run("compare", R50, "--set-b", "groups=32", "--set-b", "width_per_group=4", "--format", "json")
    assert sweep.exit_code == 0, sweep.output
    doc = json.loads(sweep.stdout)
    assert doc["delta"] == two_files["delta"]
    assert doc["models"]["b"]["label"] == "resnet50 (--set groups=32, --set width_per_group=4)"
    assert doc["models"]["a"]["variables"]["groups"] == 1 and doc["models"]["b"]["variables"]["groups"] == 32


def test_input_variants():
    """--input-b: a resolution sweep. At 112x112 the stem conv has a quarter of the FLOPs: 56*56*64*7*7*3."""
    from click.testing import CliRunner

    from costcalc.cli import main

    result = CliRunner().invoke(main, ["compare", str(SPECS / "resnet50.yaml"), "--input-b", "3x112x112",
                                       "--depth", "all", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    stem = next(row for row in doc["layers"] if row["name"] == "conv1")
    assert stem["a"]["flops"] == 112 * 112 * 64 * 7 * 7 * 3
    assert stem["b"]["flops"] == 56 * 56 * 64 * 7 * 7 * 3
    assert doc["b"]["params"] == doc["a"]["params"] == 25_557_032  # the resolution changes no parameter


def test_matching_by_position_within_a_block(run):
    doc = json.loads(run("compare", GOLDEN / "tiny_a.yaml", GOLDEN / "tiny_b.yaml", "--depth", "all",
                         "--format", "json").stdout)
    got = [(row["a"] and row["a"]["name"], row["b"] and row["b"]["name"], row["status"], row["matched_by"])
           for row in doc["layers"]]
    assert got == [
        ("stem", "stem", "both", MATCHED_BY_NAME),
        ("body.pw", "body.expand", "both", MATCHED_BY_POSITION),   # both 1x1 convs: the same op lines up
        ("body.act", "body.bn", "both", MATCHED_BY_POSITION),      # then the next row of the block, by position
        (None, "body.act2", "only_b", None),                       # B's extra row
        ("head", "tail", "both", MATCHED_BY_POSITION),             # top level: the pooling renamed
    ]
    pw = doc["layers"][1]
    # 1x1 convs on the 4x8x8 stem output: 8*8*8*4 and 8*8*16*4 multiply-adds; 8*4 and 16*4 weights
    assert (pw["a"]["flops"], pw["b"]["flops"], pw["delta"]["flops"]) == (2048, 4096, 2048)
    assert (pw["a"]["params"], pw["b"]["params"]) == (32, 64)
    # totals by hand: stem 8*8*4*3*3*3 = 6912 FLOPs and 108 params; B adds a batchnorm of 16 channels (32 params)
    assert (doc["a"]["flops"], doc["b"]["flops"]) == (6912 + 2048, 6912 + 4096)
    assert (doc["a"]["params"], doc["b"]["params"]) == (108 + 32, 108 + 64 + 32)


def test_rows_only_in_one_side_by_depth(run, write_spec):
    """ResNet-50 at depth 2 against itself with one more bottleneck in stage 3: layer3.6 is only in B."""
    deeper = write_spec("vars: {depths: [3, 4, 7, 3]}\n")
    with open(deeper, "a") as f:  # `extends` takes a path relative to the spec
        f.write(f"extends: {os.path.relpath(SPECS / 'resnet50.yaml', os.path.dirname(deeper))}\n")
    doc = json.loads(run("compare", R50, deeper, "--format", "json").stdout)
    only_b = [row for row in doc["layers"] if row["status"] == "only_b"]
    assert [row["name"] for row in only_b] == ["layer3.6"]
    # an identity bottleneck at 14x14 with 1024 channels, width 256: 1x1 1024->256, 3x3 256->256, 1x1 256->1024
    flops = conv_flops(14, 14, 1024, 256, 1) + conv_flops(14, 14, 256, 256, 3) + conv_flops(14, 14, 256, 1024, 1)
    assert only_b[0]["delta"]["flops"] == flops == doc["delta"]["flops"]
    names = [row["name"] for row in doc["layers"]]
    assert names.index("layer3.6") == names.index("layer3.5") + 1  # placed after the row of B before it


def test_table_shows_both_sides(run):
    result = run("compare", R50, RX50, "--depth", "1", "--exact")
    assert result.exit_code == 0
    assert "+141,295,616" in result.stdout and "-528,128" in result.stdout
    assert "A: resnet50 | B: resnext50_32x4d" in result.stdout


def test_usage_errors(run, write_spec):
    result = run("compare", R50)
    assert result.exit_code == 2 and "give B.yaml" in result.stderr
    bad = write_spec("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3, groups: 2}\n")
    result = run("compare", R50, bad)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{bad}:3:") and ": error: " in result.stderr
    assert "Traceback" not in result.output


def test_guideline_violations_that_appear_and_disappear(run):
    """ResNet-50 -> ResNeXt-50: each of the 16 bottlenecks gains a g = 32 grouped 3x3 conv (16 G2 violations
    appear); the bottleneck width doubles (64 -> 128 at planes 64), so 1x1 convs of ratio 1:4 become 1:2 and their
    G1 violations disappear."""
    doc = json.loads(run("compare", R50, RX50, "--format", "json").stdout)["guidelines"]
    assert doc["violations"]["G2"] == {"a": 0, "b": 16}
    appeared = doc["appeared"]
    assert len(appeared) == 16 and {v["guideline"] for v in appeared} == {"G2"}
    assert {v["layer"] for v in appeared} == {f"layer{s}.{b}.conv2" for s, n in ((1, 3), (2, 4), (3, 6), (4, 3))
                                             for b in range(n)}
    gone = doc["disappeared"]
    assert gone and {v["guideline"] for v in gone} == {"G1"}
    assert doc["violations"]["G1"]["a"] - doc["violations"]["G1"]["b"] == len(gone)  # none appears in G1
    text = run("compare", R50, RX50, "--depth", "1").stdout
    assert "16 appear in B:" in text and "G2 layer1.0.conv2: g = 32" in text
