"""The generic tensor layer downstream of ops: report labels and the ShuffleNet V2 guidelines on tokens, 1-D and 3-D
layers (nothing fires on a matmul or softmax for not being a conv; G4 counts the element-wise ops, softmax,
layernorm and the transposes that copy included; a 1x1 conv of any rank and an fc over tokens are G1's)."""

from math import prod

from conftest import ROOT
from costcalc.analysis.guidelines import check, is_elementwise
from costcalc.graph import load
from costcalc.report.labels import describe

SPEC = ROOT / "tests" / "data" / "tensor_ops.yaml"


def test_labels_name_the_rank_the_axis_and_the_equation():
    n4, n3, n5 = ((2, 8, 9, 9),), ((2, 8, 20),), ((2, 8, 3, 9, 9),)
    from costcalc.ops import Uniform

    assert describe("conv", {"k": Uniform((3, 3)), "stride": Uniform((2, 2)), "groups": 1}, n4) == "conv 3x3 s2"
    assert describe("conv", {"k": Uniform((3, 3)), "stride": Uniform((1, 1)), "groups": 8}, n3) == "dwconv1d 3"
    assert describe("maxpool", {"k": (1, 2, 2), "stride": None}, n5) == "maxpool3d 1x2x2"
    assert describe("softmax", {"axis": -1}, n3) == "softmax axis -1" and describe("softmax", {"axis": 1}) == "softmax"
    assert describe("einsum", {"equation": "bhnd, bhmd->bhnm"}) == "einsum bhnd,bhmd->bhnm"
    assert describe("reduce_mean", {"axes": (2, 3), "keepdims": True}) == "reduce_mean axes 2,3"
    assert describe("add", {"value": 3.0}) == "add 3" and describe("mul", {"param": (8, 1, 1)}) == "mul param 8x1x1"


ATTENTION = """
name: mixer
input: [16, 4, 4]
layers:
  - {name: tokens, op: reshape, shape: [16, 16]}
  - {name: t, op: permute, perm: [0, 2, 1]}
  - {name: norm, op: layernorm, axis: -1}
  - {name: q, op: fc, out: 16}
  - {name: k, op: fc, out: 16, from: norm}
  - {name: kt, op: permute, perm: [0, 2, 1]}
  - {name: s, op: matmul, from: [q, kt]}
  - {name: a, op: softmax, axis: -1}
  - {name: o, op: matmul, from: [a, norm]}
  - {name: res, op: add, from: [o, t]}
  - {name: back, op: permute, perm: [0, 2, 1]}
  - {name: map, op: reshape, shape: [16, 4, 4]}
  - {name: pw, op: conv, out: 64, k: 1}
"""


def test_guidelines_on_a_token_mixer(write_spec):
    graph = load(write_spec(ATTENTION), batch=2)
    result = check(graph)
    # the token-wise q and k (16 -> 16 at 16 tokens) are 1x1 convs over the tokens: measured, equal widths, pass
    assert [f.where for f in result["G1"].findings] == ["q", "k", "pw"] and result["G2"].findings == ()
    assert [f.where for f in result["G1"].violations] == ["pw"]
    elementwise = {n.name for n in graph.nodes if is_elementwise(graph, n)}
    # layernorm, softmax, add and the three transposes that copy; not the matmuls, fcs or the reshapes (views)
    assert elementwise == {"norm", "a", "res", "t", "kt", "back"}
    share = dict(result["G4"].summary)["elementwise_share"]
    total = sum(n.counts.memory_access for n in graph.nodes)
    assert share == sum(n.counts.memory_access for n in graph.nodes if n.name in elementwise) / total


def test_g1_and_g2_on_1d_and_3d_convs(write_spec):
    graph = load(write_spec("name: c\ninput: [8, 32]\nlayers:\n  - {name: a, op: conv, out: 32, k: 1}\n"
                            "  - {name: b, op: conv, out: 32, k: 3, pad: 1, groups: 4}\n"
                            "  - {name: v, op: reshape, shape: [16, 4, 4, 4]}\n  - {name: c, op: conv, out: 8, k: 1}\n"))
    result = check(graph)
    g1 = {f.where: dict(f.evidence) for f in result["G1"].findings}
    assert set(g1) == {"a", "c"}
    assert g1["a"]["memory_access"] == 32 * (8 + 32) + 8 * 32  # hw (c1 + c2) + c1 c2: the paper's 1x1 MAC, L = 32
    assert [f.where for f in result["G2"].findings] == ["b"]
    assert dict(result["G2"].findings[0].evidence)["memory_access_g1"] < graph.nodes[1].counts.memory_access


def test_every_tensor_op_is_checked_without_error():
    graph = load(SPEC, batch=2)
    result = check(graph)
    assert all(result[g] for g in ("G1", "G2", "G3", "G4"))
    assert prod(graph.tensors[graph.output]) > 0
