"""Issue 13, the spec language: names (repeat always numbered, unambiguous automatic names) and did-you-mean
suggestions that are only made for real slips."""

import pytest

from costcalc.errors import did_you_mean
from costcalc.graph import load
from costcalc.ops import ALIASES, OPS

OP_NAMES = [*OPS, *ALIASES]


def test_repeat_numbers_its_repetitions_even_when_it_is_one(write_spec):
    path = write_spec("""
input: [8, 4, 4]
vars: {n: 1}
blocks:
  unit: [{name: a, op: relu}]
layers:
  - {name: block1, block: unit, repeat: n}
  - {name: block2, block: unit, repeat: n + 1}
  - {name: act, op: relu6, repeat: 1}
  - {name: once, block: unit}
""")
    names = [node.name for node in load(path).nodes]
    assert names == ["block1.0.a", "block2.0.a", "block2.1.a", "act.0", "once.a"]
    assert load(path).nodes[0].kinds == ("unit x1", "unit", "relu")


def test_automatic_names_are_unambiguous(write_spec):
    lines = ["input: [8, 4, 4]", "layers:"] + ["  - relu"] * 2 + ["  - relu6"] + ["  - relu"] * 60
    names = [node.name for node in load(write_spec("\n".join(lines) + "\n")).nodes]
    assert names[:3] == ["relu_0", "relu_1", "relu6_2"] and names[62] == "relu_62"
    assert len(set(names)) == len(names)


def test_an_explicit_name_that_clashes_with_an_automatic_one_is_a_located_error(run, write_spec):
    path = write_spec("input: [8, 4, 4]\nlayers:\n  - {name: relu_1, op: relu}\n  - relu\n")
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:4:5: error: layer 'relu_1': the name is used twice in this list (the unnamed "
                             "entry at position 1 is named 'relu_1' after its kind and position)\n")


def test_from_reads_an_automatic_name(write_spec):
    path = write_spec("input: [8, 4, 4]\nlayers:\n  - relu6\n  - sigmoid\n  - {op: add, from: [relu6_0, sigmoid_1]}\n")
    graph = load(path)
    assert graph.nodes[2].inputs == (graph.nodes[0].outputs[0], graph.nodes[1].outputs[0])


@pytest.mark.parametrize("word", ["gelu", "attention", "matmul", "elu", "selu", "prelu", "rrelu", "conv3d",
                                  "relu7", "relu16", "mish", "softmax", "layernorm"])
def test_no_suggestion_for_a_different_op(word):
    assert did_you_mean(word, OP_NAMES) == ""


@pytest.mark.parametrize("word, meant", [
    ("cnov", "conv"), ("ocnv", "conv"), ("convv", "conv"), ("cov", "conv"), ("Conv2d", "conv"),
    ("BatchNorm2d", "batchnorm"), ("maxpool2d", "maxpool"), ("leaky-relu", "leaky_relu"), ("sigmod", "sigmoid"),
    ("swich", "swish"), ("hardswsh", "hardswish"), ("concta", "concat"), ("ReLU6", "relu6"),
])
def test_a_slip_of_an_op_name_is_suggested(word, meant):
    assert did_you_mean(word, OP_NAMES) == f" (did you mean '{meant}'?)"


@pytest.mark.parametrize("word, choices, meant", [
    ("widht", ["width", "depth"], "width"), ("grups", ["groups", "width"], "groups"),
    ("strides", ["stride", "pad"], "stride"), ("dilatoin", ["dilation"], "dilation"), ("layer", ["layers"], "layers"),
    ("padding", ["pad", "stride"], None), ("out_channels", ["out"], None), ("kernel", ["k"], None),
])
def test_suggestions_among_keys_and_variables(word, choices, meant):
    assert did_you_mean(word, choices) == (f" (did you mean '{meant}'?)" if meant else "")


def test_a_cli_error_does_not_suggest_a_wrong_op(run, write_spec):
    path = write_spec("input: [8, 4, 4]\nlayers:\n  - {op: rms_norm}\n  - {op: cnov, out: 4, k: 1}\n")
    result = run("report", path)
    assert result.exit_code == 2
    first, second = result.stderr.splitlines()
    assert first.startswith(f"{path}:3:10: error: layer 'rms_norm_0': unknown op 'rms_norm' (known ops: conv, ")
    assert "did you mean" not in first
    assert second == f"{path}:4:10: error: layer 'cnov_1': unknown op 'cnov' (did you mean 'conv'?)"
