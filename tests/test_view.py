"""`costcalc view`'s records (costcalc.analysis.view), its JSON document and its page, without a browser
(tests/test_view_browser.py draws the page in one)."""

import json
import math

import pytest

from conftest import ROOT
from costcalc.analysis import rows
from costcalc.analysis.view import BLOCK, INPUT, LAYER, build, visible
from costcalc.analysis.view_metrics import BINS
from costcalc.api import analyze
from costcalc.report.units import duration


@pytest.fixture(scope="module")
def shufflenet():
    return build(analyze(ROOT / "specs" / "shufflenet_v2_x1_0.yaml"))


def test_a_block_is_the_reports_row_at_its_depth(shufflenet):
    """Each node at depth d, summed by the view's tree, equals `report --depth d`'s row of that name (summed by
    the report's own aggregation); every layer is one node, and the nodes at depth d are that table's rows."""
    report = shufflenet.report
    for depth in range(1, report.max_depth + 1):
        table = {row.name: row for row in rows(report, depth)}
        at = [shufflenet.nodes[i] for i in visible(shufflenet, depth) if shufflenet.nodes[i].kind != INPUT]
        assert [n.name for n in at] == list(table)
        for n in at:
            assert (n.row.counts, n.row.layers, n.row.op, n.row.output) == (
                table[n.name].counts, table[n.name].layers, table[n.name].op, table[n.name].output)
        assert shufflenet.nodes_at_depth[depth - 1] == len(table) + 1  # and the input
    layers = [n for n in shufflenet.nodes if n.kind == LAYER]
    assert [n.name for n in layers] == [layer.name for layer in report.layers]


def test_edges_join_each_layer_to_what_it_reads(shufflenet):
    """A split's outputs (`x.split.0`, `x.split.1`) are read from the split layer; the first conv reads the input."""
    names = [n.name for n in shufflenet.nodes]
    reads = {}
    for a, b in shufflenet.edges:
        reads.setdefault(names[b], []).append(names[a])
    assert reads["conv1"] == ["input"]
    assert reads["stage2.units.0.concat"] == ["stage2.units.0.split", "stage2.units.0.branch2.relu_7"]
    assert len(shufflenet.edges) == sum(len(layer.inputs) for layer in shufflenet.report.layers)


def test_it_opens_at_the_deepest_level_that_fits():
    """pre-act ResNet-164 (depth 9n+2, n = 18): 3 stages of 18 bottlenecks opens at its blocks (73 nodes, the next
    level has 244); the 33,339-layer variant (depth 10001, n = 1111) at its stages, each a down unit and its 1,110
    repeated units (13 nodes; the next level has 3,352)."""
    small = build(analyze(ROOT / "specs" / "preact_resnet_cifar.yaml", set={"depth": 164}))
    counts = small.nodes_at_depth
    assert small.open_depth == max(d for d, n in enumerate(counts, 1) if n <= 200)
    assert counts[small.open_depth] > 200 or small.open_depth == len(counts)
    deep = build(analyze(ROOT / "specs" / "preact_resnet_cifar.yaml", set={"depth": 10001}))
    assert len(deep.report.layers) == 33_339 and deep.open_depth == 2 and deep.nodes_at_depth[:3] == (10, 13, 3352)
    shown = [(deep.nodes[i].name, deep.nodes[i].row.op, deep.nodes[i].row.layers) for i in visible(deep, 2)[1:]]
    assert shown[1:8] == [("stage1.down", "down_unit", 11), ("stage1.units", "unit x1110", 1110 * 10),
                          ("stage2.down", "down_unit", 11), ("stage2.units", "unit x1110", 11_100),
                          ("stage3.down", "down_unit", 11), ("stage3.units", "unit x1110", 11_100), ("bn", "bn", 1)]


def test_shares_and_colour_bins(shufflenet):
    """A node's bar is its share of its block; its colour bin the geometric bin of its share of the total."""
    flops = next(m for m in shufflenet.metrics if m.key == "flops")
    total = shufflenet.report.totals.flops
    assert flops.total == total and len(flops.bounds) == BINS + 1 and flops.bounds[-1] == 1.0
    for n in shufflenet.nodes:
        value = flops.values[n.index]
        if n.kind == INPUT:
            assert value is None and flops.bins[n.index] is None
            continue
        whole = total if n.parent is None else shufflenet.nodes[n.parent].row.counts.flops
        assert flops.shares[n.index] == (value / whole if whole else None)
        if value == 0:
            assert flops.bins[n.index] is None
        else:
            low, top = flops.bounds[0], flops.bounds[-1]
            expected = min(BINS - 1, max(0, math.floor(BINS * math.log(value / total / low) / math.log(top / low))))
            assert flops.bins[n.index] == expected
    conv1 = next(n for n in shufflenet.nodes if n.name == "conv1")  # 3x3 s2, 3 -> 24 at 112x112
    assert flops.values[conv1.index] == 112 * 112 * 24 * 27


def test_violations_are_marked_on_their_node_and_counted_in_their_blocks():
    view = build(analyze(ROOT / "specs" / "resnext50_32x4d.yaml"))
    g2 = [v for v in view.violations if v.guideline == "G2"]
    assert len(g2) == 16  # every 3x3 conv of g = 32, one per bottleneck (3 + 4 + 6 + 3)
    for v in g2:
        node = view.nodes[v.node]
        assert node.kind == LAYER and node.name == v.finding.where and node.name.endswith("conv2")
    stage = next(n for n in view.nodes if n.name == "layer3")
    assert sum(1 for v in g2 if v.finding.where.startswith("layer3.")) == 6
    assert stage.violations_inside == sum(1 for v in view.violations if view.nodes[v.node].name.startswith("layer3."))


def test_the_json_document(run, tmp_path):
    out = tmp_path / "view.json"
    result = run("view", "examples/first.yaml", "--format", "json", "-o", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["format"] == "costcalc-view/1" and doc["model"] == "tiny" and doc["open_depth"] == 1
    assert [n["name"] for n in doc["nodes"]] == ["input", "conv1", "bn_1", "relu_2", "pool", "conv2", "gap_5",
                                                 "flatten_6", "fc"]
    conv2 = doc["nodes"][5]
    assert doc["records"][conv2["record"]]["counts"]["flops"] == 16 * 16 * 32 * 9 * 16 // 2  # README's hand count: 589,824
    assert conv2["op"] == "conv 3x3 g2" and doc["columns"][:5] == ["Layer", "Op", "Output", "Params", "FLOPs"]
    assert doc["records"][conv2["record"]]["cells"][:4] == ["conv 3x3 g2", "1x32x16x16", "2.30K", "589.82K"]
    assert doc["footer"][4] == "1.03M" and doc["totals"]["flops"] == 1_032_512
    assert doc["edges"][:2] == [[0, 1], [1, 2]] and len(doc["edges"]) == 8
    assert [m["key"] for m in doc["metrics"]] == ["flops", "memory_access", "intensity", "params"]


def test_the_page_is_self_contained(run, tmp_path):
    out = tmp_path / "view.html"
    assert run("view", "specs/resnet50.yaml", "-o", out).exit_code == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "/*DATA*/" not in page and "/*DAGRE*/" not in page
    for fetch in ("<script src", "<link", "@import", "url(http", "fetch(", "XMLHttpRequest"):
        assert fetch not in page
    versions = json.loads((ROOT / "costcalc/report/view/vendor/VERSIONS.json").read_text())
    assert versions["@dagrejs/dagre"]["license"] == "MIT"
    assert (ROOT / "costcalc/report/view/vendor/dagre.min.js").read_text() in page
    assert len(page.encode()) < 1_000_000


def test_latency_and_measured_metrics(run, tmp_path):
    device = ROOT / "devices" / sorted(p.name for p in (ROOT / "devices").glob("*.yaml"))[0]
    measured = tmp_path / "measured.json"
    measured.write_text(json.dumps({"model": "tiny", "runtime": "onnxruntime 1.0", "threads": 1,
                                    "totals": {"latency_s": 0.002},
                                    "layers": [{"name": "conv1", "latency_s": 0.0005, "fused_into": None},
                                               {"name": "bn_1", "latency_s": 0.0, "fused_into": "conv1"},
                                               {"name": "conv2", "latency_s": 0.001, "fused_into": None},
                                               {"name": "[other]", "latency_s": 0.0001}]}))
    out = tmp_path / "view.json"
    result = run("view", "examples/first.yaml", "--device", device, "--measured", measured, "--metric", "measured",
                 "--format", "json", "-o", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    keys = [m["key"] for m in doc["metrics"]]
    assert keys[-2:] == ["latency", "measured"] and doc["metric"] == keys.index("measured")
    conv1, bn = (doc["records"][doc["nodes"][k]["record"]] for k in (1, 2))
    assert conv1["measured_s"] == 0.0005 and ["measured", "500.0 us"] in conv1["details"]
    assert doc["nodes"][2]["measured_fused_into"] == "conv1" and "measured" not in dict(bn["details"])
    assert doc["metrics"][-1]["total"] == pytest.approx(0.0015)
    column = doc["columns"].index("Latency (est.)") - 1  # the records' cells start after the name
    assert conv1["latency_s"] > 0 and conv1["cells"][column] == duration(conv1["latency_s"])
    assert bn["cells"][column] == "fused"  # onnxruntime runs a bn after a conv inside the conv's kernel


def test_bad_input_is_one_located_line(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": [\n  oops]}')
    result = run("view", "examples/first.yaml", "--measured", bad)
    assert result.exit_code == 2 and result.stderr == f"{bad}:2:3: error: not JSON: Expecting value\n"
    bad.write_text('{"layers": []}')
    result = run("view", "examples/first.yaml", "--measured", bad)
    assert result.exit_code == 2 and "not the output of `costcalc measure --format json`" in result.stderr
    result = run("view", "examples/first.yaml", "--metric", "latency")
    assert result.exit_code == 2 and "--device" in result.stderr
    result = run("view", "examples/first.yaml", "--depth", "0")
    assert result.exit_code == 2 and "--depth" in result.stderr


def test_compare_pairs_nodes_as_compare_pairs_rows(run, tmp_path):
    """--compare B: each layer's delta is `costcalc compare --depth all`'s, each block's `compare --depth N`'s, on
    both sides; resnet50 -> resnext50_32x4d: layer1.0.conv2 goes from 3x3 64->64 to 3x3 128->128 g32 at 56x56."""
    out = tmp_path / "view.json"
    assert run("view", "specs/resnet50.yaml", "--compare", "specs/resnext50_32x4d.yaml", "--format", "json",
               "-o", out).exit_code == 0
    doc = json.loads(out.read_text())
    side_b = doc["compare"]["other"]
    assert [m["key"] for m in doc["metrics"][:3]] == ["delta_flops", "delta_memory_access", "delta_params"]
    assert doc["metric"] == 0 and doc["compare"]["label_b"] == "resnext50_32x4d"
    for depth in ("all", "1", "2"):
        result = run("compare", "specs/resnet50.yaml", "specs/resnext50_32x4d.yaml", "--depth", depth,
                     "--format", "json")
        for row in json.loads(result.stdout)["layers"]:
            if row["status"] != "both":
                continue
            a = next(n for n in doc["nodes"] if n["name"] == row["a"]["name"])
            b = side_b["nodes"][doc["compare"]["partner"][a["id"]]]
            assert b["name"] == row["b"]["name"] and side_b["compare"]["partner"][b["id"]] == a["id"]
            flops = doc["compare"]["deltas"][a["id"]][0]
            assert flops[0] == "FLOPs: B - A" and flops[1] == side_b["compare"]["deltas"][b["id"]][0][1]
    conv2 = next(n for n in doc["nodes"] if n["name"] == "layer1.0.conv2")
    delta = 3136 * 128 * 4 * 9 - 3136 * 64 * 64 * 9  # -101,154,816: -87.5%
    assert doc["compare"]["deltas"][conv2["id"]][0] == ["FLOPs: B - A", "-101.15M (-87.50%)"] and delta == -101_154_816
    assert conv2["bins"][0] == 0  # the much-less bin: below -50%
    assert doc["compare"]["totals"][1] == ["FLOPs: B - A", "+141.30M (+3.46%)"]


def test_an_imported_file_shows_each_layers_module_path(run, tmp_path):
    pytest.importorskip("onnx")
    model = ROOT / "tests" / "fixtures" / "onnx" / "alexnet_ts17.onnx"
    out = tmp_path / "view.json"
    assert run("view", model, "--format", "json", "-o", out).exit_code == 0
    doc = json.loads(out.read_text())
    report = json.loads(run("report", model, "--format", "json").stdout)
    layers = [n for n in doc["nodes"] if n["kind"] == LAYER]
    assert [n["name"] for n in layers] == [layer["name"] for layer in report["layers"]]
    assert all(n["module"] == n["name"] for n in layers) and doc["totals"]["flops"] == report["totals"]["flops"]
    assert not any("module" in n for n in doc["nodes"] if n["kind"] == BLOCK)


def test_an_unwritable_output_is_one_located_line(run, tmp_path):
    result = run("view", "examples/first.yaml", "-o", tmp_path / "missing" / "view.html")
    assert result.exit_code == 2 and result.stderr.startswith(f"{tmp_path / 'missing' / 'view.html'}: error: cannot write")


def test_compare_with_the_measured_time_of_a(run, tmp_path):
    measured = tmp_path / "measured.json"
    measured.write_text(json.dumps({"totals": {"latency_s": 0.01}, "layers": [{"name": "conv1", "latency_s": 0.001}]}))
    out = tmp_path / "view.json"
    result = run("view", "examples/first.yaml", "--compare", "examples/first.yaml", "--measured", measured,
                 "--metric", "measured", "--format", "json", "-o", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["metrics"][-1]["key"] == "measured" and doc["compare"]["other"]["metrics"][-1]["key"] == "params"
    assert doc["compare"]["deltas"][1] == [["FLOPs: B - A", "0 (0.00%)"], ["memory access: B - A", "0 (0.00%)"],
                                           ["params: B - A", "0 (0.00%)"]]
