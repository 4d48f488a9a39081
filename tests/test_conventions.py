"""Named conventions: costcalc reproduces what fvcore 0.1.5, ptflops 0.7.5 and thop 0.1.1 print, rule by rule.

Independent figures used here:
- the three resnet50 totals the issue names (the tools' own output for torchvision's resnet50 at 224);
- the tools' output for resnext50_32x4d, shufflenet_v2_x1_0 and one-op probe modules, as printed by the tools
  themselves through scripts/tool_flops.py (torch 2.13, torchvision 0.28, fvcore 0.1.5.post20221221,
  ptflops 0.7.5, thop 0.1.1.post2209072238);
- closed forms derived by hand from each tool's source (the arithmetic is written out in each test).
"""

import json

import pytest

from conftest import ROOT, SPECS
from costcalc.analysis import analyse
from costcalc.analysis.conventions import CONVENTIONS, ConventionError, Site, by_op, count, recount
from costcalc.graph import build, load
from costcalc.ops import OPS
from costcalc.spec.reader import read_spec

SPEC_FILES = sorted(SPECS.rglob("*.yaml"))


def total(path, name, **kw):
    return sum(recount(load(str(path), **kw), name))


# ---- whole networks ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, flops", [
    ("paper", 4_089_184_256),  # torchvision's published conv + fc multiply-adds
    ("fvcore", 4_111_512_576),
    ("ptflops", 4_132_436_968),
    ("thop", 4_133_742_592),
])
def test_resnet50_totals_match_each_tool(name, flops):
    assert total(SPECS / "resnet50.yaml", name) == flops


@pytest.mark.parametrize("name, flops", [("fvcore", 4_259_381_248), ("ptflops", 4_286_878_696),
                                         ("thop", 4_288_184_320)])
def test_resnext50_totals_match_each_tool(name, flops):
    assert total(SPECS / "resnext50_32x4d.yaml", name) == flops


@pytest.mark.parametrize("name, flops", [("fvcore", 148_808_392), ("ptflops", 152_387_568), ("thop", 152_708_792)])
def test_shufflenet_v2_totals_match_each_tool(name, flops):
    """torchvision's ShuffleNetV2 pools with x.mean([2, 3]), which no tool counts: the spec's op `mean`."""
    assert total(SPECS / "shufflenet_v2_x1_0.yaml", name) == flops


def test_resnet50_differences_by_op_derived_by_hand():
    """Where the tools part ways on resnet50: 11,113,984 batchnorm outputs (the conv outputs), 9,608,704 relu
    outputs, a 64x112x112 maxpool input, a 2048x7x7 pool input, a 1000-unit fc bias."""
    table = {op: {k: row[k] for k in ("paper", "full", "fvcore", "ptflops", "thop")}
             for op, row in by_op(load(str(SPECS / "resnet50.yaml"))).items()}
    bn, relu, pool_in, gap_in = 11_113_984, 9_608_704, 64 * 112 * 112, 2048 * 7 * 7
    assert table["bn"] == {"paper": 0, "full": 2 * bn, "fvcore": 2 * bn, "ptflops": 2 * bn, "thop": 4 * bn}
    assert table["relu"] == {"paper": 0, "full": relu, "fvcore": 0, "ptflops": 2 * relu, "thop": 0}
    assert table["maxpool"]["ptflops"] == 2 * pool_in and table["maxpool"]["fvcore"] == table["maxpool"]["thop"] == 0
    assert table["gap"] == {"paper": 0, "full": gap_in, "fvcore": gap_in, "ptflops": 2 * gap_in, "thop": 2048 * 50}
    assert table["fc"]["ptflops"] - table["fc"]["paper"] == 1000
    assert {table["add"][n] for n in ("fvcore", "ptflops", "thop")} == {0}


@pytest.mark.parametrize("name, flops", [("fvcore", 8_223_025_152), ("thop", 8_267_485_184)])
def test_resnet50_batch_of_two_matches_each_tool(name, flops):
    """fvcore and thop count the whole batch (their figures for a 2x3x224x224 input); ptflops runs one sample."""
    assert total(SPECS / "resnet50.yaml", name, batch=2) == flops


@pytest.mark.parametrize("name", ["fvcore", "ptflops", "thop", "full"])
def test_batch_multiplies_every_convention(name):
    path = SPECS / "resnet50.yaml"
    assert total(path, name, batch=3) == 3 * total(path, name)


# ---- paper and full against the ops' own columns ------------------------------------------------------------------

EVERY_OP = """
name: every_op
input: [8, 16, 16]
layers:
  - {name: conv, op: conv, out: 16, k: 3, pad: 1, bias: true}
  - {name: dw, op: conv, out: 16, k: 3, stride: 2, pad: 1, groups: 16}
  - {name: grouped, op: conv, out: 32, k: 1, groups: 4}
  - {name: bn, op: bn}
  - {name: relu, op: relu}
  - {name: relu6, op: relu6}
  - {name: leaky, op: leaky_relu}
  - {name: sigmoid, op: sigmoid}
  - {name: tanh, op: tanh}
  - {name: swish, op: swish}
  - {name: hsig, op: hardsigmoid}
  - {name: hswish, op: hardswish}
  - {name: scale, op: scale, factor: 0.2}
  - {name: se_pool, op: gap}
  - {name: se_fc, op: conv, out: 32, k: 1, bias: true}
  - {name: se_mul, op: mul, from: [scale, se_fc]}
  - {name: add, op: add, from: [se_mul, scale]}
  - {name: split, op: split, parts: 2}
  - {name: cat, op: concat, from: [split.1, split.0]}
  - {name: shuffle, op: shuffle, groups: 2}
  - {name: maxpool, op: maxpool, k: 3, stride: 2, pad: 1}
  - {name: avgpool, op: avgpool, k: 2}
  - {name: mean, op: mean}
  - {name: flatten, op: flatten}
  - {name: dropout, op: dropout, p: 0.2}
  - {name: fc, op: fc, out: 10}
  - {name: fc2, op: fc, out: 5, bias: false}
  - {name: id, op: identity}
  - {name: sel, op: select, out: 3}
"""


MODERN_OPS = """
name: modern_ops
input: [8, 16, 16]
layers:
  - {name: up, op: conv_transpose, out: 8, k: 2, stride: 2, bias: true}
  - {name: ln, op: layernorm}
  - {name: gn, op: groupnorm, groups: 2}
  - {name: ls, op: layer_scale}
  - {name: gelu, op: gelu}
  - {name: gelu_t, op: gelu, approximate: tanh}
  - {name: mish, op: mish}
  - {name: ht, op: hardtanh}
  - {name: sm, op: softmax}
  - {name: pad, op: pad, pad: 1}
  - {name: sl, op: slice, out: 4}
  - {name: down, op: resize, size: [17, 17], mode: bilinear}
  - {name: up2, op: resize, scale: 2}
  - {name: amax, op: adaptive_maxpool, out: [5, 5]}
  - {name: aavg, op: adaptive_avgpool, out: 2, from: up2}
  - {name: frelu, op: relu, call: functional}
"""


TENSOR_OPS = ROOT / "tests" / "data" / "tensor_ops.yaml"  # the generic tensor layer's ops, 1-D and 3-D windows
RECURRENT_OPS = ROOT / "tests" / "data" / "recurrent_ops.yaml"  # lstm, gru, rnn in each of their forms
MORE_OPS = ROOT / "tests" / "data" / "more_ops.yaml"  # the ONNX ops added after the tensor layer: col2im, ...
CUMPROD = ROOT / "tests" / "data" / "more_ops_opset26.yaml"  # cumprod (ONNX's from opset 26 on)


@pytest.fixture
def every_op(write_spec):
    graph = load(write_spec(EVERY_OP))
    assert {node.op for node in graph.nodes} | {n.op for n in load(write_spec(MODERN_OPS)).nodes} \
        | {n.op for n in load(TENSOR_OPS).nodes} | {n.op for n in load(RECURRENT_OPS).nodes} \
        | {n.op for n in load(MORE_OPS).nodes} | {n.op for n in load(CUMPROD).nodes} == set(OPS)
    return graph


@pytest.fixture
def modern_ops(write_spec):
    return load(write_spec(MODERN_OPS))


def graphs(every_op):
    return [every_op, *(load(str(p)) for p in SPEC_FILES), load(str(SPECS / "resnet50.yaml"), batch=2),
            load(TENSOR_OPS, batch=2), load(RECURRENT_OPS, batch=2),
            load(MORE_OPS, batch=2)]


def test_modern_ops_under_each_tool_by_hand(modern_ops):
    """The modern-ops spec, each tool's total written out from its rules (up to `pad`: 8x32x32 = a elements)."""
    a = 8 * 32 * 32
    macs = 16 * 16 * 8 * 8 * 2 * 2       # transposed 2x2/2, 8 -> 8: every input element times 8 * 2 * 2 weights
    down, up2, amax_in = 4 * 17 * 17, 4 * 34 * 34, 4 * 34 * 34
    totals = {name: sum(recount(modern_ops, name)) for name in CONVENTIONS}
    assert totals["paper"] == macs and totals["2xmac"] == 2 * macs
    assert totals["fvcore"] == macs + 5 * a + 5 * a + 4 * down + up2 + up2  # norms, bilinear, nearest, adaptive avg
    assert totals["ptflops"] == (
        macs + a                              # + bias
        + a + 2 * a                           # layernorm 1 (no `affine` attribute), groupnorm 2
        + 2 * a + 2 * a + a                   # gelu twice (hook + F.gelu), softmax once (F.softmax)
        + 2 * down + 2 * up2                  # resize: upsample hook + F.interpolate
        + 2 * amax_in + 2 * up2               # adaptive pools: hook + function
        + 4 * 2 * 2)                          # relu called functionally: F.relu only
    assert totals["thop"] == (
        8 * 32 * 32 * 8 * 2 * 2               # count_convNd: output numel * c_in * k * k
        + 4 * a                               # layernorm; no rule for GroupNorm, GELU, Mish, Hardtanh
        + a // 8 * (3 * 8 - 1)                # softmax over 8 channels
        + 11 * down + up2                     # count_upsample: bilinear 11 per output, nearest 1
        + (17 * 17 + 1) * 4 * 2 * 2)          # count_adap_avgpool 34x34 -> 2x2; the functional relu unseen
    assert totals["yolo"] == 2 * totals["thop"]


def test_call_functional_changes_only_hook_based_tools(write_spec):
    text = "name: f\ninput: [8, 6, 6]\nlayers:\n  - {op: relu%s}\n  - {op: gap%s}\n"
    module, functional = load(write_spec(text % ("", ""))), load(write_spec(text % ((", call: functional",) * 2)))
    for name in ("paper", "full", "fvcore"):
        assert recount(module, name) == recount(functional, name)
    assert recount(module, "ptflops") == [2 * 288, 2 * 288] and recount(functional, "ptflops") == [288, 288]
    assert recount(module, "thop") == [0, 8 * 37] and recount(functional, "thop") == [0, 0]
    assert [n.counts for n in module.nodes] == [n.counts for n in functional.nodes]


def test_paper_equals_the_existing_flops(every_op):
    for graph in graphs(every_op):
        assert recount(graph, "paper") == [node.counts.flops for node in graph.nodes], graph.name


def test_full_equals_flops_plus_elementwise_flops(every_op):
    for graph in graphs(every_op):
        assert recount(graph, "full") == [n.counts.flops + n.counts.elementwise_flops for n in graph.nodes], graph.name


def test_every_convention_has_one_rule_per_op():
    for convention in CONVENTIONS.values():
        assert set(convention.rules) == set(OPS), convention.name
        assert convention.functional is None or set(convention.functional) == set(OPS), convention.name
        assert all(rule.says for rule in convention.rules.values())


def test_an_op_without_a_rule_is_refused_not_counted_zero():
    with pytest.raises(ConventionError, match="no rule for op 'warp'"):
        count(CONVENTIONS["thop"], Site("warp", ((1, 2, 2),), ((1, 2, 2),), {}))


def test_every_op_spec_under_each_tool_by_hand(every_op):
    """The every-op spec, each tool's total written out from its rules."""
    conv = 16 * 16 * 16 * 9 * 8          # 3x3, 8 -> 16, 16x16 out
    dw = 16 * 8 * 8 * 9                  # depthwise 3x3 stride 2: 16x8x8 out, 9 multiply-adds each
    grouped = 32 * 8 * 8 * (16 // 4)     # 1x1, 16 -> 32, 4 groups
    se_fc = 32 * 32                      # 1x1 conv on 32x1x1
    fc = 32 * 10
    fc2 = 10 * 5                         # after fc: 10 -> 5, no bias
    macs = conv + dw + grouped + se_fc + fc + fc2
    x = 32 * 8 * 8                       # the feature map from `grouped` to `add`
    bias = 16 * 16 * 16 + 32 + 10        # conv, se_fc and fc biases
    assert sum(recount(every_op, "fvcore")) == macs + 2 * x + x  # bn 2/element, gap 1/input element
    assert sum(recount(every_op, "thop")) == macs + 4 * x + 32 * (64 + 1) + 32 * 2 * 2  # bn, gap, avgpool output
    assert sum(recount(every_op, "ptflops")) == (
        macs + bias + 2 * x  # bn
        + 2 * x + x + x      # relu twice (hook + F.relu), relu6 and leaky_relu once (hook only)
        + x                  # swish: F.silu patched, no module hook
        + 2 * x              # gap: hook + F.adaptive_avg_pool2d, per input element
        + 2 * x              # maxpool on 32x8x8: hook + F.max_pool2d, per input element
        + 2 * 32 * 4 * 4)    # avgpool on 32x4x4: hook + F.avg_pool2d, per input element


# ---- one rule at a time: hand-derived formulas, and the tools' own figures on one-op probes ------------------------

def site(op, inputs, outputs, **args):
    return Site(op, tuple(inputs), tuple(outputs), args)


CONV = dict(k=(3, 3), stride=(1, 1), pad=(1, 1), dilation=(1, 1))


def test_batchnorm_under_fvcore_is_two_per_element_in_eval_mode():
    bn = site("bn", [(64, 56, 56)], [(64, 56, 56)])
    assert count(CONVENTIONS["fvcore"], bn) == 2 * 64 * 56 * 56
    assert count(CONVENTIONS["ptflops"], bn) == 2 * 64 * 56 * 56
    assert count(CONVENTIONS["thop"], bn) == 4 * 64 * 56 * 56  # 2 * numel, doubled for the affine parameters


def test_maxpool_under_ptflops_counts_each_input_element_twice():
    pool = site("maxpool", [(64, 112, 112)], [(64, 56, 56)], k=(3, 3), stride=(2, 2), pad=(1, 1))
    assert count(CONVENTIONS["ptflops"], pool) == 2 * 64 * 112 * 112
    assert count(CONVENTIONS["fvcore"], pool) == count(CONVENTIONS["thop"], pool) == 0
    assert count(CONVENTIONS["full"], pool) == 64 * 56 * 56 * 9


def test_conv_with_bias_under_thop_ignores_the_bias():
    conv = site("conv", [(8, 10, 10)], [(16, 10, 10)], out=16, groups=1, bias=True, **CONV)
    assert count(CONVENTIONS["thop"], conv) == 16 * 10 * 10 * 8 * 9
    assert count(CONVENTIONS["fvcore"], conv) == 16 * 10 * 10 * 8 * 9
    assert count(CONVENTIONS["ptflops"], conv) == 16 * 10 * 10 * (8 * 9 + 1)


def test_adaptive_pool_under_thop_is_window_plus_one_division_per_output():
    gap = site("gap", [(2048, 7, 7)], [(2048, 1, 1)])
    assert count(CONVENTIONS["thop"], gap) == 2048 * (49 + 1)
    assert count(CONVENTIONS["fvcore"], gap) == 2048 * 49
    assert count(CONVENTIONS["ptflops"], gap) == 2 * 2048 * 49


def test_linear_bias_counted_by_ptflops_only():
    fc = site("fc", [(2048,)], [(1000,)], out=1000, bias=True)
    assert count(CONVENTIONS["ptflops"], fc) == 2048 * 1000 + 1000
    assert count(CONVENTIONS["fvcore"], fc) == count(CONVENTIONS["thop"], fc) == 2048 * 1000


X = (8, 10, 10)
# (probe, its Site, {tool: what the tool printed for it}) -- the tools' output through scripts/tool_flops.py
PROBES = [
    ("conv 3x3 + bias", site("conv", [X], [(16, 10, 10)], out=16, groups=1, bias=True, **CONV),
     {"fvcore": 115_200, "ptflops": 116_800, "thop": 115_200}),
    ("grouped conv g=2 + bias, stride 2", site("conv", [X], [(16, 5, 5)], out=16, groups=2, bias=True,
                                               **{**CONV, "stride": (2, 2)}),
     {"fvcore": 14_400, "ptflops": 14_800, "thop": 14_400}),
    ("depthwise conv", site("conv", [X], [X], out=8, groups=8, bias=False, **CONV),
     {"fvcore": 7_200, "ptflops": 7_200, "thop": 7_200}),
    ("fc + bias", site("fc", [(800,)], [(10,)], out=10, bias=True), {"fvcore": 8_000, "ptflops": 8_010, "thop": 8_000}),
    ("bn", site("bn", [X], [X]), {"fvcore": 1_600, "ptflops": 1_600, "thop": 3_200}),
    ("relu", site("relu", [X], [X]), {"fvcore": 0, "ptflops": 1_600, "thop": 0}),
    ("relu6", site("relu6", [X], [X]), {"fvcore": 0, "ptflops": 800, "thop": 0}),
    ("leaky_relu", site("leaky_relu", [X], [X]), {"fvcore": 0, "ptflops": 800, "thop": 0}),
    ("sigmoid", site("sigmoid", [X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("tanh", site("tanh", [X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("swish (nn.SiLU)", site("swish", [X], [X]), {"fvcore": 0, "ptflops": 800, "thop": 0}),
    ("hardsigmoid", site("hardsigmoid", [X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("hardswish", site("hardswish", [X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("scale (x * 0.2)", site("scale", [X], [X], factor=0.2), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("maxpool 3x3/2", site("maxpool", [X], [(8, 5, 5)], k=(3, 3), stride=(2, 2), pad=(1, 1)),
     {"fvcore": 0, "ptflops": 1_600, "thop": 0}),
    ("avgpool 3x3/2", site("avgpool", [X], [(8, 5, 5)], k=(3, 3), stride=(2, 2), pad=(1, 1)),
     {"fvcore": 0, "ptflops": 1_600, "thop": 200}),
    ("gap", site("gap", [X], [(8, 1, 1)]), {"fvcore": 800, "ptflops": 1_600, "thop": 808}),
    ("mean", site("mean", [X], [(8, 1, 1)]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("add (a + b)", site("add", [X, X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("mul (x * s)", site("mul", [X, (8, 1, 1)], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("concat", site("concat", [X, X], [(16, 10, 10)]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("split", site("split", [X], [(4, 10, 10), (4, 10, 10)], parts=2), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("shuffle", site("shuffle", [X], [X], groups=2), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("flatten", site("flatten", [X], [(800,)]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("dropout", site("dropout", [X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("identity", site("identity", [X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("select (torch.index_select)", site("select", [X], [(6, 10, 10)], out=6), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    # the later ops, as printed by the tools through scripts/tool_flops.py (torch 2.14.1, the same tool versions)
    ("layernorm (nn.LayerNorm, channels last)", site("layernorm", [X], [X]),
     {"fvcore": 4_000, "ptflops": 800, "thop": 3_200}),
    ("layernorm (torchvision's LayerNorm2d)", site("layernorm", [X], [X], call="functional"),
     {"fvcore": 4_000, "ptflops": 0, "thop": 0}),
    ("groupnorm", site("groupnorm", [X], [X], groups=2), {"fvcore": 4_000, "ptflops": 1_600, "thop": 0}),
    ("hardtanh", site("hardtanh", [X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("gelu", site("gelu", [X], [X], approximate="none"), {"fvcore": 0, "ptflops": 1_600, "thop": 0}),
    ("gelu tanh", site("gelu", [X], [X], approximate="tanh"), {"fvcore": 0, "ptflops": 1_600, "thop": 0}),
    ("mish", site("mish", [X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("softmax", site("softmax", [X], [X]), {"fvcore": 0, "ptflops": 800, "thop": 2_300}),
    ("layer_scale", site("layer_scale", [X], [X]), {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("resize x2 nearest (nn.Upsample)", site("resize", [X], [(8, 20, 20)], scale=2, mode="nearest"),
     {"fvcore": 3_200, "ptflops": 6_400, "thop": 3_200}),
    ("resize x2 bilinear (nn.Upsample)", site("resize", [X], [(8, 20, 20)], scale=2, mode="bilinear"),
     {"fvcore": 12_800, "ptflops": 6_400, "thop": 35_200}),
    ("resize to 7x13 nearest (F.interpolate)", site("resize", [X], [(8, 7, 13)], size=(7, 13), mode="nearest",
                                                    call="functional"), {"fvcore": 728, "ptflops": 728, "thop": 0}),
    ("resize to 7x13 bilinear (F.interpolate)", site("resize", [X], [(8, 7, 13)], size=(7, 13), mode="bilinear",
                                                     call="functional"), {"fvcore": 2_912, "ptflops": 728, "thop": 0}),
    ("adaptive_avgpool to 3x4", site("adaptive_avgpool", [X], [(8, 3, 4)], out=(3, 4)),
     {"fvcore": 800, "ptflops": 1_600, "thop": 896}),
    ("adaptive_maxpool to 3x4", site("adaptive_maxpool", [X], [(8, 3, 4)], out=(3, 4)),
     {"fvcore": 0, "ptflops": 1_600, "thop": 0}),
    ("relu functional (F.relu)", site("relu", [X], [X], call="functional"), {"fvcore": 0, "ptflops": 800, "thop": 0}),
    ("relu6 functional (F.relu6)", site("relu6", [X], [X], call="functional"),
     {"fvcore": 0, "ptflops": 800, "thop": 0}),
    ("gap functional (F.adaptive_avg_pool2d)", site("gap", [X], [(8, 1, 1)], call="functional"),
     {"fvcore": 800, "ptflops": 800, "thop": 0}),
    ("gelu functional (F.gelu)", site("gelu", [X], [X], call="functional"), {"fvcore": 0, "ptflops": 800, "thop": 0}),
    ("conv_transpose 3x3/2 + bias", site("conv_transpose", [X], [(6, 20, 20)], out=6, groups=1, bias=True,
                                         output_padding=(1, 1), **{**CONV, "stride": (2, 2)}),
     {"fvcore": 43_200, "ptflops": 45_600, "thop": 172_800}),
    ("conv_transpose grouped g=2", site("conv_transpose", [X], [(4, 20, 20)], out=4, groups=2, bias=False,
                                        k=(2, 2), stride=(2, 2), pad=(0, 0), dilation=(1, 1), output_padding=(0, 0)),
     {"fvcore": 6_400, "ptflops": 6_400, "thop": 25_600}),
    ("pad (nn.ZeroPad2d)", site("pad", [X], [(8, 17, 13)], pad=(3, 1), pad_end=(4, 2)),
     {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("slice (x[:, :5])", site("slice", [X], [(5, 10, 10)], out=5, start=0), {"fvcore": 0, "ptflops": 0, "thop": 0}),
]


@pytest.mark.parametrize("probe, s, printed", PROBES, ids=[p[0] for p in PROBES])
def test_one_op_probe_matches_what_the_tool_printed(probe, s, printed):
    assert {tool: count(CONVENTIONS[tool], s) for tool in printed} == printed


def test_probes_cover_every_op():
    from test_conventions_tensor import PRINTED  # the generic tensor layer's probes
    from test_col2im import TESTED as FOLD  # col2im: nn.Fold against what the tools printed
    from test_more_ops import TESTED as MORE  # their torch forms against what the tools printed
    from test_recurrent import TESTED as RECURRENT  # lstm, gru, rnn: whole modules against what the tools printed

    assert {s.op for _, s, _ in PROBES} | {s.op for _, s, _ in PRINTED} | RECURRENT | FOLD | MORE == set(OPS)


# ---- the command line -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, flops", [("paper", 4_089_184_256), ("full", 4_128_447_976),
                                         ("fvcore", 4_111_512_576), ("ptflops", 4_132_436_968),
                                         ("thop", 4_133_742_592)])
def test_cli_json_names_the_convention_and_sums_its_flops(run, name, flops):
    result = run("report", "specs/resnet50.yaml", "--convention", name, "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["convention"] == name
    assert doc["totals"]["flops"] == flops == sum(layer["flops"] for layer in doc["layers"])
    assert doc["totals"]["elementwise_flops"] == 39_263_720  # costcalc's own column keeps its meaning


def test_cli_table_header_names_the_convention(run):
    result = run("report", "specs/resnet50.yaml", "--convention", "thop", "--exact")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0]
    assert "convention: thop (FLOPs as thop 0.1.1 profile() counts them)" in header
    assert "4,133,742,592" in result.stdout and "FLOPs (thop)" in result.stdout
    default = run("report", "specs/resnet50.yaml")
    assert "convention: paper (FLOPs = conv + fc + matmul multiply-adds, bias not counted)" in default.stdout.splitlines()[0]


def test_cli_rejects_an_unknown_convention(run):
    result = run("report", "specs/resnet50.yaml", "--convention", "flopco")
    assert result.exit_code == 2
    assert "flopco" in result.stderr


def test_cli_explain_conventions_without_a_spec(run):
    result = run("report", "--explain-conventions")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for op in OPS:
        assert op in lines
    assert "  thop       count_normalization: 2 per input element, doubled when affine: 4" in lines


def test_cli_explain_conventions_with_a_spec_shows_where_tools_part_ways(run):
    result = run("report", "--explain-conventions", "specs/resnet50.yaml", "--exact")
    assert result.exit_code == 0
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in result.stdout.splitlines() if line.startswith("│")}
    assert list(CONVENTIONS) == ["paper", "full", "2xmac", "fvcore", "ptflops", "thop", "yolo", "deepspeed",
                                 "calflops"]
    assert rows["bn"] == ["0", "22,227,968", "0", "22,227,968", "22,227,968", "44,455,936", "88,911,872",
                          "22,227,968", "22,227,968"]
    assert rows["total"] == ["4,089,184,256", "4,128,447,976", "8,178,368,512", "4,111,512,576", "4,132,436,968",
                             "4,133,742,592", "8,267,485,184", "8,211,108,352", "8,211,108,352"]


def test_cli_report_still_needs_a_spec(run):
    result = run("report")
    assert result.exit_code == 2
    assert "SPEC" in result.stderr


def test_analyse_keeps_paper_by_default_and_counts_under_a_convention():
    graph = build(read_spec(str(SPECS / "resnet50.yaml")))
    assert analyse(graph).convention == "paper"
    report = analyse(graph, convention="ptflops")
    assert report.convention == "ptflops" and report.totals.flops == 4_132_436_968
    assert report.totals.params == 25_557_032


def test_cli_explain_conventions_as_json(run):
    result = run("report", "--explain-conventions", "specs/resnet50.yaml", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert set(doc["conventions"]) == set(CONVENTIONS) and set(doc["rules"]) == set(OPS)
    assert doc["totals"]["fvcore"] == 4_111_512_576 and doc["flops_by_op"]["relu"]["ptflops"] == 19_217_408


def test_cli_explain_conventions_with_a_bad_spec_is_one_located_error(run, write_spec):
    path = write_spec("name: x\ninput: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3, groups: 2}\n")
    result = run("report", "--explain-conventions", path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and ":4:" in result.stderr and "error: " in result.stderr


def test_cli_offers_exactly_the_conventions_of_the_analysis():
    from costcalc.cli import CONVENTION_NAMES

    assert CONVENTION_NAMES == tuple(CONVENTIONS)


@pytest.mark.parametrize("entry, message", [
    ("{op: relu, call: functionl}", "'call' is one of module, functional, not functionl (did you mean 'functional'?)"),
    ("{op: resize, scale: 2, mode: bilnear}", "'mode' is one of nearest, bilinear, bicubic, not bilnear (did you mean 'bilinear'?)"),
    ("{op: gelu, approximate: 2}", "'approximate' is one of none, tanh, not 2"),
])
def test_a_bad_word_is_one_located_error(run, write_spec, entry, message):
    path = write_spec(f"name: x\ninput: [4, 8, 8]\nlayers:\n  - {entry}\n")
    result = run("report", path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and f"{path}:4:" in result.stderr and message in result.stderr
