"""The CLI: exit codes, the JSON schema, golden table output (refresh with COSTCALC_REFRESH_GOLDEN=1)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, assert_golden

COUNT_KEYS = {"flops", "elementwise_flops", "params", "memory_access", "activations"}




@pytest.mark.parametrize("args, name", [
    (["specs/resnet50.yaml"], "report_resnet50.txt"),
    (["specs/resnext50_32x4d.yaml", "--depth", "1", "--exact"], "report_resnext50_depth1_exact.txt"),
    (["specs/shufflenet_v2_x1_0.yaml", "--depth", "all", "--top", "5", "--sort", "memory_access"],
     "report_shufflenet_top5_mac.txt"),
])
def test_table_golden(run, args, name):
    result = run("report", *args)
    assert result.exit_code == 0 and result.stderr == ""
    assert_golden(name, result.stdout)


def test_json_schema_and_ints(run):
    result = run("report", "specs/resnet50.yaml", "--format", "json", "--depth", "1")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert set(doc) >= {"model", "input", "convention", "totals", "layers", "memory_access_unit"}
    assert doc["model"] == "resnet50" and doc["input"] == [1, 3, 224, 224] and doc["convention"] == "paper"
    assert set(doc["totals"]) == COUNT_KEYS and all(type(v) is int for v in doc["totals"].values())
    assert doc["totals"]["flops"] == 4_089_184_256 and doc["totals"]["params"] == 25_557_032
    assert len(doc["layers"]) == 175  # every layer, whatever --depth says
    for layer in doc["layers"]:
        assert {"name", "op", "inputs", "output", "args"} | COUNT_KEYS <= set(layer)
        assert all(type(layer[k]) is int for k in COUNT_KEYS)
    for key in COUNT_KEYS:
        assert sum(layer[key] for layer in doc["layers"]) == doc["totals"][key]
    assert "MACs" not in result.stdout


def test_json_batch_input_and_bytes(run):
    doc = json.loads(run("report", "specs/resnet50.yaml", "--format", "json", "--batch", "2", "--input", "3x160x160",
                         "--bytes", "4").stdout)
    plain = json.loads(run("report", "specs/resnet50.yaml", "--format", "json", "--batch", "2",
                           "--input", "3x160x160").stdout)
    assert doc["input"] == [2, 3, 160, 160] and doc["memory_access_unit"] == "bytes"
    assert doc["totals"]["memory_access"] == 4 * plain["totals"]["memory_access"]
    assert doc["layers"][0]["output"] == [2, 64, 80, 80]


def test_split_output_in_json(run):
    doc = json.loads(run("report", "specs/shufflenet_v2_x1_0.yaml", "--format", "json").stdout)
    split = next(layer for layer in doc["layers"] if layer["op"] == "split")
    assert split["output"] == [[1, 58, 28, 28], [1, 58, 28, 28]]


def test_depth_all_lists_every_layer_and_top_sorts(run):
    every = run("report", "specs/resnet50.yaml", "--depth", "all").stdout
    assert "layer3.5.conv2" in every and every.count("\n") > 175
    top = run("report", "specs/resnet50.yaml", "--depth", "all", "--top", "3", "--exact").stdout
    rows = [line for line in top.splitlines() if line.startswith("│")]
    assert len(rows) == 4  # three layers and the total


def test_help_states_the_conventions(run):
    text = run("report", "--help").stdout
    assert "multiply-adds of conv and fc" in text and "memory access cost" in text and "memory_access" in text


def test_console_script_pipes_plain_text():
    """The installed command, piped: no colour codes, no traceback, deterministic."""
    env = dict(os.environ, NO_COLOR="1")
    out = [subprocess.run([sys.executable, "-m", "costcalc", "report", "specs/resnext50_32x4d.yaml"], cwd=ROOT,
                          capture_output=True, text=True, env=env) for _ in range(2)]
    assert out[0].returncode == 0 and out[0].stdout == out[1].stdout
    assert "\x1b[" not in out[0].stdout and "4.23G" in out[0].stdout
