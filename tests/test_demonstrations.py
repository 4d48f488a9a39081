"""The facts the seed papers rest on, shown by running the numpy reference: ResNeXt's aggregated transformations,
Xception / MobileNet's depthwise separable convolution, ShuffleNet's channel shuffle, ShuffleNet V2's units."""

from fractions import Fraction

import numpy as np
import pytest

import costcalc.reference as F
from costcalc.analysis.verify import verify
from costcalc.graph import load
from costcalc.reference import counting

RNG = np.random.default_rng(2018)


def randn(*shape):
    return RNG.standard_normal(shape, dtype=np.float32)


# ---- ResNeXt (Xie et al. 2017), Fig. 3 -----------------------------------------------------------------------


def test_resnext_grouped_conv_is_the_32_path_split_transform_concat():
    """Fig. 3(b) == 3(c): a 3x3 conv with 32 groups of 4 channels equals splitting the 128 channels into 32 paths,
    a 3x3 conv (4 -> 4) on each, and concatenating, with the same weights; and it does the same multiply-adds."""
    groups, width = 32, 4
    x, w = randn(1, groups * width, 14, 14), randn(groups * width, width, 3, 3)
    with counting() as grouped_tally:
        grouped = F.conv2d(x, w, padding=1, groups=groups)
    with counting() as paths_tally:
        paths = [F.conv2d(x[:, i * width:(i + 1) * width], w[i * width:(i + 1) * width], padding=1)
                 for i in range(groups)]
        concatenated = F.cat(paths, dim=1)
    np.testing.assert_allclose(grouped, concatenated, rtol=1e-5, atol=1e-5)
    assert grouped_tally.mult_adds == paths_tally.mult_adds == 14 * 14 * 128 * 9 * 4
    assert grouped_tally.matmuls == 1 and paths_tally.matmuls == groups


def test_resnext_block_is_the_sum_of_32_bottleneck_paths():
    """Fig. 3(a) == 3(c): 32 paths of 1x1 (256 -> 4), 3x3 (4 -> 4), 1x1 (4 -> 256), summed, equal 1x1 (256 -> 128),
    grouped 3x3 (g = 32), 1x1 (128 -> 256) with the paths' weights stacked (ReLU after the first two convs)."""
    groups, width, channels = 32, 4, 256
    x = randn(1, channels, 8, 8)
    w1 = randn(groups * width, channels, 1, 1)
    w2 = randn(groups * width, width, 3, 3)
    w3 = randn(channels, groups * width, 1, 1)
    total = 0
    for i in range(groups):
        part = slice(i * width, (i + 1) * width)
        h = F.relu(F.conv2d(x, w1[part]))
        h = F.relu(F.conv2d(h, w2[part], padding=1))
        total = total + F.conv2d(h, w3[:, part])
    h = F.relu(F.conv2d(x, w1))
    h = F.relu(F.conv2d(h, w2, padding=1, groups=groups))
    block = F.conv2d(h, w3)
    np.testing.assert_allclose(block, total, rtol=1e-4, atol=1e-3)


# ---- Xception (Chollet 2017) and MobileNet (Howard et al. 2017) ---------------------------------------------


@pytest.mark.parametrize("m, n, d_k, d_f", [(32, 64, 3, 16), (16, 24, 5, 9), (8, 8, 3, 7)])
def test_depthwise_separable_is_the_extreme_inception_form(m, n, d_k, d_f):
    """A depthwise conv then a 1x1 conv equals the 'extreme' Inception form: one spatial conv per channel,
    independently, then a 1x1 conv across channels. Its counted multiply-adds are MobileNet's
    D_K·D_K·M·D_F·D_F + M·N·D_F·D_F, and the ratio to a standard conv is 1/N + 1/D_K²."""
    x = randn(1, m, d_f, d_f)
    depthwise, pointwise = randn(m, 1, d_k, d_k), randn(n, m, 1, 1)
    with counting() as tally:
        separable = F.conv2d(F.conv2d(x, depthwise, padding=d_k // 2, groups=m), pointwise)
    per_channel = F.cat([F.conv2d(x[:, c:c + 1], depthwise[c:c + 1], padding=d_k // 2) for c in range(m)], dim=1)
    extreme = F.conv2d(per_channel, pointwise)
    np.testing.assert_allclose(separable, extreme, rtol=1e-4, atol=1e-4)
    assert tally.mult_adds == d_k * d_k * m * d_f * d_f + m * n * d_f * d_f
    with counting() as standard:
        F.conv2d(x, randn(n, m, d_k, d_k), padding=d_k // 2)
    assert Fraction(tally.mult_adds, standard.mult_adds) == Fraction(1, n) + Fraction(1, d_k * d_k)


# ---- ShuffleNet (Zhang et al. 2018) --------------------------------------------------------------------------


@pytest.mark.parametrize("c, g", [(12, 3), (12, 4), (240, 3), (16, 2), (8, 8), (8, 1)])
def test_channel_shuffle_is_the_index_permutation_and_inverts(c, g):
    x = randn(2, c, 3, 3)
    shuffled = F.channel_shuffle(x, g)
    # output channel j takes input channel (j mod g)·(c/g) + j div g: read the g groups column by column
    perm = [(j % g) * (c // g) + j // g for j in range(c)]
    assert sorted(perm) == list(range(c))
    np.testing.assert_array_equal(shuffled, x[:, perm])
    np.testing.assert_array_equal(F.channel_shuffle(shuffled, c // g), x)


def _group_convs(x, w1, w2, g, shuffle):
    h = F.conv2d(x, w1, groups=g)
    if shuffle:
        h = F.channel_shuffle(h, g)
    return F.conv2d(h, w2, groups=g)


@pytest.mark.parametrize("shuffle", [True, False])
def test_shuffle_lets_every_output_channel_see_every_input_channel(shuffle):
    """Fig. 1: two stacked group convs. With a shuffle between them, perturbing any one input channel changes every
    output channel; without it, only the output channels of that channel's group change."""
    c, g = 12, 3
    # positive weights: a dependence cannot cancel out by chance
    x = randn(1, c, 5, 5)
    w1, w2 = (RNG.uniform(0.5, 1.5, (c, c // g, 1, 1)).astype(np.float32) for _ in range(2))
    base = _group_convs(x, w1, w2, g, shuffle)
    for channel in range(c):
        perturbed = x.copy()
        perturbed[:, channel] += 1.0
        changed = np.abs(_group_convs(perturbed, w1, w2, g, shuffle) - base).max(axis=(0, 2, 3)) > 1e-4
        group = channel // (c // g)
        if shuffle:
            assert changed.all(), f"input channel {channel}: outputs {np.flatnonzero(~changed)} unchanged"
        else:
            expected = np.zeros(c, bool)
            expected[group * (c // g):(group + 1) * (c // g)] = True
            np.testing.assert_array_equal(changed, expected)


# ---- ShuffleNet V2 (Ma et al. 2018), Fig. 3(c) and 3(d) -------------------------------------------------------


UNITS = """
name: units
input: [{c}, {h}, {w}]
blocks:
  basic_unit:                 # Fig. 3(c)
    - {{name: split, op: split, parts: 2}}
    - name: branch
      from: split.1
      layers:
        - {{op: conv, out: in_channels, k: 1}}
        - bn
        - relu
        - {{op: conv, out: in_channels, k: 3, pad: 1, groups: in_channels}}
        - bn
        - {{op: conv, out: in_channels, k: 1}}
        - bn
        - relu
    - {{name: concat, op: concat, from: [split.0, branch]}}
    - {{name: shuffle, op: shuffle, groups: 2}}
  down_unit:                  # Fig. 3(d)
    args: {{out_channels: ~}}
    layers:
      - name: left
        from: input
        layers:
          - {{op: conv, out: in_channels, k: 3, stride: 2, pad: 1, groups: in_channels}}
          - bn
          - {{op: conv, out: out_channels // 2, k: 1}}
          - bn
          - relu
      - name: right
        from: input
        layers:
          - {{op: conv, out: out_channels // 2, k: 1}}
          - bn
          - relu
          - {{op: conv, out: out_channels // 2, k: 3, stride: 2, pad: 1, groups: out_channels // 2}}
          - bn
          - {{op: conv, out: out_channels // 2, k: 1}}
          - bn
          - relu
      - {{name: concat, op: concat, from: [left, right]}}
      - {{name: shuffle, op: shuffle, groups: 2}}
layers:
  - {{name: {unit}, block: {unit}{args}}}
"""


def _unit_totals(write_spec, unit, c, h, w, out=None):
    args = f", args: {{out_channels: {out}}}" if out else ""
    graph = load(write_spec(UNITS.format(c=c, h=h, w=w, unit=unit, args=args)))
    result = verify(graph, seed=3)
    assert result.passed, [m for layer in result.failures for m in layer.mismatches]
    checked = {"flops": 0, "memory_access": 0, "params": 0}
    for layer in result.layers:
        for key in checked:
            checked[key] += getattr(layer, key)
    return graph, result, checked


@pytest.mark.parametrize("c, h, w", [(116, 28, 28), (48, 7, 9)])
def test_shufflenet_v2_basic_unit(write_spec, c, h, w):
    graph, result, counted = _unit_totals(write_spec, "basic_unit", c, h, w)
    b, hw = c // 2, h * w
    by_name = {layer.name: layer for layer in result.layers}
    assert by_name["basic_unit.split"].output == ((1, b, h, w), (1, b, h, w))
    assert by_name["basic_unit.concat"].output == by_name["basic_unit.shuffle"].output == ((1, c, h, w),)
    # hand-derived: two 1x1 convs b -> b and a 3x3 depthwise conv on b channels, at h x w
    assert counted["flops"] == 2 * hw * b * b + 9 * hw * b
    assert counted["params"] == 2 * b * b + 9 * b + 3 * 2 * b
    # memory access: split 2·c·hw; each 1x1 conv hw(b + b) + b²; depthwise 2·b·hw + 9b; three BN 2·b·hw + 2b;
    # two ReLU 2·b·hw; concat 2·c·hw; shuffle 2·c·hw
    assert counted["memory_access"] == (2 * c * hw + 2 * (2 * b * hw + b * b) + (2 * b * hw + 9 * b)
                                        + 3 * (2 * b * hw + 2 * b) + 2 * 2 * b * hw + 2 * c * hw + 2 * c * hw)


@pytest.mark.parametrize("c, out, h, w", [(24, 116, 56, 56), (116, 232, 28, 28), (10, 20, 9, 7)])
def test_shufflenet_v2_down_unit(write_spec, c, out, h, w):
    graph, result, counted = _unit_totals(write_spec, "down_unit", c, h, w, out)
    b = out // 2
    ho, wo = (h + 1) // 2, (w + 1) // 2  # 3x3, stride 2, pad 1
    by_name = {layer.name: layer for layer in result.layers}
    assert by_name["down_unit.concat"].output == by_name["down_unit.shuffle"].output == ((1, out, ho, wo),)
    # left: depthwise 3x3/2 on c, 1x1 c -> b; right: 1x1 c -> b at h x w, depthwise 3x3/2 on b, 1x1 b -> b
    assert counted["flops"] == 9 * ho * wo * c + ho * wo * c * b + h * w * c * b + 9 * ho * wo * b + ho * wo * b * b
    assert counted["params"] == (9 * c + c * b + c * b + 9 * b + b * b) + 2 * (c + b + b + b + b)
    assert sum(layer.memory_access for layer in result.layers if layer.op in ("concat", "shuffle")) == 4 * out * ho * wo
