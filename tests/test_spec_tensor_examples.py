"""The token mixers the docs show, written by hand in the spec language: examples/attention.yaml (docs/spec-
language.md) and examples/vit_b_16.yaml (docs/conventions.md) against closed forms derived by hand, torch's own
counts (scripts/vit_truth.py: torchvision 0.29.1's published meta, sum(p.numel()) and FlopCounterMode's
multiply-adds, recorded below) and the numpy reference (`costcalc verify`)."""

from conftest import ROOT
from costcalc.analysis import analyse
from costcalc.analysis.verify import verify
from costcalc.graph import load

EXAMPLES = ROOT / "examples"

# scripts/vit_truth.py, torch 2.14.1 / torchvision 0.29.1: FlopCounterMode (halved, math SDPA backend) counted
# aten.convolution 115,605,504 + aten.addmm 16,732,895,232 + aten.bmm 715,327,488; torchvision publishes 17.564
# GFLOPS and 86,567,656 parameters, sum(p.numel()) the same.
VIT_B_16_MULTIPLY_ADDS = 17_563_828_224
VIT_B_16_PARAMS = 86_567_656


def test_the_attention_block_against_its_closed_form():
    c, length, heads = 64, 14 * 14, 4
    d = c // heads
    graph = load(EXAMPLES / "attention.yaml")
    totals = analyse(graph).totals
    qkv, products, proj = length * c * 3 * c, 2 * heads * length * length * d, length * c * c
    assert totals.flops == qkv + products + proj == 8_128_512
    assert totals.params == 2 * c + (c * 3 * c + 3 * c) + (c * c + c)
    assert graph.tensors[graph.output] == (c, 14, 14)


def test_the_attention_block_verifies():
    result = verify(load(EXAMPLES / "attention.yaml", batch=2), seed=2)
    assert result.passed, [(layer.name, layer.mismatches) for layer in result.failures]


def test_vit_b_16_is_torchvisions_count():
    """Per encoder block: qkv L·D·3D, q·kᵀ and attn·v 2·L·L·D (12 heads of 64), out_proj L·D·D, the MLP
    2·L·D·3072; then the 16x16 patch embedding and the head on the class token."""
    graph = load(EXAMPLES / "vit_b_16.yaml")
    totals = analyse(graph).totals
    length, dim, mlp = 197, 768, 3072
    block = length * dim * 3 * dim + 2 * length * length * dim + length * dim * dim + 2 * length * dim * mlp
    assert totals.flops == 12 * block + 196 * dim * 16 * 16 * 3 + dim * 1000 == VIT_B_16_MULTIPLY_ADDS
    assert round(totals.flops / 1e9, 3) == 17.564  # torchvision's published GFLOPS
    # the class token, a learned 1 x 768 tensor, is the spec's second input, not a parameter of it
    assert totals.params == VIT_B_16_PARAMS - dim


def test_a_narrow_vit_verifies():
    graph = load(EXAMPLES / "vit_b_16.yaml", {"D": "64", "heads": "4", "mlp": "128", "blocks": "2"},
                 input_shape=None, batch=2)
    result = verify(graph, seed=3)
    assert result.passed, [(layer.name, layer.mismatches) for layer in result.failures]
