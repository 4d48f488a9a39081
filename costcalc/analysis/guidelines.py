"""The four practical guidelines of ShuffleNet V2 (Ma et al., ECCV 2018, Sec. 2), measured on a walked graph.

    G1  equal channel width minimises memory access (MAC)        every 1x1 conv and token-wise fc: c1:c2 and MAC
                                                                 over its bound (a packed q/k/v projection by part)
    G2  excessive group convolution increases MAC                every grouped, non-depthwise conv: MAC vs g = 1
    G3  network fragmentation reduces parallelism                every fork-join block: branches and fragments
                                                                 (q, k, v meeting in a product: one branch)
    G4  element-wise operations are non-negligible               their share of the network's MAC (softmax,
                                                                 layernorm and layout copies included)

A token mixer is measured by the same rules as a conv, never for being one or not: its token-wise linears are 1x1
convs over the tokens (G1), its products of two activations are fragments, one per kernel (G3), its softmax,
layernorm and transposes are element-wise passes (G4). docs/guidelines.md argues each from the paper.

The entry point is `check(graph, thresholds)`; it returns one frozen `GuidelineResult` per guideline in a
`Guidelines` record. Every count (MAC, bounds, excesses) is a Python int in elements (or bytes, with
`bytes_per_element`); ratios and shares are floats. Nothing here prints; each finding carries its reason as one
readable sentence (`why`), the only text made here, beside the figures it rests on.

Thresholds come from `Thresholds()` (the documented defaults), updated by a spec's `guidelines:` section
(`thresholds_from_spec`) and then by command-line `GUIDELINE.NAME=VALUE` overrides (`apply_overrides`).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt, prod

from costcalc.analysis.packed import parts, readers_of
from costcalc.analysis.regions import FRAGMENT_OPS, Block, blocks  # noqa: F401 - G3's regions, importable from here
from costcalc.analysis.thresholds import (  # noqa: F401 - the thresholds, importable from here
    GUIDELINE_IDS, GuidelineError, Thresholds, apply_overrides, parse_ids, thresholds_from_spec)
from costcalc.graph import Graph
from costcalc.ops import BINARY_OPS, UNARY_OPS
from costcalc.ops.core import per_axis
from costcalc.util import gc_paused

TITLES = {
    "G1": "equal channel width minimises MAC",
    "G2": "excessive group convolution increases MAC",
    "G3": "network fragmentation reduces parallelism",
    "G4": "element-wise operations are non-negligible",
}

# G4's element-wise ops: the paper names ReLU, AddTensor and AddBias; every other activation, the residual scaling,
# the SE product and inference batchnorm (a per-channel scale and shift, i.e. AddBias plus a multiply) are of the same
# kind. Depthwise convs are added per node (`is_depthwise`): "we also consider depthwise convolutions as element-wise
# operators as they also have a high MAC/FLOPs ratio". A conv's or fc's own bias add is fused into that layer.
# The later activations (gelu, mish, hardtanh), the per-channel layer_scale, the normalisations (layernorm,
# groupnorm: a few passes over every element) and softmax are of the same kind, and so is every element-wise op of
# the generic tensor layer (any rank; a constant or learned operand is an AddBias); the reductions are pooling-like
# and, like the pools, are not counted. A matmul is a conv-like product (FLOPs of its own): never element-wise.
# The layout copies are too (LAYOUT_COPY_OPS): a transpose that moves data (attention's heads, MobileViT's unfold
# and fold, the channel shuffle) reads and writes every element with no arithmetic, the most extreme MAC/FLOPs
# ratio; the paper's Sec. 3 calls ShuffleNet V2's channel shuffle an element-wise operation. Copies that cut or
# join along an axis (split, concat, slice, gather) are the data movement of branching: G3's, not counted here.
LAYOUT_COPY_OPS = frozenset({"permute", "shuffle", "depth_to_space", "space_to_depth"})
ELEMENTWISE_OPS = frozenset({"relu", "relu6", "leaky_relu", "sigmoid", "tanh", "swish", "hardsigmoid", "hardswish",
                             "scale", "add", "mul", "bn", "gelu", "mish", "hardtanh", "layer_scale", "softmax",
                             "layernorm", "groupnorm", "where", *BINARY_OPS, *UNARY_OPS, *LAYOUT_COPY_OPS})


# ---- results ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One measured layer (G1, G2, G4) or block (G3), violation or not.

    `where` is the layer name (the block name for G3); `evidence` holds the figures in display order as
    (key, value) pairs: ints for element counts, floats for ratios and shares. `layers` names the layers a
    report row marker should point at. `severity` orders the worst offenders first."""

    guideline: str
    where: str
    violated: bool
    why: str
    evidence: tuple
    layers: tuple
    severity: float

    @property
    def figures(self) -> dict:
        return dict(self.evidence)


@dataclass(frozen=True)
class GuidelineResult:
    guideline: str  # "G1" .. "G4"
    title: str
    thresholds: dict  # name -> value, this guideline's only
    checked: int  # how many layers (G1, G2, G4) or blocks (G3) were measured
    findings: tuple  # every Finding, in graph order
    summary: tuple = ()  # network-wide figures as (key, value) pairs: G4's elementwise_share, ...
    subject: str = ""  # what `checked` counts, when it is not the guideline's usual kind ("1x1 convs and ...")

    @property
    def violations(self) -> tuple:
        """The violations, worst first."""
        return tuple(sorted((f for f in self.findings if f.violated), key=lambda f: -f.severity))

    @property
    def passed(self) -> bool:
        return not any(f.violated for f in self.findings)


@dataclass(frozen=True)
class Guidelines:
    model: str
    memory_unit: str  # "elements" or "bytes"
    thresholds: Thresholds
    results: tuple  # four GuidelineResult, G1 to G4

    def __getitem__(self, guideline: str) -> GuidelineResult:
        return self.results[GUIDELINE_IDS.index(guideline)]

    def violations(self, guidelines=GUIDELINE_IDS) -> tuple:
        """Every violation of the named guidelines (all four by default), G1 first, each worst first. A finding is
        identified across two specs by (finding.guideline, finding.where): what `compare` diffs and
        `check --fail-on` counts."""
        return tuple(f for g in guidelines for f in self[g].violations)

    def markers(self) -> dict:
        """layer name -> tuple of the guidelines it violates (for a report's per-row marker column)."""
        out: dict = {}
        for result in self.results:
            for finding in result.findings:
                if finding.violated:
                    for layer in finding.layers:
                        if result.guideline not in out.setdefault(layer, ()):
                            out[layer] += (result.guideline,)
        return out


def check(graph: Graph, thresholds: Thresholds | None = None, bytes_per_element: int | None = None) -> Guidelines:
    """Measure the four ShuffleNet V2 guidelines on `graph` and flag what passes `thresholds`.

    Args:
        graph: a walked graph (`costcalc.graph.load(path)` or `build(spec)`).
        thresholds: when a measurement is a violation. None (the default): the documented defaults updated by the
            spec's `guidelines:` section (a bad section raises a located SpecError); `Thresholds()`: the defaults
            alone; `apply_overrides(...)` adds command-line overrides.
        bytes_per_element: report memory access figures in bytes (ratios and shares do not change).

    Returns a `Guidelines` record: `result["G1"].violations` (worst first), `.passed`, `.checked`, `.findings`,
    `result.violations(("G1", "G2"))`, and `markers()` for per-layer flags. Pure: the graph is not modified.
    """
    if thresholds is None:
        thresholds = thresholds_from_spec(graph.spec.guidelines if graph.spec is not None else None)
    scale = bytes_per_element or 1
    with gc_paused():  # a finding per layer: many small acyclic objects
        results = (_g1(graph, thresholds, scale), _g2(graph, thresholds, scale), _g3(graph, thresholds),
                   _g4(graph, thresholds, scale))
    return Guidelines(graph.name, "bytes" if bytes_per_element else "elements", thresholds, results)


def _in_channels(graph: Graph, node) -> int:
    return graph.tensors[node.inputs[0]][0]


def is_depthwise(graph: Graph, node) -> bool:
    """A conv whose every group reads one input channel (groups == in_channels > 1)."""
    return node.op == "conv" and 1 < node.args.get("groups", 1) == _in_channels(graph, node)


# ---- G1 -----------------------------------------------------------------------------------------------------


def g1_bound(hw: int, c1: int, c2: int, groups: int = 1) -> int:
    """The G1 lower bound of a stride-1 1x1 conv's MAC, rounded up to a whole element.

    With B = hw*c1*c2/g FLOPs, MAC = hw*(c1 + c2) + c1*c2/g >= 2*sqrt(hw*B*g) + B/hw (the paper's bound for g = 1;
    AM-GM on c1 + c2 at fixed c1*c2), equality iff c1 == c2. 2*sqrt(hw*B*g) = sqrt(4*hw^2*c1*c2), computed exactly."""
    square = 4 * hw * hw * c1 * c2
    root = isqrt(square)
    return (root if root * root == square else root + 1) + c1 * c2 // groups


def _g1(graph: Graph, t: Thresholds, scale: int) -> GuidelineResult:
    findings = []
    # (id(args), id(counts), input shape, parts) -> the figures: a replayed block's layers share them (the parts
    # too: equal layers whose outputs are cut apart and read whole are measured apart)
    measured: dict = {}
    readers, fcs = readers_of(graph), False
    for index, node in enumerate(graph.nodes):
        if not _pointwise(graph, node):
            continue
        widths = parts(graph, index, readers)
        key = (id(node.args), id(node.counts), graph.tensors[node.inputs[0]], widths)
        figures = measured.get(key)
        if figures is None:
            figures = measured[key] = _g1_figures(graph, node, t, scale, widths)
        if figures:
            violated, why, evidence, severity = figures
            findings.append(Finding("G1", node.name, violated, why, evidence, (node.name,), severity))
            fcs = fcs or node.op == "fc"
    return GuidelineResult("G1", TITLES["G1"], t.of("G1"), len(findings), tuple(findings),
                           subject="1x1 convs and token-wise fcs" if fcs else "")


def _pointwise(graph: Graph, node) -> bool:
    """A stride-1 unpadded 1x1 conv of any rank, or an fc applied at every token of a tensor (rank 2 or more): the
    same product, c1 -> c2 at each of hw positions."""
    if node.op == "fc":
        return len(graph.tensors[node.inputs[0]]) > 1
    if node.op != "conv":
        return False
    a = node.args
    axes = len(graph.tensors[node.inputs[0]]) - 1  # 1x1 of any rank: a 1-D conv of kernel 1 is one too
    return (all(set(per_axis(a[key], axes, key)) == {one} for key, one in (("k", 1), ("stride", 1), ("pad", 0)))
            and set(per_axis(a.get("pad_end") or a["pad"], axes, "pad_end")) == {0})


def _g1_figures(graph: Graph, node, t: Thresholds, scale: int, widths: tuple = ()) -> tuple:
    """(violated, why, evidence, severity) of a stride-1 1x1 conv or a token-wise fc; () for a depthwise one and one
    at a single position. `widths`: the parts its output is cut into (a packed projection), measured as such."""
    if is_depthwise(graph, node):
        return ()  # a depthwise 1x1 conv is a per-channel scale: no c1:c2 to balance (G4 counts it)
    a = node.args
    shape_in, shape_out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if node.op == "fc":
        (*spatial, c1), c2 = shape_in, shape_out[-1]
    else:
        c1, (c2, *spatial) = shape_in[0], shape_out
    if prod(spatial) == 1:  # a fully connected layer on a pooled vector (squeeze-and-excitation's): no feature map
        return ()  # whose traffic unequal widths raise; its MAC is its weights, c1*c2, within c1 + c2 of the bound
    g = a.get("groups", 1)
    hw = graph.batch * prod(spatial)  # every position (pixel or token) of every sample moves c1 + c2 elements
    mac = node.counts.memory_access
    bias = c2 if a["bias"] else 0  # read once whatever the widths: added to the bound as to the MAC
    widths = widths if len(widths) > 1 and g == 1 else (c2,)
    # k parts c1 -> w_i reading their input once: the parts' bounds less the k - 1 reads of the input they share
    bound = sum(g1_bound(hw, c1, w, g) for w in widths) - (len(widths) - 1) * hw * c1 + bias
    excess = max(mac - bound, 0)
    ratio = max(max(c1, w) / min(c1, w) for w in widths)
    excess_ratio = excess / bound
    shown = f"{c1}:{'+'.join(map(str, widths))}" if len(widths) > 1 else f"{c1}:{c2}"
    reasons = []
    if ratio > t.g1_max_ratio:
        reasons.append(f"c1:c2 = {shown} is 1:{ratio:.2f}{' in a part' if len(widths) > 1 else ''}, "
                       f"more than 1:{t.g1_max_ratio:g}")
    if excess_ratio > t.g1_max_excess:
        reasons.append(f"MAC {excess_ratio:.1%} over the equal-width bound, more than {t.g1_max_excess:.0%}")
    packed = (("parts", widths),) if len(widths) > 1 else ()
    return (bool(reasons), "; ".join(reasons) or "within the thresholds",
            (("in_channels", c1), ("out_channels", c2), *packed, ("groups", g), ("ratio", ratio),
             ("memory_access", mac * scale), ("bound", bound * scale), ("excess", excess * scale),
             ("excess_ratio", excess_ratio)), float(excess))


# ---- G2 -----------------------------------------------------------------------------------------------------


def g2_baseline(memory_access: int, output_elements: int, groups: int, biases: int = 0) -> int:
    """MAC of the conv with the same input, kernel and FLOPs but g = 1: it has c2/g outputs, so it writes
    output_elements/g instead of output_elements and reads biases/g biases instead of `biases` (weights B/hw and
    input unchanged). For a 1x1 conv this is the paper's hw*c1 + B*g/c1 + B/hw evaluated at g = 1 and the same B."""
    return memory_access - output_elements + output_elements // groups - biases + biases // groups


def _g2(graph: Graph, t: Thresholds, scale: int) -> GuidelineResult:
    findings = []
    for node in graph.nodes:
        g = node.args.get("groups", 1) if node.op == "conv" else 1
        if g == 1 or is_depthwise(graph, node):
            continue
        c1 = _in_channels(graph, node)
        c2 = graph.tensors[node.outputs[0]][0]
        output = graph.batch * prod(graph.tensors[node.outputs[0]])
        mac = node.counts.memory_access
        baseline = g2_baseline(mac, output, g, c2 if node.args.get("bias") else 0)
        excess = mac - baseline
        excess_ratio = excess / baseline
        reasons = []
        if g > t.g2_max_groups:
            reasons.append(f"g = {g}, more than {t.g2_max_groups}")
        if excess_ratio > t.g2_max_excess:
            reasons.append(f"MAC {excess_ratio:.1%} over the same-FLOPs g = 1 conv, more than {t.g2_max_excess:.0%}")
        k = tuple(node.args["k"])
        findings.append(Finding(
            "G2", node.name, bool(reasons), "; ".join(reasons) or "within the thresholds",
            (("groups", g), ("in_channels", c1), ("out_channels", c2), ("kernel", k),
             ("memory_access", mac * scale), ("memory_access_g1", baseline * scale), ("excess", excess * scale),
             ("excess_ratio", excess_ratio)),
            (node.name,), float(excess)))
    return GuidelineResult("G2", TITLES["G2"], t.of("G2"), len(findings), tuple(findings))


# ---- G3 -----------------------------------------------------------------------------------------------------


def _g3(graph: Graph, t: Thresholds) -> GuidelineResult:
    findings = []
    for block in blocks(graph):
        reasons = []
        if block.branches > t.g3_max_branches:
            reasons.append(f"{block.branches} parallel branches, more than {t.g3_max_branches}")
        if block.fragments > t.g3_max_fragments:
            reasons.append(f"{block.fragments} conv, fc, pool and matmul fragments, more than {t.g3_max_fragments}")
        findings.append(Finding(
            "G3", block.name, bool(reasons), "; ".join(reasons) or "within the thresholds",
            (("branches", block.branches), ("fragments", block.fragments), ("layers", len(block.nodes)),
             ("fork", block.fork), ("join", block.join)),
            (block.join,), float(block.branches * 1000 + block.fragments)))
    return GuidelineResult("G3", TITLES["G3"], t.of("G3"), len(findings), tuple(findings))


# ---- G4 -----------------------------------------------------------------------------------------------------


def is_elementwise(graph: Graph, node) -> bool:
    """G4's element-wise ops: activations, add, mul, scale, the normalisations, softmax, every element-wise op of
    the tensor layer, the layout copies that move data (a permute that is a view moves nothing: not counted), and
    depthwise convs."""
    if node.op in LAYOUT_COPY_OPS:
        return node.counts.memory_access > 0
    return node.op in ELEMENTWISE_OPS or is_depthwise(graph, node)


G4_LISTED = 5  # how many of the heaviest element-wise layers a violation of G4 lists


def _g4(graph: Graph, t: Thresholds, scale: int) -> GuidelineResult:
    total = sum(node.counts.memory_access for node in graph.nodes)
    chosen = [node for node in graph.nodes if is_elementwise(graph, node)]
    elementwise = sum(node.counts.memory_access for node in chosen)
    share = elementwise / total if total else 0.0
    flagged = share > t.g4_max_share
    heaviest = {id(n) for n in sorted(chosen, key=lambda n: -n.counts.memory_access)[:G4_LISTED]} if flagged else ()
    listed = (f"among the heaviest element-wise layers of a network whose element-wise share {share:.1%} is more "
              f"than {t.g4_max_share:.0%}")
    evidences: dict = {}  # (op, memory access) -> the evidence: layers of one op and size share one tuple
    findings = []
    for node in chosen:
        mac = node.counts.memory_access
        evidence = evidences.get((node.op, mac))
        if evidence is None:
            op = "depthwise conv" if node.op == "conv" else node.op
            evidence = evidences[(node.op, mac)] = (("op", op), ("memory_access", mac * scale),
                                                   ("share", mac / total if total else 0.0))
        violated = id(node) in heaviest
        findings.append(Finding("G4", node.name, violated, listed if violated else "element-wise", evidence,
                                (node.name,), float(mac)))
    summary = (("elementwise_share", share), ("elementwise_memory_access", elementwise * scale),
               ("total_memory_access", total * scale))
    return GuidelineResult("G4", TITLES["G4"], t.of("G4"), len(findings), tuple(findings), summary)
