"""Issue 28, the spec language: `--input` on a spec whose input is written with variables, the network's input
size read anywhere (input_height, ...), blocks of several inputs, inline sequences reading the lists around them,
and parallel repeats (one branch per rate, as ASPP has); each with its errors."""

import pytest

from costcalc.analysis import analyse
from costcalc.graph import load
from costcalc.analysis.verify import verify

VARIABLE_INPUT = """
name: seg
input: [3, H, W]
vars: {H: 32, W: 32}
layers:
  - {name: conv, op: conv, out: 8, k: 3, stride: 2, pad: 1}
  - {name: back, op: resize, size: [H, W], mode: bilinear}
"""


def output_shape(graph):
    return graph.tensors[graph.output]


def test_input_option_re_evaluates_the_variables_it_names(write_spec):
    path = write_spec(VARIABLE_INPUT)
    assert output_shape(load(path)) == (8, 32, 32)
    graph = load(path, input_shape=(3, 64, 48))
    assert graph.variables["H"] == 64 and graph.variables["W"] == 48
    assert output_shape(graph) == (8, 64, 48)  # not 32 x 32: the resize reads H and W at the size asked for
    # the conv: 32 x 24 outputs x 8 channels x 27 multiply-adds
    assert analyse(graph).totals.flops == 32 * 24 * 8 * 27


def test_verify_runs_at_the_re_evaluated_shape(run, write_spec):
    path = write_spec(VARIABLE_INPUT)
    result = run("verify", path, "--input", "3x64x48")
    assert result.exit_code == 0 and "PASS" in result.stdout
    assert [line.split("│")[3].strip() for line in result.stdout.splitlines() if "│ back" in line] == ["1x8x64x48"]


def test_input_option_is_refused_where_an_expression_cannot_follow(run, write_spec):
    path = write_spec(VARIABLE_INPUT.replace("[3, H, W]", "[3, 2 * H, W]"))
    assert output_shape(load(path, input_shape=(3, 64, 40))) == (8, 32, 40)  # the size the spec's H gives: kept
    result = run("report", path, "--input", "3x48x40")
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:3:12: error: --input 3x48x40: the input's height is '2 * H' in the spec, not "
                             "48: '2 * H' is 64 with the spec's variables and costcalc does not solve an expression "
                             "for them: set them with --set instead\n")


def test_input_option_against_set_is_refused(run, write_spec):
    path = write_spec(VARIABLE_INPUT)
    result = run("report", path, "--input", "3x64x64", "--set", "H=32")
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:3:12: error: --input 3x64x64: the input's height is 'H' in the spec, not 64: "
                             "--set H=32 gives it 32\n")


def test_one_variable_on_two_axes_takes_one_size(run, write_spec):
    path = write_spec(VARIABLE_INPUT.replace("[3, H, W]", "[3, H, H]"))
    assert output_shape(load(path, input_shape=(3, 40, 40))) == (8, 40, 32)
    result = run("report", path, "--input", "3x40x48")
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:3:8: error: --input 3x40x48: the spec's input is [3, H, H], so 'H' cannot be "
                             "both 40 and 48\n")


def test_the_sweep_follows_the_variables_the_input_binds(write_spec):
    import costcalc

    path = write_spec(VARIABLE_INPUT)
    swept = costcalc.sweep(path, grid={"input": ["3x16x16", "3x64x64", "3x32x32", "3x16x16"]})
    assert [row.totals for row in swept.rows] == [analyse(load(path, input_shape=(3, s, s))).totals
                                                  for s in (16, 64, 32, 16)]
    assert [row.totals.activations for row in swept.rows] == [8 * (s // 2) ** 2 + 8 * s * s for s in (16, 64, 32, 16)]


INPUT_SIZE = """
name: seg
input: [3, 32, 32]
blocks:
  head:
    layers:
      - {name: conv, op: conv, out: 4, k: 1}
      - {name: back, op: resize, size: [input_height, input_width], mode: bilinear}
layers:
  - {name: down, op: conv, out: 8, k: 3, stride: 4, pad: 1}
  - {name: head, block: head}
  - {name: channels, op: conv, out: input_channels, k: 1}
"""


def test_the_network_input_size_is_read_in_blocks(write_spec):
    path = write_spec(INPUT_SIZE)
    assert output_shape(load(path)) == (3, 32, 32)
    assert output_shape(load(path, input_shape=(3, 40, 24))) == (3, 40, 24)
    assert verify(load(path, input_shape=(3, 40, 24))).passed


def test_input_size_is_no_variable_of_vars(run, write_spec):
    path = write_spec("input: [3, 8, 8]\nvars: {h: input_height}\nlayers: [{op: conv, out: h, k: 1}]\n")
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:2:11: error: variable 'h': 'input_height' is the size of the network's input, "
                             "which 'input' computes from the variables: layers and block arguments read it, 'vars' "
                             "and 'input' cannot\n")


def test_input_size_names_are_reserved(run, write_spec):
    path = write_spec("input: [3, 8, 8]\nvars: {input_width: 4}\nlayers: [relu]\n")
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == f"{path}:2:8: error: variable 'input_width' is reserved: expressions already use it\n"


SEVERAL = """
name: two
input: [8, 16, 16]
blocks:
  fuse:                       # inputs: the fine map, then the coarse one
    args: {height: in_height, width: in_width}
    layers:
      - {name: up, op: resize, size: [height, width], from: input.1}
      - {name: cat, op: concat, from: [input.0, up]}
layers:
  - {name: fine, op: conv, out: 8, k: 1}
  - {name: coarse, op: conv, out: 16, k: 3, stride: 2, pad: 1}
  - {name: fuse, block: fuse, from: [fine, coarse]}
  - {name: again, block: fuse, from: [fine, coarse]}
"""


def test_a_block_takes_several_inputs(write_spec):
    graph = load(write_spec(SEVERAL))
    nodes = {node.name: node for node in graph.nodes}
    assert output_shape(graph) == (24, 16, 16)
    assert nodes["fuse.up"].inputs == nodes["coarse"].outputs
    assert nodes["fuse.cat"].inputs == (nodes["fine"].outputs[0], nodes["fuse.up"].outputs[0])
    # the second call is replayed (costcalc.reuse) and reads its own inputs
    assert nodes["again.up"].inputs == nodes["coarse"].outputs
    assert nodes["again.cat"].inputs == (nodes["fine"].outputs[0], nodes["again.up"].outputs[0])
    assert verify(graph).passed


def test_a_block_of_several_inputs_names_which(run, write_spec):
    path = write_spec(SEVERAL.replace("from: input.1}", "from: input.2}"))
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:8:61: error: layer 'fuse.up': from 'input.2': 'input' has 2 output(s), "
                             "numbered from 0\n")
    path = write_spec(SEVERAL.replace("{name: up, op: resize, size: [height, width], from: input.1}",
                                      "{name: up, op: resize, size: [height, width]}"))
    result = run("report", path)
    assert result.exit_code == 2
    assert "layer 'fuse.up': the layer before it has 2 outputs: say which with 'from: <name>.<k>'" in result.stderr


OUTER = """
name: outer
input: [8, 16, 16]
layers:
  - {name: stem, op: conv, out: 8, k: 1}
  - {name: body, op: conv, out: 8, k: 3, pad: 1}
  - name: side
    layers:
      - {name: proj, op: conv, out: 8, k: 1, from: stem}
      - {name: add, op: add, from: [proj, body]}
"""


def test_an_inline_sequence_reads_earlier_names_around_it(write_spec):
    graph = load(write_spec(OUTER))
    nodes = {node.name: node for node in graph.nodes}
    assert nodes["side.proj"].inputs == nodes["stem"].outputs
    assert nodes["side.add"].inputs == (nodes["side.proj"].outputs[0], nodes["body"].outputs[0])


def test_an_inline_sequence_reads_no_later_name(run, write_spec):
    path = write_spec(OUTER + "  - {name: tail, op: relu}\n".replace("tail", "tail") .replace("relu}", "relu}"))
    path = write_spec(OUTER.replace("from: stem}", "from: tail}") + "  - {name: tail, op: relu}\n")
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:9:52: error: layer 'side.proj': from 'tail' names no earlier layer "
                             "(earlier layers here: stem, body)\n")


PARALLEL = """
name: aspp
input: [16, 32, 32]
vars: {rates: [6, 12, 18]}
blocks:
  atrous:
    args: {rate: ~}
    layers: [{name: conv, op: conv, out: 8, k: 3, pad: rate, dilation: rate}, {name: relu, op: relu}]
layers:
  - {name: stem, op: conv, out: 16, k: 1}
  - {name: branches, block: atrous, repeat: len(rates), parallel: true, args: {rate: "rates[i]"}}
  - {name: cat, op: concat, from: [stem, branches]}
  - {name: one, op: relu, from: branches.2}
"""


def test_a_parallel_repeat_gives_one_branch_per_rate(write_spec):
    graph = load(write_spec(PARALLEL))
    nodes = {node.name: node for node in graph.nodes}
    stem = nodes["stem"].outputs[0]
    assert [nodes[f"branches.{r}.conv"].args["dilation"] for r in range(3)] == [(6, 6), (12, 12), (18, 18)]
    assert all(nodes[f"branches.{r}.conv"].inputs == (stem,) for r in range(3))
    assert nodes["cat"].inputs == (stem, *(nodes[f"branches.{r}.relu"].outputs[0] for r in range(3)))
    assert graph.tensors[nodes["cat"].outputs[0]] == (16 + 3 * 8, 32, 32)
    assert nodes["one"].inputs == nodes["branches.2.relu"].outputs
    # each branch: 32 x 32 x 8 outputs x 9 x 16 multiply-adds (the dilation changes no count)
    assert analyse(graph).totals.flops == 32 * 32 * 16 * 16 + 3 * 32 * 32 * 8 * 9 * 16
    assert verify(graph).passed


@pytest.mark.parametrize("entry, where, message", [
    ("{name: b, block: atrous, parallel: true, args: {rate: 1}}", "11:30",
     "layer 'b': 'parallel' needs 'repeat': the number of branches"),
    ("{name: b, op: relu, repeat: 2, parallel: true}", "11:36",
     "layer 'b': 'parallel' repeats a block or an inline 'layers' sequence side by side, not an op (its "
     "repetitions would all be the same)"),
    ("{name: b, block: atrous, repeat: 2, parallel: yes please, args: {rate: 1}}", "11:51",
     "layer 'b': 'parallel' is true or false, not str yes please"),
])
def test_parallel_errors(run, write_spec, entry, where, message):
    path = write_spec(PARALLEL.replace(
        '{name: branches, block: atrous, repeat: len(rates), parallel: true, args: {rate: "rates[i]"}}', entry)
        .replace("from: [stem, branches]", "from: [stem, b]").replace("branches.2", "b"))
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"{path}:{where}: error: {message}"


def test_a_parallel_branch_ends_in_one_output(run, write_spec):
    path = write_spec(PARALLEL.replace("layers: [{name: conv, op: conv, out: 8, k: 3, pad: rate, dilation: rate}, "
                                       "{name: relu, op: relu}]",
                                       "layers: [{name: halves, op: split, parts: 2}]"))
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:11:5: error: layer 'branches': each branch of a parallel repeat must end in a "
                             "layer with one output\n")


def test_a_block_expression_naming_a_variable_too_is_refused(run, write_spec):
    """In `block: "aspp if aspp else fcn"` the name of a block is the block, always true: a variable of that name
    would be silently ignored."""
    path = write_spec("input: [8, 4, 4]\nvars: {aspp: false}\nblocks:\n  aspp: [relu]\n  fcn: [relu6]\n"
                      "layers:\n  - {name: head, block: \"aspp if aspp else fcn\"}\n")
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:7:25: error: layer 'head': 'aspp' is a block and a variable: in the 'block' "
                             "expression it names the block (always true as a condition); rename one\n")


def test_totals_across_settings_follow_the_input_size_a_block_reads(write_spec):
    """A head after a stride-8 conv sees 8 x 8 at inputs 64 and 60: its part, remembered across settings
    (costcalc.analysis.parts), is kept apart by the input_height it reads; every setting equals a fresh report."""
    import costcalc

    spec = INPUT_SIZE.replace("stride: 4", "stride: 8").replace("input: [3, 32, 32]", "input: [3, 32, 32]\nvars: {w: 1}")
    path = write_spec(spec + "  - {name: widen, op: conv, out: w, k: 1}\n")
    model = costcalc.load(path)
    for w, size in enumerate((64, 60, 64, 56, 60, 72, 64), start=1):  # each setting new: taken from parts
        want = analyse(load(path, {"w": str(w)}, input_shape=(3, size, size))).totals
        assert model.totals(set={"w": w}, input=(3, size, size)) == want
