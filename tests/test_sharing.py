"""`shares:`: a layer that uses an earlier layer's parameters (one module applied at several places). Its params
are 0, its FLOPs and memory access (weights read included) those of its op; checked against closed forms by hand,
the numpy reference (`verify`), and the ONNX round trip (one initializer read twice, read back as `shares:`)."""

import pytest

from costcalc.analysis import analyse
from costcalc.analysis.totals import Cache, totals
from costcalc.errors import SpecError
from costcalc.graph import load

SPEC = """\
name: shared_demo
input: [3, 32, 32]
layers:
  - {name: stem, op: conv, out: 16, k: 3, stride: 2, pad: 1, bias: true}
  - {name: cpe, op: conv, out: 16, k: 3, pad: 1, groups: 16, bias: true}
  - {name: add1, op: add, from: [stem, cpe]}
  - {name: cpe_again, op: conv, out: 16, k: 3, pad: 1, groups: 16, bias: true, shares: cpe}
  - {name: down, op: conv, out: 16, k: 3, stride: 2, pad: 1}
  - {name: head, op: conv, out: 16, k: 3, pad: 1, from: add1}
  - {name: head_small, op: conv, out: 16, k: 3, pad: 1, from: down, shares: head}
  - {name: gap, op: gap}
  - flatten
  - {name: fc, op: fc, out: 16}
  - {name: fc_again, op: fc, out: 16, shares: fc}
"""
# by hand: stem 16*3*9 + 16, cpe 16*9 + 16, down and head 16*16*9 each, fc 16*16 + 16; the sharing layers none
PARAMS = (16 * 3 * 9 + 16) + (16 * 9 + 16) + 2 * 16 * 16 * 9 + (16 * 16 + 16)


def test_a_sharing_layer_has_no_params_and_costs_its_own_arithmetic(write_spec):
    graph = load(write_spec(SPEC))
    nodes = {node.name: node for node in graph.nodes}
    assert analyse(graph).totals.params == PARAMS == 5_488
    for name, owner in (("cpe_again", "cpe"), ("head_small", "head"), ("fc_again", "fc")):
        assert nodes[name].shares == owner and nodes[name].counts.params == 0
        assert nodes[owner].counts.params == nodes[owner].result.params > 0
    assert nodes["cpe_again"].counts.flops == nodes["cpe"].counts.flops == 16 * 16 * 16 * 9
    assert nodes["head"].counts.flops == 16 * 16 * 16 * 16 * 9
    assert nodes["head_small"].counts.flops == 8 * 8 * 16 * 16 * 9
    # memory access: input read + output written + the weights read, which a sharing layer reads too
    assert nodes["head_small"].counts.memory_access == 16 * 8 * 8 + 16 * 8 * 8 + 16 * 16 * 9
    assert nodes["fc_again"].counts.memory_access == nodes["fc"].counts.memory_access == 16 + 16 + 16 * 16 + 16


def test_the_numpy_reference_uses_the_owners_weights(write_spec):
    from costcalc.analysis.verify import verify

    result = verify(load(write_spec(SPEC)))
    assert result.passed
    checks = {layer.name: layer for layer in result.layers}
    assert checks["head_small"].params == 0 and checks["head"].params == 16 * 16 * 9
    assert sum(layer.params for layer in result.layers) == PARAMS


def test_the_fast_totals_of_a_sweep_walk_a_sharing_spec(write_spec):
    path = write_spec(SPEC)
    spec = load(path).spec
    cache = Cache()
    for shape in ((3, 32, 32), (3, 64, 64), (3, 64, 64)):
        expected = analyse(load(path, input_shape=shape)).totals
        assert totals(spec, {}, shape, 1, cache, more=True) == expected
        assert totals(spec, {}, shape, 1, cache) == expected


def test_the_timed_totals_of_a_sweep_are_the_whole_graphs_estimate(write_spec):
    from costcalc.analysis.totals import timed
    from costcalc.latency import estimate
    from costcalc.latency.profile import load as load_profile
    from conftest import ROOT

    profile = load_profile(str(ROOT / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml"))
    graph = load(write_spec(SPEC))
    counts, seconds = timed(graph.spec, {}, None, 1, Cache(), profile)
    assert counts == analyse(graph).totals and seconds == estimate(graph, profile).total_s


def test_export_writes_one_initializer_read_twice_and_import_reads_it_back(write_spec, tmp_path):
    onnx = pytest.importorskip("onnx")
    from costcalc.exporters.onnx import export, save
    from costcalc.importers.onnx import to_yaml

    graph = load(write_spec(SPEC))
    for weights in ("random", "none"):
        path = str(tmp_path / f"shared_{weights}.onnx")
        save(export(graph, weights=weights), path)
        model = onnx.load(path, load_external_data=False)
        readers = [n.name for n in model.graph.node if "head.weight" in n.input]
        assert readers == ["head", "head_small"] and sum(i.name == "head.weight" for i in model.graph.initializer) == 1
        assert analyse(load(path)).totals == analyse(graph).totals
        text = to_yaml(path)
        assert text.count("shares:") == 3 and "shares: head," in text
        assert analyse(load(write_spec(text, "imported.yaml"))).totals == analyse(graph).totals


def test_the_weights_of_one_module_applied_twice_count_once():
    """CoaT-Lite Tiny (timm, TorchScript): the two blocks of each stage apply one conv position encoding and one
    conv relative-position encoding (4 convs); the later block's 4 read the earlier's weights: 16 shared layers."""
    pytest.importorskip("onnx")
    import gzip
    import os
    import shutil
    import tempfile

    from conftest import ROOT

    source = ROOT / "tests" / "fixtures" / "onnx" / "models" / "timm_coat_lite_tiny_ts17.onnx.gz"
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "coat_lite_tiny.onnx")
        with gzip.open(source) as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        graph = load(path)
    shared = [node for node in graph.nodes if node.shares]
    assert len(shared) == 16 and all(node.op == "conv" and node.args["groups"] == node.args["out"] for node in shared)
    assert sum(node.result.params for node in shared) == 41 * (64 + 128 + 256 + 320)  # what torch holds once
    assert analyse(graph).totals.params == 5_721_960  # torch's sum(p.numel()), the file's


@pytest.mark.parametrize("change, message", [
    ("shares: nope}", r"shares 'nope', which names no earlier layer"),
    ("shares: stem}", r"shares 'stem', whose 448 parameters have another shape than this layer's 160 "
                      r"\(groups 1 there, 16 here\)"),
    ("shares: add1}", r"shares 'add1', whose op is add, not conv"),
    ("shares: head}", r"shares 'head', which names no earlier layer"),  # a later layer
    ("shares: 3}", r"'shares' names an earlier layer, not int 3"),
])
def test_a_wrong_shares_is_a_located_error(write_spec, run, change, message):
    path = write_spec(SPEC.replace("shares: cpe}", change))
    with pytest.raises(SpecError, match=message) as e:
        load(path)
    assert (e.value.loc.line, e.value.loc.col) == (7, 88)
    result = run("report", path)
    assert result.exit_code == 2 and result.stderr.startswith(f"{path}:7:88: error: layer 'cpe_again': ")
    assert "Traceback" not in result.output


def test_shares_names_one_op_layer_of_the_same_parameters(write_spec):
    block = SPEC.replace("  - flatten\n", "  - {name: blk, layers: [{name: c, op: conv, out: 16, k: 1}, "
                                          "{name: d, op: conv, out: 16, k: 1, shares: c}]}\n"
                                          "  - {name: e, op: conv, out: 16, k: 1, shares: blk.c}\n  - flatten\n")
    graph = load(write_spec(block))
    assert {n.name: n.shares for n in graph.nodes if n.shares}["blk.d"] == "blk.c"
    assert {n.name: n.shares for n in graph.nodes if n.shares}["e"] == "blk.c"
    with pytest.raises(SpecError, match=r"shares 'blk', a block or a group of layers: name one of its layers"):
        load(write_spec(block.replace("shares: blk.c}", "shares: blk}")))
    with pytest.raises(SpecError, match=r"'shares' belongs to an op layer"):
        load(write_spec(SPEC.replace("- {name: down,", "- {name: down, layers: [relu], shares: cpe}\n  - {name: d2,")))
    with pytest.raises(SpecError, match=r"shares 'fc', whose 272 parameters have another shape than this layer's 136 "
                                        r"\(out 16 there, 8 here\)"):
        load(write_spec(SPEC.replace("{name: fc_again, op: fc, out: 16,", "{name: fc_again, op: fc, out: 8,")))
    chain = SPEC + "  - {name: fc_third, op: fc, out: 16, shares: fc_again}\n"
    assert load(write_spec(chain)).nodes[-1].shares == "fc"  # the first owner's
