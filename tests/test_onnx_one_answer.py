"""One model, one answer (issues 28, 29, 23): the TorchScript and the dynamo exports of one model give the same
FLOPs, element-wise FLOPs, memory access and activations; a hybrid zoo spec and the TorchScript export of the same
timm / torchvision model (batchnorm kept: `do_constant_folding=False`) compare row by row with zero deltas; and
`import` then `report` gives the file's totals for every fixture.

The files are exports nobody here wrote the graphs of: scripts/make_onnx_handwritten_fixtures.py (the hand-written
modules at opsets 13 to 20) and scripts/hybrid_truth.py (`_trained`: every bias and batchnorm statistic drawn at
random, as a trained model's, since the dynamo optimiser drops an all-zero bias; `_nofold`: batchnorm kept)."""

import gzip
import json
import os
import shutil
from collections import defaultdict
from dataclasses import replace

import pytest

pytest.importorskip("onnx")

from costcalc.analysis import analyse  # noqa: E402
from costcalc.analysis.compare import compare  # noqa: E402
from costcalc.graph import load  # noqa: E402
from costcalc.ops import Counts  # noqa: E402
from test_onnx_handwritten import KNOWN  # noqa: E402
from test_onnx_library_models import FILES as LIBRARY_FILES_BY_CASE  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "onnx")
HANDWRITTEN = os.path.join(FIXTURES, "handwritten")
HYBRID = os.path.join(FIXTURES, "hybrid")
SPECS = os.path.join(ROOT, "specs")


def _plain(path: str, tmp_path) -> str:
    """The fixture as an .onnx file (the hybrid and model fixtures are gzipped)."""
    if not path.endswith(".gz"):
        return path
    out = tmp_path / os.path.basename(path)[:-3]
    with gzip.open(path) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return str(out)


def _without(graph, names) -> Counts:
    """The graph's totals less the layers named."""
    return sum((node.counts for node in graph.nodes if node.name not in names), Counts())


def _same(a: Counts, b: Counts) -> bool:
    fields = ("flops", "elementwise_flops", "memory_access", "activations", "params")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def _handwritten() -> dict:
    models = defaultdict(list)
    for name in sorted(os.listdir(HANDWRITTEN)):
        if name.endswith(".onnx"):
            models[name[:-5].rsplit("_", 1)[0]].append(name)
    return dict(models)


HANDWRITTEN_MODELS = _handwritten()
# Where the two exporters' graphs do different work, so that onnxruntime runs different kernels: the layers of
# each export that the other has not, by name. Every other layer of the two files costs the same.
DIFFERENT_WORK = {
    # F.pad(mode="circular"): TorchScript writes Slices of the borders and Concats (two copies of the padded map),
    # dynamo one Pad of mode "wrap" (one copy)
    "pad_split": {"ts": {"slice", "slice_2", "concat", "slice_3", "slice_4", "concat_2"}, "dyn": {"pad_4"}},
    # y[:, idx] and index_select(y, 1, idx): TorchScript writes two equal Gathers (one computation, merged as
    # onnxruntime merges them), dynamo a Transpose-GatherND-Transpose and a Gather (two)
    "elementwise": {"ts": set(), "dyn": {"gather"}},
}


def test_the_handwritten_exports_are_many():
    assert len(HANDWRITTEN_MODELS) >= 15 and sum(map(len, HANDWRITTEN_MODELS.values())) >= 75
    assert all(any(n.split("_")[-1].startswith("ts") for n in names) for names in HANDWRITTEN_MODELS.values()
               if names[0].rsplit("_", 1)[0] not in ("nearest_exact", "uneven_pooling"))  # TorchScript refuses them


@pytest.mark.parametrize("model", sorted(HANDWRITTEN_MODELS))
def test_every_export_of_a_handwritten_model_gives_one_answer(model):
    """TorchScript at opsets 13, 17, 20 (LayerNorm unfused at 13) and dynamo at 17 to 20: the same totals (less the
    parameters counted twice that test_onnx_handwritten.KNOWN states, where a file cannot show one module's reuse)."""
    skip = DIFFERENT_WORK.get(model, {"ts": set(), "dyn": set()})
    totals = {}
    for name in HANDWRITTEN_MODELS[model]:
        graph = load(os.path.join(HANDWRITTEN, name))
        kind = "ts" if name[:-5].rsplit("_", 1)[1].startswith("ts") else "dyn"
        assert skip[kind] <= {node.name for node in graph.nodes}, (name, sorted(node.name for node in graph.nodes))
        counts = _without(graph, skip[kind])
        totals[name] = replace(counts, params=counts.params - KNOWN.get(name[:-5], (0,))[0])
    first = next(iter(totals.values()))
    assert all(_same(t, first) for t in totals.values()), totals


def test_the_different_work_is_real():
    """The two exceptions above are differences of the graphs, not of the counting: each export's layers named
    there cost memory access, and without them the exports agree (the test above)."""
    for model, names in DIFFERENT_WORK.items():
        for name in HANDWRITTEN_MODELS[model]:
            kind = "ts" if name[:-5].rsplit("_", 1)[1].startswith("ts") else "dyn"
            graph = load(os.path.join(HANDWRITTEN, name))
            assert all(node.counts.memory_access > 0 for node in graph.nodes if node.name in names[kind])


def _trained_pairs() -> list:
    pairs = []
    for name in sorted(os.listdir(HYBRID)):
        if name.endswith("_ts17_trained.onnx.gz"):
            model = name[: -len("_ts17_trained.onnx.gz")]
            if os.path.exists(os.path.join(HYBRID, f"{model}_dyn18_trained.onnx.gz")):
                pairs.append(model)
    return pairs


TRAINED = _trained_pairs()


def test_the_hybrid_pairs_are_many():
    assert len(TRAINED) >= 13


@pytest.mark.parametrize("model", TRAINED)
def test_both_exports_of_a_hybrid_give_one_answer(model, tmp_path):
    """Attention graphs: q, k, v as a Split (TorchScript) or as Slices (dynamo), `q.float()` as a Cast or nothing,
    MobileOne's `x + 0` or nothing, the same FLOPs, element-wise FLOPs, memory access and activations. Parameters
    too, except where dynamo's optimiser folds constants the TorchScript file computes: LeViT's gather of the
    smaller stages' attention-bias tables by their index (the file holds 6 x 49 x 49 values where the model learns
    6 x 49), Swin-T's masks and position biases; costcalc counts what each file holds (and reads it: memory access
    as much more)."""
    ts = analyse(load(_plain(os.path.join(HYBRID, f"{model}_ts17_trained.onnx.gz"), tmp_path))).totals
    dyn = _without(load(_plain(os.path.join(HYBRID, f"{model}_dyn18_trained.onnx.gz"), tmp_path)),
                   AS_STRIDED.get(model, ()))
    assert (ts.flops, ts.elementwise_flops, ts.activations) == (dyn.flops, dyn.elementwise_flops, dyn.activations)
    extra = dyn.params - ts.params
    assert dyn.memory_access - ts.memory_access == extra  # the parameters each file holds, read once
    if model == "levit_128s":
        # stage 2's three blocks (6 heads, 7 x 7 tokens), stage 3's downsampling (16 heads, 4 x 4 queries of 7 x 7
        # keys) and four blocks (8 heads, 4 x 4 tokens): the gathered tensor less the table, each
        assert extra == 3 * (6 * 49 * 49 - 6 * 49) + (16 * 16 * 49 - 16 * 49) + 4 * (8 * 16 * 16 - 8 * 16)
    elif model == "swin_t":  # the shifted windows' masks and the position biases, folded by dynamo's optimiser
        assert extra > 0
    else:
        assert extra == 0


# dynamo writes the average pool's flattening as_strided as a Reshape and a Gather of every element, a copy of the
# pooled vector (ConvNeXt's too: docs/onnx.md), which the TorchScript file has not
AS_STRIDED = {"swin_t": {"avgpool_2"}, "edgenext_xx_small": {"head.global_pool.pool_2"}}


HYBRID_SPECS = ["mobilevit_xxs", "mobilevit_xs", "mobilevit_s", "efficientvit_b0", "levit_128s",
                "mobilenetv4_conv_small", "mobilenetv4_conv_medium", "mobilenetv4_hybrid_medium", "edgenext_xx_small",
                "fastvit_t8", "swin_t", "vit_b_16", "maxvit_t"]
# the exports a spec is compared with: TorchScript with batchnorm kept, and dynamo without its optimiser (which
# folds batchnorm into the convs and drops all-zero biases: the `dyn18` files are another model's graph)
SPEC_STYLES = ("ts17_nofold", "dyn18_noopt")


def test_every_hybrid_of_issue_23_is_compared():
    """The 13 zoo hybrids (docs/zoo.md), each with its TorchScript export and, where committed, dynamo's."""
    assert len(HYBRID_SPECS) == 13 and all(os.path.exists(os.path.join(SPECS, f"{m}.yaml")) for m in HYBRID_SPECS)
    assert all(os.path.exists(os.path.join(HYBRID, f"{m}_ts17_nofold.onnx.gz")) for m in HYBRID_SPECS)


def _row_differences(spec_rows, file_graph, model, style) -> dict:
    """The rows where the export does other work than the spec, or says other names, with each one's difference
    derived from the layers that make it (never a number written here); every other row has none."""
    if style != "dyn18_noopt":
        return {}
    if model in ("swin_t", "edgenext_xx_small"):  # the average pool's as_strided copy (AS_STRIDED, docs/onnx.md)
        copies = [n for n in file_graph.nodes if n.name in AS_STRIDED[model]]
        assert len(copies) == 1 and copies[0].op == "select"
        row = "avgpool_2" if model == "swin_t" else "head.global_pool"
        differences = {row: {"memory_access": copies[0].counts.memory_access,
                             "activations": copies[0].counts.activations}}
        if model == "swin_t":
            # torch.export lifts the 9 region numbers (3 x 3 slices) of torchvision's shifted-window mask loop to float
            # initializers, which the importer counts as weights (read once): each shifted block of stages 1 to 3
            # (stage 4's window covers its map, no shift)
            for stage, shifted in (("features_1", 1), ("features_3", 1), ("features_5", 3)):
                differences[f"features.{stage}"] = {"params": 9 * shifted, "memory_access": 9 * shifted}
        return differences
    if model.startswith("mobilenetv4"):
        # dynamo puts the flatten in the classifier's scope (its name_scopes metadata), so the spec's `flatten`
        # (a view) and `classifier` (the fc) pair with each other's layers: the fc's counts, each way
        fc = vars(spec_rows["classifier"].counts)
        return {"flatten": {k: v for k, v in fc.items() if v}, "classifier": {k: -v for k, v in fc.items() if v}}
    return {}


@pytest.mark.parametrize("style", SPEC_STYLES)
@pytest.mark.parametrize("model", HYBRID_SPECS)
def test_a_hybrid_spec_and_its_export_compare_row_by_row(model, style, tmp_path):
    """`costcalc compare specs/NAME.yaml NAME_STYLE.onnx --depth 2`: every row paired by name, every delta zero
    (FLOPs, element-wise FLOPs, params, memory access, activations), but for dynamo's exports where the file does
    other work or names a layer otherwise (_row_differences). Swin-T's stem Permute is the copy torch's
    layer_norm and onnxruntime's Transpose make (the windows are cut from the channels-last map in memory), as the
    spec writes it; EdgeNeXt's conv encoder's permutes are views around a channels-last LayerNorm, as ConvNeXt's."""
    fixture = os.path.join(HYBRID, f"{model}_{style}.onnx.gz")
    if not os.path.exists(fixture):
        pytest.skip(f"{model}_{style} not exported (scripts/hybrid_truth.py --styles {style})")
    file_graph = load(_plain(fixture, tmp_path))
    result = compare(analyse(load(os.path.join(SPECS, f"{model}.yaml"))), analyse(file_graph), depth=2)
    assert len(result.rows) >= 8
    spec_rows = {row.a.name: row.a for row in result.rows if row.a is not None}
    expected = _row_differences(spec_rows, file_graph, model, style)
    for row in result.rows:
        name = (row.a or row.b).name
        if row.status == "only_b" and name in expected:  # a layer the file has and the spec has not
            assert {k: v for k, v in vars(row.b.counts).items() if v} == expected.pop(name), name
            continue
        assert row.status == "both", (name, row.status)
        assert {k: v for k, v in vars(row.delta).items() if v} == expected.pop(name, {}), name
    assert not expected  # every difference listed was seen


def test_the_dynamo_exports_of_most_hybrids_compare_with_no_difference():
    differing = {"swin_t", "edgenext_xx_small", "mobilenetv4_conv_small", "mobilenetv4_conv_medium",
                 "mobilenetv4_hybrid_medium"}
    exported = {m for m in HYBRID_SPECS if os.path.exists(os.path.join(HYBRID, f"{m}_dyn18_noopt.onnx.gz"))}
    assert exported == set(HYBRID_SPECS) and len(exported - differing) == 8


def test_a_spec_and_an_export_that_differ_show_it(tmp_path):
    """The comparison above can fail: Swin-T's export against the spec without its stem Permute (a view there)
    differs in features_0 by the copy, 2 x 96 x 56 x 56 elements of memory access and 96 x 56 x 56 activations."""
    spec = open(os.path.join(SPECS, "swin_t.yaml")).read()
    stem = "          - {name: features_0_1, op: permute, perm: [0, 2, 3, 1]}        # H x W x C\n"
    assert stem in spec
    edited = tmp_path / "swin_t.yaml"
    edited.write_text(spec.replace(stem, stem.replace("op: permute, perm: [0, 2, 3, 1]",
                                                      "op: reshape, shape: [image_size // patch, image_size // patch, "
                                                      "embed_dim]")))
    path = _plain(os.path.join(HYBRID, "swin_t_ts17_nofold.onnx.gz"), tmp_path)
    result = compare(analyse(load(str(edited))), analyse(load(path)), depth=2)
    deltas = {row.a.name: {k: v for k, v in vars(row.delta).items() if v} for row in result.rows if row.delta}
    assert {k: v for k, v in deltas.items() if v} == {
        "features.features_0": {"memory_access": 2 * 96 * 56 * 56, "activations": 96 * 56 * 56}}


def _all_fixtures() -> list:
    paths = []
    for folder in ("", "handwritten", "modern", "models", "hybrid"):
        root = os.path.join(FIXTURES, folder)
        for name in sorted(os.listdir(root)):
            if name.endswith((".onnx", ".onnx.gz")):
                paths.append(os.path.join(folder, name))
    return paths


ALL_FIXTURES = _all_fixtures()
# the library models' files (tests/data/*_truth.json) take the same round trip in tests/test_onnx_library_models.py,
# which reads each once for all its tests: here the rest
LIBRARY_FILES = {os.path.relpath(os.path.join(ROOT, path), FIXTURES) for path in LIBRARY_FILES_BY_CASE.values()}
ROUND_TRIP = [path for path in ALL_FIXTURES if path not in LIBRARY_FILES]
EXPECTED_TOP = json.load(open(os.path.join(FIXTURES, "expected.json")))


def test_every_fixture_folder_is_in_the_round_trip():
    """Every fixture takes the round trip, here or in tests/test_onnx_library_models.py."""
    assert set(ROUND_TRIP) | LIBRARY_FILES == set(ALL_FIXTURES) and len(ALL_FIXTURES) >= 250
    assert {os.path.dirname(p) for p in ALL_FIXTURES} == {"", "handwritten", "modern", "models", "hybrid"}
    assert len(ROUND_TRIP) >= 100 and len(LIBRARY_FILES) >= 250


@pytest.mark.parametrize("fixture", ROUND_TRIP)
def test_import_then_report_gives_the_files_totals(fixture, tmp_path):
    """`costcalc import` writes a spec whose report has the file's totals, for every fixture the importer reads
    (a file it refuses is refused by both: tests/test_onnx_library_models.py lists them)."""
    from costcalc.errors import SpecError
    from costcalc.importers.onnx import to_yaml

    path = _plain(os.path.join(FIXTURES, fixture), tmp_path)
    entry = EXPECTED_TOP.get(os.path.basename(fixture)[:-5], {}) if "/" not in fixture else {}
    shape = tuple(entry["input"]) if entry.get("dynamic") else None
    try:
        direct = analyse(load(path, input_shape=shape)).totals
    except SpecError:
        with pytest.raises(SpecError):
            to_yaml(path, shape)
        return
    spec = tmp_path / "imported.yaml"
    spec.write_text(to_yaml(path, shape))
    assert analyse(load(str(spec))).totals == direct
