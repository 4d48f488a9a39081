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

import pytest

pytest.importorskip("onnx")

from costcalc.analysis import analyse  # noqa: E402
from costcalc.analysis.compare import compare  # noqa: E402
from costcalc.graph import load  # noqa: E402
from costcalc.ops import Counts  # noqa: E402

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
               if names[0].rsplit("_", 1)[0] != "nearest_exact")


@pytest.mark.parametrize("model", sorted(HANDWRITTEN_MODELS))
def test_every_export_of_a_handwritten_model_gives_one_answer(model):
    """TorchScript at opsets 13, 17, 20 (LayerNorm unfused at 13) and dynamo at 17 to 20: the same totals."""
    skip = DIFFERENT_WORK.get(model, {"ts": set(), "dyn": set()})
    totals = {}
    for name in HANDWRITTEN_MODELS[model]:
        graph = load(os.path.join(HANDWRITTEN, name))
        kind = "ts" if name[:-5].rsplit("_", 1)[1].startswith("ts") else "dyn"
        assert skip[kind] <= {node.name for node in graph.nodes}, (name, sorted(node.name for node in graph.nodes))
        totals[name] = _without(graph, skip[kind])
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
# a model the importer cannot read yet (tests/test_onnx_library_models.py says why)
NOT_READ = {"edgenext_xx_small"}


def test_the_hybrid_pairs_are_many():
    assert len(set(TRAINED) - NOT_READ) >= 10


@pytest.mark.parametrize("model", sorted(set(TRAINED) - NOT_READ))
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
AS_STRIDED = {"swin_t": {"avgpool_2"}}


HYBRID_SPECS = ["mobilevit_xxs", "mobilevit_xs", "mobilevit_s", "efficientvit_b0", "levit_128s",
                "mobilenetv4_conv_small", "mobilenetv4_conv_medium", "mobilenetv4_hybrid_medium", "fastvit_t8",
                "swin_t", "vit_b_16", "maxvit_t"]
# the one row that differs, and by what: torchvision's Permute([0, 2, 3, 1]) after Swin's stem conv, which the
# spec writes as the copy torch and onnxruntime make, and which the importer reads as a view (a Transpose to
# channels last is read by the layout-aware LayerNorm after it: docs/onnx.md, ConvNeXt's convention)
ROW_EXCEPTIONS = {("swin_t", "features.features_0"): {"memory_access": -2 * 96 * 56 * 56,
                                                       "activations": -96 * 56 * 56}}


@pytest.mark.parametrize("model", HYBRID_SPECS)
def test_a_hybrid_spec_and_its_export_compare_row_by_row(model, tmp_path):
    """`costcalc compare specs/NAME.yaml NAME_ts17_nofold.onnx --depth 2`: every row paired by name, every delta
    zero (FLOPs, element-wise FLOPs, params, memory access, activations), but the exception above."""
    path = _plain(os.path.join(HYBRID, f"{model}_ts17_nofold.onnx.gz"), tmp_path)
    result = compare(analyse(load(os.path.join(SPECS, f"{model}.yaml"))), analyse(load(path)), depth=2)
    assert len(result.rows) >= 8
    for row in result.rows:
        assert row.status == "both", row
        delta = {k: v for k, v in vars(row.delta).items() if v}
        assert delta == ROW_EXCEPTIONS.get((model, row.a.name), {}), row.a.name


def _all_fixtures() -> list:
    paths = []
    for folder in ("", "handwritten", "modern", "models", "hybrid"):
        root = os.path.join(FIXTURES, folder)
        for name in sorted(os.listdir(root)):
            if name.endswith((".onnx", ".onnx.gz")):
                paths.append(os.path.join(folder, name))
    return paths


ALL_FIXTURES = _all_fixtures()
EXPECTED_TOP = json.load(open(os.path.join(FIXTURES, "expected.json")))


def test_every_fixture_folder_is_in_the_round_trip():
    folders = {os.path.dirname(p) for p in ALL_FIXTURES}
    assert folders == {"", "handwritten", "modern", "models", "hybrid"} and len(ALL_FIXTURES) >= 250


@pytest.mark.parametrize("fixture", ALL_FIXTURES)
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
