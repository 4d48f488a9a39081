"""`costcalc view` pages in a real browser: Debian's headless Chromium, driven by selenium (tests/browser.py). Skips
where chromium, chromedriver or selenium is missing; .ci/run installs them."""

import json

import pytest

from tests.browser import Unavailable, chromium, png_pixels


@pytest.fixture(scope="module")
def browser():
    try:
        session = chromium(1400, 900)
    except Unavailable as e:
        pytest.skip(str(e))
    yield session
    session.close()


def _write(run, tmp_path, *args):
    page, data = tmp_path / "view.html", tmp_path / "view.json"
    assert run("view", *args, "-o", page).exit_code == 0
    assert run("view", *args, "--format", "json", "-o", data).exit_code == 0
    return page, json.loads(data.read_text())


def _shown(doc: dict, depth: int) -> list:
    """What the page should draw with the blocks open down to `depth`: the node standing for every node, computed
    here from the document's parents, apart from the page's script."""
    stands = {}
    for node in doc["nodes"]:
        parent = node["parent"]
        if parent is None or (stands[parent] == parent and doc["nodes"][parent]["depth"] < depth):
            stands[node["id"]] = node["id"]
        else:
            stands[node["id"]] = stands[parent] if stands[parent] != parent else parent
    return [stands[n["id"]] for n in doc["nodes"]]


def _expected(doc: dict, depth: int) -> tuple:
    stands = _shown(doc, depth)
    drawn = {i for i, s in enumerate(stands) if s == i and not (doc["nodes"][i]["kind"] == "block"
                                                                   and doc["nodes"][i]["depth"] < depth)}
    edges = {(stands[a], stands[b]) for a, b in doc["edges"] if stands[a] != stands[b]}
    return drawn, edges


def _load(browser, page):
    driver = browser.driver
    driver.get(page.as_uri())
    driver.find_element("css selector", "body[data-rendered]")  # set once the first layout is drawn
    return driver


def _drawn(driver) -> tuple:
    ids = {int(x) for x in driver.execute_script(
        "return Array.from(document.querySelectorAll('#svg g.node')).map(g => g.dataset.id)")}
    edges = {tuple(int(v) for v in e) for e in driver.execute_script(
        "return Array.from(document.querySelectorAll('#svg path.edge')).map(p => [p.dataset.from, p.dataset.to])")}
    return ids, edges


def test_the_page_draws_one_node_per_visible_layer_or_block_and_the_edges(run, tmp_path, browser):
    page, doc = _write(run, tmp_path, "specs/shufflenet_v2_x0_5.yaml", "--depth", "2")
    driver = _load(browser, page)
    nodes, edges = _expected(doc, 2)
    assert _drawn(driver) == (nodes, edges)
    assert len(nodes) == doc["nodes_at_depth"][1] and len(edges) > len(nodes) - 2
    rows = driver.execute_script("return Array.from(document.querySelectorAll('#table tbody tr')).map("
                                 "r => Array.from(r.cells).map(c => c.textContent))")
    assert rows == [[doc["nodes"][i]["name"], *doc["records"][doc["nodes"][i]["record"]]["cells"]]
                    for i in sorted(nodes) if doc["nodes"][i]["kind"] != "input"]
    # the depth buttons redraw: depth 1 is the stages
    driver.find_element("css selector", '#depths button[data-depth="1"]').click()
    assert _drawn(driver) == _expected(doc, 1)
    assert browser.errors() == []


def test_a_click_shows_the_details_and_selects_the_row(run, tmp_path, browser):
    page, doc = _write(run, tmp_path, "specs/resnet50.yaml", "--depth", "2")
    driver = _load(browser, page)
    node = next(n for n in doc["nodes"] if n["name"] == "layer3.1")
    driver.find_element("css selector", f'#svg g.node[data-id="{node["id"]}"]').click()
    details = driver.find_element("id", "details")
    assert details.find_element("tag name", "h2").text == "layer3.1"
    shown = [[c.text for c in r.find_elements("css selector", "th, td")]
             for r in details.find_elements("css selector", "table tr")]
    record = doc["records"][node["record"]]
    assert shown[0] == ["name", "layer3.1"] and shown[1:len(doc["columns"])] == [
        [title, cell] for title, cell in zip(doc["columns"][1:], record["cells"])]
    assert shown[len(doc["columns"]):] == record["details"]
    # a bottleneck at 14x14: 1x1 1024->256, 3x3 256->256, 1x1 256->1024, of resnet50's 4,089,184,256 FLOPs
    flops = 196 * (1024 * 256 + 9 * 256 * 256 + 256 * 1024)
    assert flops == 218_365_952 and ["FLOPs", "218.37M"] in shown and ["FLOPs %", f"{flops / 4_089_184_256:.1%}"] in shown
    selected = driver.find_element("css selector", "#table tr.selected")
    assert selected.find_element("tag name", "td").text == "layer3.1"
    totals = [[c.text for c in r.find_elements("css selector", "th, td")]
              for r in driver.find_elements("css selector", "#totals tr")]
    assert ["selected", "layer3.1"] in totals and ["FLOPs %", f"{flops / 4_089_184_256:.1%}"] in totals
    # a double click opens the block: its 10 layers replace it
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).double_click(driver.find_element("css selector", f'#svg g.node[data-id="{node["id"]}"]')).perform()
    ids, _ = _drawn(driver)
    assert node["id"] not in ids and set(n["id"] for n in doc["nodes"] if n["parent"] == node["id"]) <= ids
    assert browser.errors() == []


def test_a_violation_shows_its_evidence_and_the_screenshot_has_the_legend(run, tmp_path, browser):
    page, doc = _write(run, tmp_path, "specs/resnext50_32x4d.yaml", "--depth", "4")
    driver = _load(browser, page)
    node, k = next((n, f) for n, f in doc["violations"] if doc["findings"][f]["guideline"] == "G2")
    g2 = doc["findings"][k]
    driver.find_element("css selector", f'#svg g.node[data-id="{node}"]').click()
    text = driver.find_element("id", "details").text
    assert g2["evidence"] in text and "g 32" in g2["evidence"] and g2["why"] in text
    assert "G2" in driver.find_element("css selector", f'#svg g.node[data-id="{node}"] .badge').text
    shot = tmp_path / "view.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    width, height, rows = png_pixels(driver.find_element("id", "legend").screenshot_as_png)
    colours = {pixel for row in rows for pixel in row}
    palette = {tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)) for c in doc["palette"]}
    assert palette <= colours, palette - colours
    graph = png_pixels(driver.find_element("id", "graph").screenshot_as_png)[2][::4]
    filled = {pixel for row in graph for pixel in row[::4]}
    assert len(filled & palette) >= 3  # nodes of several bins are drawn, not a blank page
    assert browser.errors() == []


def test_compare_switches_sides_and_keeps_the_selection_on_the_counterpart(run, tmp_path, browser):
    measured = tmp_path / "measured.json"  # A's measured time: a metric B does not have
    measured.write_text(json.dumps({"totals": {"latency_s": 0.1}, "layers": [{"name": "conv1", "latency_s": 0.01}]}))
    page, doc = _write(run, tmp_path, "specs/resnet50.yaml", "--compare", "specs/resnext50_32x4d.yaml", "--depth", "2",
                       "--measured", measured)
    driver = _load(browser, page)
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "metric")).select_by_visible_text("measured time")
    node = next(n for n in doc["nodes"] if n["name"] == "layer2.0")
    driver.find_element("css selector", f'#svg g.node[data-id="{node["id"]}"]').click()
    text = driver.find_element("id", "details").text
    assert "counterpart in B layer2.0" in text and doc["compare"]["deltas"][node["id"]][0][1] in text
    driver.find_element("css selector", '#sides button[data-side="1"]').click()
    other = doc["compare"]["other"]
    assert _drawn(driver) == _expected(other, 2)
    assert driver.find_element("css selector", "#details h2").text == "layer2.0"
    assert "counterpart in A layer2.0" in driver.find_element("id", "details").text
    assert doc["metrics"][0]["legend"][3]["label"] == "within 1%"
    assert driver.find_element("css selector", "#legend b").text == "FLOPs: B - A"  # B has no measured time
    assert browser.errors() == []


def test_a_level_past_the_layout_limit_is_refused_with_a_message(run, tmp_path, browser):
    """Pre-act ResNet-1001 (3,339 layers): every layer is more than the page lays out (dagre overflows the
    browser's stack on long chains); the page says so and keeps what it showed."""
    page, doc = _write(run, tmp_path, "specs/preact_resnet_cifar.yaml", "--set", "depth=1001")
    driver = _load(browser, page)
    before = _drawn(driver)
    assert before == _expected(doc, doc["open_depth"]) and doc["nodes_at_depth"][-1] > doc["layout"]["max_nodes"]
    driver.find_element("css selector", f'#depths button[data-depth="{doc["max_depth"]}"]').click()
    assert "this page lays out" in driver.find_element("id", "status").text
    assert _drawn(driver) == before and browser.errors() == []
    driver.find_element("css selector", '#depths button[data-depth="1"]').click()
    assert _drawn(driver) == _expected(doc, 1) and driver.find_element("id", "status").text == ""
