"""The walker: naming, from/input/split references, blocks, repeat/first/if, variables, extends, totals."""

import pytest

from conftest import SPECS
from costcalc.analysis import analyse, rows
from costcalc.graph import load
from costcalc.ops import COUNT_FIELDS, Counts

ALL_SPECS = sorted(SPECS.rglob("*.yaml"))


def total(items):
    result = Counts()
    for item in items:
        result = result + item.counts
    return result


@pytest.mark.parametrize("path", ALL_SPECS, ids=lambda p: p.stem)
def test_totals_equal_the_sum_of_the_rows_at_every_depth(path):
    report = analyse(load(str(path)))
    assert report.totals == total(report.layers)
    for depth in range(1, report.max_depth + 1):
        assert total(rows(report, depth)) == report.totals
    for name in COUNT_FIELDS:
        assert type(getattr(report.totals, name)) is int
        assert all(type(getattr(layer.counts, name)) is int for layer in report.layers)


def test_batch_multiplies_activations_and_flops_never_params():
    one = analyse(load(str(SPECS / "resnet50.yaml"))).totals
    eight = analyse(load(str(SPECS / "resnet50.yaml"), batch=8)).totals
    assert eight.flops == 8 * one.flops and eight.elementwise_flops == 8 * one.elementwise_flops
    assert eight.activations == 8 * one.activations and eight.params == one.params
    assert eight.memory_access == 8 * (one.memory_access - one.params) + one.params


def test_input_override_changes_spatial_costs_not_params():
    full = analyse(load(str(SPECS / "resnet50.yaml"))).totals
    small = analyse(load(str(SPECS / "resnet50.yaml"), input_shape=(3, 112, 112))).totals
    assert small.params == full.params
    # every conv output has a quarter of the positions except the last stage's 7x7 -> 4x4 (16/49), and fc is unchanged
    assert full.flops // 5 < small.flops < full.flops // 3


def test_set_turns_resnet50_into_resnext50(tmp_path):
    resnext = analyse(load(str(SPECS / "resnet50.yaml"), {"groups": "32", "width_per_group": "4"})).totals
    assert (resnext.params, resnext.flops) == (25_028_904, 4_230_479_872)


def test_names_repeat_first_and_if(write_spec):
    path = write_spec("""
input: [8, 16, 16]
blocks:
  unit:
    args: {out: ~, stride: 1}
    layers:
      - {name: conv, op: conv, out: out, k: 3, stride: stride, pad: 1}
      - relu
      - {name: short, from: input, if: stride != 1 or in_channels != out, op: conv, out: out, k: 1, stride: stride}
      - {name: sum, op: add, from: [relu_1, short]}
layers:
  - {name: stage, block: unit, repeat: 3, args: {out: 16}, first: {stride: 2}}
  - {op: gap}
""")
    graph = load(path)
    names = [n.name for n in graph.nodes]
    assert names == ["stage.0.conv", "stage.0.relu_1", "stage.0.short", "stage.0.sum",
                     "stage.1.conv", "stage.1.relu_1", "stage.1.sum",
                     "stage.2.conv", "stage.2.relu_1", "stage.2.sum", "gap_1"]
    assert graph.tensors[graph.nodes[3].outputs[0]] == (16, 8, 8)
    assert graph.nodes[0].kinds == ("unit x3", "unit", "conv")
    # stage.1 has no projection: its add reads the block input directly
    add = graph.nodes[6]
    assert add.inputs[1] == graph.nodes[3].outputs[0]


def test_split_outputs_and_inline_layers(write_spec):
    path = write_spec("""
input: [16, 8, 8]
layers:
  - {name: split, op: split, sizes: [4, 12]}
  - name: branch
    from: split.1
    layers:
      - {op: conv, out: in_channels, k: 3, pad: 1, groups: in_channels}
      - {op: conv, out: 12, k: 1}
  - {name: cat, op: concat, from: [split.0, branch]}
  - {name: mix, op: shuffle, groups: 2}
""")
    graph = load(path)
    report = analyse(graph)
    assert [l.name for l in report.layers] == ["split", "branch.conv_0", "branch.conv_1", "cat", "mix"]
    assert report.layers[0].outputs == ((1, 4, 8, 8), (1, 12, 8, 8))
    assert report.layers[1].inputs == ("split.1",) and report.layers[3].inputs == ("split.0", "branch.conv_1")
    dw = report.layers[1].counts
    assert dw.flops == 12 * 64 * 9 and dw.params == 12 * 9


def test_variables_in_order_with_lists_and_make_divisible(write_spec):
    path = write_spec("""
input: [3, 32, 32]
vars:
  width: 1.0
  base: make_divisible(32 * width, 8)
  widths: [base, base * 2]
layers:
  - {op: conv, out: "widths[1]", k: 3, pad: 1}
""")
    assert load(path).nodes[0].args["out"] == 64
    assert load(path, {"width": "0.35"}).nodes[0].args["out"] == 32  # make_divisible(11.2) = 16 (>= 8, within 10%)


def test_extends_inherits_and_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("input: [3, 8, 8]\nvars: {c: 4}\nlayers: [{op: conv, out: c, k: 1}]\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\nvars: {c: 6}\n")
    graph = load(str(tmp_path / "child.yaml"))
    assert graph.name == "child" and graph.nodes[0].args["out"] == 6


def test_repeat_zero_is_identity_and_layer_vars(write_spec):
    path = write_spec("""
input: [4, 8, 8]
layers:
  - {op: relu, repeat: 0}
  - {op: conv, out: in_channels * in_height, k: 1}
""")
    graph = load(path)
    assert len(graph.nodes) == 1 and graph.nodes[0].args["out"] == 32


def test_huge_counts_stay_exact_ints(write_spec):
    path = write_spec("input: [100000, 1000, 1000]\nlayers: [{op: conv, out: 100000, k: 1}]\n")
    totals = analyse(load(path, batch=1000)).totals
    assert totals.flops == 1000 * 1000 * 1000 * 100000 * 100000 and type(totals.flops) is int


def test_set_a_list_variable_turns_resnet50_into_resnet101(run):
    """`--set depths=[3,4,23,3]`: torchvision's resnet101 figures (44,549,160 params, 7,801,405,440 FLOPs)."""
    totals = analyse(load(str(SPECS / "resnet50.yaml"), {"depths": "[3, 4, 23, 3]"})).totals
    assert (totals.params, totals.flops) == (44_549_160, 7_801_405_440)
    result = run("report", "specs/resnet50.yaml", "--set", "depths=[3,4,23,3]", "--format", "json")
    assert result.exit_code == 0 and '"depths": [\n   3,\n   4,\n   23,\n   3\n  ]' in result.stdout
    bad = run("report", "specs/resnet50.yaml", "--set", "depths=[3,[4],6,3]")
    assert bad.exit_code == 2 and "a list is used where a number belongs" in bad.stderr


def test_a_repeated_op_evaluates_its_arguments_per_repetition(write_spec):
    path = write_spec("input: [8, 4, 4]\nlayers:\n  - {op: conv, out: in_channels * 2, k: 1, repeat: 3}\n")
    assert [n.args["out"] for n in load(path).nodes] == [16, 32, 64]


def test_block_argument_defaults_see_the_block_input(write_spec):
    path = write_spec("input: [8, 4, 4]\nblocks:\n  b: {args: {width: in_channels * 3}, layers: [{op: conv, out: width, k: 1}]}\n"
                      "layers:\n  - {block: b}\n")
    assert load(path).nodes[0].args["out"] == 24


@pytest.mark.parametrize("text, message", [
    ("input: [8, 4, 4]\nlayers:\n  - {name: a, op: relu}\n  - {op: mul, from: [a, input], repeat: 2}\n",
     "only an op with one input and one output can repeat"),
    ("input: [8, 4, 4]\nlayers:\n  - {name: a, op: split, parts: 2}\n  - {op: relu, from: \"a.\\u00b2\"}\n",
     "'a' has 2 output(s), numbered from 0"),
    ("input: [8, 4, 4]\nlayers:\n  - {name: s, args: {x: 1}, layers: [relu]}\n",
     "an inline 'layers' sequence takes no arguments"),
    ("input: [8, 4, 4]\nvars: {width-mult: 2}\nlayers: [relu]\n", "cannot be used in an expression"),
    ("input: [8, 4, 4]\nvars: {in_channels: 2}\nlayers: [relu]\n", "'in_channels' is reserved"),
    ("input: [8, 4, 4]\nlayers:\n  - {op: conv, out: 8, k: 1, bias: 2}\n", "'bias' must be true or false, not 2"),
    ("input: [8, 4, 4]\nlayers:\n  - {op: maxpool, k: 2, pad: 2}\n", "pad 2 is more than half of the pooling window 2"),
])
def test_review_regressions_are_located_errors(run, write_spec, text, message):
    path = write_spec(text)
    result = run("report", path)
    assert result.exit_code == 2 and result.stderr.startswith(path + ":") and message in result.stderr, result.stderr
