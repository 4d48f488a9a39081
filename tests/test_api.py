"""The Python API: the same figures as the command line, frozen records, typed errors, a cheap `import costcalc`."""

import dataclasses
import json
import subprocess
import sys

import pytest

import costcalc
from conftest import ROOT, SPECS
from costcalc.errors import OptionError, SpecError, SpecErrors

MOBILENET = str(SPECS / "mobilenet_v2.yaml")
TINY = """\
name: tiny
input: [3, 16, 16]
vars: {width: 8}
layers:
  - {name: conv1, op: conv, out: width, k: 3, pad: 1}
  - {name: bn1, op: bn}
  - relu
  - {name: pool, op: gap}
  - flatten
  - {name: fc, op: fc, out: 10}
"""


def tiny_flops(width: int, hw: int = 16) -> int:
    return hw * hw * width * 9 * 3 + width * 10  # conv multiply-adds + fc


def test_import_is_cheap_and_the_surface_deliberate():
    code = ("import sys, costcalc; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('costcalc', 'yaml', 'click', 'rich', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['costcalc']"
    for name in costcalc.__all__:
        assert getattr(costcalc, name) is not None
    assert set(costcalc.__all__) <= set(dir(costcalc))
    with pytest.raises(AttributeError):
        costcalc.no_such_name  # noqa: B018


@pytest.mark.parametrize("options, kwargs", [
    ([], {}),
    (["--set", "width=0.5", "--input", "3x160x160", "--batch", "2"],
     {"set": {"width": 0.5}, "input": "3x160x160", "batch": 2}),
    (["--convention", "fvcore", "--bytes", "4"], {"convention": "fvcore", "bytes_per_element": 4}),
])
def test_to_json_is_the_command_lines_json(run, options, kwargs):
    result = run("report", MOBILENET, "--format", "json", *options)
    assert result.exit_code == 0
    report = costcalc.analyze(MOBILENET, **kwargs)
    assert report.to_json() == result.stdout
    assert report.to_dict() == json.loads(result.stdout)


def test_totals_rows_and_records():
    report = costcalc.analyze(SPECS / "resnet50.yaml")
    assert report.totals.flops == 4_089_184_256 and report.totals.params == 25_557_032  # torchvision's figures
    assert type(report.totals.flops) is int
    assert len(report.layers) == 175 and report.layers[0].name == "conv1"
    for depth in (1, 2, None):
        rows = report.rows(depth)
        assert sum(row.counts.flops for row in rows) == report.totals.flops
    assert [row.name for row in report.rows(1)][:2] == ["conv1", "bn1"]
    top = report.rows(None, top=3, sort="params")
    assert [row.counts.params for row in top] == sorted((l.counts.params for l in report.layers), reverse=True)[:3]
    assert {g.guideline for g in report.guidelines.results} == {"G1", "G2", "G3", "G4"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.model = "other"
    with pytest.raises(OptionError):
        report.rows(0)
    with pytest.raises(OptionError):
        report.rows(1, top=2, sort="speed")
    assert report.render("csv", depth=1).startswith(report.render("csv", depth=1)[:10])


def test_a_spec_as_path_text_or_dict(write_spec):
    import yaml

    from_file = costcalc.analyze(write_spec(TINY), set={"width": 16})
    from_text = costcalc.analyze(TINY, set={"width": 16})
    from_dict = costcalc.analyze(yaml.safe_load(TINY), set={"width": 16})
    assert from_file.totals == from_text.totals == from_dict.totals
    assert from_file.totals.flops == tiny_flops(16)
    assert from_file.layers == from_text.layers == from_dict.layers


def test_set_values_numbers_lists_and_expressions():
    assert costcalc.analyze(TINY, set={"width": 4}).totals.flops == tiny_flops(4)
    assert costcalc.analyze(TINY, set={"width": "2 * 3"}).totals.flops == tiny_flops(6)
    assert costcalc.analyze(TINY, set=["width=5"]).totals.flops == tiny_flops(5)
    assert costcalc.analyze(TINY, input=(3, 8, 8)).totals.flops == tiny_flops(8, 8)
    assert costcalc.analyze(TINY, input="3x8x8").totals == costcalc.analyze(TINY, input=[3, 8, 8]).totals
    resnet = costcalc.analyze(SPECS / "resnet50.yaml", set={"depths": [3, 4, 23, 3]}).totals
    assert resnet == costcalc.analyze(SPECS / "resnet101.yaml").totals


def test_errors_are_typed_and_located(write_spec):
    text = TINY.replace("out: width", "out: width, groups: 2")
    with pytest.raises(SpecError) as error:
        costcalc.analyze(text)
    col = text.splitlines()[4].index("groups: 2") + len("groups: ") + 1  # at the value at fault
    assert str(error.value) == f"<string>:5:{col}: error: layer 'conv1': groups=2 does not divide in_channels=3"
    with pytest.raises(SpecError) as error:
        costcalc.analyze(MOBILENET, set={"widht": 0.5})
    assert str(error.value).startswith(f"{MOBILENET}:") and "did you mean 'width'" in str(error.value)
    with pytest.raises(SpecErrors) as errors:
        costcalc.analyze({"input": [3, 8, 8], "layers": [{"op": "cnov"}, {"op": "relu", "bogus": 1}]})
    assert len(errors.value.errors) == 2 and str(errors.value).startswith("<dict>:1:1: error: layer 'cnov_0'")
    with pytest.raises(SpecError, match="cannot read"):
        costcalc.analyze(str(ROOT / "specs" / "missing.yaml"))
    for bad in ({"input": "3x0x4"}, {"batch": 0}, {"convention": "mine"}, {"set": {1: 2}}):
        with pytest.raises(OptionError):
            costcalc.analyze(TINY, **bad)
    with pytest.raises(OptionError):
        costcalc.analyze(42)
    with pytest.raises(SpecError, match="not set"):
        costcalc.analyze({"input": [3, 8, 8], "layers": [{"op": "conv", "out": {1, 2}, "k": 1}]})


def test_thresholds_change_the_guideline_checks():
    default = costcalc.analyze(SPECS / "resnet50.yaml")
    loose = costcalc.analyze(SPECS / "resnet50.yaml", thresholds={"G1.max_ratio": 100, "G1.max_excess": 100})
    g1 = {r.guideline: r for r in default.guidelines.results}["G1"]
    assert g1.violations and not {r.guideline: r for r in loose.guidelines.results}["G1"].violations


def test_load_once_evaluate_many():
    model = costcalc.load(MOBILENET)
    assert costcalc.load(model) is model and model.name == "mobilenet_v2" and model.variables["width"] == 1.0
    for width, size in ((0.5, 160), (1.0, 224), (0.35, 96), (1.4, 224)):
        settings = {"set": {"width": width}, "input": (3, size, size)}
        assert model.analyze(**settings).to_json() == costcalc.analyze(MOBILENET, **settings).to_json()
    assert model.analyze().totals.flops == 300_774_272  # torchvision's mobilenet_v2


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.stem)
def test_fast_totals_equal_the_walk(path):
    """Model.totals reuses blocks across evaluations: the same Counts as summing every walked layer."""
    model = costcalc.load(path)
    for _ in range(2):  # the second time from the cache
        assert model.totals() == model.analyze().totals
    if "width" in model.variables:
        for width in (0.5, 0.75):
            assert model.totals(set={"width": width}) == model.analyze(set={"width": width}).totals


def test_compare_records_and_json(run):
    a, b = SPECS / "resnet50.yaml", SPECS / "resnext50_32x4d.yaml"
    comparison = costcalc.compare(a, b, depth=1)
    assert comparison.delta.flops == 4_230_479_872 - 4_089_184_256
    assert comparison.to_json() == run("compare", a, b, "--format", "json", "--depth", "1").stdout
    half = costcalc.compare(costcalc.analyze(MOBILENET), costcalc.analyze(MOBILENET, set={"width": 0.5}))
    assert half.delta.params < 0 and (half.label_a, half.label_b) == ("mobilenet_v2", "mobilenet_v2 (--set width=0.5)")


PROFILE = ROOT / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml"


def test_device_gives_the_estimate_of_report_device(run):
    report = costcalc.analyze(MOBILENET, device=PROFILE)
    cli = json.loads(run("report", MOBILENET, "--device", PROFILE, "--format", "json").stdout)
    assert report.latency_s == cli["totals"]["latency_s"] > 0
    per_layer = report.latency.by_layer()
    assert {layer["name"]: layer["latency_s"] for layer in cli["layers"]} == per_layer
    assert report.latency_s == pytest.approx(report.latency.run_overhead_s + sum(per_layer.values()))
    assert report.totals == costcalc.analyze(MOBILENET).totals  # the counts do not change
    assert report.latency_costs  # mobilenet_v2 violates guidelines; each violation has its cost in time
    from costcalc.latency import load

    assert costcalc.analyze(MOBILENET, device=load(str(PROFILE))).latency_s == report.latency_s
    assert costcalc.analyze(MOBILENET).latency_s is None


def test_bad_device_is_a_typed_error(tmp_path):
    with pytest.raises(OptionError, match="device"):
        costcalc.analyze(TINY, device=3)
    bad = tmp_path / "p.yaml"
    bad.write_text("threads: two\n")
    with pytest.raises(costcalc.CostcalcError) as caught:
        costcalc.analyze(TINY, device=bad)
    assert str(caught.value).startswith(f"{bad}:")


def test_onnx_model(tmp_path):
    pytest.importorskip("onnx")
    from onnx_graphs import Net

    net = Net((1, 3, 16, 16))
    y = net.conv("x", 8, 3, pad=1)
    path = net.save(y, tmp_path / "one.onnx")
    model = costcalc.load(path)
    assert model.analyze().totals.flops == 16 * 16 * 8 * 27
    assert model.totals(input=(3, 8, 8)).flops == 8 * 8 * 8 * 27
