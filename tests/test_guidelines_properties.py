"""Property tests of G1: for every 1x1 conv costcalc computes, MAC >= 2*sqrt(hw*B*g) + B/hw, with equality exactly
when c1 == c2 (Ma et al. 2018, Sec. 2, G1; B = FLOPs, hw = positions over the batch). Checked in exact integers on
the counts costcalc itself produced, and against the library's rounded-up bound and excess."""

import math
import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc.analysis.guidelines import check
from costcalc.graph import load

_DIR = tempfile.mkdtemp(prefix="costcalc-g1-")


@st.composite
def pointwise(draw):
    c1 = draw(st.integers(1, 600))
    c2 = draw(st.one_of(st.just(c1), st.integers(1, 600)))
    common = math.gcd(c1, c2)
    groups = draw(st.sampled_from([g for g in range(1, min(common, 16) + 1) if common % g == 0]))
    return c1, c2, groups, draw(st.integers(1, 40)), draw(st.integers(1, 40)), draw(st.integers(1, 4))


@settings(max_examples=300, deadline=None)
@given(pointwise())
def test_g1_bound_holds_with_equality_iff_equal_widths(case):
    c1, c2, groups, h, w, batch = case
    path = os.path.join(_DIR, f"{c1}_{c2}_{groups}_{h}_{w}.yaml")
    with open(path, "w") as f:
        f.write(f"input: [{c1}, {h}, {w}]\nlayers:\n  - {{name: pw, op: conv, out: {c2}, k: 1, groups: {groups}}}\n")
    graph = load(path, batch=batch)
    node = graph.nodes[0]
    mac, b, weights = node.counts.memory_access, node.counts.flops, node.counts.params
    hw = batch * h * w
    assert weights * hw == b  # B / hw = c1*c2/g, the weights read once
    # (MAC - B/hw) >= 2*sqrt(hw*B*g)  <=>  (MAC - B/hw)^2 >= 4*hw*B*g, both sides non-negative integers
    lhs, rhs = (mac - weights) ** 2, 4 * hw * b * groups
    assert lhs >= rhs
    assert (lhs == rhs) == (c1 == c2)
    findings = check(graph)["G1"].findings
    if groups > 1 and groups == c1:
        assert not findings  # depthwise: a per-channel op, counted by G4, not G1
        return
    if h * w == 1:
        assert not findings  # a fully connected layer on a pooled vector: no feature map (docs/guidelines.md)
        return
    finding = findings[0]
    f = finding.figures
    assert f["bound"] <= mac and f["bound"] - 1 < math.sqrt(rhs) + weights <= f["bound"]
    assert f["excess"] == mac - f["bound"]
    if c1 == c2:
        assert f["excess"] == 0 and f["ratio"] == 1.0 and not finding.violated
