"""Plots: the series the analysis computes (checked against the report they come from), and what each drawing shows
(labels, legend, points per series) in a valid PNG or SVG file; never pixels."""

import sys
import xml.etree.ElementTree as ElementTree

import pytest

import costcalc
from conftest import SPECS
from costcalc.analysis import series

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mobilenet():
    return costcalc.analyze(SPECS / "mobilenet_v2.yaml")


def test_roofline_series(mobilenet):
    roof = series.roofline(mobilenet)
    moving = [layer for layer in mobilenet.layers if layer.counts.memory_access > 0]
    assert len(roof.points) + len(roof.without_arithmetic) == len(moving) == 151  # flatten, dropout move nothing
    by_name = {layer.name: layer for layer in mobilenet.layers}
    for point in roof.points:
        counts = by_name[point.name].counts
        assert point.work == counts.flops + counts.elementwise_flops and point.memory_access == counts.memory_access
    classes = {p.name: p.op_class for p in roof.points}
    assert classes["conv1"] == "dense conv" and classes["stage2.units.0.body.dw"] == "depthwise conv"
    assert classes["stage2.units.0.body.project"] == "pointwise conv" and classes["fc"] == "fc"
    assert classes["bn1"] == classes["relu1"] == "element-wise" and classes["pool"] == "pooling"
    labelled = [p.name for p in roof.points if p.labelled]
    heaviest = sorted(roof.points, key=lambda p: -p.work)[:5]
    assert sorted(labelled) == sorted(p.name for p in heaviest) and "conv_last" in labelled
    assert roof.classes == ("dense conv", "pointwise conv", "depthwise conv", "fc", "element-wise", "pooling")
    grouped = series.roofline(costcalc.analyze(SPECS / "resnext50_32x4d.yaml", input="3x64x64"))
    assert "grouped conv" in grouped.classes
    shuffled = series.roofline(costcalc.analyze(SPECS / "shufflenet_v2_x1_0.yaml", input="3x64x64"))
    assert any("shuffle" in name or "split" in name or "concat" in name for name in shuffled.without_arithmetic)


def test_stages_and_layers_series(mobilenet):
    bars = series.stages(mobilenet).bars
    assert [b.name for b in bars][:4] == ["conv1", "bn1", "relu1", "stage1"]
    assert sum(b.flops for b in bars) == mobilenet.totals.flops
    assert sum(b.flops_share for b in bars) == pytest.approx(1.0)
    assert sum(b.memory_share for b in bars) == pytest.approx(1.0)
    stage2 = {b.name: b for b in bars}["stage2"]
    assert stage2.memory_share > 1.5 * stage2.flops_share  # MobileNet V2's stage 2 moves far more than it computes
    assert len(series.stages(mobilenet, depth=3).bars) > len(bars)  # depth 2 is stageN.units
    profile = series.layers(mobilenet)
    assert len(profile.names) == len(profile.flops) == 153 and sum(profile.flops) == mobilenet.totals.flops


def test_pareto_series():
    result = costcalc.sweep(SPECS / "shufflenet_v1.yaml", grid={"groups": [1, 2, 3, 4, 5, 8], "width": [0.5, 1.0]},
                            pareto="flops,memory_access")
    data = series.pareto(result)
    assert data.failed == 2 and len(data.points) == 10  # groups=5 has no Table 1 width
    assert [p.label for p in data.front] == ["groups=3 width=0.5", "groups=1 width=0.5"]
    assert [p.x for p in data.front] == sorted(p.x for p in data.front)
    with pytest.raises(costcalc.OptionError):
        series.pareto(costcalc.sweep(SPECS / "shufflenet_v1.yaml", grid={"groups": [1, 2]}))


PROFILE = SPECS.parent / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml"


def test_timed_series_follow_the_estimate():
    from costcalc.latency.model import kernel_time

    timed = costcalc.analyze(SPECS / "mobilenet_v2.yaml", device=PROFILE)
    roof = series.roofline(timed)
    kernels = {k.layer: k for k in timed.latency.kernels if k.members}
    assert roof.ceilings and {c.op_class for c in roof.ceilings} <= {k.op_class for k in kernels.values()}
    by_name = {layer.name: layer for layer in timed.layers}
    for point in roof.points:
        kernel = kernels[point.name]
        work = sum(by_name[m].counts.flops + by_name[m].counts.elementwise_flops for m in kernel.members)
        assert point.work == work and point.memory_access == kernel.bytes
        # the classifier's weights come from memory: MobileNetV2 moves more than the profile's cache in a run
        assert point.height == pytest.approx(work / kernel_time(kernel, timed.device, timed.latency.evicted))
    assert timed.latency.evicted
    conv1 = {p.name: p for p in roof.points}["conv1"]
    assert kernels["conv1"].members[:3] == ("conv1", "bn1", "relu1")  # fused: one point for the three layers
    assert conv1.work == sum(by_name[n].counts.flops + by_name[n].counts.elementwise_flops
                             for n in ("conv1", "bn1", "relu1"))
    bars = series.stages(timed).bars
    assert sum(b.latency_share for b in bars) == pytest.approx(1.0)
    rows = {row.name: row for row in timed.rows(1)}
    total = sum(row.latency_s for row in rows.values())
    assert all(b.latency_share == pytest.approx(rows[b.name].latency_s / total) for b in bars)
    assert series.stages(timed).series[-1] == "estimated latency"
    assert all(b.latency_share is None for b in series.stages(costcalc.analyze(SPECS / "mobilenet_v2.yaml")).bars)


def test_timed_plots_draw_the_estimate(run, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "roof.svg"
    result = run("plot", SPECS / "mobilenet_v2.yaml", "--device", PROFILE, "-o", out)
    assert result.exit_code == 0 and "estimated FLOPs per second" in out.read_text()
    from costcalc.plot import draw

    timed = costcalc.analyze(SPECS / "mobilenet_v2.yaml", device=PROFILE)
    drawn = draw("stages", series.stages(timed), str(tmp_path / "stages.png"))
    bars = len(series.stages(timed).bars)
    assert drawn.series_sizes == (bars, bars, bars) and drawn.legend == ("FLOPs", "memory access",
                                                                          "estimated latency")
    front = costcalc.sweep(SPECS / "mobilenet_v2.yaml", grid={"width": [0.5, 1.0]}, device=PROFILE,
                           pareto="flops,latency_s")
    drawn = draw("pareto", series.pareto(front), str(tmp_path / "front.png"))
    assert drawn.y_label == "latency_s" and sum(drawn.series_sizes) == 2


def _svg_texts(path) -> list:
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg")
    return root


@pytest.mark.parametrize("extension", [".png", ".svg"])
def test_drawings_are_valid_files_showing_the_series(mobilenet, tmp_path, extension):
    pytest.importorskip("matplotlib")
    from costcalc.plot import draw

    roof = series.roofline(mobilenet)
    drawn = draw("roofline", roof, str(tmp_path / f"roof{extension}"))
    assert drawn.series_sizes == tuple(sum(1 for p in roof.points if p.op_class == c) for c in roof.classes)
    assert drawn.x_label == roof.x_label and drawn.title == roof.title
    assert drawn.legend == tuple(f"{c} ({n})" for c, n in zip(roof.classes, drawn.series_sizes))
    assert drawn.annotations[:5] == ("1", "2", "3", "4", "5") and "conv_last" in drawn.annotations[5]
    stages = series.stages(mobilenet)
    drawn = draw("stages", stages, str(tmp_path / f"stages{extension}"))
    assert drawn.series_sizes == (len(stages.bars), len(stages.bars)) and drawn.legend == ("FLOPs", "memory access")
    drawn = draw("layers", series.layers(mobilenet), str(tmp_path / f"layers{extension}"))
    assert drawn.series_sizes == (sum(1 for f in series.layers(mobilenet).flops if f), 151)
    for name in ("roof", "stages", "layers"):
        path = tmp_path / f"{name}{extension}"
        if extension == ".png":
            assert path.read_bytes()[:8] == PNG_MAGIC
        else:
            _svg_texts(path)


def test_plot_command(run, tmp_path):
    pytest.importorskip("matplotlib")
    for kind in ("roofline", "stages", "layers"):
        out = tmp_path / f"{kind}.svg"
        result = run("plot", "specs/shufflenet_v2_x1_0.yaml", "--kind", kind, "-o", out, "--input", "3x112x112")
        assert result.exit_code == 0 and result.stderr == f"wrote {out}\n"
        assert "shufflenet_v2_x1_0" in out.read_text()  # the title, as SVG text
        _svg_texts(out)
    assert run("plot", "specs/resnet50.yaml", "-o", tmp_path / "x.gif").exit_code == 2
    result = run("plot", "specs/resnet50.yaml", "-o", tmp_path / "missing" / "x.png")
    assert result.exit_code == 2 and "cannot write the picture" in result.stderr
    result = run("plot", "specs/resnet50.yaml", "-o", tmp_path / "x.png", "--set", "widht=2")
    assert result.exit_code == 2 and result.stderr.startswith("specs/resnet50.yaml:")


def test_sweep_plot(run, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "front.png"
    result = run("sweep", "specs/shufflenet_v1.yaml", "--grid", "groups=1,3,8", "--grid", "width=0.5,1.0",
                 "--pareto", "flops,memory_access", "--plot", out, "--format", "csv")
    assert result.exit_code == 0 and out.read_bytes()[:8] == PNG_MAGIC


def test_without_the_extra(run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    out = tmp_path / "x.png"
    result = run("plot", "specs/resnet50.yaml", "-o", out)
    assert result.exit_code == 2
    assert result.stderr == f"{out}: error: drawing plots needs matplotlib: pip install 'costcalc[plot]'\n"
    assert run("report", "specs/resnet50.yaml").exit_code == 0
