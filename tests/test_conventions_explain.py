"""`--explain-conventions` shows how `call: functional` changes what each tool counts: per op, the rules of the
conventions the call changes, and, for a spec, its functional layers in rows of their own (densenet121: the last
relu and the pool, as torchvision's forward calls them)."""

import json

from conftest import ROOT
from costcalc.analysis.conventions import CONVENTIONS

DENSENET = ROOT / "specs" / "densenet121.yaml"
C, H, W = 1024, 7, 7  # densenet121's features at 224: 1024 x 7 x 7 before the last relu and the pool
N = C * H * W


def _rows(stdout: str) -> dict:
    return {line.split("│")[1].strip(): [c.strip().replace(",", "") for c in line.split("│")[2:-1]]
            for line in stdout.splitlines() if line.startswith("│")}


def test_the_rules_say_what_call_functional_changes(run):
    result = run("report", "--explain-conventions")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    at = lines.index("  relu, call: functional:")
    assert lines[at - 1].startswith("  calflops ") and lines[at + 1:at + 5] == [
        "    ptflops    1 per input element: patched F.relu",
        "    thop       0 (a function call: module hooks never see it)",
        "    yolo       2 x (0 (a function call: module hooks never see it))",
        "    paper, full, 2xmac, fvcore, deepspeed, calflops: as above (the call does not change what they count)",
    ]
    at = lines.index("  relu6, call: functional:")
    assert lines[at + 4] == "    deepspeed  _relu6_flops_compute (F.relu6): 1 per input element"
    at = lines.index("  fc, call: functional:")
    assert lines[at + 1] == "    ptflops    0 (the F.linear patch is commented out in 0.7.5)"


def test_functional_layers_have_their_own_rows_with_hand_counts(run):
    result = run("report", "--explain-conventions", str(DENSENET), "--exact")
    assert result.exit_code == 0
    rows = _rows(result.stdout)
    assert list(CONVENTIONS) == ["paper", "full", "2xmac", "fvcore", "ptflops", "thop", "yolo", "deepspeed",
                                 "calflops"]
    # F.relu: costcalc's full counts 1 per element; ptflops' patched F.relu 1 per input element; fvcore ignores
    # aten::relu; thop never sees a function; DeepSpeed and calflops wrap F.relu: 1 per input element
    assert rows["relu (call: functional)"] == ["0", str(N), "0", "0", str(N), "0", "0", str(N), str(N)]
    # F.adaptive_avg_pool2d: full and fvcore 1 per input element, ptflops' patch 1 per input element, thop 0,
    # DeepSpeed's and calflops' _pool_flops_compute 1 per input element
    assert rows["gap (call: functional)"] == ["0", str(N), "0", str(N), str(N), "0", "0", str(N), str(N)]
    assert "gap" not in rows  # densenet121 has no module-called global pool


def test_the_call_is_what_the_tools_differ_by(run, tmp_path):
    """Written as modules, the same two layers cost ptflops 100,352 and thop 51,200 more: the figures issue 13
    gives for the module-hook count against the real tools'. By hand: ptflops' relu hook + patched F.relu = 2N
    against N, the pool hook + patched F.adaptive_avg_pool2d = 2N against N; thop's count_adap_avgpool gives
    (h*w + 1) per output element = C*(H*W + 1) against 0."""
    as_modules = tmp_path / "densenet121_modules.yaml"
    as_modules.write_text(DENSENET.read_text().replace(", call: functional}", "}"))
    totals = {}
    for path in (DENSENET, as_modules):
        result = run("report", "--explain-conventions", str(path), "--format", "json")
        assert result.exit_code == 0
        totals[path] = json.loads(result.stdout)["totals"]
    gap = {name: totals[as_modules][name] - totals[DENSENET][name] for name in CONVENTIONS}
    assert gap == {"paper": 0, "full": 0, "2xmac": 0, "fvcore": 0, "ptflops": 2 * N, "thop": C * (H * W + 1),
                   "yolo": 2 * C * (H * W + 1), "deepspeed": 0, "calflops": 0}  # they wrap the functions
    assert 2 * N == 100_352 and C * (H * W + 1) == 51_200


def test_the_json_has_the_functional_rules(run):
    result = run("report", "--explain-conventions", str(DENSENET), "--format", "json")
    doc = json.loads(result.stdout)
    assert set(doc["functional_rules"]["relu"]) == {"ptflops", "thop", "yolo"}
    assert doc["functional_rules"]["conv"]["ptflops"] == "0 (F.conv2d is not patched)"
    assert doc["flops_by_op"]["gap (call: functional)"]["thop"] == 0
    assert doc["flops_by_op"]["gap (call: functional)"]["fvcore"] == N
