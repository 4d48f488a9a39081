"""Pictures of the series costcalc.analysis.series computes: one drawing function per kind, nothing computed here.

matplotlib (the optional `[plot]` extra) is imported when a picture is drawn, with its Agg backend (no display
needed); without it, drawing is one error naming the extra. `draw` writes a PNG or an SVG, chosen by the file's
extension, and returns what it drew as read back from the figure (`Drawn`), for tests and callers to check.
"""

from __future__ import annotations

from dataclasses import dataclass

from costcalc.errors import CostcalcError, NotAvailableError, OptionError

FORMATS = (".png", ".svg")
COLOURS = {  # one per op class (costcalc.analysis.series.CLASSES), colour-blind safe (Okabe-Ito)
    "dense conv": "#0072B2", "pointwise conv": "#56B4E9", "grouped conv": "#009E73", "depthwise conv": "#E69F00",
    "fc": "#CC79A7", "element-wise": "#D55E00", "pooling": "#999999", "data movement": "#000000",
}
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73")
LABEL_OFFSETS = ((6, 6), (6, -7), (-7, 6), (-7, -7))  # points from a numbered point to its number


@dataclass(frozen=True)
class Drawn:
    """What a figure shows: its title and axis labels, the legend's entries, the annotations, and the number of
    points of each scatter or bar series, in drawing order."""

    path: str
    title: str
    x_label: str
    y_label: str
    legend: tuple
    annotations: tuple
    series_sizes: tuple


def draw(kind: str, series, path: str, dpi: int = 110) -> Drawn:
    """Draw `series` (a record of costcalc.analysis.series) as a `kind` picture into `path` (.png or .svg)."""
    import os

    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise OptionError(f"'{path}': a picture is written as {' or '.join(FORMATS)}")
    pyplot = _pyplot(path)
    figure, axes = pyplot.subplots(figsize=(9, 5.6), layout="constrained")
    try:
        DRAWERS[kind](axes, series)
        try:
            figure.savefig(path, dpi=dpi, format=extension[1:], metadata=_metadata(extension))
        except OSError as e:
            raise CostcalcError(f"{path}: error: cannot write the picture: {e.strerror or e}") from None
        return _read_back(path, axes)
    finally:
        pyplot.close(figure)


def _metadata(extension: str) -> dict:
    """No creation date and no version in the file, so the same series always writes the same bytes."""
    return {"Date": None} if extension == ".svg" else {"Software": None}


def _pyplot(path: str):
    try:
        import matplotlib
    except ImportError:
        raise NotAvailableError(f"{path}: error: drawing plots needs matplotlib: pip install 'costcalc[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def _read_back(path: str, axes) -> Drawn:
    legend = axes.get_legend()
    sizes = [len(c.get_offsets()) for c in axes.collections]
    sizes += [len(c.patches) for c in axes.containers]
    return Drawn(path, axes.get_title(), axes.get_xlabel(), axes.get_ylabel(),
                 tuple(t.get_text() for t in legend.get_texts()) if legend else (),
                 tuple(t.get_text() for t in axes.texts), tuple(sizes))


def roofline(axes, series) -> None:
    for op_class in series.classes:
        points = [p for p in series.points if p.op_class == op_class]
        axes.scatter([p.intensity for p in points], [p.height for p in points], s=22, alpha=0.8,
                     color=COLOURS[op_class], label=f"{op_class} ({len(points)})", edgecolors="none")
    heaviest = sorted((p for p in series.points if p.labelled), key=lambda p: -(p.seconds or p.work))
    for number, point in enumerate(heaviest, start=1):  # numbers by the points, the names in a box
        offset = LABEL_OFFSETS[(number - 1) % len(LABEL_OFFSETS)]  # neighbours' numbers on different sides
        axes.annotate(str(number), (point.intensity, point.height), xytext=offset, textcoords="offset points",
                      fontsize=8, fontweight="bold", ha="center", va="center")
    if heaviest:
        title = "slowest kernels (estimate)" if series.ceilings else "heaviest layers by FLOPs"
        lines = [title, *(f"{n}  {p.name}" for n, p in enumerate(heaviest, start=1))]
        width = max(len(line) for line in lines)  # monospace, padded: the lines align left inside the box
        axes.text(0.99, 0.01, "\n".join(line.ljust(width) for line in lines), transform=axes.transAxes, fontsize=7,
                  ha="right", va="bottom", family="monospace",
                  bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "#cccccc"})
    axes.set_xscale("log")
    axes.set_yscale("log")
    _ceilings(axes, series)
    axes.set_xlabel(series.x_label)
    axes.set_ylabel(series.y_label)
    axes.set_title(series.title)
    axes.grid(True, which="major", alpha=0.3)
    note = f"{len(series.without_arithmetic)} layers move data without arithmetic (not shown)"
    axes.legend(title=note if series.without_arithmetic else None, fontsize=8, title_fontsize=8, loc="best")


def _ceilings(axes, series) -> None:
    """A timed roofline's ceilings: each class's min(throughput, intensity x bandwidth), dashed."""
    if not series.ceilings:
        return
    low, high = axes.get_xlim()
    xs = [low * (high / low) ** (i / 63) for i in range(64)]
    for ceiling in series.ceilings:
        axes.plot(xs, [min(ceiling.throughput, x * ceiling.bandwidth) for x in xs], linestyle="--", linewidth=0.8,
                  color="#777777", alpha=0.6)
        axes.annotate(ceiling.op_class, (xs[-1], ceiling.throughput), fontsize=6, ha="right", va="bottom",
                      color="#555555")
    axes.set_xlim(low, high)


def stages(axes, series) -> None:
    names = [bar.name for bar in series.bars]
    shares = [[b.flops_share for b in series.bars], [b.memory_share for b in series.bars]]
    if len(series.series) == 3:
        shares.append([b.latency_share for b in series.bars])
    height = 0.8 / len(shares)
    positions = range(len(names))
    for k, (values, label) in enumerate(zip(shares, series.series)):
        offset = (k - (len(shares) - 1) / 2) * height
        axes.barh([i + offset for i in positions], values, height, label=label, color=SERIES_COLOURS[k])
    axes.set_yticks(list(positions), names, fontsize=8)
    axes.invert_yaxis()
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel(series.x_label)
    axes.set_ylabel(f"depth {series.depth}" if series.depth != 1 else "stage")
    axes.set_title(series.title)
    axes.grid(True, axis="x", alpha=0.3)
    axes.legend(fontsize=8)


def layers(axes, series) -> None:
    positions = list(range(len(series.names)))
    for values, label, colour in zip((series.flops, series.memory_access), series.series, SERIES_COLOURS):
        shown = [(i, v) for i, v in zip(positions, values) if v > 0]
        axes.scatter([i for i, _ in shown], [v for _, v in shown], s=10, label=label, color=colour)
    axes.set_yscale("log")
    axes.set_xlabel(series.x_label)
    axes.set_ylabel(series.y_label)
    axes.set_title(series.title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)


def pareto(axes, series) -> None:
    others = [p for p in series.points if not p.on_front]
    axes.scatter([p.x for p in others], [p.y for p in others], s=14, color="#999999", label="points")
    axes.scatter([p.x for p in series.front], [p.y for p in series.front], s=28, color=SERIES_COLOURS[1],
                 label="Pareto front", zorder=3)
    axes.step([p.x for p in series.front], [p.y for p in series.front], where="post", color=SERIES_COLOURS[1],
              alpha=0.6)
    for point in series.front:
        axes.annotate(point.label, (point.x, point.y), xytext=(4, 4), textcoords="offset points", fontsize=7)
    from costcalc.report.units import human

    from costcalc.report.units import duration

    for axis, column in ((axes.xaxis, series.x_column), (axes.yaxis, series.y_column)):
        if column == "latency_s":
            axis.set_major_formatter(lambda value, _: duration(value) if value > 0 else "0")
        else:
            axis.set_major_formatter(lambda value, _: human(int(value)))  # 40M, not 4e7
    axes.set_xlabel(series.x_column)
    axes.set_ylabel(series.y_column)
    axes.set_title(series.title + (f" ({series.failed} invalid, not shown)" if series.failed else ""))
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)


DRAWERS = {"roofline": roofline, "stages": stages, "layers": layers, "pareto": pareto}
