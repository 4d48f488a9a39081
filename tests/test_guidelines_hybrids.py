"""The ShuffleNet V2 guidelines on token mixers (issue 23): G1 on token-wise linears and packed q/k/v projections,
G3's branches and fragments across heads, G4's softmax, layernorm and transposes; each against a closed form by
hand, and over the 13 hybrids of the zoo and the CNN zoo (where nothing of this may change G1 or G3)."""

import glob
import json
from math import isqrt

import pytest

from conftest import ROOT, SPECS
from costcalc.analysis.guidelines import LAYOUT_COPY_OPS, check, g1_bound, is_elementwise
from costcalc.analysis.regions import PRODUCT_OPS, _region, blocks
from costcalc.graph import load

HYBRIDS = ["vit_b_16", "swin_t", "maxvit_t", "mobilevit_xxs", "mobilevit_xs", "mobilevit_s", "efficientvit_b0",
           "levit_128s", "mobilenetv4_conv_small", "mobilenetv4_conv_medium", "mobilenetv4_hybrid_medium",
           "edgenext_xx_small", "fastvit_t8"]
CNNS = sorted({p.split("/")[-1][:-5] for p in glob.glob(str(SPECS / "*.yaml"))} - set(HYBRIDS))


def g1(spec_path):
    return {f.where: f for f in check(load(spec_path))["G1"].findings}


# ---- G1: a token-wise linear is a 1x1 conv over its tokens -------------------------------------------------------


def test_a_token_wise_fc_is_measured_as_the_1x1_conv_over_the_same_positions(write_spec):
    """ViT's MLP fc1 (d -> 4d) at 196 tokens and the same layer as a 1x1 conv on 14 x 14 (ConvNeXt writes it so):
    the same MAC, bound and verdict; before, the fc was not measured at all."""
    tokens = write_spec("name: t\ninput: [64, 14, 14]\nlayers:\n  - {name: flat, op: reshape, shape: [64, 196]}\n"
                        "  - {name: t, op: permute, perm: [0, 2, 1]}\n  - {name: fc1, op: fc, out: 256}\n", "t.yaml")
    conv = write_spec("name: c\ninput: [64, 14, 14]\nlayers:\n  - {name: fc1, op: conv, out: 256, k: 1, bias: true}\n",
                      "c.yaml")
    a, b = g1(tokens)["fc1"], g1(conv)["fc1"]
    mac = 196 * (64 + 256) + 64 * 256 + 256  # hw (c1 + c2) + c1 c2 + bias
    bound = 2 * 196 * isqrt(64 * 256) + 64 * 256 + 256  # 2 hw sqrt(c1 c2) + c1 c2 + bias
    assert a.figures["memory_access"] == b.figures["memory_access"] == mac == 79_360
    assert a.figures["bound"] == b.figures["bound"] == bound == 66_816
    assert a.violated and b.violated and a.why == b.why  # 1:4, as the paper's Table 1 1:6 case: flagged


ATTENTION = """
name: attn
input: [64, 14, 14]
vars: {d: 64, heads: 4}
layers:
  - {name: flat, op: reshape, shape: [d, 196]}
  - {name: t, op: permute, perm: [0, 2, 1]}
  - {name: qkv, op: fc, out: 3 * d}
"""
CUTS = {  # the packed projection's output cut into q, k and v as each library writes it
    "timm_split": """  - {name: view, op: reshape, shape: [196, 3, heads, d // heads]}
  - {name: heads_first, op: permute, perm: [0, 2, 3, 1, 4]}
  - {name: unbind, op: split, axis: 1, parts: 3}
  - {name: kt, op: permute, perm: [0, 1, 2, 4, 3], from: unbind.1}
  - {name: s, op: matmul, from: [unbind.0, kt]}
  - {name: o, op: matmul, from: [s, unbind.2]}
""",
    "torchvision_gather": """  - {name: view, op: reshape, shape: [196, 3, d]}
  - {name: three_first, op: permute, perm: [0, 2, 1, 3]}
  - {name: q, op: gather, axis: 1, from: three_first}
  - {name: k, op: gather, axis: 1, from: three_first}
  - {name: v, op: gather, axis: 1, from: three_first}
  - {name: kt, op: permute, perm: [0, 2, 1], from: k}
  - {name: s, op: matmul, from: [q, kt]}
  - {name: o, op: matmul, from: [s, v]}
""",
    "slices": """  - {name: q, op: slice, axis: -1, start: 0, out: d}
  - {name: k, op: slice, axis: -1, start: d, out: d, from: qkv}
  - {name: v, op: slice, axis: -1, start: 2 * d, out: d, from: qkv}
  - {name: kt, op: permute, perm: [0, 2, 1], from: k}
  - {name: s, op: matmul, from: [q, kt]}
  - {name: o, op: matmul, from: [s, v]}
""",
    "chunk": """  - {name: chunk, op: split, axis: -1, parts: 3}
  - {name: kt, op: permute, perm: [0, 2, 1], from: chunk.1}
  - {name: s, op: matmul, from: [chunk.0, kt]}
  - {name: o, op: matmul, from: [s, chunk.2]}
""",
}


@pytest.mark.parametrize("cut", sorted(CUTS))
def test_a_packed_qkv_projection_is_measured_by_its_parts(write_spec, cut):
    """d -> 3d cut into q, k, v of d each: three d -> d projections reading their input once. Each is of equal
    widths, so the parts' bound, less the two input reads they share, is the layer's MAC exactly: no excess."""
    finding = g1(write_spec(ATTENTION + CUTS[cut]))["qkv"]
    n, d = 196, 64
    mac = n * (d + 3 * d) + d * 3 * d + 3 * d
    assert finding.figures["parts"] == (d, d, d) and finding.figures["ratio"] == 1.0
    assert finding.figures["memory_access"] == finding.figures["bound"] == mac
    assert 3 * g1_bound(n, d, d) - 2 * n * d + 3 * d == mac and not finding.violated


def test_a_projection_read_whole_or_cut_across_tokens_is_measured_whole(write_spec):
    whole = g1(write_spec(ATTENTION + "  - {name: proj, op: fc, out: 64}\n"))["qkv"]
    across = g1(write_spec(ATTENTION + "  - {name: halves, op: split, axis: 1, sizes: [98, 98]}\n"
                                          "  - {name: back, op: concat, axis: 1, from: [halves.1, halves.0]}\n",
                                          "a.yaml"))["qkv"]
    for finding in (whole, across):
        assert "parts" not in finding.figures and finding.figures["ratio"] == 3.0 and finding.violated


def test_narrow_queries_and_keys_are_g1_findings(write_spec):
    """LeViT's layout: per head, q and k of 16 and v of 64 from d = 64: the q and k parts are 4:1, the widths G1
    asks about, and its MAC is over the parts' bound."""
    spec = write_spec(ATTENTION.replace("3 * d", "4 * (16 + 16 + 64)") +
                      "  - {name: view, op: reshape, shape: [196, heads, 96]}\n"
                      "  - {name: parts, op: split, axis: 3, sizes: [16, 16, 64]}\n"
                      "  - {name: join, op: concat, axis: 3, from: [parts.2, parts.0, parts.1]}\n")
    finding = g1(spec)["qkv"]
    n, d = 196, 64
    assert finding.figures["parts"] == (64, 64, 256) and finding.figures["ratio"] == 4.0 and finding.violated
    bound = g1_bound(n, d, 64) * 2 + g1_bound(n, d, 256) - 2 * n * d + 384
    assert finding.figures["bound"] == bound
    assert finding.figures["memory_access"] == n * (d + 384) + d * 384 + 384


# ---- G3: q, k and v are one branch; heads are fragments when they are kernels of their own ----------------------


def _heads_spec(per_head: bool, heads: int = 4, dim: int = 32, n: int = 16) -> str:
    head = dim // heads
    text = f"name: h\ninput: [{n}, {dim}]\nlayers:\n  - {{name: qkv, op: fc, out: {3 * dim}}}\n"
    if not per_head:  # one batched matmul per product, the heads a batch axis
        return text + (f"  - {{name: view, op: reshape, shape: [{n}, 3, {heads}, {head}]}}\n"
                       "  - {name: first, op: permute, perm: [0, 2, 3, 1, 4]}\n"
                       "  - {name: unbind, op: split, axis: 1, parts: 3}\n"
                       "  - {name: kt, op: permute, perm: [0, 1, 2, 4, 3], from: unbind.1}\n"
                       "  - {name: s, op: matmul, from: [unbind.0, kt]}\n  - {name: a, op: softmax, axis: -1}\n"
                       "  - {name: o, op: matmul, from: [a, unbind.2]}\n"
                       "  - {name: merge, op: permute, perm: [0, 1, 3, 2, 4]}\n"
                       f"  - {{name: flat, op: reshape, shape: [{n}, {dim}]}}\n"
                       f"  - {{name: proj, op: fc, out: {dim}}}\n")
    text += f"  - {{name: cut, op: split, axis: -1, parts: {3 * heads}}}\n"  # q0..q3, k0..k3, v0..v3
    for h in range(heads):
        text += (f"  - {{name: kt{h}, op: permute, perm: [0, 2, 1], from: cut.{heads + h}}}\n"
                 f"  - {{name: s{h}, op: matmul, from: [cut.{h}, kt{h}]}}\n  - {{name: a{h}, op: softmax, axis: -1}}\n"
                 f"  - {{name: o{h}, op: matmul, from: [a{h}, cut.{2 * heads + h}]}}\n")
    return text + (f"  - {{name: cat, op: concat, axis: -1, from: [{', '.join(f'o{h}' for h in range(heads))}]}}\n"
                   f"  - {{name: proj, op: fc, out: {dim}}}\n")


def test_heads_in_one_batched_matmul_are_one_branch_and_two_fragments(write_spec):
    """The q/k/v fan-out meets again as the operands of q k^T and attn v: one branch, and two product kernels."""
    (block,) = blocks(load(write_spec(_heads_spec(per_head=False))))
    assert (block.fork, block.join, block.branches, block.fragments) == ("unbind", "o", 1, 2)
    assert check(load(write_spec(_heads_spec(per_head=False))))["G3"].passed


def test_heads_multiplied_one_by_one_are_branches_and_fragments(write_spec):
    """Four heads as separate tensors: 12 paths out of the split, joined per head by its two products into 4
    branches; 2 matmuls per head = 8 fragments. G3 flags both."""
    graph = load(write_spec(_heads_spec(per_head=True)))
    (block,) = blocks(graph)
    assert (block.fork, block.join, block.branches, block.fragments) == ("cut", "cat", 4, 8)
    (finding,) = check(graph)["G3"].violations
    assert finding.why == "4 parallel branches, more than 2; 8 conv, fc, pool and matmul fragments, more than 5"


@pytest.mark.parametrize("name", HYBRIDS)
def test_a_fan_out_that_meets_in_a_product_is_one_branch(name):
    """Every fork of a hybrid whose paths meet again at a matmul or einsum (q, k and v) counts one branch, nested or
    not; the paths' count of readers would be 2 or 3."""
    graph = load(str(SPECS / f"{name}.yaml"))
    consumers: dict = {}
    for i, node in enumerate(graph.nodes):
        for tensor in dict.fromkeys(node.inputs):
            consumers.setdefault(tensor, []).append(i)
    by_name, seen = {n.name: n for n in graph.nodes}, 0
    for i, node in enumerate(graph.nodes):
        tensors = node.outputs if len(node.outputs) > 1 else tuple(
            t for t in node.outputs if len(consumers.get(t, ())) > 1)
        region = _region(graph, consumers, i, tensors) if tensors else None
        if region is not None and by_name[region.join].op in PRODUCT_OPS:
            seen += 1
            assert region.branches == 1, (region.fork, region.join)
    has_attention = any(n.op == "softmax" for n in graph.nodes) or name == "efficientvit_b0"
    assert (seen > 0) == has_attention


# ---- G4: softmax, layernorm and transposes are element-wise passes ----------------------------------------------


def test_g4_share_of_the_example_attention_by_hand():
    """examples/attention.yaml (C = 64 channels, L = 196 tokens, 4 heads): every layer's MAC by hand."""
    graph = load(str(ROOT / "examples" / "attention.yaml"))
    c, n, heads = 64, 196, 4
    tokens, scores = n * c, heads * n * n
    copy = 2 * tokens  # a transpose reads and writes every element
    elementwise = {
        "t": copy, "heads": 2 * 3 * tokens, "kt": copy, "merge": copy, "back": copy,  # transposes that copy
        "norm": 2 * tokens + 2 * c,  # layernorm, gamma and beta
        "scaled": 2 * scores, "attn": 2 * scores,  # the scale of q k^T and the softmax over the keys
        "residual": 3 * tokens,
    }
    products = {"qkv": n * (c + 3 * c) + 3 * c * c + 3 * c, "scores": 2 * tokens + scores,
                "mixed": scores + 2 * tokens, "proj": n * 2 * c + c * c + c}
    assert {x.name for x in graph.nodes if is_elementwise(graph, x)} == set(elementwise)
    moving = {x.name: x.counts.memory_access for x in graph.nodes if x.counts.memory_access}
    assert moving == {**elementwise, **products}
    summary = dict(check(graph)["G4"].summary)
    assert summary["elementwise_memory_access"] == sum(elementwise.values()) == 853_120
    assert summary["total_memory_access"] == 1_302_528
    assert summary["elementwise_share"] == 853_120 / 1_302_528


# ---- MobileViT-XXS by hand ----------------------------------------------------------------------------------------


def test_mobilevit_xxs_by_hand():
    """timm's MobileViT-XXS: stages of L = 2, 4, 3 transformer layers at d = 64, 80, 96 over P = 4 sequences of
    N = 256, 64, 16 tokens, 4 heads."""
    result = check(load(str(SPECS / "mobilevit_xxs.yaml")))
    depths, tokens, dims = (2, 4, 3), (256, 64, 16), (64, 80, 96)
    # G1: the inverted residuals' two 1x1 convs (1 + 3 + 3 of them), each MobileViT block's two 1x1 convs, 4
    # token-wise fcs per transformer layer (qkv, proj, fc1, fc2), the final conv
    assert result["G1"].checked == 2 * (1 + 3 + 3) + 2 * 3 + 4 * sum(depths) + 1 == 57
    assert [f.where for f in result["G1"].violations] == ["final_conv.conv"]  # 80 -> 320
    qkv = [f for f in result["G1"].findings if f.where.endswith("attn.qkv")]
    assert [f.figures["parts"] for f in qkv] == [(d, d, d) for d, depth in zip(dims, depths) for _ in range(depth)]
    # G3: each MobileViT block is one fork-join, its input to the concat before the fusion conv: 3 convs (the
    # local 3x3, the 1x1 to d, the 1x1 back) and per layer 4 fcs and 2 matmuls; 2 branches
    g3 = {f.where: f.figures for f in result["G3"].violations}
    assert {w: (f["branches"], f["fragments"]) for w, f in g3.items()} == {
        f"stages.stages_{s}.mobilevit": (2, 3 + 6 * depth) for s, depth in zip((2, 3, 4), depths)}
    # G4: the softmax over 4 sequences x 4 heads x N x N scores, read and written
    softmax = sum(f.figures["memory_access"] for f in result["G4"].findings if f.where.endswith("softmax"))
    assert softmax == sum(2 * 4 * 4 * n * n * depth for n, depth in zip(tokens, depths)) == 4_743_168
    heaviest = result["G4"].violations[:2]
    assert [f.where for f in heaviest] == [f"stages.stages_2.mobilevit.transformer.{i}.attn.softmax" for i in (0, 1)]


# ---- the zoo ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HYBRIDS)
def test_every_packed_qkv_of_the_hybrids_is_measured_by_its_parts(name):
    findings = check(load(str(SPECS / f"{name}.yaml")))["G1"].findings
    packed = [f for f in findings if f.where.split(".")[-1] in ("qkv", "to_qkv", "in_proj")
              or f.where.endswith(("qkv.linear", "kv.linear"))]
    for f in packed:
        assert "parts" in f.figures, f.where
        if set(f.figures["parts"]) == {f.figures["in_channels"]}:  # q, k, v as wide as the tokens: no excess
            assert f.figures["excess"] == 0 and not f.violated
    assert bool(packed) == (name not in ("mobilenetv4_conv_small", "mobilenetv4_conv_medium",
                                         "mobilenetv4_hybrid_medium", "fastvit_t8"))


@pytest.mark.parametrize("name", CNNS)
def test_the_cnn_zoo_keeps_its_g1_and_g3(name):
    """No product of two activations and no token-wise fc in a CNN: G1 measures its 1x1 convs alone, as whole
    layers, and G3's branches are the readers of the fork, as before the token mixers."""
    graph = load(str(SPECS / f"{name}.yaml"))
    result = check(graph)
    ops = {n.name: n.op for n in graph.nodes}
    assert all(ops[f.where] == "conv" and "parts" not in f.figures for f in result["G1"].findings)
    readers: dict = {}
    for node in graph.nodes:
        for tensor in dict.fromkeys(node.inputs):
            readers[tensor] = readers.get(tensor, 0) + 1
    by_name = {n.name: n for n in graph.nodes}
    for block in blocks(graph):
        fork = by_name.get(block.fork)
        tensors = (0,) if fork is None else fork.outputs
        assert block.branches == sum(readers.get(t, 0) for t in tensors)
    assert not any(n.op in PRODUCT_OPS for n in graph.nodes)
    # G4 adds only the transposes that copy (ShuffleNet's channel shuffle): nothing else changed kind
    copies = [n for n in graph.nodes if n.op in LAYOUT_COPY_OPS and n.counts.memory_access]
    assert all(is_elementwise(graph, n) for n in copies)


def test_the_hybrid_table_of_the_guidelines_page():
    """docs/guidelines.md's table of the hybrids is what `check` finds."""
    text = (ROOT / "docs" / "guidelines.md").read_text()
    table = text[text.index("| spec | G1 (1x1 convs, token-wise fcs)"):].split("\n\n")[0].splitlines()[2:]
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in row.strip("|").split("|")] for row in table)}
    assert sorted(rows) == sorted(HYBRIDS)
    for name, (c1, c2, c3, c4) in rows.items():
        result = check(load(str(SPECS / f"{name}.yaml")))
        shown = [f"{len(result[g].violations)} / {result[g].checked}" for g in ("G1", "G2", "G3")]
        share = dict(result["G4"].summary)["elementwise_share"]
        assert [c1, c2, c3] == shown, name
        assert c4 == f"{share:.1%}".replace("%", " %") + (" (FAIL)" if result["G4"].violations else " (pass)"), name


@pytest.mark.parametrize("name", ["vit_b_16", "swin_t", "maxvit_t"])
def test_the_transformers_g1_findings_are_their_mlps(name):
    graph = load(str(SPECS / f"{name}.yaml"))
    ops = {n.name: n.op for n in graph.nodes}
    fcs = [f for f in check(graph)["G1"].violations if ops[f.where] == "fc"]
    assert fcs and all(f.figures["ratio"] == 4.0 and "parts" not in f.figures for f in fcs)
    assert all(".mlp." in f.where or "mlp" in f.where.split(".")[-2] for f in fcs), [f.where for f in fcs][:3]


def test_the_time_of_fragmentation_across_heads(write_spec):
    """With every class at 40 GFLOP/s, 10 GB/s and 5 us a kernel: the per-head block runs 13 kernels (4 q k^T, each
    with its k transposed inside the one FusedMatMul onnxruntime runs for it (costcalc.latency.plan), 4 softmaxes,
    4 attn v, the concat), so its fragmentation costs 12 launches beyond one, and the data movement, the concat of
    4 x 16 x 8 into 16 x 32, read and written, 4 bytes each."""
    from costcalc.analysis.time_costs import violation_costs
    from costcalc.latency import estimate
    from costcalc.latency.profile import uniform

    graph = load(write_spec(_heads_spec(per_head=True)))
    profile = uniform(4e10, 1e10, 5e-6, layout_block=0)
    costs = violation_costs(graph, check(graph), profile, estimate(graph, profile))
    moved = (4 * 16 * 8 + 16 * 32) * 4
    assert costs[("G3", "cut -> cat")] == pytest.approx(12 * 5e-6 + moved / 1e10, rel=1e-12)


def test_compare_gives_a_new_violation_its_estimated_time(run, write_spec, tmp_path):
    """The batched attention against the per-head one, on the hand-made profile: the G3 block that appears in B
    costs there what the fragmentation test above derives by hand."""
    from costcalc.latency.profile import save, uniform

    device = tmp_path / "device.yaml"
    save(uniform(4e10, 1e10, 5e-6, layout_block=0), str(device))
    a, b = write_spec(_heads_spec(per_head=False), "a.yaml"), write_spec(_heads_spec(per_head=True), "b.yaml")
    result = run("compare", a, b, "--device", device, "--format", "json")
    appeared = {(f["guideline"], f.get("block", f.get("layer"))): f for f in
                json.loads(result.stdout)["guidelines"]["appeared"]}
    moved = (4 * 16 * 8 + 16 * 32) * 4
    assert appeared[("G3", "cut -> cat")]["latency_s"] == pytest.approx(12 * 5e-6 + moved / 1e10, rel=1e-12)
    table = run("compare", a, b, "--device", device).stdout
    assert "G3 cut -> cat: 4 parallel branches" in table and "(est. 60.4 us)" in table


@pytest.mark.parametrize("name", HYBRIDS)
def test_the_exported_graph_gets_the_same_verdicts(name, tmp_path):
    """torch's own ONNX export of each hybrid (timm / torchvision, torch 2.14, opset 17; a graph nobody here wrote,
    recorded by scripts/hybrid_truth.py) read by the importer: G1, G2 and G3 find the same violations among as many
    layers and blocks as on the spec, and the same packed projections. (G4's share differs where the export has
    folded batchnorms into their convs.)"""
    pytest.importorskip("onnx")
    import gzip
    import shutil

    path = tmp_path / f"{name}.onnx"
    with gzip.open(ROOT / "tests" / "fixtures" / "onnx" / "hybrid" / f"{name}_ts17.onnx.gz") as src, \
            open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    spec, export = check(load(str(SPECS / f"{name}.yaml"))), check(load(str(path)))
    for g in ("G1", "G2", "G3"):
        assert (len(export[g].violations), export[g].checked) == (len(spec[g].violations), spec[g].checked), g
    packed = lambda result: sorted(f.figures["parts"] for f in result["G1"].findings if "parts" in f.figures)  # noqa
    assert packed(export) == packed(spec)
