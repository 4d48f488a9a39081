"""`costcalc view` pages: their size, and how long headless Chromium takes to open and draw them.

    python benchmarks/view_render.py [--runs 5]

Needs Debian's chromium and chromium-driver and selenium (tests/browser.py). For each page it prints the file's
size, the time `costcalc view` took to write it (one process), and over --runs loads in one browser, the median of:
- load: navigation start to the load event (reading the file, parsing the document, dagre's layout, the drawing;
  the page's script runs before the load event);
- drawn: the page's own time for its first layout and drawing (window.costcalcView.renderMs);
beside a baseline measured in the same run: a page of the same size holding only a JSON document of that size
(what any page of the same data pays to read and parse it) and an empty page.
Goals (issue 24): resnet50's page under 1 MB and loaded in under 1 s; the 33,339-layer pre-activation ResNet
(specs/preact_resnet_cifar.yaml --set depth=10001) loaded in under 3 s, opened as its stages.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import chromium  # noqa: E402

PAGES = (
    ("resnet50 (opens at its layers)", ["specs/resnet50.yaml"], 1.0),
    ("resnet50 --depth 1", ["specs/resnet50.yaml", "--depth", "1"], 1.0),
    ("densenet121", ["specs/densenet121.yaml"], 1.0),
    ("pre-act ResNet, 33,339 layers", ["specs/preact_resnet_cifar.yaml", "--set", "depth=10001"], 3.0),
)
LOAD = ("return performance.getEntriesByType('navigation')[0].loadEventEnd")


def write(args: list, out: pathlib.Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "costcalc", "view", *args, "-o", str(out)], cwd=ROOT, check=True,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def load(driver, page: pathlib.Path, drawn: bool) -> tuple:
    """(ms to the load event, ms the page's script says it drew in) of one load."""
    driver.get("about:blank")
    driver.get(page.as_uri())
    if drawn:
        driver.find_element("css selector", "body[data-rendered]")
        return driver.execute_script(LOAD), driver.execute_script("return window.costcalcView.renderMs")
    return driver.execute_script(LOAD), 0.0


def baseline_page(size: int, out: pathlib.Path) -> None:
    """A page holding a JSON document of about `size` bytes that its script parses, and nothing else."""
    items = json.dumps([{"name": f"layer{k}", "value": k} for k in range(size // 30)])
    out.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script id="d" '
                   f'type="application/json">{items}</script><script>JSON.parse(document.getElementById("d")'
                   '.textContent);</script></body></html>')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; medians of {args.runs} loads in headless Chromium")
    browser = chromium(1400, 900)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = pathlib.Path(tmp)
            empty = tmp / "empty.html"
            empty.write_text("<!DOCTYPE html><html><body></body></html>")
            empty_ms = statistics.median(load(browser.driver, empty, False)[0] for _ in range(args.runs))
            print(f"{'page':34} {'size':>12} {'write':>8} {'load':>9} {'drawn':>9} {'same-size JSON':>15} "
                  f"{'empty page':>11}  goal")
            for label, spec, goal in PAGES:
                page = tmp / "view.html"
                wrote = write(spec, page)
                size = page.stat().st_size
                times = [load(browser.driver, page, True) for _ in range(args.runs)]
                baseline_page(size, tmp / "baseline.html")
                base = statistics.median(load(browser.driver, tmp / "baseline.html", False)[0]
                                         for _ in range(args.runs))
                loaded = statistics.median(t[0] for t in times)
                drawn = statistics.median(t[1] for t in times)
                ok = "met" if loaded < goal * 1000 and (goal > 1 or size < 1_000_000) else "MISSED"
                print(f"{label:34} {size:>12,} {wrote:>7.2f}s {loaded:>7.0f}ms {drawn:>7.0f}ms {base:>13.0f}ms "
                      f"{empty_ms:>9.0f}ms  load < {goal:g} s{', < 1 MB' if goal == 1 else ''}: {ok}")
            errors = browser.errors()
            if errors:
                print(f"console errors: {errors}")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
