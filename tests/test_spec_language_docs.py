"""docs/spec-language.md: every complete spec in it loads and does what the page says (its shell commands run in
tests/test_docs_examples.py with every page's)."""

import re
import pytest

from conftest import ROOT
from costcalc.errors import SpecError
from costcalc.graph import load

PAGE = (ROOT / "docs" / "spec-language.md").read_text()
YAML = [block for block in re.findall(r"```yaml\n(.*?)```", PAGE, re.S) if "layers:" in block and "extends:" not in block]


def test_the_page_has_its_examples():
    assert len(YAML) >= 5  # its commands run in tests/test_docs_examples.py, with every page's


@pytest.mark.parametrize("text", YAML, ids=range(len(YAML)))
def test_each_spec_example_loads(write_spec, text):
    graph = load(write_spec(text))
    names = [node.name for node in graph.nodes]
    if "inverted_residual" in text:
        assert "same.add" in names and "down.add" not in names and names[-1] == "down.project"
    if "if: in_channels == expanded" in text:
        assert names == ["expand", "keep"] and len(graph.warnings) == 1
    else:
        assert graph.warnings == []
    if "name: starrelu" in text:  # a learned number and a LayerNorm without shift: 64 + 1 + 1
        from costcalc.analysis import analyse
        assert analyse(graph).totals.params == 64 + 1 + 1
    if "hardswish if hs" in text:
        assert graph.nodes[-1].op == "hardswish"
    if "basic if expansion == 1" in text:
        assert names == ["layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1", "layer1.1.conv2"]
    if "factorised_7x7" in text:
        assert [n.args["k"] for n in graph.nodes if n.op == "conv"] == [(1, 7), (7, 1)]
    if "size: [input_height, input_width]" in text:
        assert graph.tensors[graph.output] == (21, 64, 64)
        assert load(write_spec(text), input_shape=(3, 96, 128)).tensors[-1] == (21, 96, 128)
    if "block: fuse, from: [low, high]" in text:
        assert names[-4:] == ["head.up", "head.fine", "head.coarse", "head.add"]
        assert graph.tensors[graph.output] == (21, 64, 64)
    if "mix is read from outside" in text:
        assert graph.nodes[-1].inputs == (graph.nodes[-2].outputs[0], graph.nodes[2].outputs[0])
        moved = text.replace("  - {name: mix, op: conv, out: 21, k: 1}\n", "") + "  - {name: mix, op: conv, out: 21, k: 1}\n"
        with pytest.raises(SpecError, match=r"layer 'aux.add': from 'mix' names no earlier layer \(earlier layers "
                                            r"here: conv, layer3, layer4\)"):
            load(write_spec(moved))
    if "parallel: true" in text:
        assert graph.tensors[graph.output] == (1024, 65, 65)
        assert graph.nodes[-1].inputs == (graph.nodes[0].outputs[0], *(graph.nodes[k].outputs[0] for k in (3, 6, 9)))
    if "timm's Attention" in text:  # 196 tokens, 4 heads of 16: the projections and the two products by hand
        flops = {node.name: node.result.flops for node in graph.nodes}
        assert flops["attn.scores"] == flops["attn.context"] == 4 * 196 * 196 * 16
        assert sum(flops.values()) == 196 * 64 * 192 + 196 * 64 * 64 + 2 * 4 * 196 * 196 * 16 == 8_128_512
    if "shares: cpe" in text:  # three layers use others' weights: counted once, the arithmetic at each use
        from costcalc.analysis import analyse
        nodes = {node.name: node for node in graph.nodes}
        assert analyse(graph).totals.params == 5_488 and [n.counts.params for n in graph.nodes if n.shares] == [0] * 3
        assert (nodes["head"].counts.flops, nodes["head_small"].counts.flops) == (589_824, 147_456)
    if "position_bias" in text:  # Swin-T's first windows: 2 x HW x M^2 x C, and (2M - 1)^2 x heads learned biases
        nodes = {node.name: node for node in graph.nodes}
        assert nodes["scores"].result.flops + nodes["context"].result.flops == 2 * 56 * 56 * 49 * 96
        assert (nodes["position_bias"].result.params, nodes["mask"].result.params) == (13 * 13 * 3, 0)
    if "no HW x HW matrix" in text:  # linear attention: 4 heads x HW x d x (d + 1) per product
        nodes = {node.name: node for node in graph.nodes}
        assert nodes["kv"].result.flops == nodes["out"].result.flops == 4 * 196 * 16 * 17
        assert graph.tensors[graph.output] == (4, 196, 16)
    if "depth: [1, 224, 224]" in text:
        assert graph.inputs == {"image": 0, "depth": 1} and graph.nodes[1].inputs == (1,)


def test_the_input_error_the_page_shows(run, write_spec):
    shown = re.search(r"^spec\.yaml(:3:12: error: --input .*)$", PAGE, re.M).group(1)
    path = write_spec("name: seg\n\ninput: [3, 2 * H, W]\nvars: {H: 32, W: 32}\nlayers: [{op: resize, size: [H, W]}]\n")
    result = run("report", path, "--input", "3x48x40")
    assert result.exit_code == 2 and result.stderr == path + shown + "\n"


def test_the_warning_the_page_shows(run, tmp_path, monkeypatch):
    shown = re.search(r"^(spec\.yaml:\d+:\d+: warning: .*?)\. \.\.\.$", PAGE, re.M).group(1)
    (tmp_path / "spec.yaml").write_text(next(t for t in YAML if "if: in_channels == expanded" in t))
    monkeypatch.chdir(tmp_path)
    from click.testing import CliRunner

    from costcalc.cli import main

    result = CliRunner().invoke(main, ["report", "spec.yaml", "--format", "json"])
    assert result.exit_code == 0 and result.stderr.startswith(shown)


def test_the_regnet_figures_the_page_gives():
    graph = load(str(ROOT / "specs" / "regnet_x_400mf.yaml"))
    assert graph.variables["stage_depths"] == [1, 2, 7, 12] and graph.variables["stage_widths"] == [32, 64, 160, 400]
    assert "5,495,976 params and 413,812,608 FLOPs" in PAGE
