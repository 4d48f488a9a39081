"""Each kind of bad input of the core issue: exit code 2, one line on stderr, `file:line:col: error: ...`."""

import pytest

CASES = [
    # (id, spec text, line:col, message)
    ("yaml-syntax", "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 8, k: 3\n", "4:1",
     "YAML syntax: a '{' mapping is not closed by '}' (or a ',' is missing between its items)"),
    ("wrong-type", "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: [8], k: 3}\n", "3:21",
     "layer 'conv_0': 'out' must be a whole number, not [8]"),
    ("not-whole", "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 8 * 1.5 + 0.5, k: 3}\n", "3:21",
     "layer 'conv_0': 'out' must be a whole number, not 12.5 (use int(), round() or make_divisible())"),
    ("unknown-op", "input: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 8, k: 3}\n", "3:10",
     "layer 'conv2d_0': unknown op 'conv2d' (did you mean 'conv'?)"),
    ("unknown-key", "input: [3, 8, 8]\nlayers:\n  - {name: c, op: conv, out: 8, k: 3, strides: 2}\n", "3:39",
     "layer 'c': op 'conv' has no key 'strides' (did you mean 'stride'?)"),
    ("unknown-section", "input: [3, 8, 8]\nlayers: [relu]\nlayer: []\n", "3:1",
     "unknown section 'layer' (did you mean 'layers'?)"),
    ("from-unknown", "input: [3, 8, 8]\nlayers:\n  - {name: a, op: conv, out: 8, k: 3}\n  - {op: add, from: [a, b]}\n",
     "4:21", "layer 'add_1': from 'b' names no earlier layer (earlier layers here: a)"),
    ("cycle", "input: [3, 8, 8]\nlayers:\n  - {name: a, op: relu, from: b}\n  - {name: b, op: relu, from: a}\n",
     "3:31", "layer 'a': from 'b': 'b' does not come before this layer (a layer may only read earlier ones, "
             "so the graph has no cycle)"),
    ("add-shapes", "input: [3, 8, 8]\nlayers:\n  - {name: a, op: conv, out: 8, k: 3}\n  - {op: add, from: [a, input]}\n",
     "4:5", "layer 'add_1': add of shapes 8x6x6 and 3x8x8: they do not broadcast (each axis, from the last, equal or "
             "1)"),
    ("concat-hw", "input: [3, 8, 8]\nlayers:\n  - {name: a, op: conv, out: 8, k: 3}\n  - {op: concat, from: [a, input]}\n",
     "4:5", "layer 'concat_1': concat along channels needs equal H and W: input 0 is 8x6x6, input 1 is 3x8x8"),
    ("split-sum", "input: [6, 8, 8]\nlayers:\n  - {op: split, sizes: [2, 3]}\n", "3:24",
     "layer 'split_0': split sizes [2, 3] sum to 5, not in_channels=6"),
    ("kernel-too-large", "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 8, k: 11, pad: 1}\n", "3:27",
     "layer 'conv_0': kernel 11 (dilation 1) is larger than the padded input height 10"),
    ("groups", "input: [48, 8, 8]\nblocks:\n  b: [{name: conv2, op: conv, out: 64, k: 3, groups: 32}]\n"
               "layers:\n  - {name: stage2, block: b}\n", "3:54",
     "layer 'stage2.conv2': groups=32 does not divide in_channels=48"),
    ("unknown-variable", "input: [3, 8, 8]\nvars: {width: 1}\nlayers:\n  - {op: conv, out: 8 * widht, k: 3}\n", "4:25",
     "layer 'conv_0': 'out': unknown variable 'widht' in '8 * widht'"),
    ("unknown-block", "input: [3, 8, 8]\nblocks: {unit: [relu]}\nlayers:\n  - {block: unti}\n", "4:13",
     "layer 'unti_0': unknown block 'unti' (did you mean 'unit'?)"),
    ("missing-arg", "input: [3, 8, 8]\nblocks:\n  b: {args: {c: ~}, layers: [{op: conv, out: c, k: 1}]}\n"
                    "layers:\n  - {name: x, block: b}\n", "5:5", "layer 'x': block 'b' needs argument 'c'"),
    ("recursion", "input: [3, 8, 8]\nblocks:\n  b: [{block: b}]\nlayers:\n  - {name: x, block: b}\n", "3:15",
     "layer 'x.b_0': block 'b' uses itself: blocks may not recurse"),
    ("python-tag", "input: [3, 8, 8]\nlayers: !!python/object/apply:os.system ['true']\n", "2:9",
     "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed: specs hold plain data only"),
    ("attribute", "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: (8).real, k: 1}\n", "3:21",
     "layer 'conv_0': 'out': '(8).real': attribute access is not allowed in an expression"),
    ("empty", "", "1:1", "empty file: a spec is a mapping with at least 'input' and 'layers'"),
    ("not-a-mapping", "- relu\n", "1:1", "a spec is a mapping of sections (name, description, source, extends, "
                                         "input, vars, blocks, layers, ...), not a list"),
]


@pytest.mark.parametrize("text, where, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_spec_is_one_located_line(run, write_spec, text, where, message):
    path = write_spec(text)
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"{path}:{where}: error: {message}\n"


def test_missing_file(run):
    result = run("report", "specs/no_such_model.yaml")
    assert result.exit_code == 2
    assert result.stderr == "specs/no_such_model.yaml:1:1: error: cannot read: No such file or directory\n"


def test_directory_is_not_a_spec(run):
    result = run("report", "specs")
    assert result.exit_code == 2 and result.stderr == "specs:1:1: error: is a directory, not a spec file\n"


def test_set_of_an_unknown_variable_names_the_spec(run):
    result = run("report", "specs/resnet50.yaml", "--set", "group=32")
    assert result.exit_code == 2
    assert result.stderr.startswith("specs/resnet50.yaml:")
    assert "--set group: the spec has no variable 'group' (did you mean 'groups'?)" in result.stderr


def test_bad_option_values_exit_2(run):
    for args in (["--set", "width"], ["--input", "3x0x5"], ["--depth", "zero"], ["--batch", "0"]):
        result = run("report", "specs/resnet50.yaml", *args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.output
