"""Make the pictures of docs/plots.md (docs/images/*.png) with the series and drawings `costcalc plot` uses.

Run from the repository's top directory, with the [plot] extra installed:
    python scripts/make_docs_figures.py
The files are deterministic for a given matplotlib version (no date in them); commit them when they change.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIGURES = [  # (file, kind, spec, settings)
    ("mobilenet_v2_roofline.png", "roofline", "specs/mobilenet_v2.yaml", {}),
    ("mobilenet_v2_stages.png", "stages", "specs/mobilenet_v2.yaml", {}),
]


def main() -> None:
    from costcalc.analysis import series
    from costcalc.api import analyze
    from costcalc.plot import draw

    images = ROOT / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for name, kind, spec, settings in FIGURES:
        report = analyze(ROOT / spec, **settings)
        data = series.roofline(report) if kind == "roofline" else series.stages(report)
        drawn = draw(kind, data, str(images / name), dpi=90)
        print(f"wrote {drawn.path} ({(images / name).stat().st_size:,} bytes): {drawn.title}")


if __name__ == "__main__":
    main()
