"""The latency model: the formula on hand-derived closed forms, fusion and layout rules, the device profile's
round trip and located errors, and the fit recovering known parameters from synthetic measurements."""

from dataclasses import replace

import numpy as np
import pytest

from costcalc.graph import load
from costcalc.latency import estimate, plan
from costcalc.latency.fit import Sample, fit, nnls
from costcalc.latency.model import Kernel, conv_blocked, conv_class, kernel_time
from costcalc.latency.profile import OP_CLASSES, DeviceProfile, ProfileError, dump, save, uniform, with_class
from costcalc.latency.profile import load as load_profile

P, W, O, R = 4e10, 1e10, 5e-6, 2e-5  # FLOPs/s, bytes/s, s per kernel, s per run


def graph(write_spec, layers: str, input_shape="[16, 8, 8]"):
    return load(write_spec(f"name: t\ninput: {input_shape}\nlayers:\n{layers}"))


def profile(**kwargs):
    return uniform(P, W, O, run_overhead_s=R, **kwargs)


def test_one_plain_pointwise_conv(write_spec):
    g = graph(write_spec, "  - {name: c, op: conv, out: 32, k: 1}\n")
    flops = 8 * 8 * 16 * 32
    elements = 16 * 64 + 32 * 64 + 16 * 32  # input read, output written, weights read
    for combine, body in (("max", max(flops / P, 4 * elements / W)), ("sum", flops / P + 4 * elements / W)):
        e = estimate(g, profile(layout_block=0, combine=combine))
        assert e.total_s == pytest.approx(R + body + O, rel=1e-12)
        assert e.layers[0].op_class == "pointwise_conv_plain"
        assert e.layers[0].latency_s == pytest.approx(body + O, rel=1e-12)


def test_conv_bn_relu_run_as_one_kernel(write_spec):
    g = graph(write_spec, "  - {name: c, op: conv, out: 16, k: 3, pad: 1}\n  - {name: bn, op: bn}\n"
                          "  - {name: relu, op: relu}\n")
    (kernel,) = plan(g, profile(layout_block=0))
    hw = 64
    # the conv reads its input and weights and writes its output; bn's output and relu's input stay inside; in the
    # plain layout a 3x3 conv is im2col + GEMM: its 16 x 9 x 64 expanded input written once and read once
    assert kernel.bytes == 4 * (16 * hw + 16 * 16 * 9 + 16 * hw + 2 * 16 + 2 * 16 * 9 * hw)
    assert kernel.flops == hw * 16 * 16 * 9
    assert kernel.members == ("c", "bn", "relu")
    layers = estimate(g, profile(layout_block=0)).layers
    assert [layer.fused_into for layer in layers] == [None, "c", "c"]
    assert layers[1].latency_s == layers[2].latency_s == 0.0
    # without the fusion rules: three kernels, bn onnxruntime's BatchNormalization, relu element-wise
    unfused = plan(g, profile(layout_block=0, fusion=()))
    assert [k.op_class for k in unfused] == ["dense_conv_plain", "batchnorm", "elementwise"]
    assert unfused[2].bytes == 4 * 2 * 16 * hw and unfused[2].flops == 16 * hw


def test_blocked_layout_reorders_and_pads(write_spec):
    g = graph(write_spec, "  - {name: c, op: conv, out: 12, k: 1}\n")
    reorder_in, conv, reorder_out = plan(g, profile(layout_block=8))
    assert (reorder_in.op_class, reorder_in.bytes, reorder_in.flops) == ("data_movement", 2 * 4 * 16 * 64, 0)
    assert conv.op_class == "pointwise_conv"
    assert conv.flops == 64 * 16 * 16  # 12 output channels computed as 16
    assert reorder_out.bytes == 2 * 4 * 12 * 64
    e = estimate(g, profile(layout_block=8))
    # the layer carries its input's reorder and, being the last, the output's
    assert e.layers[0].reorder_s == pytest.approx(2 * 4 * (16 + 12) * 64 / W + 2 * O, rel=1e-12)


def test_residual_add_fuses_only_in_the_blocked_layout(write_spec):
    layers = ("  - {name: a, op: conv, out: 16, k: 1}\n  - {name: b, op: conv, out: 16, k: 1}\n"
              "  - {name: add, op: add, from: [b, a]}\n  - {name: relu, op: relu}\n")
    g = graph(write_spec, layers)
    blocked = plan(g, profile(layout_block=8))
    assert [k.members for k in blocked if k.members] == [("a",), ("b", "add", "relu")]
    plain = plan(g, profile(layout_block=0))
    assert [k.op_class for k in plain] == ["pointwise_conv_plain", "pointwise_conv_plain", "elementwise",
                                           "elementwise"]


def test_a_lone_batchnorm_takes_in_the_add_of_branches_computed_after_it(write_spec):
    """MobileOne's block in its training form: an identity batchnorm, computed first, added to the sum of conv
    branches computed after it. onnxruntime runs the batchnorm as an NCHWc conv and takes the add (and the ReLU)
    into it (its profiler on timm's mobileone_s0: 226 Conv kernels, no Add, no BatchNormalization, for 191 Convs, 35
    batchnorms and 212 adds): one kernel for the three, and no reorder of the sum it reads."""
    layers = ("  - {name: x, op: conv, out: 16, k: 1}\n  - {name: id, op: bn}\n"
              "  - {name: a, op: conv, out: 16, k: 1, from: x}\n"
              "  - {name: b, op: conv, out: 16, k: 3, pad: 1, from: x}\n"
              "  - {name: ab, op: add, from: [a, b]}\n  - {name: out, op: add, from: [ab, id]}\n"
              "  - {name: relu, op: relu}\n")
    g = graph(write_spec, layers)
    kernels = plan(g, profile(layout_block=8))
    # the input reordered into the blocked layout, x, then the batchnorm with the add and the ReLU, the two
    # branches (the second with the add of the two), the output reordered back
    assert [k.members for k in kernels] == [(), ("x",), ("id", "out", "relu"), ("a",), ("b", "ab"), ()]
    assert kernels[2].bytes == 4 * (3 * 16 * 64 + 2 * 16)  # reads x and the sum, writes the output; its 32 params
    unfused = plan(g, profile(layout_block=8, fusion=("conv+bn", "conv+activation", "bn+activation")))
    assert [k.members for k in unfused if k.members] == [("x",), ("id",), ("a",), ("b",), ("ab",), ("out",), ("relu",)]


def test_shuffle_and_split_need_the_plain_layout(write_spec):
    layers = ("  - {name: a, op: conv, out: 16, k: 1}\n  - {name: s, op: shuffle, groups: 2}\n"
              "  - {name: b, op: conv, out: 16, k: 1}\n")
    kernels = plan(graph(write_spec, layers), profile(layout_block=8))
    assert [(k.op_class, k.layer, k.launches) for k in kernels] == [
        ("data_movement", "a", 1), ("pointwise_conv", "a", 1), ("data_movement", "s", 1), ("shuffle", "s", 3),
        ("data_movement", "b", 1), ("pointwise_conv", "b", 1), ("data_movement", "b", 1)]


@pytest.mark.parametrize("c_in, c_out, groups, block, expected", [
    (64, 58, 1, 8, True), (58, 64, 1, 8, False), (3, 24, 1, 8, True), (64, 64, 2, 8, True), (64, 64, 8, 8, True),
    (64, 64, 16, 8, False), (24, 24, 24, 8, True), (58, 58, 58, 8, False), (64, 64, 1, 0, False),
    (64, 64, 1, 16, True), (40, 40, 1, 16, True), (36, 36, 1, 16, True), (36, 36, 36, 8, True), (12, 12, 1, 8, True),
    (96, 96, 8, 8, False), (20, 20, 1, 16, True), (20, 20, 20, 16, True), (12, 12, 1, 16, True), (18, 18, 1, 16, False),
    (18, 18, 18, 16, False), (48, 48, 2, 16, False), (64, 64, 2, 16, True),
])
def test_which_convs_run_blocked(c_in, c_out, groups, block, expected):
    """As onnxruntime 1.32 runs them (scripts/ort_kernels.py: a ReorderInput before the conv, or none), with AVX2's
    block of 8 and AVX-512's of 16: groups-1 and depthwise convs whose channels are a multiple of 4 run blocked at
    either block (20 channels at 56 x 56, padded to 32, ran as long as 32 did at b = 16)."""
    assert conv_blocked(c_in, c_out, groups, block) is expected


def test_conv_classes():
    assert conv_class(64, 64, (1, 1), 1) == "pointwise_conv"
    assert conv_class(64, 64, (3, 3), 1) == "dense_conv"
    assert conv_class(64, 64, (3, 3), 64) == "depthwise_conv"
    assert conv_class(64, 128, (3, 3), 4) == "grouped_conv"


def test_total_is_run_overhead_plus_the_rows(write_spec):
    e = estimate(load("specs/shufflenet_v2_x1_0.yaml"), profile())
    assert e.total_s == pytest.approx(R + sum(layer.latency_s for layer in e.layers), rel=1e-12)
    assert e.total_s == pytest.approx(R + sum(kernel_time(k, profile()) for k in e.kernels), rel=1e-12)


def test_free_layers_launch_nothing(write_spec):
    g = graph(write_spec, "  - {name: d, op: dropout}\n  - {name: c, op: conv, out: 8, k: 1}\n")
    assert [k.members for k in plan(g, profile(layout_block=0))] == [("c",)]


def test_classes_differ(write_spec):
    g = graph(write_spec, "  - {name: c, op: conv, out: 16, k: 3, pad: 1, groups: 16}\n")
    slow = with_class(profile(layout_block=8), "depthwise_conv", throughput=P / 10)
    assert estimate(g, slow).total_s > estimate(g, profile(layout_block=8)).total_s


def test_context_factor_scales_every_kernel_not_the_run(write_spec):
    g = load("specs/mobilenet_v2.yaml")
    one, more = estimate(g, profile()), estimate(g, profile(context=1.25))
    assert more.total_s - R == pytest.approx(1.25 * (one.total_s - R), rel=1e-12)
    assert more.by_layer()["conv1"] == pytest.approx(1.25 * one.by_layer()["conv1"], rel=1e-12)


def test_modern_ops_kernels_as_exported(write_spec):
    g = graph(write_spec, "  - {name: ln, op: layernorm}\n  - {name: gelu, op: gelu}\n  - {name: mish, op: mish}\n"
                          "  - {name: gn, op: groupnorm, groups: 4}\n  - {name: ls, op: layer_scale}\n")
    ln, gelu, mish, gn, ls = plan(g, profile(layout_block=0))
    t = 16 * 64  # elements of the tensor
    # layernorm: Transpose, LayerNormalization, Transpose: 3 kernels, two more passes (read + write) over it
    assert (ln.op_class, ln.launches) == ("normalization", 3)
    assert ln.bytes == 4 * (2 * t + 2 * 16 + 2 * 2 * t)
    assert (gelu.op_class, gelu.launches, gelu.bytes) == ("gelu", 1, 4 * 2 * t)
    assert (mish.op_class, mish.launches, mish.bytes) == ("mish", 3, 4 * (2 * t + 2 * 2 * t))  # Softplus Tanh Mul
    assert (gn.op_class, gn.launches) == ("normalization", 3)
    assert (ls.op_class, ls.launches, ls.bytes) == ("elementwise", 1, 4 * (2 * t + 16))
    flat = plan(graph(write_spec, "  - {name: ln, op: layernorm}\n", "[64]"), profile(layout_block=0))
    assert flat[0].launches == 1 and flat[0].bytes == 4 * (2 * 64 + 2 * 64)  # one LayerNormalization


def test_a_layer_scale_after_a_conv_is_folded_into_it(write_spec):
    g = graph(write_spec, "  - {name: c, op: conv, out: 16, k: 1}\n  - {name: ls, op: layer_scale}\n"
                          "  - {name: s, op: scale, factor: 0.5}\n")
    kernels = plan(g, profile(layout_block=0))
    assert [k.members for k in kernels] == [("c", "ls"), ("s",)]  # one per-channel affine folds, not two


# ---- the profile file ---------------------------------------------------------------------------------------


def test_profile_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    p = uniform(1.0, 1.0, 0.0, threads=2, combine="sum", layout_block=16, run_overhead_s=1.25e-5, context=1.0625,
                fusion=("conv+bn",), device="a CPU: 2 cores", runtime="onnxruntime 1.32.0",
                calibration={"networks": 12, "within_10": 0.9})
    for c in OP_CLASSES:
        p = with_class(p, c, throughput=float(rng.uniform(1e9, 1e11)), bandwidth=float(rng.uniform(1e9, 3e10)),
                       overhead_s=float(rng.uniform(0, 1e-5)))
    p = with_class(p, "fc", overhead_s=5e-06, throughput=1e15)  # written 5.0e-06, 1.0e+15: numbers in YAML 1.1
    path = tmp_path / "p.yaml"
    save(p, str(path))
    assert load_profile(str(path)) == p


@pytest.mark.parametrize("edit, where, message", [
    (("threads: 1", "threads: 0"), (5, 10), "threads must be a whole number of at least 1"),
    (("combine: max", "combine: min"), (6, 10), "combine: 'min' is not one of max, sum"),
    (("fusion: [conv+bn", "fusion: [conv+bm"), (13, 10), "fusion: unknown fusion 'conv+bm' (did you mean 'conv+bn'?)"),
    (("layout_block: 8", "layuot_block: 8"), (8, 1), "unknown key 'layuot_block' (did you mean 'layout_block'?)"),
    (("context: 1.0", "context: 0"), (10, 10), "context must be more than 0, not 0"),
    (("llc_bytes: 0", "llc_bytes: -1"), (11, 12), "llc_bytes must be a whole number of at least 0, not -1"),
    (("{throughput: 40000000000.0,", "{throughput: -1,"), (15, 38), "throughput must be more than 0, not -1"),
    (("{throughput: 40000000000.0,", "{troughput: 1,"), (15, 26), "unknown key 'troughput'"),
])
def test_profile_errors_are_located(tmp_path, edit, where, message):
    text = dump(profile())
    assert edit[0] in text
    path = tmp_path / "p.yaml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ProfileError) as e:
        load_profile(str(path))
    assert (e.value.loc.line, e.value.loc.col) == where
    assert message in e.value.message
    assert str(e.value).startswith(f"{path}:{where[0]}:{where[1]}: error: ")


def test_profile_needs_every_class(tmp_path):
    text = "".join(line + "\n" for line in dump(profile()).splitlines() if not line.startswith("  fc:"))
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError, match="classes: missing fc"):
        load_profile(str(path))


# ---- the fit ------------------------------------------------------------------------------------------------


def test_nnls_matches_the_unconstrained_solution_when_it_is_positive():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (30, 5))
    x = np.array([1.0, 2.0, 0.5, 3.0, 0.25])
    assert nnls(a, a @ x) == pytest.approx(x, rel=1e-9)
    b = a @ np.array([1.0, -2.0, 0.5, 3.0, 0.25])
    solved = nnls(a, b)
    assert (solved >= 0).all() and solved[1] == 0


def _synthetic(truth: DeviceProfile, n: int, seed: int) -> list:
    """Networks of random kernels of every class, 'measured' as the model says under `truth`."""
    from costcalc.latency.fit import predict

    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        kernels = []
        for _ in range(int(rng.integers(3, 12))):
            c = OP_CLASSES[int(rng.integers(len(OP_CLASSES)))]
            kernels.append(Kernel(c, int(10 ** rng.uniform(4, 9)), int(10 ** rng.uniform(4, 8)),
                                  int(rng.integers(1, 4)), f"l{i}"))
        samples.append(Sample(f"n{i}", tuple(kernels), predict(kernels, truth)))
    return samples


def _truth(combine):
    rng = np.random.default_rng(7)
    p = uniform(1.0, 1.0, 0.0, combine=combine, run_overhead_s=3e-5)
    for c in OP_CLASSES:
        p = with_class(p, c, throughput=float(rng.uniform(5e9, 6e10)), bandwidth=float(rng.uniform(2e9, 2e10)),
                       overhead_s=float(rng.uniform(1e-6, 1e-5)))
    return p


def test_fit_recovers_known_parameters_sum():
    truth = _truth("sum")
    fitted, q = fit(_synthetic(truth, 300, 1), uniform(1.0, 1.0, 0.0), "sum")
    for c in OP_CLASSES:
        assert fitted[c].throughput == pytest.approx(truth[c].throughput, rel=1e-6)
        assert fitted[c].bandwidth == pytest.approx(truth[c].bandwidth, rel=1e-6)
        assert fitted[c].overhead_s == pytest.approx(truth[c].overhead_s, rel=1e-6)
    assert fitted.run_overhead_s == pytest.approx(3e-5, rel=1e-6)
    assert q.max_abs_error < 1e-9 and q.within_10 == 1.0


def test_fit_recovers_a_roofline():
    truth = _truth("max")
    samples = _synthetic(truth, 400, 2)
    fitted, q = fit(samples, uniform(1.0, 1.0, 0.0), "max")
    assert q.max_abs_error < 1e-6
    held_out = _synthetic(truth, 50, 3)
    from costcalc.latency.fit import quality

    assert quality(held_out, fitted).max_abs_error < 1e-3



@pytest.mark.parametrize("combine", ["max", "sum"])
def test_the_fits_estimate_of_many_networks_at_once_is_the_models_kernel_by_kernel(combine):
    """The fit sums kernels with numpy over all networks at once; each network's sum is model.kernel_time's over
    its kernels (with a cache term and a context factor), within rounding."""
    from costcalc.latency.fit import _Table, predict

    profile = replace(_truth(combine), llc_bytes=2 ** 24, dram_bandwidth=7e9, context=1.1)
    samples = _synthetic(profile, 40, 6)
    by_kernel = [predict(s.kernels, profile) for s in samples]
    assert _Table(samples).predict(profile) == pytest.approx(by_kernel, rel=1e-12)

# ---- the accuracy figures -----------------------------------------------------------------------------------


def test_ranks_and_spearman_by_hand():
    from costcalc.latency.metrics import ranks, spearman

    assert list(ranks([10, 30, 20, 20])) == [1, 4, 2.5, 2.5]
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # one swap of neighbours among 4: rho = 1 - 6 * (1 + 1) / (4 * 15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)


def test_pairwise_over_pairs_of_near_flops():
    from costcalc.latency.metrics import near_pairs, pairwise, summary

    flops = [100, 110, 200, 126]
    assert near_pairs(flops) == [(0, 1), (1, 3)]  # 126 - 100 = 26 > 20% of 126; 126 - 110 = 16 is within
    assert near_pairs([100, 125]) == [(0, 1)]  # exactly 20% of the larger
    measured = [1.0, 2.0, 3.0, 1.5]
    assert pairwise([1.0, 1.5, 9.0, 2.0], measured, [(0, 1), (1, 3)]) == 0.5  # the second pair the wrong way
    s = summary([1.05, 2.5, 3.0, 1.5], measured, flops)
    assert (s["within_10"], s["within_20"]) == (0.75, 0.75)


def test_flops_baseline_is_the_relative_least_squares_throughput():
    from costcalc.latency.fit import Sample
    from costcalc.latency.metrics import flops_baseline

    samples = [Sample("a", (), 1.0, 10), Sample("b", (), 1.0, 20)]
    # minimise (10/P - 1)^2 + (20/P - 1)^2 over x = 1/P: x = (10 + 20) / (100 + 400)
    assert flops_baseline(samples) == pytest.approx(500 / 30)


def test_hardswish_runs_inside_a_blocked_conv_and_on_its_own_after_a_plain_one(write_spec):
    """As onnxruntime 1.32 runs them (costcalc measure: 'fused into'): 32 channels are blocked, a depthwise conv of
    30 is not; hardtanh (a Clip) runs inside either."""
    layers = ("  - {name: a, op: conv, out: 32, k: 1}\n  - {name: h, op: hardswish}\n"
              "  - {name: n, op: conv, out: 30, k: 1}\n  - {name: r, op: hardtanh}\n"
              "  - {name: d, op: conv, out: 30, k: 3, pad: 1, groups: 30}\n  - {name: j, op: hardswish}\n")
    kernels = plan(graph(write_spec, layers, "[32, 16, 16]"), profile(layout_block=8))
    assert [(k.op_class, k.members) for k in kernels if k.members] == [
        ("pointwise_conv", ("a", "h")), ("pointwise_conv", ("n", "r")), ("depthwise_conv_plain", ("d",)),
        ("elementwise_exp", ("j",))]


def test_a_plain_kxk_conv_moves_its_im2col_buffer_a_blocked_or_1x1_one_does_not(write_spec):
    """onnxruntime runs a plain-layout k x k conv (groups 1 or grouped) as im2col + GEMM: c_in * k * k * h_out *
    w_out elements written and read again; a 1x1 conv is a GEMM on its input, a blocked conv has its own kernel."""
    layers = ("  - {name: g, op: conv, out: 12, k: 3, stride: 2, pad: 1, groups: 4}\n"
              "  - {name: p, op: conv, out: 12, k: 1}\n  - {name: d, op: conv, out: 16, k: 3, pad: 1}\n")
    g = graph(write_spec, layers, "[12, 8, 8]")
    kernels = {k.layer: k for k in plan(g, profile(layout_block=8)) if k.members}
    node = {n.name: n for n in g.nodes}
    assert kernels["g"].op_class == "grouped_conv_plain"
    assert kernels["g"].bytes == 4 * (node["g"].counts.memory_access + 2 * 12 * 9 * 4 * 4)  # output 4 x 4
    assert kernels["p"].bytes == 4 * node["p"].counts.memory_access  # 1x1: no expansion
    assert kernels["d"].op_class == "dense_conv" and kernels["d"].bytes == 4 * node["d"].counts.memory_access


def test_bytes_beyond_the_cache_move_at_the_dram_bandwidth():
    from costcalc.latency.model import split_bytes

    assert split_bytes(100, 0) == (100, 0) and split_bytes(100, 64) == (64, 36) and split_bytes(10, 64) == (10, 0)
    # 96 MB through a 32 MB cache: 32 MB at the class's 20 GB/s, 64 MB at 8 GB/s, by hand
    p = replace(uniform(1e12, 2e10, 0.0, combine="sum"), llc_bytes=32 * 2 ** 20, dram_bandwidth=8e9)
    k = Kernel("fc", 0, 96 * 2 ** 20, 0, "fc")
    assert kernel_time(k, p) == pytest.approx(32 * 2 ** 20 / 2e10 + 64 * 2 ** 20 / 8e9, rel=1e-12)


def test_the_fit_learns_the_cache_size_and_the_dram_bandwidth():
    from costcalc.latency.fit import cache_size

    truth = replace(_truth("sum"), llc_bytes=16 * 2 ** 20, dram_bandwidth=5e9)
    samples = _synthetic(truth, 300, 4)  # kernels of 10 KB to 100 MB
    llc, losses = cache_size(samples, uniform(1.0, 1.0, 0.0))
    assert llc == 16 * 2 ** 20 and losses[llc] < 1e-12 < losses[0]
    fitted, q = fit(samples, replace(uniform(1.0, 1.0, 0.0), llc_bytes=llc), "sum")
    assert fitted.dram_bandwidth == pytest.approx(5e9, rel=1e-6) and q.max_abs_error < 1e-9
    # a device without a cache term: none is learned
    plain = _synthetic(_truth("sum"), 200, 5)
    assert cache_size(plain, uniform(1.0, 1.0, 0.0))[0] == 0
