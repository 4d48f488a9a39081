"""Named counting conventions: what "FLOPs" means to costcalc and to five popular PyTorch counters.

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
dropout = nn.Dropout, identity = nn.Identity; and for the later ops conv_transpose = nn.ConvTranspose2d, layernorm =
nn.LayerNorm (torchvision's LayerNorm2d is a subclass that hooks do not know: write it `call: functional`),
groupnorm = nn.GroupNorm, layer_scale = a parameter times the input (`*`), hardtanh / gelu / mish / softmax =
nn.Hardtanh / nn.GELU / nn.Mish / nn.Softmax(dim=1), adaptive pools = nn.AdaptiveAvgPool2d / nn.AdaptiveMaxPool2d,
resize = nn.Upsample, pad = nn.ZeroPad2d / F.pad, slice = x[:, a:b]. An entry with `call: functional` stands for
the torch.nn.functional (or torch.add / torch.mul) call instead, which module hooks never see. The model is in
eval mode (thop and ptflops set it; fvcore traces the model as given: call model.eval() first, as for any
inference count).

Layout: rules.py (Site, Rule, Convention and the shared formulas), ours.py (paper, full, 2xmac), fvcore.py,
ptflops.py, thop.py (with yolo), deepspeed.py, calflops.py (DeepSpeed's rules but three); each tool module's docstring names the source files its rules come from (read in
each tool's released source, not fitted to totals).
"""

from __future__ import annotations

from dataclasses import dataclass

from costcalc.analysis.conventions.calflops import CALFLOPS
from costcalc.analysis.conventions.deepspeed import DEEPSPEED
from costcalc.analysis.conventions.fvcore import FVCORE
from costcalc.analysis.conventions.ours import FULL, PAPER, TWICE
from costcalc.analysis.conventions.ptflops import PTFLOPS
from costcalc.analysis.conventions.rules import Convention, Rule, Site
from costcalc.analysis.conventions.thop import THOP, YOLO
from costcalc.errors import CostcalcError
from costcalc.ops import OPS

__all__ = ["CONVENTIONS", "DEFAULT", "FUNCTIONAL_ROW", "Convention", "ConventionError", "Explanation", "Rule", "Site",
           "by_op", "count", "explain", "get", "recount", "site"]

DEFAULT = "paper"


class ConventionError(CostcalcError):
    """A convention cannot count a graph: an unknown convention, or an op it has no rule for."""


CONVENTIONS: dict[str, Convention] = {c.name: c for c in (PAPER, FULL, TWICE, FVCORE, PTFLOPS, THOP, YOLO,
                                                                 DEEPSPEED, CALFLOPS)}


def get(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise ConventionError(f"unknown convention '{name}' (known: {', '.join(CONVENTIONS)})") from None


def site(graph, node) -> Site:
    return Site(node.op, tuple(graph.tensors[t] for t in node.inputs), tuple(graph.tensors[t] for t in node.outputs),
                node.args, graph.batch)


def count(convention: Convention, s: Site) -> int:
    """FLOPs of one layer under `convention`, for the site's batch (one sample unless it says otherwise)."""
    table = convention.functional if s.functional and convention.functional is not None else convention.rules
    rule = table.get(s.op)
    if rule is None:
        raise ConventionError(f"convention '{convention.name}' has no rule for op '{s.op}'")
    return rule.count(s) if rule.whole_batch else rule.count(s) * s.batch


def recount(graph, name: str = DEFAULT) -> list:
    """The FLOPs of every node of `graph` (in graph order, for the whole batch) under the convention `name`."""
    convention = get(name)
    return [count(convention, site(graph, node)) for node in graph.nodes]


FUNCTIONAL_ROW = "{} (call: functional)"  # by_op's row of an op's layers that the spec calls as functions


def by_op(graph) -> dict:
    """op -> {convention name -> total FLOPs of the graph's layers of that op}: where the conventions part ways.
    Layers with `call: functional` have their own row, `relu (call: functional)`: the tools count them apart."""
    table: dict = {}
    for node in graph.nodes:
        s = site(graph, node)
        key = FUNCTIONAL_ROW.format(node.op) if s.functional else node.op
        row = table.setdefault(key, {name: 0 for name in CONVENTIONS})
        for name, convention in CONVENTIONS.items():
            row[name] += count(convention, s)
    return table




@dataclass(frozen=True)
class Explanation:
    """What --explain-conventions shows: each convention's tool and summary, each op's rule under each convention,
    and, for a spec, each op's FLOPs under each convention (ops in order of first appearance) with the totals."""

    conventions: tuple  # ((name, tool, summary), ...)
    rules: dict  # op -> {convention name -> what it counts}
    flops: dict | None = None  # op (or FUNCTIONAL_ROW) -> {convention name -> FLOPs}, for a graph
    totals: dict | None = None  # convention name -> FLOPs
    functional: dict | None = None  # op -> {convention name -> what it counts under `call: functional`}, only the
    #                                 conventions whose count changes with the call (module hooks do not see it)


def explain(graph=None) -> Explanation:
    rules = {op: {c.name: c.rules[op].says for c in CONVENTIONS.values()} for op in OPS}
    functional = {op: {c.name: c.functional[op].says for c in CONVENTIONS.values()
                       if c.functional is not None and c.functional[op] is not c.rules[op]} for op in OPS}
    flops = totals = None
    if graph is not None:
        flops = by_op(graph)
        totals = {name: sum(row[name] for row in flops.values()) for name in CONVENTIONS}
    return Explanation(tuple((c.name, c.tool, c.summary) for c in CONVENTIONS.values()), rules, flops, totals,
                       functional)
