"""Issue 13, the spec language: conditional multi-input ops, an op chosen by an expression, list values through
block arguments (each with its closed-form counts and its located errors)."""

import pytest

from costcalc.analysis import analyse
from costcalc.graph import load

SE_BLOCK = """
input: [16, 8, 8]
blocks:
  unit:
    args: {residual: ~, se: ~}
    layers:
      - {name: body, op: conv, out: 16, k: 3, pad: 1}
      - {name: gate, op: sigmoid, if: se}
      - {name: scale, op: mul, from: [body, gate], if: se}
      - {name: add, op: add, from: [scale, input], if: residual}
layers:
  - {name: both, block: unit, args: {residual: true, se: true}}
  - {name: plain, block: unit, args: {residual: false, se: false}}
"""


def test_a_switched_off_multi_input_op_passes_its_first_input(write_spec):
    graph = load(write_spec(SE_BLOCK))
    assert [n.name for n in graph.nodes] == ["both.body", "both.gate", "both.scale", "both.add", "plain.body"]
    plain = graph.nodes[4]
    assert plain.inputs == graph.nodes[3].outputs  # `plain` reads the output of both.add
    assert graph.output == plain.outputs[0]  # scale and add of `plain` are off: body's output is the block's
    totals = analyse(graph).totals
    conv = 8 * 8 * 16 * 9 * 16
    assert totals.flops == 2 * conv
    # sigmoid 3, mul 1, add 1 per element of 16 x 8 x 8
    assert totals.elementwise_flops == (3 + 1 + 1) * 16 * 64


def test_an_op_chosen_by_an_expression(write_spec):
    path = write_spec("""
input: [8, 4, 4]
vars: {hs: true}
blocks:
  act:
    args: {hs: ~}
    layers: [{name: a, op: "hardswish if hs else relu"}, "sigmoid if not hs else tanh"]
layers:
  - {name: one, block: act, args: {hs: hs}}
  - {name: two, block: act, args: {hs: not hs}}
""")
    graph = load(path)
    assert [(n.name, n.op) for n in graph.nodes] == [("one.a", "hardswish"), ("one.layer_1", "tanh"),
                                                     ("two.a", "relu"), ("two.layer_1", "sigmoid")]
    assert [n.op for n in load(path, {"hs": "False"}).nodes] == ["relu", "sigmoid", "hardswish", "tanh"]
    # hardswish 5, tanh 1, relu 1, sigmoid 3 per element of 8 x 4 x 4
    assert analyse(graph).totals.elementwise_flops == (5 + 1 + 1 + 3) * 128


def test_an_op_expression_takes_the_chosen_op_arguments(write_spec):
    path = write_spec("input: [8, 4, 4]\nvars: {down: 1}\nlayers:\n"
                      "  - {op: \"maxpool if down else avgpool\", k: 2}\n")
    assert load(path).nodes[0].op == "maxpool" and load(path, {"down": "0"}).nodes[0].op == "avgpool"
    assert load(path).tensors[load(path).output] == (8, 2, 2)


@pytest.mark.parametrize("text, where, message", [
    ("input: [8, 4, 4]\nvars: {hs: 0}\nlayers:\n  - {op: \"hardswish if hs else 3\"}\n", "4:10",
     "layer 'layer_0': 'op': 'hardswish if hs else 3' gives 3, not an op"),
    ("input: [8, 4, 4]\nlayers:\n  - {op: \"hardswish if hs else relu\"}\n", "3:23",
     "layer 'layer_0': 'op': unknown variable 'hs' in 'hardswish if hs else relu'"),
    ("input: [8, 4, 4]\nvars: {a: 1}\nlayers:\n  - {op: \"a if a else a\"}\n", "4:10",
     "layer 'layer_0': 'op' expression 'a if a else a' names no op (known ops: conv, "),
    ("input: [8, 4, 4]\nvars: {a: 1}\nlayers:\n  - {op: \"relu if a else\"}\n", "4:10",
     "layer 'layer_0': 'op': cannot parse expression 'relu if a else': "),
    ("input: [8, 4, 4]\nvars: {a: 1}\nlayers:\n  - {op: \"relu if a else tanh\", k: 3}\n", "4:33",
     "layer 'layer_0': none of the ops relu, tanh takes 'k'"),
    ("input: [8, 4, 4]\nvars: {a: 1}\nlayers:\n  - {op: \"relu if a else maxpool\", k: 3}\n", "4:36",
     "layer 'layer_0': op 'relu' has no key 'k' (it takes: no arguments)"),
])
def test_op_expression_errors_are_located(run, write_spec, text, where, message):
    path = write_spec(text)
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:{where}: error: {message}"), result.stderr
    assert len(result.stderr.splitlines()) == 1


INCEPTION = """
input: [16, 17, 17]
blocks:
  conv_bn:
    args: {out: ~, k: ~, pad: 0}
    layers: [{name: conv, op: conv, out: out, k: k, pad: pad}, {name: bn, op: bn}, relu]
  factorised:                 # Inception v3's 7x7 as a 1x7 then a 7x1 conv: list arguments passed on
    args: {out: ~, k1: [1, 7], k2: [7, 1]}
    layers:
      - {name: a, block: conv_bn, args: {out: out, k: k1, pad: "[(k1[0] - 1) // 2, (k1[1] - 1) // 2]"}}
      - {name: b, block: conv_bn, args: {out: out, k: k2, pad: "[(k2[0] - 1) // 2, (k2[1] - 1) // 2]"}}
layers:
  - {name: branch, block: factorised, args: {out: 8}}
"""


def test_list_values_pass_through_block_arguments(write_spec):
    graph = load(write_spec(INCEPTION))
    convs = [n for n in graph.nodes if n.op == "conv"]
    assert [(n.args["k"], n.args["pad"]) for n in convs] == [((1, 7), (0, 3)), ((7, 1), (3, 0))]
    assert graph.tensors[graph.output] == (8, 17, 17)
    assert convs[0].counts.flops == 17 * 17 * 8 * 7 * 16 and convs[1].counts.flops == 17 * 17 * 8 * 7 * 8


def test_a_list_variable_gives_split_sizes(write_spec):
    path = write_spec("input: [12, 4, 4]\nvars: {parts: [4, 8]}\nlayers:\n  - {name: s, op: split, sizes: parts}\n"
                      "  - {op: concat, from: [s.1, s.0]}\n")
    assert load(path).tensors[load(path).nodes[0].outputs[1]] == (8, 4, 4)


@pytest.mark.parametrize("value, message", [
    ("[1, 7, 3]", "layer 'c.conv_0': k [1, 7, 3] has 3 values for 2 spatial axes (height, width)"),
    ("[1, 7, 3, 3]", "layer 'c.conv_0': 'k' is one number or one per spatial axis ([height, width]; [length] or "
                     "[depth, height, width] for 1-D and 3-D windows), not a list of 4"),
    ("[1, 0]", "layer 'c.conv_0': 'k' must be at least 1, not 0"),
    ("[1, 2.5]", "layer 'c.conv_0': 'k' must be a whole number, not 2.5 (use int(), round() or make_divisible())"),
])
def test_a_bad_list_argument_is_located_at_the_op_key(run, write_spec, value, message):
    path = write_spec("input: [8, 9, 9]\nblocks:\n  b:\n    args: {k: ~}\n    layers: [{op: conv, out: 8, k: k}]\n"
                      f"layers:\n  - {{name: c, block: b, args: {{k: {value}}}}}\n")
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == f"{path}:5:36: error: {message}\n"


# ---- the in_channels-in-if trap -------------------------------------------------------------------------------

TRAP = """
input: [16, 8, 8]
vars: {expanded: 32}
layers:
  - {name: expand, op: conv, out: expanded, k: 1, if: in_channels != expanded}
  - {name: keep, op: conv, out: expanded, k: 1, if: in_channels == expanded}
"""


def test_alternatives_reading_in_channels_are_warned_about(run, write_spec):
    path = write_spec(TRAP)
    result = run("report", path, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr.startswith(f"{path}:6:53: warning: layer 'keep': its 'if' is the opposite of that of "
                                    "'expand' before it, but in_channels in it is this entry's own input")
    assert len(result.stderr.splitlines()) == 1
    assert [n.name for n in load(path).nodes] == ["expand", "keep"]  # the trap itself: both ran


@pytest.mark.parametrize("first, second", [
    ("in_channels != c", "in_channels == c"), ("in_height > 8", "in_height <= 8"), ("c < in_width", "in_width <= c"),
    ("in_channels == c and c > 1", "not (in_channels == c and c > 1)"), ("not in_channels > c", "in_channels > c"),
])
def test_complementary_conditions_are_recognised(write_spec, first, second):
    path = write_spec(f"input: [4, 8, 8]\nvars: {{c: 4}}\nlayers:\n  - {{op: relu, if: \"{first}\"}}\n"
                      f"  - {{op: relu6, if: \"{second}\"}}\n")
    assert len(load(path).warnings) == 1


@pytest.mark.parametrize("first, second", [
    ("residual", "not residual"),  # no shape in it: exactly one runs
    ("in_channels != c", "in_channels != c"), ("in_channels > c", "in_channels <= c + 1"),
])
def test_no_warning_where_there_is_no_trap(run, write_spec, first, second):
    path = write_spec(f"input: [4, 8, 8]\nvars: {{c: 4, residual: 1}}\nlayers:\n  - {{op: relu, if: \"{first}\"}}\n"
                      f"  - {{op: relu6, if: \"{second}\"}}\n")
    result = run("report", path, "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""


def test_the_shipped_specs_have_no_warning():
    from conftest import SPECS

    for path in sorted(SPECS.rglob("*.yaml")):
        assert load(str(path)).warnings == [], path


# ---- typos in an extends child --------------------------------------------------------------------------------

def test_an_unused_variable_in_an_extends_child_is_an_error(run, tmp_path):
    (tmp_path / "base.yaml").write_text("input: [3, 8, 8]\nvars: {width: 4, depth: 1}\n"
                                        "layers: [{op: conv, out: width, k: 1, repeat: depth}]\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nvars: {widht: 32, extra: 2, depth: 2}\n")
    result = run("report", tmp_path / "child.yaml")
    assert result.exit_code == 2
    child = tmp_path / "child.yaml"
    assert result.stderr.splitlines() == [
        f"{child}:2:8: error: variable 'widht' is used by nothing in this spec or the one it extends "
        "(did you mean 'width'?)",
        f"{child}:2:19: error: variable 'extra' is used by nothing in this spec or the one it extends "
        "(the variables: width, depth)",
    ]
    (tmp_path / "used.yaml").write_text("extends: base.yaml\nvars: {factor: 3}\n"
                                        "layers: [{op: conv, out: width * factor, k: 1}]\n")
    assert load(str(tmp_path / "used.yaml")).nodes[0].args["out"] == 12
