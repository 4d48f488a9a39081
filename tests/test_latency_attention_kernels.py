"""The planner's attention rules (costcalc.latency.plan) against the kernels onnxruntime's profiler shows for
costcalc's export of the same layers (scripts/ort_kernels.py's reading): the token fc is a Gemm between Reshapes
or a MatMul, the scale and k^T run inside a FusedMatMul, softmax and layernorm are one kernel each, and a view
launches a Reshape. Counts of kernels only: no timing."""

import sys
from collections import Counter

import pytest

from conftest import ROOT
from costcalc.latency.networks import _spec, build
from costcalc.latency.plan import plan
from costcalc.latency.profile import uniform
from costcalc.latency.token_networks import transformer

pytest.importorskip("onnxruntime")
sys.path.insert(0, str(ROOT / "scripts"))
from ort_kernels import runtime_kernels  # noqa: E402

FLAT = uniform(1e10, 1e10, 1e-6)


def _both(shape, layers):
    graph = build(_spec("t", shape, [], tail=layers), "t.yaml")
    ran = Counter(op for _, op, _ in runtime_kernels(graph, threads=1, runs=1))
    planned = Counter()
    for k in plan(graph, FLAT):
        planned[k.op_class] += k.launches
    return ran, planned


def test_a_transformer_layer_runs_the_kernels_planned():
    ran, planned = _both((64, 32), transformer("", "input", 32, 2, 64, bias=True) + ["{op: relu}"])
    assert ran["Gemm"] == planned["gemm"] == 4  # qkv, proj, fc1, fc2: MatMulAddFusion
    assert ran["FusedMatMul"] + ran["MatMul"] == planned["matmul"] == 2  # q k^T (scale inside), attn v
    assert ran["FusedMatMul"] == 1 and ran["Mul"] == 0  # the scale of q runs inside the product
    assert ran["Softmax"] == planned["softmax"] == 1
    assert ran["LayerNormalization"] == planned["normalization"] == 2
    assert ran["Gelu"] == planned["gelu"] == 1
    assert ran["Reshape"] == planned["view"]  # the Gemms' Reshapes and the views, merged where they meet
    assert ran["Split"] == planned["data_movement"] == 1


def test_without_bias_the_token_fc_is_a_matmul_without_reshapes():
    ran, planned = _both((49, 64), ["{op: fc, out: 128, bias: false}", "{op: relu}"])
    assert ran["MatMul"] == planned["gemm"] == 1 and ran["Reshape"] == planned["view"] == 0


def test_k_transposed_runs_inside_the_product():
    layers = ["{name: t, op: permute, perm: [0, 1, 3, 2]}", "{name: s, op: matmul, from: [input, t]}",
              "{op: matmul, from: [s, input]}"]
    ran, planned = _both((4, 64, 16), layers)
    assert ran["Transpose"] == planned["transpose"] + planned["transpose_inner"] == 0
    assert ran["FusedMatMul"] + ran["MatMul"] == planned["matmul"] == 2
