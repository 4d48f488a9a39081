"""The screenshots of docs/view.md: `costcalc view` pages drawn by headless Chromium.

    python scripts/view_screenshots.py

Needs Debian's chromium and chromium-driver and selenium (tests/browser.py). Writes docs/images/view_*.png:
- ShuffleNet V2 1.0x, every layer drawn, coloured by memory access, a unit's depthwise conv selected: the down
  unit's two branches and the basic unit's split, branch and concat;
- DenseNet-121 at its dense layers (the depth it opens at), coloured by memory access, one dense layer opened and
  its concat selected;
- MobileViT-XXS at the depth it opens at, coloured by estimated latency on the shipped device profile, the first
  transformer layer's attention opened and its softmax selected.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import chromium  # noqa: E402

IMAGES = ROOT / "docs" / "images"
SHOTS = (
    # (image, costcalc view arguments, blocks to open by a double-click, the node to click last)
    ("view_shufflenet_v2.png", ["specs/shufflenet_v2_x1_0.yaml", "--depth", "all", "--metric", "memory_access"],
     [], "stage2.units.0.branch2.conv_3"),
    ("view_densenet121.png", ["specs/densenet121.yaml", "--metric", "memory_access"], ["denseblock1.1"],
     "denseblock1.1.concat"),
    ("view_mobilevit_xxs.png", ["specs/mobilevit_xxs.yaml", "--metric", "latency",
                                "--device", "devices/epyc-2cpu-onnxruntime-1.32-1thread.yaml"],
     ["stages.stages_2.mobilevit.transformer.0.attn"], "stages.stages_2.mobilevit.transformer.0.attn.softmax"),
)


def shoot(browser, page: pathlib.Path, opened: list, selected: str, image: pathlib.Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    driver = browser.driver
    driver.get(page.as_uri())
    driver.find_element("css selector", "body[data-rendered]")
    ids = driver.execute_script("var d = JSON.parse(document.getElementById('view-data').textContent);"
                                "var o = {}; d.nodes.forEach(n => { o[n.name] = n.id; }); return o;")
    for name in opened:
        ActionChains(driver).double_click(driver.find_element("css selector", f'#svg [data-id="{ids[name]}"]')).perform()
    driver.find_element("id", "zoom-out").click()  # a little more of the graph around the selection
    node = driver.find_element("css selector", f'#svg g.node[data-id="{ids[selected]}"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", node)
    node.click()
    errors = browser.errors()
    if errors:
        raise SystemExit(f"{page.name}: console errors: {errors}")
    driver.save_screenshot(str(image))


def main() -> None:
    browser = chromium(1500, 900)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, args, opened, selected in SHOTS:
                page = pathlib.Path(tmp) / "view.html"
                subprocess.run([sys.executable, "-m", "costcalc", "view", *args, "-o", str(page)], cwd=ROOT,
                               check=True)
                shoot(browser, page, opened, selected, IMAGES / name)
                print(f"wrote {(IMAGES / name).relative_to(ROOT)}")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
