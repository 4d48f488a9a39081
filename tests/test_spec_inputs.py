"""Issue 13, the spec language: a network of several inputs, `input: {image: [3, H, W], depth: [1, H, W]}`, read
with `from: depth`, through report (table and JSON), compare, check and verify."""

import json

import pytest

from costcalc.analysis import analyse
from costcalc.graph import load

RGBD = """
name: rgbd
input: {image: [3, 16, 16], depth: [1, 16, 16]}
layers:
  - {name: rgb, op: conv, out: 8, k: 3, pad: 1}
  - {name: d, op: conv, out: 8, k: 3, pad: 1, from: depth}
  - {name: fuse, op: concat, from: [rgb, d]}
  - {name: pool, op: gap}
budget: {flops: 100K}
"""


def test_two_inputs_read_by_name(write_spec):
    graph = load(write_spec(RGBD))
    assert graph.inputs == {"image": 0, "depth": 1}
    assert graph.tensors[:2] == [(3, 16, 16), (1, 16, 16)]
    rgb, d = graph.nodes[:2]
    assert rgb.inputs == (0,) and d.inputs == (1,)
    assert graph.input_shapes() == {"image": (1, 3, 16, 16), "depth": (1, 1, 16, 16)}
    report = analyse(graph)
    assert [layer.inputs for layer in report.layers[:3]] == [("image",), ("depth",), ("rgb", "d")]
    # 3x3 convs to 8 channels on 16 x 16: 256 * 8 * 9 * c_in multiply-adds each
    assert report.totals.flops == 256 * 8 * 9 * 3 + 256 * 8 * 9 * 1


def test_report_json_names_each_input(run, write_spec):
    path = write_spec(RGBD)
    result = run("report", path, "--format", "json", "--batch", "2")
    assert result.exit_code == 0 and result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["input"] == {"image": [2, 3, 16, 16], "depth": [2, 1, 16, 16]}
    assert doc["layers"][1]["inputs"] == ["depth"]
    table = run("report", path)
    assert table.exit_code == 0 and "input image 1x3x16x16, depth 1x1x16x16" in table.stdout.splitlines()[0]


def test_compare_check_and_verify_take_several_inputs(run, write_spec):
    path = write_spec(RGBD)
    compared = run("compare", path, path, "--format", "json")
    assert compared.exit_code == 0
    assert json.loads(compared.stdout)["models"]["a"]["input"] == {"image": [1, 3, 16, 16], "depth": [1, 1, 16, 16]}
    checked = run("check", path)
    assert checked.exit_code == 0 and "within budget" in checked.stdout
    verified = run("verify", path)
    assert verified.exit_code == 0 and "PASS: all 4 layers agree" in verified.stdout


def test_a_single_input_keeps_its_json_form(run):
    doc = json.loads(run("report", "specs/resnet50.yaml", "--format", "json").stdout)
    assert doc["input"] == [1, 3, 224, 224] and doc["layers"][0]["inputs"] == ["input"]


def test_an_input_no_layer_reads_is_warned_about(run, write_spec):
    path = write_spec("input: {image: [3, 8, 8], mask: [1, 8, 8]}\nlayers: [relu]\n")
    result = run("report", path, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == f"{path}:1:27: warning: input 'mask' is never read: no layer has 'from: mask'\n"


@pytest.mark.parametrize("text, where, message", [
    ("input: {image: [3, 8, 8], depth: []}\nlayers: [relu]\n", "1:34",
     "'input 'depth'' is [C, H, W] (or [F] for a flat input; any shape of 1 to 8 sizes per sample: C x L, L x C "
     "tokens, C x D x H x W)"),
    ("input: {input: [3, 8, 8], depth: [1, 8, 8]}\nlayers: [relu]\n", "1:9",
     "input 'input': 'input' is reserved: with several inputs, name each"),
    ("input: {image: [3, 8, 8], depth: [1, 8, 8]}\nlayers: [{name: depth, op: relu}]\n", "1:27",
     "input 'depth': a layer of the network has this name too"),
    ("input: {image: [3, 8, 8], depth: [1, 8, 8]}\nlayers: [{op: add, from: [input, depth]}]\n", "2:26",
     "layer 'add_0': from 'input': the network has several inputs: name one (image, depth)"),
    ("input: {image: [3, 8, 8], depth: [1, 8, 8]}\nlayers: [{op: relu, from: dpeth}]\n", "2:27",
     "layer 'relu_0': from 'dpeth' names no earlier layer (did you mean 'depth'?)"),
    ("input: {}\nlayers: [relu]\n", "1:8", "'input' names no input: give [C, H, W] or {name: [C, H, W], ...}"),
])
def test_bad_inputs_are_located_errors(run, write_spec, text, where, message):
    path = write_spec(text)
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr == f"{path}:{where}: error: {message}\n"


def test_input_option_is_refused_for_several_inputs(run, write_spec):
    path = write_spec(RGBD)
    result = run("report", path, "--input", "3x8x8")
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:3:8: error: --input gives the shape of a network with one input; this one "
                             "has 2 (image, depth)\n")
