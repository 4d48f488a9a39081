"""Issue 23: the hybrid zoo (convolutions with attention), each spec exact against torch.

The figures below are torch's own, measured on the built models (timm / torchvision, weights=None) at their native
input by scripts/hybrid_truth.py: `sum(p.numel())` and torch.utils.flop_counter.FlopCounterMode's total halved,
fused attention switched off so that q k^T and attn v are counted as the matmuls they are. They are written here
as independent data, apart from the specs' own `published:` sections, and checked against the recorded
tests/data/hybrid_truth.json where it holds the model. The closed forms after them are derived by hand from the
papers' layouts, so that a spec's variables are right too, not only its defaults."""

import json

import pytest

from conftest import ROOT, SPECS
from costcalc.analysis import analyse
from costcalc.graph import load

# name: (input side, params, multiply-adds)
TORCH = {
    "vit_b_16": (224, 86_567_656, 17_563_828_224),
    "swin_t": (224, 28_288_354, 4_490_566_656),
    "maxvit_t": (224, 30_919_624, 5_558_046_720),
    "mobilevit_xxs": (256, 1_272_024, 407_364_096),
    "mobilevit_xs": (256, 2_317_848, 1_025_911_808),
    "mobilevit_s": (256, 5_578_632, 2_000_831_488),
    "efficientvit_b0": (224, 3_410_008, 100_233_216),
    "levit_128s": (224, 7_777_058, 304_660_832),
    "mobilenetv4_conv_small": (224, 3_774_024, 186_005_568),
    "mobilenetv4_conv_medium": (256, 9_715_512, 1_080_244_224),
    "mobilenetv4_hybrid_medium": (256, 11_074_648, 1_271_183_360),
    "edgenext_xx_small": (256, 1_327_216, 257_905_088),
    "fastvit_t8": (256, 4_026_232, 690_149_376),
}
# torchvision's weights metadata: num_params and _ops (GFLOPs, i.e. giga multiply-adds, two decimals)
TORCHVISION_PUBLISHED = {"vit_b_16": (86_567_656, 17.56), "swin_t": (28_288_354, 4.49),
                         "maxvit_t": (30_919_624, 5.56)}
RECORDED = ROOT / "tests" / "data" / "hybrid_truth.json"


def graph(name, **overrides):
    return load(str(SPECS / f"{name}.yaml"), {k: str(v) for k, v in overrides.items()})


def totals(name, **overrides):
    return analyse(graph(name, **overrides)).totals


@pytest.mark.parametrize("name", sorted(TORCH))
def test_torch_figures_to_the_unit(name):
    side, params, flops = TORCH[name]
    g = graph(name)
    t = analyse(g).totals
    assert g.tensors[0] == (3, side, side)
    assert (t.params, t.flops) == (params, flops)
    assert g.tensors[g.output] == (1000,)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_the_recorded_truth(name):
    """The same figures as scripts/hybrid_truth.py recorded them (tests/data/hybrid_truth.json)."""
    if not RECORDED.exists():
        pytest.skip("tests/data/hybrid_truth.json not recorded yet")
    recorded = json.loads(RECORDED.read_text())
    if name not in recorded:
        pytest.skip(f"{name} not recorded yet")
    truth = recorded[name]
    assert (truth["params"], truth["macs"]) == TORCH[name][1:]
    assert truth["input"] == [3, TORCH[name][0], TORCH[name][0]]


@pytest.mark.parametrize("name", sorted(TORCHVISION_PUBLISHED))
def test_torchvision_published_figures(name):
    params, gflops = TORCHVISION_PUBLISHED[name]
    t = totals(name)
    assert t.params == params
    assert round(t.flops / 1e9, 2) == gflops


def test_vit_encoder_layer_by_hand():
    """One more ViT-B encoder layer (L = 197 tokens, D = 768, MLP 3072, 12 heads of 64): LayerNorms 2 x 2D, the
    packed q/k/v projection 3D^2 + 3D, the output projection D^2 + D, the MLP 2 D M + M + D; multiply-adds
    L (3D^2 + D^2 + 2 D M) plus the attention's products, 2 x heads x L^2 x 64."""
    L, D, M, h = 197, 768, 3072, 12
    base, deeper = totals("vit_b_16"), totals("vit_b_16", layers=13)
    assert deeper.params - base.params == 4 * D + 4 * D * D + 4 * D + 2 * D * M + M + D
    assert deeper.flops - base.flops == L * (4 * D * D + 2 * D * M) + 2 * h * L * L * (D // h)


def test_vit_attention_is_quadratic_in_the_tokens():
    """At 384 x 384 (576 patches + the class token) the products of attention grow with the square of the token
    count, the patch embedding, projections and MLPs linearly; the position embedding learns 768 per token."""
    small, large = totals("vit_b_16"), totals("vit_b_16", image_size=384)
    per_token = 12 * (4 * 768 * 768 + 2 * 768 * 3072) + 768 * 768   # 12 layers, and the 16x16x3 -> 768 patch conv
    attention = 12 * 2 * 12 * 64                                       # 12 layers, q k^T and attn v, 12 heads of 64
    assert large.flops - small.flops == (577 - 197) * per_token + attention * (577 ** 2 - 197 ** 2)
    assert large.params - small.params == (577 - 197) * 768


def products(g, prefix):
    return sum(n.result.flops for n in g.nodes if n.name.startswith(prefix) and n.op in ("matmul", "einsum"))


def test_swin_window_attention_products():
    """A Swin block's q k^T and attn v over M x M windows: 2 x HW x M^2 x C multiply-adds, whatever the heads
    (windows x heads x M^2 x M^2 x d, twice); linear in the map's area, unlike global attention."""
    g = graph("swin_t")
    for stage, (side, dim, depth) in enumerate(zip((56, 28, 14, 7), (96, 192, 384, 768), (2, 2, 6, 2))):
        name = f"features.features_{2 * stage + 1}."
        assert products(g, name) == depth * 2 * side * side * 49 * dim


def test_swin_relative_position_bias_is_learned_once_per_block():
    """Each block learns a (2M - 1)^2 x heads table (169 x heads), gathered into heads x 49 x 49."""
    g = graph("swin_t")
    biases = [n for n in g.nodes if n.name.endswith("attn.position_bias")]
    assert len(biases) == 12
    assert sum(n.result.params for n in biases) == 169 * (2 * 3 + 2 * 6 + 6 * 12 + 2 * 24)


def test_efficientvit_linear_attention_is_linear_in_the_tokens():
    """LiteMLA's k^T v then q (k^T v): 2 x (2 heads) x HW x d x (d + 1) multiply-adds, linear in HW: at 448 x 448
    the products are four times those at 224 (d = 16)."""
    small = graph("efficientvit_b0")
    g448 = load(str(SPECS / "efficientvit_b0.yaml"), input_shape=(3, 448, 448))
    assert products(g448, "stages.") == 4 * products(small, "stages.")
    # stage 3 (64 channels, 14 x 14, 4 heads -> 8 with the multi-scale branch) and stage 4 (128, 7 x 7, 8 -> 16)
    per_block = {2: 2 * 8 * 14 * 14 * 16 * 17, 3: 2 * 16 * 7 * 7 * 16 * 17}
    for stage, per in per_block.items():
        assert products(small, f"stages.stages_{stage}.") == 2 * per


def test_mobilevit_widths_are_variables():
    """mobilevit_xs and mobilevit_s are mobilevit_xxs with other widths and expansion, nothing else."""
    xs = totals("mobilevit_xxs", channels=[32, 48, 64, 80, 96], transformer_dims=[96, 120, 144], expansion=4.0,
                num_features=384)
    assert (xs.params, xs.flops) == TORCH["mobilevit_xs"][1:]


def test_mobilevit_attention_by_hand():
    """MobileViT-XXS stage 3: 2 transformer layers of d = 64 over P = 4 sequences of N = 256 tokens (16 x 16 map,
    2 x 2 patches), 4 heads of 16: per layer 2 x P x heads x N^2 x 16 in the products."""
    g = graph("mobilevit_xxs")
    assert products(g, "stages.stages_2.") == 2 * 2 * 4 * 4 * 256 * 256 * 16


def test_levit_attention_biases():
    """LeViT learns heads x N attention biases per attention (N the key tokens), gathered into heads x N_q x N."""
    g = graph("levit_128s")
    biases = [n.result.params for n in g.nodes if n.name.endswith(".bias") and n.op == "add"]
    blocks = 2 * 4 * 196 + 3 * 6 * 49 + 4 * 8 * 16
    downsamples = 8 * 196 + 16 * 49
    assert sum(biases) == blocks + downsamples


def test_mobilenetv4_mqa_shares_one_key_and_value():
    """Multi-query attention: 4 query heads of 64 against one key and one value of 64 channels; in stage 3 (16 x
    16 at 256) the key and value come from a stride-2 depthwise conv (8 x 8): products 2 x 4 x 256 x 64 x 64."""
    g = graph("mobilenetv4_hybrid_medium")
    stage3 = [n for n in g.nodes if n.name.startswith("blocks.blocks_2.") and n.op == "matmul"]
    assert len(stage3) == 8
    assert sum(n.result.flops for n in stage3) == 4 * 2 * 4 * 256 * 64 * 64
    stage4 = [n for n in g.nodes if n.name.startswith("blocks.blocks_3.") and n.op == "matmul"]
    assert sum(n.result.flops for n in stage4) == 4 * 2 * 4 * 64 * 64 * 64
