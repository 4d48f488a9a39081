"""Named counting conventions: what "FLOPs" means to costcalc and to three popular PyTorch counters.

fvcore, ptflops and thop print different FLOPs for the same network because each counts different ops, and counts
some of them differently. A convention is one table of rules, one rule per op of the registry (costcalc.ops.OPS),
each a pure function of the layer's shapes and arguments giving its FLOPs for one sample. `recount(graph, name)`
applies a table to a walked Graph; the report then shows those FLOPs in its FLOPs column.

What each spec op stands for in PyTorch (the tools see modules and functions, not our ops), as torchvision writes it:
conv = nn.Conv2d, fc = nn.Linear, bn = nn.BatchNorm2d (affine), relu / relu6 / leaky_relu / sigmoid / tanh / swish /
hardsigmoid / hardswish = nn.ReLU / nn.ReLU6 / nn.LeakyReLU / nn.Sigmoid / nn.Tanh / nn.SiLU / nn.Hardsigmoid /
nn.Hardswish, maxpool / avgpool = nn.MaxPool2d / nn.AvgPool2d, gap = nn.AdaptiveAvgPool2d(1), mean = x.mean([2, 3])
(a global average as a tensor method, as in torchvision's ShuffleNetV2), add = the `+` / `+=`
operator (torchvision's residuals), mul and scale = the `*` operator (squeeze-and-excitation, residual scaling),
concat = torch.cat, split = Tensor.chunk / split, shuffle = view + transpose + view, flatten = torch.flatten,
dropout = nn.Dropout, identity = nn.Identity. The model is in eval mode (thop and ptflops set it; fvcore traces the
model as given: call model.eval() first, as for any inference count).

Sources of the tool rules (read in each tool's released source, not fitted to totals):
- fvcore 0.1.5 `fvcore/nn/flop_count.py` (_DEFAULT_SUPPORTED_OPS), `jit_handles.py` (conv_flop_count,
  linear_flop_jit, batchnorm_flop_jit, elementwise_flop_counter), `jit_analysis.py` (_IGNORED_OPS). An aten op with
  no handle counts zero (fvcore warns "unsupported operator"); the ignored ones count zero silently.
- ptflops 0.7.5 `ptflops/pytorch_ops.py` (MODULES_MAPPING hooks, FUNCTIONAL_MAPPING, TENSOR_OPS_MAPPING) and
  `pytorch_engine.py` (patch_functional, patch_tensor_ops), default `backend_specific_config` (count_functional on).
  Module hooks and patched torch.nn.functional calls are both counted, so a module whose forward calls a patched
  function (nn.ReLU -> F.relu, nn.MaxPool2d -> F.max_pool2d, nn.AvgPool2d -> F.avg_pool2d,
  nn.AdaptiveAvgPool2d -> F.adaptive_avg_pool2d) is counted twice. Tensor operators (`+`, `+=`, `*`) are not
  patched (only torch.add / Tensor.add / torch.mul / Tensor.mul are), so torchvision's residual adds are not seen.
- thop 0.1.1 `thop/profile.py` (register_hooks), `thop/vision/basic_hooks.py`, `thop/vision/calc_func.py`. A module
  type with no hook counts zero; functional and tensor calls are never seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Callable

from costcalc.errors import CostcalcError
from costcalc.ops import (BATCHNORM_FLOPS, BIAS_FLOPS, HARDSIGMOID_FLOPS, HARDSWISH_FLOPS, LEAKY_RELU_FLOPS, OPS,
                          PAPER_SUMMARY, POOL_FLOPS_PER_WINDOW_ELEMENT, RELU6_FLOPS, RELU_FLOPS, SCALE_FLOPS, SIGMOID_FLOPS,
                          SWISH_FLOPS, TANH_FLOPS)

DEFAULT = "paper"


class ConventionError(CostcalcError):
    """A convention cannot count a graph: an unknown convention, or an op it has no rule for."""


@dataclass(frozen=True)
class Site:
    """What a rule sees of one layer, per sample: input and output shapes ((C, H, W) or (F,)) and its arguments."""

    op: str
    inputs: tuple
    outputs: tuple
    args: dict


@dataclass(frozen=True)
class Rule:
    says: str  # what the rule counts, for --explain-conventions
    count: Callable[[Site], int]  # FLOPs of one sample


@dataclass(frozen=True)
class Convention:
    name: str
    tool: str  # the tool and version it reproduces, or "costcalc"
    summary: str  # one line for the report's header
    rules: dict  # op -> Rule


# ---- the formulas the rules share: per sample, ints ----------------------------------------------------------


def out_elements(s: Site) -> int:
    return prod(s.outputs[0])


def in_elements(s: Site) -> int:
    return prod(s.inputs[0])


def conv_macs(s: Site) -> int:
    """h_out * w_out * c_out * k_h * k_w * c_in / groups (grouped and depthwise convs included)."""
    (c_in, *_), (k_h, k_w) = s.inputs[0], s.args["k"]
    return out_elements(s) * k_h * k_w * (c_in // s.args["groups"])


def fc_macs(s: Site) -> int:
    return s.inputs[0][0] * s.outputs[0][0]


def bias(s: Site) -> int:
    """One add per output element when the layer has a bias."""
    return BIAS_FLOPS * out_elements(s) if s.args.get("bias") else 0


def window_elements(s: Site) -> int:
    """Elements of every pooling window: output elements * k_h * k_w."""
    k_h, k_w = s.args["k"]
    return out_elements(s) * k_h * k_w


def residual_adds(s: Site) -> int:
    return (len(s.inputs) - 1) * out_elements(s)


def per_element(flops: int, of: Callable[[Site], int] = out_elements) -> Callable[[Site], int]:
    return lambda s: flops * of(s)


def zero(s: Site) -> int:
    return 0


def _free(says: str = "0 (moves data, no arithmetic)") -> Rule:
    return Rule(says, zero)


# ---- the conventions: one table each, one rule per op --------------------------------------------------------

# What every convention agrees moves data without arithmetic.
_DATA_MOVEMENT = {
    "concat": _free(),
    "split": _free(),
    "shuffle": _free(),
    "flatten": _free("0 (a view)"),
    "dropout": _free("0 (identity at inference)"),
    "identity": _free("0"),
    "select": _free("0 (a gather: moves data, no arithmetic)"),
}

PAPER = Convention("paper", "costcalc", PAPER_SUMMARY, {
    "conv": Rule("multiply-adds h_out*w_out*c_out*k_h*k_w*c_in/g; bias not counted", conv_macs),
    "fc": Rule("multiply-adds in*out; bias not counted", fc_macs),
    **{op: _free("0 (element-wise: not counted)") for op in (
        "bn", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "swish", "hardsigmoid", "hardswish", "scale", "add",
        "mul")},
    **{op: _free("0 (pooling: not counted)") for op in ("maxpool", "avgpool", "gap", "mean")},
    **_DATA_MOVEMENT,
})

FULL = Convention("full", "costcalc", "FLOPs = conv + fc multiply-adds + every element-wise op", {
    "conv": Rule("multiply-adds + bias 1 per output element", lambda s: conv_macs(s) + bias(s)),
    "fc": Rule("multiply-adds in*out + bias 1 per output", lambda s: fc_macs(s) + bias(s)),
    "bn": Rule(f"{BATCHNORM_FLOPS} per element (scale, shift)", per_element(BATCHNORM_FLOPS)),
    "relu": Rule(f"{RELU_FLOPS} per element", per_element(RELU_FLOPS)),
    "relu6": Rule(f"{RELU6_FLOPS} per element (min, max)", per_element(RELU6_FLOPS)),
    "leaky_relu": Rule(f"{LEAKY_RELU_FLOPS} per element", per_element(LEAKY_RELU_FLOPS)),
    "sigmoid": Rule(f"{SIGMOID_FLOPS} per element (exp, add, divide)", per_element(SIGMOID_FLOPS)),
    "tanh": Rule(f"{TANH_FLOPS} per element", per_element(TANH_FLOPS)),
    "swish": Rule(f"{SWISH_FLOPS} per element (sigmoid, multiply)", per_element(SWISH_FLOPS)),
    "hardsigmoid": Rule(f"{HARDSIGMOID_FLOPS} per element", per_element(HARDSIGMOID_FLOPS)),
    "hardswish": Rule(f"{HARDSWISH_FLOPS} per element", per_element(HARDSWISH_FLOPS)),
    "scale": Rule(f"{SCALE_FLOPS} per element", per_element(SCALE_FLOPS)),
    "maxpool": Rule(f"{POOL_FLOPS_PER_WINDOW_ELEMENT} per window element per output (k_h*k_w per output)",
                    per_element(POOL_FLOPS_PER_WINDOW_ELEMENT, window_elements)),
    "avgpool": Rule(f"{POOL_FLOPS_PER_WINDOW_ELEMENT} per window element per output (k_h*k_w per output)",
                    per_element(POOL_FLOPS_PER_WINDOW_ELEMENT, window_elements)),
    "gap": Rule(f"{POOL_FLOPS_PER_WINDOW_ELEMENT} per input element", per_element(POOL_FLOPS_PER_WINDOW_ELEMENT,
                                                                                  in_elements)),
    "mean": Rule(f"{POOL_FLOPS_PER_WINDOW_ELEMENT} per input element", per_element(POOL_FLOPS_PER_WINDOW_ELEMENT,
                                                                                   in_elements)),
    "add": Rule("n-1 per element for n inputs", residual_adds),
    "mul": Rule("1 per output element", per_element(1)),
    **_DATA_MOVEMENT,
})

# fvcore 0.1.5 FlopCountAnalysis: a multiply-add is one flop; handles for conv, linear, batch_norm,
# adaptive_avg_pool2d (and matmuls, norms, upsampling); everything else counts zero.
_FVCORE_UNSUPPORTED = "0 (aten op has no handle: 'unsupported operator')"
FVCORE = Convention("fvcore", "fvcore 0.1.5 FlopCountAnalysis",
                    "FLOPs as fvcore 0.1.5 FlopCountAnalysis counts them, model in eval mode", {
    "conv": Rule("aten::_convolution: batch*prod(weight shape)*h_out*w_out = multiply-adds; bias ignored", conv_macs),
    "fc": Rule("aten::linear: prod(input)*out_features = multiply-adds; bias ignored", fc_macs),
    "bn": Rule("aten::batch_norm, eval: 2 per input element (affine; 1 without; 5 in training mode)",
               per_element(2, in_elements)),
    "relu": _free("0 (aten::relu_ is in _IGNORED_OPS)"),
    "relu6": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::hardtanh")),
    "leaky_relu": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::leaky_relu")),
    "sigmoid": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::sigmoid")),
    "tanh": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::tanh")),
    "swish": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::silu")),
    "hardsigmoid": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::hardsigmoid")),
    "hardswish": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::hardswish")),
    "scale": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::mul")),
    "maxpool": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::max_pool2d")),
    "avgpool": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::avg_pool2d")),
    "gap": Rule("aten::adaptive_avg_pool2d: 1 per input element", per_element(1, in_elements)),
    "mean": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::mean")),
    "add": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::add")),
    "mul": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::mul")),
    "concat": _free("0 (aten::cat is in _IGNORED_OPS)"),
    "split": _free("0 (aten::chunk / split are in _IGNORED_OPS)"),
    "shuffle": _free("0 (view / transpose / contiguous are in _IGNORED_OPS)"),
    "flatten": _free("0 (aten::flatten is in _IGNORED_OPS)"),
    "dropout": _free("0 (aten::dropout is in _IGNORED_OPS)"),
    "identity": _free("0 (no aten op)"),
    "select": _free(_FVCORE_UNSUPPORTED.replace("aten op", "aten::index_select")),
})

# ptflops 0.7.5, pytorch backend, default config: module forward hooks (MODULES_MAPPING) plus patched
# torch.nn.functional calls (FUNCTIONAL_MAPPING) and torch.add / torch.mul calls; the two add up.
_PTFLOPS_NO_HOOK = "0 (no module hook, and {} is not patched)"
PTFLOPS = Convention("ptflops", "ptflops 0.7.5 (pytorch backend)",
                     "FLOPs as ptflops 0.7.5 get_model_complexity_info (pytorch backend) counts them", {
    "conv": Rule("conv hook: multiply-adds + bias 1 per output element", lambda s: conv_macs(s) + bias(s)),
    "fc": Rule("linear hook: (in*out + out if bias) per sample", lambda s: fc_macs(s) + bias(s)),
    "bn": Rule("bn hook: 2 per input element (affine; 1 without)", per_element(2, in_elements)),
    "relu": Rule("2 per element: relu hook (output numel) + patched F.relu (input numel)", per_element(2)),
    "relu6": Rule("1 per element: relu hook; nn.ReLU6 calls F.hardtanh, not patched", per_element(1)),
    "leaky_relu": Rule("1 per element: relu hook; F.leaky_relu is not patched", per_element(1)),
    "sigmoid": _free(_PTFLOPS_NO_HOOK.format("torch.sigmoid")),
    "tanh": _free(_PTFLOPS_NO_HOOK.format("torch.tanh")),
    "swish": Rule("1 per element: no nn.SiLU hook, but nn.SiLU calls the patched F.silu (input numel)",
                  per_element(1, in_elements)),
    "hardsigmoid": _free(_PTFLOPS_NO_HOOK.format("F.hardsigmoid")),
    "hardswish": _free(_PTFLOPS_NO_HOOK.format("F.hardswish")),
    "scale": _free("0 (the * operator: only torch.mul / Tensor.mul calls are patched)"),
    "maxpool": Rule("2 per input element: pool hook (input numel) + patched F.max_pool2d (input numel)",
                    per_element(2, in_elements)),
    "avgpool": Rule("2 per input element: pool hook (input numel) + patched F.avg_pool2d (input numel)",
                    per_element(2, in_elements)),
    "gap": Rule("2 per input element: pool hook (input numel) + patched F.adaptive_avg_pool2d (input numel)",
                per_element(2, in_elements)),
    "mean": _free("0 (Tensor.mean is not patched)"),
    "add": _free("0 (the + / += operator: only torch.add / Tensor.add calls are patched, 1 per element)"),
    "mul": _free("0 (the * operator: only torch.mul / Tensor.mul calls are patched, 1 per element)"),
    "concat": _free(_PTFLOPS_NO_HOOK.format("torch.cat")),
    "split": _free(_PTFLOPS_NO_HOOK.format("Tensor.chunk")),
    "shuffle": _free(_PTFLOPS_NO_HOOK.format("view / transpose")),
    "flatten": _free(_PTFLOPS_NO_HOOK.format("torch.flatten")),
    "dropout": _free(_PTFLOPS_NO_HOOK.format("F.dropout")),
    "identity": _free("0 (no hook)"),
    "select": _free(_PTFLOPS_NO_HOOK.format("torch.index_select")),
})

# thop 0.1.1 profile(): forward hooks on module types in register_hooks; a type without one counts zero.
_THOP_NO_RULE = "0 (no rule for {}: 'treat it as zero Macs')"
_THOP_TENSOR_OP = "0 (a tensor operation, not a module: never seen)"
THOP = Convention("thop", "thop 0.1.1", "FLOPs as thop 0.1.1 profile() counts them", {
    "conv": Rule("count_convNd: output numel * c_in/g * k_h*k_w = multiply-adds; bias ignored", conv_macs),
    "fc": Rule("count_linear: in_features * output numel; bias ignored", fc_macs),
    "bn": Rule("count_normalization: 2 per input element, doubled when affine: 4", per_element(4, in_elements)),
    "relu": _free("0 (zero_ops)"),
    "relu6": _free("0 (zero_ops)"),
    "leaky_relu": _free("0 (count_relu returns calculate_relu_flops = 0)"),
    "sigmoid": _free(_THOP_NO_RULE.format("nn.Sigmoid")),
    "tanh": _free(_THOP_NO_RULE.format("nn.Tanh")),
    "swish": _free(_THOP_NO_RULE.format("nn.SiLU")),
    "hardsigmoid": _free(_THOP_NO_RULE.format("nn.Hardsigmoid")),
    "hardswish": _free(_THOP_NO_RULE.format("nn.Hardswish")),
    "scale": _free(_THOP_TENSOR_OP),
    "maxpool": _free("0 (zero_ops)"),
    "avgpool": Rule("count_avgpool: 1 per output element", per_element(1)),
    "gap": Rule("count_adap_avgpool: (h_in*w_in/(h_out*w_out) + 1) per output element: c*(h*w + 1)",
                lambda s: (s.inputs[0][1] * s.inputs[0][2] + 1) * s.outputs[0][0]),
    "mean": _free(_THOP_TENSOR_OP),
    "add": _free(_THOP_TENSOR_OP),
    "mul": _free(_THOP_TENSOR_OP),
    "concat": _free(_THOP_TENSOR_OP),
    "split": _free(_THOP_TENSOR_OP),
    "shuffle": _free(_THOP_TENSOR_OP),
    "flatten": _free(_THOP_TENSOR_OP),
    "dropout": _free("0 (zero_ops)"),
    "identity": _free(_THOP_NO_RULE.format("nn.Identity")),
    "select": _free(_THOP_TENSOR_OP),
})

CONVENTIONS: dict[str, Convention] = {c.name: c for c in (PAPER, FULL, FVCORE, PTFLOPS, THOP)}


def get(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise ConventionError(f"unknown convention '{name}' (known: {', '.join(CONVENTIONS)})") from None


def site(graph, node) -> Site:
    return Site(node.op, tuple(graph.tensors[t] for t in node.inputs), tuple(graph.tensors[t] for t in node.outputs),
                node.args)


def count(convention: Convention, s: Site) -> int:
    """FLOPs of one sample of one layer under `convention`."""
    rule = convention.rules.get(s.op)
    if rule is None:
        raise ConventionError(f"convention '{convention.name}' has no rule for op '{s.op}'")
    return rule.count(s)


def recount(graph, name: str = DEFAULT) -> list:
    """The FLOPs of every node of `graph` (in graph order, for the whole batch) under the convention `name`."""
    convention = get(name)
    return [count(convention, site(graph, node)) * graph.batch for node in graph.nodes]


def by_op(graph) -> dict:
    """op -> {convention name -> total FLOPs of the graph's layers of that op}: where the conventions part ways."""
    table: dict = {}
    for node in graph.nodes:
        s = site(graph, node)
        row = table.setdefault(node.op, {name: 0 for name in CONVENTIONS})
        for name, convention in CONVENTIONS.items():
            row[name] += count(convention, s) * graph.batch
    return table




@dataclass(frozen=True)
class Explanation:
    """What --explain-conventions shows: each convention's tool and summary, each op's rule under each convention,
    and, for a spec, each op's FLOPs under each convention (ops in order of first appearance) with the totals."""

    conventions: tuple  # ((name, tool, summary), ...)
    rules: dict  # op -> {convention name -> what it counts}
    flops: dict | None = None  # op -> {convention name -> FLOPs}, for a graph
    totals: dict | None = None  # convention name -> FLOPs


def explain(graph=None) -> Explanation:
    rules = {op: {c.name: c.rules[op].says for c in CONVENTIONS.values()} for op in OPS}
    flops = totals = None
    if graph is not None:
        flops = by_op(graph)
        totals = {name: sum(row[name] for row in flops.values()) for name in CONVENTIONS}
    return Explanation(tuple((c.name, c.tool, c.summary) for c in CONVENTIONS.values()), rules, flops, totals)
