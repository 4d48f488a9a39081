"""The tool conventions on the generic tensor layer's ops: one-op probes whose counts fvcore 0.1.5, ptflops 0.7.5,
thop 0.1.1 and calflops 0.3.2 printed themselves (scripts/tool_flops.py --probes tensor, torch 2.14.1: 0
differences), DeepSpeed's rules derived from its source by hand, numpy's einsum_path count against numpy itself, and
costcalc's own conventions (paper counts matmul and einsum multiply-adds, full everything)."""

import numpy as np
import pytest

from costcalc.analysis.conventions import CONVENTIONS, Site, count, recount
from costcalc.analysis.conventions.tensor import numpy_optimized_flops
from costcalc.graph import load

X = (8, 10, 10)
T = (8, 100)

PRINTED = [
    ('matmul (x @ x)', Site('matmul', (X, X), (X,), {}),
     {'fvcore': 8000, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('matmul functional (torch.matmul)', Site('matmul', (X, X), (X,), {'call': 'functional'}),
     {'fvcore': 8000, 'ptflops': 8000, 'thop': 0, 'calflops': 16000}),
    ('einsum bchw,bcwv->bchv', Site('einsum', (X, X), (X,), {'equation': 'bchw,bcwv->bchv'}),
     {'fvcore': 8000, 'ptflops': 0, 'thop': 0, 'calflops': 16000}),
    ('einsum bct,bcp->btp (tokens)', Site('einsum', (T, T), ((100, 100),), {'equation': 'bct,bcp->btp'}),
     {'fvcore': 80000, 'ptflops': 0, 'thop': 0, 'calflops': 160000}),
    ('einsum bchw->bcwh (one operand)', Site('einsum', (X,), (X,), {'equation': 'bchw->bcwh'}),
     {'fvcore': 400, 'ptflops': 0, 'thop': 0, 'calflops': 801}),
    ('add value (x + 3)', Site('add', (X,), (X,), {'value': 3.0}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('add value functional (torch.add(x, 3))', Site('add', (X,), (X,), {'value': 3.0, 'call': 'functional'}),
     {'fvcore': 0, 'ptflops': 800, 'thop': 0, 'calflops': 800}),
    ('mul param (p * x, p C x 1 x 1)', Site('mul', (X,), (X,), {'param': (8, 1, 1)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('mul param functional (torch.mul(x, p))', Site('mul', (X,), (X,), {'param': (8, 1, 1), 'call': 'functional'}),
     {'fvcore': 0, 'ptflops': 6400, 'thop': 0, 'calflops': 6400}),
    ('sub value (x - 1)', Site('sub', (X,), (X,), {'value': 1.0}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('exp (torch.exp)', Site('exp', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('elu (nn.ELU)', Site('elu', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 1600, 'thop': 0, 'calflops': 800}),
    ('elu functional (F.elu)', Site('elu', (X,), (X,), {'call': 'functional'}),
     {'fvcore': 0, 'ptflops': 800, 'thop': 0, 'calflops': 800}),
    ('softmax over the last axis', Site('softmax', (X,), (X,), {'axis': -1}),
     {'fvcore': 0, 'ptflops': 800, 'thop': 2320, 'calflops': 800}),
    ('layernorm over the last axis (nn.LayerNorm(W))', Site('layernorm', (X,), (X,), {'axis': -1}),
     {'fvcore': 4000, 'ptflops': 800, 'thop': 3200, 'calflops': 4000}),
    ('fc over the last axis (nn.Linear(W, 16))', Site('fc', (X,), ((8, 10, 16),), {'out': 16, 'bias': True}),
     {'fvcore': 12800, 'ptflops': 14080, 'thop': 12800, 'calflops': 25600}),
    ('reduce_sum over H, W (x.sum)', Site('reduce_sum', (X,), ((8, 1, 1),), {'axes': (2, 3), 'keepdims': True}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_mean over W (x.mean(-1))', Site('reduce_mean', (X,), ((8, 10),), {'axes': (-1,), 'keepdims': False}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('permute (x.permute(0, 2, 3, 1))', Site('permute', (X,), ((10, 10, 8),), {'perm': (0, 2, 3, 1)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reshape (x.reshape)', Site('reshape', (X,), (T,), {'shape': T}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('constant (a buffer)', Site('constant', (X,), (T,), {'shape': T}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('tile (x.repeat(1, 1, 2, 1))', Site('tile', (X,), ((8, 20, 10),), {'repeats': (1, 2, 1)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('div with a constant', Site('div', (X,), (X,), {'value': 2.0}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('pow with a constant', Site('pow', (X,), (X,), {'value': 2.0}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('maximum with a constant', Site('maximum', (X,), (X,), {'value': 2.0}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('minimum with a constant', Site('minimum', (X,), (X,), {'value': 2.0}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('compare with a constant', Site('compare', (X,), (X,), {'value': 2.0}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('where (torch.where(x > 0, x, 0.0))', Site('where', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('log', Site('log', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('sqrt', Site('sqrt', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reciprocal', Site('reciprocal', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('abs', Site('abs', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('neg', Site('neg', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('erf', Site('erf', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('round', Site('round', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('sin', Site('sin', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('softplus', Site('softplus', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('cast', Site('cast', (X,), (X,), {}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_max over W', Site('reduce_max', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_min over W', Site('reduce_min', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_prod over W', Site('reduce_prod', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_l1 over W', Site('reduce_l1', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_l2 over W', Site('reduce_l2', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_sum_square over W', Site('reduce_sum_square', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_log_sum_exp over W', Site('reduce_log_sum_exp', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_log_sum over W', Site('reduce_log_sum', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_argmax over W', Site('reduce_argmax', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('reduce_argmin over W', Site('reduce_argmin', (X,), ((8, 10),), {'axes': (-1,)}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('expand (x[:, :, :1].expand)', Site('expand', ((8, 1, 10),), (X,), {'shape': X}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('gather (x[:, :, 3])', Site('gather', (X,), ((8, 10),), {'axis': 2}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('depth_to_space (F.pixel_shuffle)', Site('depth_to_space', (X,), ((2, 20, 20),), {'blocksize': 2}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('space_to_depth (F.pixel_unshuffle)', Site('space_to_depth', (X,), ((32, 5, 5),), {'blocksize': 2}),
     {'fvcore': 0, 'ptflops': 0, 'thop': 0, 'calflops': 0}),
    ('conv1d k3 + bias', Site('conv', (T,), ((16, 100),), {'out': 16, 'k': (3,), 'stride': (1,), 'pad': (1,), 'dilation': (1,), 'groups': 1, 'bias': True}),
     {'fvcore': 38400, 'ptflops': 40000, 'thop': 38400, 'calflops': 78400}),
    ('conv3d k3', Site('conv', ((8, 2, 5, 10),), ((4, 2, 5, 10),), {'out': 4, 'k': (3, 3, 3), 'stride': (1, 1, 1), 'pad': (1, 1, 1), 'dilation': (1, 1, 1), 'groups': 1, 'bias': False}),
     {'fvcore': 86400, 'ptflops': 86400, 'thop': 86400, 'calflops': 172800}),
    ('maxpool1d k2', Site('maxpool', (T,), ((8, 50),), {'k': (2,), 'stride': None, 'pad': (0,), 'dilation': (1,), 'ceil_mode': False}),
     {'fvcore': 0, 'ptflops': 1600, 'thop': 0, 'calflops': 800}),
]


@pytest.mark.parametrize("probe, s, printed", PRINTED, ids=[p[0] for p in PRINTED])
def test_what_the_tools_printed(probe, s, printed):
    assert {tool: count(CONVENTIONS[tool], s) for tool in printed} == printed


def test_the_probes_cover_the_tensor_layer():
    from costcalc.ops import BINARY_OPS, REARRANGE_OPS, REDUCE_OPS, UNARY_OPS

    covered = {s.op for _, s, _ in PRINTED}
    assert {*BINARY_OPS, *UNARY_OPS, *REDUCE_OPS, *REARRANGE_OPS, "where", "matmul", "einsum"} <= covered


@pytest.mark.parametrize("equation, shapes", [("bchw,bcwv->bchv", [X, X]), ("bct,bcp->btp", [T, T]),
                                              ("bchw->bcwh", [X]), ("bchw->bc", [X]), ("bn,bm->bnm", [(6,), (7,)])])
@pytest.mark.parametrize("batch", [1, 3])
def test_the_einsum_count_is_numpys(equation, shapes, batch):
    """fvcore's and DeepSpeed's einsum read numpy's einsum_path report: the rule reproduces it for the batch."""
    operands = [np.zeros((batch, *shape)) for shape in shapes]
    report = np.einsum_path(equation, *operands, optimize="optimal")[1]
    line = next(x for x in report.split("\n") if "optimized flop" in x.lower())
    out = np.einsum(equation, *operands).shape[1:]
    s = Site("einsum", tuple(shapes), (out,), {"equation": equation}, batch)
    assert numpy_optimized_flops(s) == float(line.split(":")[-1])
    assert count(CONVENTIONS["deepspeed"], s) == int(float(line.split(":")[-1]))


def test_deepspeed_and_calflops_on_matmul_and_einsum_by_hand():
    """DeepSpeed wraps torch.matmul and Tensor.__matmul__: 2 x prod(a) * b[-1] either way; calflops does not wrap
    __matmul__ (the @ operator counts 0). torch.einsum: numpy's optimized count 2 * 8,000 + 1, printed 1.600e+04."""
    at, fn = Site("matmul", (X, X), (X,), {}), Site("matmul", (X, X), (X,), {"call": "functional"})
    assert [count(CONVENTIONS["deepspeed"], s) for s in (at, fn)] == [16_000, 16_000]
    assert [count(CONVENTIONS["calflops"], s) for s in (at, fn)] == [0, 16_000]
    e = Site("einsum", (X, X), (X,), {"equation": "bchw,bcwv->bchv"})
    assert count(CONVENTIONS["deepspeed"], e) == count(CONVENTIONS["calflops"], e) == 16_000


def test_torch_add_against_a_number_or_a_learned_operand():
    """torch.add(x, 3): the input numel for every tool that wraps it; torch.mul(x, p) with p of shape C x 1 x 1:
    ptflops and calflops line the shapes up from the first axis, the batch: max(N, C) * C * H * W; DeepSpeed
    0.19.8 broadcasts (N * C * H * W)."""
    value = Site("add", (X,), (X,), {"value": 3.0, "call": "functional"}, 2)
    assert {t: count(CONVENTIONS[t], value) for t in ("ptflops", "deepspeed", "calflops")} == \
        {"ptflops": 1600, "deepspeed": 1600, "calflops": 1600}
    param = Site("mul", (X,), (X,), {"param": (8, 1, 1), "call": "functional"}, 2)
    assert {t: count(CONVENTIONS[t], param) for t in ("ptflops", "deepspeed", "calflops")} == \
        {"ptflops": 8 * 8 * 100, "deepspeed": 2 * 800, "calflops": 8 * 8 * 100}


ATTENTION = """
name: attention
input: [49, 32]
layers:
  - {name: qkv, op: fc, out: 96}
  - {name: heads, op: reshape, shape: [49, 3, 2, 16]}
  - {name: split, op: permute, perm: [0, 2, 3, 1, 4]}
  - {name: q, op: slice, axis: 1, out: 1, from: split}
  - {name: k, op: slice, axis: 1, start: 1, out: 1, from: split}
  - {name: v, op: slice, axis: 1, start: 2, out: 1, from: split}
  - {name: kt, op: permute, perm: [0, 1, 2, 4, 3], from: k}
  - {name: scores, op: matmul, from: [q, kt]}
  - {name: scaled, op: mul, value: 0.25}
  - {name: attn, op: softmax, axis: -1}
  - {name: out, op: matmul, from: [attn, v]}
"""


def test_paper_counts_products_of_activations_and_full_everything(write_spec):
    graph = load(write_spec(ATTENTION), batch=2)
    paper, full = recount(graph, "paper"), recount(graph, "full")
    assert paper == [n.counts.flops for n in graph.nodes]
    assert full == [n.counts.flops + n.counts.elementwise_flops for n in graph.nodes]
    qkv, scores, out = 49 * 32 * 96, 2 * 49 * 49 * 16, 2 * 49 * 16 * 49  # two heads of 16
    assert sum(paper) == 2 * (qkv + scores + out)


def test_a_constant_tensor_operand_counts_like_a_learned_one_for_the_tools():
    """torch.mul(x, mask) with a constant mask C x 1 x 1 (`const`): the same call as with a parameter."""
    const = Site("mul", (X,), (X,), {"const": (8, 1, 1), "call": "functional"}, 2)
    param = Site("mul", (X,), (X,), {"param": (8, 1, 1), "call": "functional"}, 2)
    for tool in ("ptflops", "deepspeed", "calflops"):
        assert count(CONVENTIONS[tool], const) == count(CONVENTIONS[tool], param) > 0, tool
