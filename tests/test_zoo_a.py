"""Model zoo, part A (issue 6): ResNet / ResNeXt-101 and -152, pre-activation ResNet for CIFAR, Xception,
Inception-ResNet-v2, DenseNet and SqueezeNet.

The published figures are written here as independent data (issue 6's table: torchvision, the papers, Keras,
imgclsmob, timm), apart from the specs' own `published:` sections. The variables are checked against closed forms
derived by hand from the papers' layouts, so that `--set` gives the right numbers too, not only the defaults.
"""

import pytest

from conftest import SPECS
from costcalc.analysis import analyse
from costcalc.errors import SpecError
from costcalc.graph import load


def totals(name, **overrides):
    return analyse(load(str(SPECS / f"{name}.yaml"), {k: str(v) for k, v in overrides.items()})).totals


def variant(write_spec, name, **lists):
    """Totals of `name` with list variables replaced, as `--set depths=[3,4,23,3]` replaces them."""
    return analyse(load(str(SPECS / f"{name}.yaml"), {k: str(list(v)) for k, v in lists.items()})).totals


def within(got, want, tolerance):
    return abs(got - want) <= tolerance * want


# ---- exact figures (torchvision; imgclsmob / Keras / timm for the parameter counts) ---------------------------

EXACT = [
    ("resnet101", 44_549_160, 7_801_405_440),
    ("resnet152", 60_192_808, 11_513_626_624),
    ("resnext101_32x8d", 88_791_336, 16_414_015_488),
    ("resnext101_64x4d", 83_455_272, 15_460_270_080),
    ("densenet121", 7_978_856, 2_834_161_664),
    ("densenet169", 14_149_480, 3_359_843_328),
    ("densenet201", 20_013_928, 4_291_365_888),
    ("densenet161", 28_681_000, 7_727_907_072),
    ("squeezenet1_0", 1_248_424, 818_924_576),
    ("squeezenet1_1", 1_235_496, 349_151_936),
]


@pytest.mark.parametrize("name, params, flops", EXACT, ids=[e[0] for e in EXACT])
def test_torchvision_figures_to_the_unit(name, params, flops):
    t = totals(name)
    assert (t.params, t.flops) == (params, flops)


# Exact parameter counts with "≈" FLOPs (2 %): imgclsmob / ResNeXt Table 3, Keras / Xception Table 3, timm.
APPROX = [
    ("resnext101_32x4d", 44_177_704, 7.97e9),
    ("xception", 22_855_952, 8.4e9),
    ("inception_resnet_v2", 55_843_464, 13.2e9),
]


@pytest.mark.parametrize("name, params, flops", APPROX, ids=[e[0] for e in APPROX])
def test_exact_params_and_approximate_flops(name, params, flops):
    t = totals(name)
    assert t.params == params
    assert within(t.flops, flops, 0.02), f"{t.flops:,} vs ≈{flops:,.0f}"


# ---- ResNet: `depths` is real ----------------------------------------------------------------------------------

def bottleneck_params(c_in, planes, width):
    """An identity torchvision bottleneck (c_in = 4 * planes): three convs and three batchnorms."""
    return c_in * width + 2 * width + 9 * width * width // 1 + 2 * width + width * 4 * planes + 2 * 4 * planes


def test_resnet_depths_add_identity_bottlenecks(write_spec):
    """ResNet-101 is ResNet-50 plus 17 identity bottlenecks in conv4_x (1024 -> 256 -> 256 -> 1024 at 14x14);
    ResNet-152 adds 4 more in conv3_x (512 channels, 28x28) and 30 in conv4_x."""
    r50, r101, r152 = totals("resnet50"), totals("resnet101"), totals("resnet152")
    p3, p4 = bottleneck_params(512, 128, 128), bottleneck_params(1024, 256, 256)
    f3 = 28 * 28 * (512 * 128 + 9 * 128 * 128 + 128 * 512)
    f4 = 14 * 14 * (1024 * 256 + 9 * 256 * 256 + 256 * 1024)
    assert r101.params - r50.params == 17 * p4
    assert r101.flops - r50.flops == 17 * f4
    assert r152.params - r50.params == 4 * p3 + 30 * p4
    assert r152.flops - r50.flops == 4 * f3 + 30 * f4
    assert variant(write_spec, "resnet50", depths=[3, 4, 23, 3]) == r101


def test_resnext101_32x4d_is_resnet101_with_grouped_convs():
    assert totals("resnet101", groups=32, width_per_group=4) == totals("resnext101_32x4d")


# ---- pre-activation ResNet (He et al. 2016, Identity Mappings, Table 2) -----------------------------------------

def preact_closed_form(depth, classes=10):
    """Params and conv+fc multiply-adds of the authors' bottleneck ResNet-(9n+2) for 32x32 CIFAR, by hand."""
    n = (depth - 2) // 9
    params = 3 * 3 * 3 * 16  # conv1, no bias
    flops = 32 * 32 * 3 * 3 * 3 * 16
    c_in, size = 16, 32
    for out, stride in ((64, 1), (128, 2), (256, 2)):
        b = out // 4
        size //= stride
        # first unit: BN-ReLU on c_in, conv1x1/stride, BN, conv3x3, BN, conv1x1, and a 1x1/stride projection
        params += 2 * c_in + c_in * b + 2 * b + 9 * b * b + 2 * b + b * out + c_in * out
        flops += size * size * (c_in * b + 9 * b * b + b * out + c_in * out)
        # n - 1 identity units
        params += (n - 1) * (2 * out + out * b + 2 * b + 9 * b * b + 2 * b + b * out)
        flops += (n - 1) * size * size * (out * b + 9 * b * b + b * out)
        c_in = out
    params += 2 * 256 + 256 * classes + classes  # final BN, fc with bias
    flops += 256 * classes
    return params, flops


@pytest.mark.parametrize("depth, published", [(164, 1.7e6), (1001, 10.2e6)])
def test_preact_resnet_paper_figures(depth, published):
    """Table 2 of the paper: ResNet-164 has 1.7M parameters, ResNet-1001 10.2M (3 % tolerance)."""
    graph = load(str(SPECS / "preact_resnet_cifar.yaml"), {"depth": str(depth)})
    t = analyse(graph).totals
    assert within(t.params, published, 0.03), f"{t.params:,} vs {published:,.0f}"
    assert graph.tensors[graph.output] == (10,)


def test_preact_resnet_default_depth_is_164():
    assert totals("preact_resnet_cifar") == totals("preact_resnet_cifar", depth=164)


@pytest.mark.parametrize("depth", [11, 47, 110, 164, 1001])
def test_preact_resnet_closed_form(depth):
    t = totals("preact_resnet_cifar", depth=depth)
    assert (t.params, t.flops) == preact_closed_form(depth)


def test_preact_resnet_depth_must_be_9n_plus_2():
    with pytest.raises(SpecError, match="whole number"):
        totals("preact_resnet_cifar", depth=100)


# ---- Xception: the middle flow --------------------------------------------------------------------------------

def test_xception_middle_blocks():
    """Each middle-flow block is three ReLU-SeparableConv(728)-BN at 19x19."""
    sep_params = 9 * 728 + 728 * 728
    per_block = 3 * (sep_params + 2 * 728)
    base, fewer = totals("xception"), totals("xception", middle_blocks=4)
    assert base.params - fewer.params == 4 * per_block
    assert base.flops - fewer.flops == 4 * 3 * 19 * 19 * sep_params


def test_xception_keras_total_adds_running_statistics():
    """Keras' Xception summary: 22,910,480 parameters in all, 22,855,952 trainable. The difference is the
    batchnorm moving mean and variance (2C per batchnorm), which costcalc, like Keras' trainable count, leaves out."""
    graph = load(str(SPECS / "xception.yaml"))
    bn_channels = sum(graph.tensors[node.outputs[0]][0] for node in graph.nodes if node.op == "bn")
    assert analyse(graph).totals.params + 2 * bn_channels == 22_910_480


def test_xception_output_sizes_follow_keras_same_padding():
    graph = load(str(SPECS / "xception.yaml"))
    sizes = {node.name: graph.tensors[node.outputs[0]][1:] for node in graph.nodes}
    assert sizes["entry_flow.conv2"] == (147, 147)
    assert sizes["entry_flow.block2.add"] == (74, 74)
    assert sizes["entry_flow.block3.add"] == (37, 37)
    assert sizes["entry_flow.block4.add"] == (19, 19)
    assert sizes["exit_flow.block13.add"] == (10, 10)


# ---- Inception-ResNet-v2 --------------------------------------------------------------------------------------

def basic(c_in, c_out, kh, kw=None):
    """params of conv (no bias) + BN"""
    return c_in * c_out * kh * (kw or kh) + 2 * c_out


def test_inception_resnet_v2_block_params(write_spec):
    """One Inception-ResNet-A / -B / -C block by hand, checked through the `repeats` variable."""
    block35 = (basic(320, 32, 1) + basic(320, 32, 1) + basic(32, 32, 3) + basic(320, 32, 1) + basic(32, 48, 3)
               + basic(48, 64, 3) + 128 * 320 + 320)
    block17 = basic(1088, 192, 1) + basic(1088, 128, 1) + basic(128, 160, 1, 7) + basic(160, 192, 7, 1) + 384 * 1088 + 1088
    block8 = basic(2080, 192, 1) + basic(2080, 192, 1) + basic(192, 224, 1, 3) + basic(224, 256, 3, 1) + 448 * 2080 + 2080
    full = totals("inception_resnet_v2").params
    assert full - variant(write_spec, "inception_resnet_v2", repeats=[9, 20, 9]).params == block35
    assert full - variant(write_spec, "inception_resnet_v2", repeats=[10, 19, 9]).params == block17
    assert full - variant(write_spec, "inception_resnet_v2", repeats=[10, 20, 8]).params == block8


def test_inception_resnet_v2_residual_scaling():
    graph = load(str(SPECS / "inception_resnet_v2.yaml"))
    factors = [node.args["factor"] for node in graph.nodes if node.op == "scale"]
    assert factors == [0.17] * 10 + [0.10] * 20 + [0.20] * 9 + [1.0]
    shapes = {node.name: graph.tensors[node.outputs[0]] for node in graph.nodes}
    assert shapes["mixed_5b.concat"] == (320, 35, 35)
    assert shapes["mixed_6a.concat"] == (1088, 17, 17)
    assert shapes["mixed_7a.concat"] == (2080, 8, 8)
    assert "block8.relu" not in shapes and "repeat_2.8.relu" in shapes


# ---- DenseNet: growth rate and block configuration are real ----------------------------------------------------

def densenet_closed_form(k, config, classes=1000, bn_size=4, size=224):
    """DenseNet-BC by hand: 2k-channel 7x7/2 stem, dense layers BN-ReLU-1x1(bn_size*k)-BN-ReLU-3x3(k),
    transitions BN-ReLU-1x1(c/2)-avgpool 2x2."""
    c = 2 * k
    s = size // 4  # 7x7/2 conv then 3x3/2 max pool
    params = 3 * 49 * c + 2 * c
    flops = (size // 2) ** 2 * 3 * 49 * c
    for b, layers in enumerate(config):
        for _ in range(layers):
            params += 2 * c + c * bn_size * k + 2 * bn_size * k + 9 * bn_size * k * k
            flops += s * s * (c * bn_size * k + 9 * bn_size * k * k)
            c += k
        if b < len(config) - 1:
            params += 2 * c + c * (c // 2)
            flops += s * s * c * (c // 2)
            c //= 2
            s //= 2
    params += 2 * c + c * classes + classes
    flops += c * classes
    return params, flops


@pytest.mark.parametrize("name, k, config", [
    ("densenet121", 32, (6, 12, 24, 16)),
    ("densenet169", 32, (6, 12, 32, 32)),
    ("densenet201", 32, (6, 12, 48, 32)),
    ("densenet161", 48, (6, 12, 36, 24)),
])
def test_densenet_closed_form(name, k, config):
    t = totals(name)
    assert (t.params, t.flops) == densenet_closed_form(k, config)


@pytest.mark.parametrize("k", [12, 24, 40])
def test_densenet_growth_rate_sweep(k):
    """--set growth_rate=k: the stem follows (2k channels) and every dense layer and transition with it."""
    t = totals("densenet121", growth_rate=k)
    assert (t.params, t.flops) == densenet_closed_form(k, (6, 12, 24, 16))


def test_densenet_block_config(write_spec):
    t = variant(write_spec, "densenet121", block_config=[2, 4, 8, 6])
    assert (t.params, t.flops) == densenet_closed_form(32, (2, 4, 8, 6))


# ---- SqueezeNet ----------------------------------------------------------------------------------------------

def test_squeezenet_ceil_mode_pools():
    """torchvision's ceil_mode=True max pools: 1.0 goes 109 -> 54 -> 27 -> 13; 1.1 goes 111 -> 55 -> 27 -> 13."""
    for name, sizes in (("squeezenet1_0", [54, 27, 13]), ("squeezenet1_1", [55, 27, 13])):
        graph = load(str(SPECS / f"{name}.yaml"))
        pools = [graph.tensors[n.outputs[0]][1] for n in graph.nodes if n.op == "maxpool"]
        assert pools == sizes


def test_squeezenet_fire_module():
    """A Fire module with squeeze s and expands e (1x1 and 3x3, biases) on c inputs has
    c*s + s + s*e + e + 9*s*e + e parameters: check fire9 of SqueezeNet 1.0 (512 -> 64 -> 256 + 256) at 13x13."""
    graph = load(str(SPECS / "squeezenet1_0.yaml"))
    fire9 = [n for n in graph.nodes if n.path[0] == "fire9"]
    c, s, e = 512, 64, 256
    assert sum(n.counts.params for n in fire9) == c * s + s + s * e + e + 9 * s * e + e
    assert sum(n.counts.flops for n in fire9) == 13 * 13 * (c * s + s * e + 9 * s * e)


@pytest.mark.parametrize("size", [160, 192, 256])
def test_densenet_input_resolution(size):
    """--input 3xSxS: the closed form with S/4 after the stem (S a multiple of 32)."""
    t = analyse(load(str(SPECS / "densenet121.yaml"), input_shape=(3, size, size))).totals
    assert (t.params, t.flops) == densenet_closed_form(32, (6, 12, 24, 16), size=size)
