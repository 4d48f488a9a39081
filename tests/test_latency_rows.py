"""The per-row term and the classifier's weights read from memory (costcalc.latency.rows, costcalc.latency.model):
each kernel's rows by hand, their time in the formula, the fit recovering a known row time, the profile's
`row_s`, and an fc's weights at the DRAM bandwidth once the network moves more than the cache holds - also when the
estimate is assembled from a sweep's remembered parts."""

from dataclasses import replace

import numpy as np
import pytest

import costcalc
from costcalc.latency.fit import Sample, fit, predict
from costcalc.latency.model import Kernel, estimate, evicts, kernel_time, plan
from costcalc.latency.networks import _spec, build
from costcalc.latency.profile import OP_CLASSES, load, save, uniform, with_class
from costcalc.latency.rows import single_axis_move, transpose_kernel

FLAT = uniform(1e10, 1e10, 1e-6)


def _kernels(shape, layers, batch=1) -> dict:
    graph = build(_spec("t", shape, [], tail=layers), batch=batch)
    return {k.layer: k for k in plan(graph, FLAT) if k.members}


def test_layernorm_softmax_and_groupnorm_count_their_rows():
    k = _kernels((196, 768), ["{name: ln, op: layernorm, axis: -1}", "{name: sm, op: softmax, axis: -1}"], batch=2)
    assert k["ln"].rows == 196 * 2 and k["sm"].rows == 196 * 2  # a row of 768 per token, per image
    k = _kernels((4, 49, 49), ["{name: sm, op: softmax, axis: -1}", "{name: ln, op: layernorm, axis: 2}"])
    assert k["sm"].rows == 4 * 49 and k["ln"].rows == 4  # axis 2 (framework-numbered): 49 x 49 per head
    k = _kernels((48, 32, 32), ["{name: ln, op: layernorm}", "{name: gn, op: groupnorm, groups: 4}"])
    assert k["ln"].rows == 32 * 32 and k["gn"].rows == 4  # over the channels at each position; per group
    k = _kernels((48, 32, 32), ["{name: r, op: relu}", "{name: a, op: add, from: [r, input]}"])
    assert k["r"].rows == 0 and k["a"].rows == 0


@pytest.mark.parametrize("shape, perm, expected", [
    ((8, 7, 8, 7, 96), [0, 1, 3, 2, 4, 5], ("transpose", 8 * 7 * 8 * 7 * 96 // (7 * 96))),  # Swin's windows
    ((64, 3, 49, 32), [0, 1, 3, 2, 4], ("transpose", 64 * 3 * 49)),  # heads first: blocks of 32
    ((1024, 2, 16, 2), [0, 1, 3, 2, 4], ("transpose", 0)),  # blocks of 2 float32: a typed copy, per element
    ((48, 1024), [0, 2, 1], ("transpose_inner", 0)),  # one axis moved: MLAS's 2-D transpose
    ((64, 256, 4), [0, 3, 2, 1], ("transpose_inner", 64 * 256 * 4)),  # MobileViT's unfold: element by element
    ((64, 8, 7, 8, 7), [0, 2, 4, 3, 5, 1], ("transpose_inner", 64 * 8 * 7 * 8 * 7)),  # MaxViT's grid
])
def test_the_transpose_onnxruntime_runs_and_its_rows(shape, perm, expected):
    assert transpose_kernel(shape, perm, 1, 4) == expected
    op_class, rows = transpose_kernel(shape, perm, 3, 4)
    assert (op_class, rows) == (expected[0], 3 * expected[1])  # each image's rows


def test_broadcasting_ops_count_their_spans_and_pads_their_rows():
    k = _kernels((1024, 48), ["{name: gamma, op: mul, param: [48]}", "{name: per_token, op: div, param: [1024, 1]}",
                              "{name: same, op: add, from: [per_token, gamma]}", "{name: number, op: mul, value: 2}",
                              "{name: column, op: pad, pads: [0, 0, 0, 1]}", "{name: row, op: pad, pads: [0, 0, 1, 0]}"])
    assert k["gamma"].rows == 1024 and k["per_token"].rows == 1024  # a span of 48 per token, each a call
    assert k["same"].rows == 0 and k["number"].rows == 0  # one shape, or a number: one span
    assert k["column"].rows == 1024 and k["row"].rows == 1  # the innermost padded axis: one row per position before
    k = _kernels((64, 3, 49, 49), ["{name: bias, op: add, param: [3, 49, 49]}",
                                   "{name: mask, op: add, const: [64, 1, 49, 49]}"], batch=2)
    assert k["bias"].rows == 2 * 64 and k["mask"].rows == 2 * 64 * 3  # Swin's position bias and mask
    k = _kernels((32, 14, 14), ["{name: p, op: pad, pad: 1}", "{name: se, op: mul, param: [32, 1, 1]}"])
    assert k["p"].rows == 32 * 16 and k["se"].rows == 32  # each padded row of 16; a scale per channel


def test_single_axis_moves():
    assert single_axis_move([0, 2, 1]) and single_axis_move([0, 3, 1, 2]) and single_axis_move([0, 2, 3, 1])
    assert single_axis_move([0, 1, 3, 2, 4, 5]) and not single_axis_move([0, 3, 2, 1])
    assert not single_axis_move([0, 2, 4, 3, 5, 1])


def test_each_row_costs_the_classes_row_time():
    p = replace(with_class(uniform(1e10, 1e10, 1e-6, combine="sum"), "normalization", row_s=2e-8), context=1.5)
    k = Kernel("normalization", 1000, 8000, 1, "ln", ("ln",), rows=50)
    assert kernel_time(k, p) == pytest.approx(1.5 * (1000 / 1e10 + 8000 / 1e10 + 1e-6 + 50 * 2e-8), rel=1e-12)
    assert kernel_time(replace(k, op_class="softmax"), p) == pytest.approx(1.5 * (9000 / 1e10 + 1e-6), rel=1e-12)


def test_an_fc_reads_its_weights_from_memory_once_the_network_moves_more_than_the_cache():
    text = _spec("t", (64, 56, 56), [], tail=["{op: gap}", "{op: flatten}", "{name: fc, op: fc, out: 1000}"])
    graph = build(text)
    p = replace(uniform(1e12, 4e10, 0.0, combine="sum"), llc_bytes=2 ** 20, dram_bandwidth=1e10)
    fc = next(k for k in plan(graph, p) if k.layer == "fc")
    weights = (64 * 1000 + 1000) * 4
    assert fc.weight_bytes == weights and fc.bytes == weights + (64 + 1000) * 4
    total = sum(k.bytes for k in plan(graph, p))
    assert total > 2 ** 20 and evicts(total, p)
    warm = (fc.bytes - weights) / 4e10 + fc.flops / 1e12
    assert kernel_time(fc, p, True) == pytest.approx(warm + weights / 1e10, rel=1e-12)  # all its weights: DRAM
    assert kernel_time(fc, p, False) == pytest.approx(fc.flops / 1e12 + fc.bytes / 4e10, rel=1e-12)
    result = estimate(graph, p)
    assert result.evicted and result.by_layer()["fc"] == pytest.approx(kernel_time(fc, p, True), rel=1e-12)
    roomy = replace(p, llc_bytes=64 * 2 ** 20)  # the whole network stays in the cache: the weights too
    assert not estimate(graph, roomy).evicted
    assert not evicts(total, replace(p, llc_bytes=0))  # no cache term, no eviction


def _synthetic(truth, n, seed):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        kernels = []
        for _ in range(int(rng.integers(3, 12))):
            c = OP_CLASSES[int(rng.integers(len(OP_CLASSES)))]
            rows = int(10 ** rng.uniform(2, 5)) if c in ("normalization", "softmax", "transpose") else 0
            kernels.append(Kernel(c, int(10 ** rng.uniform(4, 9)), int(10 ** rng.uniform(4, 8)),
                                  int(rng.integers(1, 4)), f"l{i}", rows=rows))
        samples.append(Sample(f"n{i}", tuple(kernels), predict(kernels, truth)))
    return samples


def test_the_fit_recovers_a_known_row_time():
    rng = np.random.default_rng(3)
    truth = uniform(1.0, 1.0, 0.0, combine="sum", run_overhead_s=2e-5)
    for c in OP_CLASSES:
        truth = with_class(truth, c, throughput=float(rng.uniform(5e9, 6e10)), bandwidth=float(rng.uniform(2e9, 2e10)),
                           overhead_s=float(rng.uniform(1e-6, 1e-5)))
    for c, row in (("normalization", 2.3e-8), ("softmax", 5e-8), ("transpose", 7e-9)):
        truth = with_class(truth, c, row_s=row)
    fitted, q = fit(_synthetic(truth, 400, 1), uniform(1.0, 1.0, 0.0), "sum")
    for c in ("normalization", "softmax", "transpose"):
        assert fitted[c].row_s == pytest.approx(truth[c].row_s, rel=1e-6)
    assert fitted["gemm"].row_s == 0 and q.max_abs_error < 1e-9


def test_the_fit_reads_an_evicted_fcs_weights_at_the_dram_bandwidth():
    """Networks whose fc weights go cold above the cache size: the fit's vectorised sums equal the model's, and
    the cache search finds the size and the DRAM bandwidth from them."""
    from costcalc.latency.fit import _Table, cache_size

    truth = replace(uniform(3e10, 2e10, 1e-6, combine="sum"), llc_bytes=8 * 2 ** 20, dram_bandwidth=6e9)
    rng = np.random.default_rng(5)
    samples = []
    for i in range(120):
        weights = int(10 ** rng.uniform(5, 7))
        kernels = [Kernel("pointwise_conv", int(10 ** rng.uniform(6, 9)), int(10 ** rng.uniform(5, 7.5)), 1, "c"),
                   Kernel("elementwise", 0, int(10 ** rng.uniform(5, 7.5)), 1, "e"),
                   Kernel("fc", weights // 4, weights + 8000, 1, "fc", ("fc",), weight_bytes=weights)]
        samples.append(Sample(f"n{i}", tuple(kernels), predict(kernels, truth)))
    assert _Table(samples).predict(truth) == pytest.approx([s.measured_s for s in samples], rel=1e-12)
    llc, _ = cache_size(samples, uniform(1.0, 1.0, 0.0))
    assert llc == 8 * 2 ** 20
    fitted, q = fit(samples, replace(uniform(1.0, 1.0, 0.0), llc_bytes=llc), "sum")
    assert fitted.dram_bandwidth == pytest.approx(6e9, rel=1e-6) and q.max_abs_error < 1e-9


def test_row_s_in_the_profile_file(tmp_path):
    p = with_class(uniform(1e10, 1e10, 1e-6), "softmax", row_s=5.0e-08)
    path = tmp_path / "p.yaml"
    save(p, str(path))
    assert "row_s: 5.0e-08" in path.read_text() and load(str(path)) == p
    path.write_text(path.read_text().replace(", row_s: 5.0e-08", ""))  # a profile from before the term: 0
    assert load(str(path))["softmax"].row_s == 0.0


HEAD_IN_A_BLOCK = """
name: head
input: [3, 64, 64]
vars: {c: 32, classes: 1000}
blocks:
  head:
    args: {classes: ~}
    layers:
      - gap
      - flatten
      - {op: fc, out: classes}
layers:
  - {op: conv, out: c, k: 3, pad: 1}
  - relu
  - {op: conv, out: c, k: 3, pad: 1}
  - relu
  - {block: head, args: {classes: classes}}
"""


def test_a_sweeps_estimate_from_parts_evicts_the_weights_as_the_whole_estimate_does():
    """The fc sits in a part (a block); whether its weights go cold depends on the whole point's bytes, which the
    parts' remembered plans still give: the assembled estimate is the very float of a fresh report."""
    profile = replace(uniform(3e10, 2e10, 1e-6, combine="sum"), llc_bytes=2 ** 20, dram_bandwidth=5e9)
    model = costcalc.load(HEAD_IN_A_BLOCK)
    evicted = []
    for setting in ({}, {"c": 64}, {"classes": 10}, {"c": 8, "classes": 10}, {"c": 64, "classes": 2000}):
        report = costcalc.analyze(HEAD_IN_A_BLOCK, set=setting, device=profile)
        moved = sum(k.bytes for k in report.latency.kernels)
        assert report.latency.evicted == (moved > 2 ** 20), setting  # the point moves more than the 1 MB cache
        evicted.append(report.latency.evicted)
        assert model.timed(profile, set=setting) == (report.totals, report.latency_s), setting
    assert model._cache.whole_estimates == 0
    assert evicted == [True, True, True, False, True]  # c = 8: the network fits in the cache, and the weights too
