"""`costcalc verify`: every shipped spec, run through the numpy reference at reduced resolution, agrees with the
analytic figures layer by layer; a wrong formula is caught and shown in full; a bad spec is exit 2."""

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, SPECS
from costcalc.analysis.verify import verify
from costcalc.errors import SpecError
from costcalc.graph import load
from costcalc.ops import OPS, OpDef, OpResult

SPEC_FILES = sorted(SPECS.rglob("*.yaml"))
REDUCED_SIDES = (64, 96, 128, 160, 192)  # tried in order: the first the spec builds at (a 7x7 pool needs room)


# Windowed attention pins the input to a multiple of its window at every stage (7 x 7 windows on a 7 x 7 last stage:
# 224): verified with smaller windows, so that the reduced resolution fits.
WINDOWS = {"swin_t.yaml": {"window": "2"}, "maxvit_t.yaml": {"partition": "2"}}


def reduced_input(path, overrides=None) -> tuple | None:
    """The smallest of REDUCED_SIDES (same channels, same aspect) at which the spec builds; None: its own input."""
    shape = load(str(path)).input_shape
    if len(shape) != 3:
        return None
    c, h, w = shape
    for side in REDUCED_SIDES:
        if side >= min(h, w):
            break
        reduced = (c, side, max(1, side * w // h)) if h <= w else (c, max(1, side * h // w), side)
        try:
            load(str(path), overrides, input_shape=reduced)
        except SpecError:
            continue
        return reduced
    return None


def test_the_shipped_specs_are_found():
    assert {p.name for p in SPEC_FILES} >= {"resnet50.yaml", "resnext50_32x4d.yaml", "shufflenet_v2_x1_0.yaml"}


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(SPECS)))
def test_every_shipped_spec_verifies(path):
    """CI verifies every spec under specs/ (at reduced resolution): shapes, FLOPs, memory access, params."""
    overrides = WINDOWS.get(path.name)
    graph = load(str(path), overrides, input_shape=reduced_input(path, overrides))
    result = verify(graph, seed=0)
    assert len(result.layers) == len(graph.nodes) > 0
    first = result.failures[0] if result.failures else None
    assert result.passed, f"{first.name} ({first.op}): {first.mismatches}"
    # the rows add up to the analytic totals, so the whole network is confirmed, not only each layer
    assert sum(layer.flops for layer in result.layers) == sum(node.counts.flops for node in graph.nodes)
    assert sum(layer.memory_access for layer in result.layers) == sum(n.counts.memory_access for n in graph.nodes)


def test_full_resolution_and_a_batch(run):
    """The smallest shipped network at its full 224x224, and a batch of 2 (the batch multiplies activations,
    never parameters)."""
    result = run("verify", "specs/shufflenet_v2_x1_0.yaml", "--batch", "2", "--exact")
    assert result.exit_code == 0, result.output
    assert "input 2x3x224x224" in result.output and "PASS: all 198 layers agree" in result.output
    assert "2x1000" in result.output


def test_cli_pass(run):
    result = run("verify", "specs/resnext50_32x4d.yaml", "--input", "3x64x64", "--seed", "7")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("resnext50_32x4d | input 1x3x64x64 | seed 7")
    assert any("layer1.0.conv2" in line and "pass" in line for line in lines)
    assert lines[-1] == "PASS: all 175 layers agree (output shape, FLOPs, memory access, params)"


def _wrong(fn, **changes):
    """An op function whose record is off as `changes` say (field -> function of the right value)."""

    def apply(*args, **kwargs):
        right = fn(*args, **kwargs)
        fields = {f: getattr(right, f) for f in ("outputs", "flops", "elementwise_flops", "params", "moves_data")}
        return OpResult(**{**fields, **{k: change(fields[k]) for k, change in changes.items()}})

    return apply


def test_a_wrong_flops_formula_is_caught(run, monkeypatch):
    conv = OPS["conv"]
    monkeypatch.setitem(OPS, "conv", OpDef(_wrong(conv.fn, flops=lambda f: f + 1), conv.args, doc=conv.doc))
    result = run("verify", "specs/resnet50.yaml", "--input", "3x64x64", "--failures")
    assert result.exit_code == 1
    conv1_flops = 32 * 32 * 64 * 7 * 7 * 3  # hand-derived: 7x7/2 conv on 3x64x64 -> 64x32x32
    assert (f"first mismatch: layer 'conv1' (conv): FLOPs (multiply-adds): analytic {conv1_flops + 1:,} != "
            f"counted {conv1_flops:,} (counted - analytic = -1)") in result.output
    assert "FAIL: 53 of 175 layers checked disagree" in result.output  # the 53 convs of ResNet-50
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert len(rows) == 53 and all("FAIL flops" in row for row in rows)  # --failures: only the failing layers


def test_a_wrong_memory_access_is_caught(run, monkeypatch):
    concat = OPS["concat"]
    wrong = _wrong(concat.fn, moves_data=lambda _: False)  # as if a concat were free
    monkeypatch.setitem(OPS, "concat", OpDef(wrong, concat.args, concat.min_inputs, concat.max_inputs))
    result = run("verify", "specs/shufflenet_v2_x1_0.yaml", "--input", "3x64x64")
    assert result.exit_code == 1
    # stage2's first concat joins two 58x8x8 branches: read 2 x 3,712, wrote 7,424
    assert ("first mismatch: layer 'stage2.down.concat' (concat): memory access (elements): analytic 0 != "
            "counted 14,848 (counted - analytic = 14,848); the reference read 7,424 input elements and 0 parameter "
            "elements and wrote 7,424") in result.output


def test_an_op_without_a_reference_fails(run, monkeypatch):
    from costcalc.reference import network

    monkeypatch.delitem(network.RUNNERS, "maxpool")
    result = run("verify", "specs/resnet50.yaml", "--input", "3x64x64")
    assert result.exit_code == 1
    assert "layer 'maxpool' (maxpool): the reference has no implementation of op 'maxpool'" in result.output
    assert "171 layers not run" in result.output


def test_a_bad_spec_is_exit_2(run, write_spec):
    path = write_spec("name: bad\ninput: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3, groups: 2}\n")
    result = run("verify", path)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{path}:4:38: error: layer 'conv_0': groups=2 does not divide in_channels=3"


def test_report_does_not_import_numpy():
    code = ("import sys\nfrom costcalc.cli import main\n"
            "try:\n    main(['report', 'specs/shufflenet_v2_x1_0.yaml', '--format', 'json'])\n"
            "except SystemExit:\n    pass\n"
            "print('numpy' in sys.modules, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "False"
    assert '"model": "shufflenet_v2_x1_0"' in done.stdout


# ---- random single layers: every argument combination the ops accept, run and counted ----------------------


@st.composite
def conv_layers(draw):
    groups = draw(st.integers(1, 4))
    c, out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    k, stride, dilation = (draw(st.tuples(st.integers(lo, hi), st.integers(lo, hi))) for lo, hi in ((1, 5), (1, 3), (1, 2)))
    pad = draw(st.tuples(st.integers(0, 3), st.integers(0, 3)))
    h, w = (draw(st.integers(max(1, dilation[a] * (k[a] - 1) + 1 - 2 * pad[a]), 12)) for a in (0, 1))
    bias = draw(st.booleans())
    return (c, h, w), (f"{{op: conv, out: {out}, k: [{k[0]}, {k[1]}], stride: [{stride[0]}, {stride[1]}], "
                       f"pad: [{pad[0]}, {pad[1]}], dilation: [{dilation[0]}, {dilation[1]}], groups: {groups}, "
                       f"bias: {str(bias).lower()}}}")


@st.composite
def pool_layers(draw):
    op = draw(st.sampled_from(["maxpool", "avgpool"]))
    k = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    stride = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    pad = tuple(draw(st.integers(0, k[a] // 2)) for a in (0, 1))  # torch: padding at most half the kernel
    dilation = draw(st.tuples(st.integers(1, 2), st.integers(1, 2))) if op == "maxpool" else (1, 1)
    h, w = (draw(st.integers(max(1, dilation[a] * (k[a] - 1) + 1 - 2 * pad[a]), 11)) for a in (0, 1))
    extra = f", dilation: [{dilation[0]}, {dilation[1]}]" if op == "maxpool" else ""
    return (draw(st.integers(1, 3)), h, w), (f"{{op: {op}, k: [{k[0]}, {k[1]}], stride: [{stride[0]}, {stride[1]}], "
                                            f"pad: [{pad[0]}, {pad[1]}], ceil_mode: {str(draw(st.booleans())).lower()}{extra}}}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layer=st.one_of(conv_layers(), pool_layers()), batch=st.integers(1, 2))
def test_any_conv_or_pool_layer_verifies(write_spec, layer, batch):
    (c, h, w), entry = layer
    graph = load(write_spec(f"name: one\ninput: [{c}, {h}, {w}]\nlayers:\n  - {entry}\n  - relu\n"), batch=batch)
    result = verify(graph, seed=1)
    assert result.passed, (entry, [layer.mismatches for layer in result.failures])
