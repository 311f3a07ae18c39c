"""The interactive map in a real headless chromium: drawing, hover, colour modes, legend, search,
lasso + CSV, regions, themes, and a dataset of XSS payloads that must run nothing."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from support.viewer_browser import canvas_pixels, changed, download_selection, lasso, open_map, settle, wait_for_picture

from clsmap.store import synthetic_store
from clsmap.render import write_map
from clsmap.render.model import render_model

CLASSES = ["animal", "plant", "food", "body"]
LASSO_IDS = [f"lasso-{k}" for k in range(6)]
NEEDLE = "zebrafinch needle"


def _dataset(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, len(CLASSES), n)
    centres = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])
    xy = centres[lab] + rng.normal(scale=0.9, size=(n, 2))
    pred = np.where(rng.random(n) < 0.8, lab, rng.integers(0, len(CLASSES), n))
    conf = np.where(pred == lab, rng.uniform(0.6, 1.0, n), rng.uniform(0.25, 0.6, n))
    texts = [f"gloss {i} of an {CLASSES[k]}" for i, k in enumerate(lab)]
    ids = [f"doc-{i}" for i in range(n)]
    labels = [CLASSES[k] for k in lab]
    preds = [CLASSES[k] for k in pred]
    # a tight cluster far from everything, for the lasso
    for k, row in enumerate(range(10, 16)):
        xy[row] = [12.0 + 0.05 * (k % 3), 12.0 + 0.05 * (k // 3)]
        ids[row] = LASSO_IDS[k]
    # an isolated point to hover
    xy[20] = [-12.0, 12.0]
    ids[20] = "hover-me"
    texts[20] = "the hover target: a small songbird of the finch family " + "x" * 400
    # three texts to find; one in another case
    for row, text in ((30, f"a {NEEDLE} here"), (31, f"{NEEDLE.upper()} loud"), (32, f"ends with {NEEDLE}")):
        texts[row] = text
    return xy, texts, labels, preds, conf, ids


@pytest.fixture(scope="module")
def map_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("viewer_map")
    xy, texts, labels, preds, conf, ids = _dataset()
    store = synthetic_store(folder / "store", xy, texts, labels=labels, preds=preds, confidence=conf, ids=ids,
                            classes=CLASSES, model="tiny-test-model")
    with pytest.MonkeyPatch.context() as mp:  # several gzip members, decoded side by side
        mp.setattr("clsmap.render.payload.MEMBER_BYTES", 16 << 10)
        path = write_map(store, folder / "map.html", theme="light", max_text_chars=200)
    assert '"members":[{' in path.read_text(encoding="utf-8") and path.read_text().count('"raw_offset"') > 3
    return path


@pytest.fixture
def page(browser, map_path):
    page = open_map(browser, map_path)
    yield page
    assert page.errors == [], page.errors
    page.close()


def _background(pixels):
    return np.array([255, 255, 255])


def _drawn(pixels) -> int:
    """Pixels that differ clearly from the white background."""
    return int((np.abs(pixels - _background(pixels)).sum(axis=2) > 60).sum())


def test_canvas_is_drawn_and_nothing_is_fetched(page, map_path):
    pixels = canvas_pixels(page)
    assert _drawn(pixels) > 0.01 * pixels.shape[0] * pixels.shape[1]
    # the only request is the file itself (the payload is decoded in memory)
    remote = [u for u in page.requests if not u.startswith(("file:", "data:", "blob:"))]
    assert remote == []
    assert page.title().startswith("clsmap")
    facts = page.locator("#facts").text_content()
    assert "N=2,000" in facts and "accuracy" in facts and "pacmap" in facts


def test_hover_shows_the_text_of_the_point(page):
    row = page.evaluate("() => window.clsmap.rowOfId('hover-me')")
    x, y = page.evaluate(f"() => window.clsmap.screenPosition({row})")
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=5)
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible", timeout=5000)
    text = tooltip.text_content()
    assert "the hover target: a small songbird" in text
    assert "hover-me" in text
    assert "x" * 400 not in text  # truncated in the tooltip (and at 200 chars in the file)
    assert page.evaluate("() => window.clsmap.hovered()") == row
    # a click on the point puts the whole embedded text in the side panel
    page.mouse.click(x, y)
    page.locator("#detail").wait_for(state="visible", timeout=5000)
    detail = page.locator("#detail-body .text").text_content()
    assert detail.startswith("the hover target") and len(detail) == 200


def test_each_colour_mode_changes_the_picture(page):
    modes = page.evaluate("() => window.clsmap.modes()")
    assert modes == ["label", "pred", "correct", "confidence", "confusion"]
    shots = {}
    for mode in modes:
        page.locator(f"#modes button[data-mode={mode}]").click()
        page.wait_for_function(f"() => window.clsmap.mode() === '{mode}'")
        if shots:  # the picture of the mode before changes (how much is asserted below)
            last = list(shots.values())[-1]
            shots[mode] = wait_for_picture(page, changed(last), what=f"a new picture in mode {mode}")
        else:  # the map opens in the first mode: nothing changes, wait until it is drawn and still
            settle(page)
            shots[mode] = wait_for_picture(page, lambda pixels: True, what=f"the map in mode {mode}")
        legend = page.evaluate("() => window.clsmap.legend()")
        assert sum(e["count"] for e in legend) == 2000
    for i, a in enumerate(modes):
        for b in modes[i + 1:]:
            share = (np.abs(shots[a] - shots[b]).sum(axis=2) > 30).mean()
            assert share > 0.002, f"{a} and {b} look the same ({share:.4f} of pixels differ)"


def test_legend_hides_shows_and_isolates(page):
    shown = wait_for_picture(page, lambda px: True, what="the map")  # drawn and still
    before = _drawn(shown)
    item = page.locator(".legend-item", has_text="animal")
    item.click()
    page.wait_for_function("() => window.clsmap.hidden().length > 0")
    assert page.evaluate("() => window.clsmap.hidden()") == ["animal"]
    without_animals = wait_for_picture(page, changed(shown), what="the map without the animals")
    assert _drawn(without_animals) < 0.9 * before
    item.click()
    page.wait_for_function("() => window.clsmap.hidden().length === 0")
    again = wait_for_picture(page, changed(without_animals), what="the animals again")
    assert _drawn(again) > _drawn(without_animals)
    page.locator(".legend-item", has_text="plant").click(modifiers=["Alt"])
    page.wait_for_function("() => window.clsmap.hidden().length > 1")
    assert sorted(page.evaluate("() => window.clsmap.hidden()")) == sorted(set(CLASSES) - {"plant"} | {"(none)"})
    isolated = wait_for_picture(page, changed(again), what="the plants alone")
    assert _drawn(isolated) < 0.5 * before


def test_search_finds_planted_texts(page):
    page.locator("#search").fill(NEEDLE)
    page.locator("#search").press("Enter")
    page.wait_for_function("() => window.clsmap.searchCount() !== null")
    assert page.evaluate("() => window.clsmap.searchCount()") == 3
    assert page.locator("#search-count").text_content() == "3 matches"
    # the matches become the selection when the plot publishes it: wait for that state
    page.wait_for_function("() => window.clsmap.selection().length === 3")
    assert sorted(page.evaluate("() => window.clsmap.selection()")) == ["doc-30", "doc-31", "doc-32"]
    # regex, over ids too
    page.locator("#regex").check()
    page.locator("#search").fill("^lasso-[0-2]$")
    page.locator("#search").press("Enter")
    # the first search also found 3: wait for this search's selection, not for a count
    page.wait_for_function("() => window.clsmap.selection().includes('lasso-0')")
    assert page.evaluate("() => window.clsmap.searchCount()") == 3
    assert sorted(page.evaluate("() => window.clsmap.selection()")) == LASSO_IDS[:3]
    page.locator("#search").fill("([")
    page.locator("#search").press("Enter")
    page.wait_for_function("() => document.querySelector('#search-count').textContent === 'invalid regex'")


def test_lasso_selects_the_cluster_and_the_csv_has_it(page, tmp_path):
    rows = [page.evaluate(f"() => window.clsmap.rowOfId('{i}')") for i in LASSO_IDS]
    pos = np.array([page.evaluate(f"() => window.clsmap.screenPosition({r})") for r in rows])
    cx, cy = pos.mean(axis=0)
    r = 25 + float(np.abs(pos - [cx, cy]).max())
    angles = np.linspace(0, 2 * np.pi, 24)
    selected = lasso(page, [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles])
    assert sorted(selected) == sorted(LASSO_IDS)
    assert page.locator("#sel-count").text_content() == "6 selected"
    assert page.locator("#sel-rows tr").count() == 6
    hist_text = page.locator("#sel-hists").text_content()
    assert "true label" in hist_text and "predicted" in hist_text
    table = download_selection(page, tmp_path)
    assert sorted(row["id"] for row in table) == sorted(LASSO_IDS)
    assert set(table[0]) == {"id", "label", "pred", "confidence", "correct", "text"}
    assert all(row["label"] in CLASSES and row["pred"] in CLASSES for row in table)


def test_theme_toggle(page):
    light = wait_for_picture(page, lambda px: True, what="the map")  # drawn and still
    page.locator("#theme").click()
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    dark = wait_for_picture(page, changed(light), what="the dark theme")
    assert dark.mean() < light.mean() - 50


XSS = [
    "</script><script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1;alert(1)">',
    "javascript:window.__pwned=1",
    '<svg onload="window.__pwned=1;alert(2)"></svg>',
    "<!-- <script>window.__pwned=1</script>",
    "\u2028\u2029 ${window.__pwned=1} {{constructor.constructor('window.__pwned=1')()}}",
]


@pytest.fixture(scope="module")
def xss_map(tmp_path_factory):
    folder = tmp_path_factory.mktemp("viewer_xss")
    n = 60
    rng = np.random.default_rng(3)
    xy = rng.normal(size=(n, 2))
    xy[0] = [20.0, 20.0]  # isolated: hovered below
    texts = [XSS[i % len(XSS)] + f" #{i}" for i in range(n)]
    labels = [XSS[i % 3] for i in range(n)]
    classes = sorted(set(labels))
    preds = [classes[(i // 2) % len(classes)] for i in range(n)]
    ids = [f"{XSS[i % len(XSS)]}-{i}" for i in range(n)]
    store = synthetic_store(folder / "store", xy, texts, labels=labels, preds=preds,
                            confidence=rng.uniform(0.2, 1, n), ids=ids, classes=classes,
                            model='<img src=x onerror="window.__pwned=1">model</title>'
                                  '<script>window.__pwned=1</script>')
    (folder / "store" / "analysis").mkdir()
    (folder / "store" / "analysis" / "regions.json").write_text(json.dumps({
        "schema": 1, "column": "vector",
        "regions": [{"region_id": "<b onmouseover=window.__pwned=1>1</b>", "polygon": [[-1, -1], [1, -1], [0, 1]],
                     "n": 10, "n_errors": 5, "error_rate": 0.5, "purity": 0.5,
                     "true_label": XSS[0], "pred_label": XSS[1], "examples": XSS}],
    }), encoding="utf-8")
    return write_map(store, folder / "map.html", theme="dark")


def test_xss_payloads_run_nothing_and_show_as_text(browser, xss_map):
    page = open_map(browser, xss_map)
    x, y = page.evaluate("() => window.clsmap.screenPosition(0)")
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=4)
    page.locator("#tooltip").wait_for(state="visible", timeout=5000)
    tip = page.locator("#tooltip").text_content()
    assert XSS[0] in tip and f"{XSS[0]}-0" in tip
    assert "window.__pwned=1" in page.locator("#title").text_content()
    legend = page.locator("#legend").text_content()
    assert XSS[1] in legend and XSS[2] in legend
    page.locator(".region-item").first.click()
    assert XSS[3] in page.locator("#detail-body").text_content()
    for mode in page.evaluate("() => window.clsmap.modes()"):
        page.locator(f"#modes button[data-mode={mode}]").click()
    page.locator("#search").fill("svg")
    page.locator("#search").press("Enter")
    page.wait_for_function("() => window.clsmap.searchCount() === 10")
    settle(page)
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.dialogs == []
    assert page.errors == []
    # nothing from the data became an element
    elements = "img, svg, iframe, object, embed, b[onmouseover]"
    assert page.evaluate(f"() => document.querySelectorAll('{elements}').length") == 0
    assert page.evaluate("() => document.querySelectorAll('script').length") == 3
    page.close()


def test_regions_are_drawn(browser, xss_map):
    page = open_map(browser, xss_map)
    assert page.evaluate("() => window.clsmap.regions()") == ["<b onmouseover=window.__pwned=1>1</b>"]
    assert page.locator(".region-item").count() == 1
    with_outline = wait_for_picture(page, lambda px: True, what="the map")  # drawn and still
    page.locator("#show-regions").uncheck()
    without = wait_for_picture(page, changed(with_outline), what="the map without region outlines")
    assert (np.abs(with_outline - without).sum(axis=2) > 60).sum() > 200
    page.close()


def test_notebook_iframe_renders(browser, tmp_path, monkeypatch):
    """What Jupyter shows for clsmap.show(...) without the notebook extra: the page in a sandboxed <iframe
    srcdoc> (with it, a widget: tests/browser/test_widget.py)."""
    monkeypatch.setitem(sys.modules, "anywidget", None)
    from clsmap.render import show

    xy, texts, labels, preds, conf, ids = _dataset(n=300, seed=1)
    store = synthetic_store(tmp_path / "store", xy, texts, labels=labels, preds=preds, confidence=conf, ids=ids,
                            classes=CLASSES)
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><body>{show(store, theme='light')._repr_html_()}</body></html>",
                        encoding="utf-8")
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(notebook.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator("#loading").wait_for(state="hidden", timeout=30000)
    assert frame.locator(".legend-item").count() == len(CLASSES)
    png = page.locator("iframe").screenshot()
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
    assert _drawn(pixels) > 0.01 * pixels.shape[0] * pixels.shape[1]
    assert errors == []
    page.close()


def test_three_hundred_classes_get_distinct_colours(browser, tmp_path):
    n, k = 900, 300
    rng = np.random.default_rng(2)
    classes = [f"class {c:03d}" for c in range(k)]
    store = synthetic_store(tmp_path / "store", rng.normal(size=(n, 2)), [f"t{i}" for i in range(n)],
                            labels=[classes[i % k] for i in range(n)], preds=[classes[(i * 7) % k] for i in range(n)],
                            confidence=rng.uniform(size=n), classes=classes)
    page = open_map(browser, write_map(store, tmp_path / "map.html", theme="light"))
    colours = page.evaluate("""() => [...document.querySelectorAll('#legend .swatch')]
        .map((s) => getComputedStyle(s).backgroundColor)""")
    assert len(colours) == k and len(set(colours)) == k
    rgb = np.array([[int(v) for v in c[c.index("(") + 1:-1].split(",")[:3]] for c in colours], dtype=float)
    dist = np.sqrt(((rgb[:, None] - rgb[None]) ** 2).sum(-1)) + np.eye(k) * 1e9
    assert dist.min() >= 15  # no two classes share a colour or differ by less than one step of the lattice
    # none is lost against the white background
    assert (np.abs(rgb - 255).sum(axis=1) > 40).all()
    page.close()


def test_region_list_says_how_strong_each_region_is(browser, tmp_path):
    """regions.json schema 2: the list and the description give each region's enrichment and p-value."""
    from clsmap.analysis import confusion_regions
    from clsmap.analysis.files import write_regions

    rng = np.random.default_rng(4)
    n = 3000
    lab = rng.integers(0, len(CLASSES), n)
    xy = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])[lab] + rng.normal(scale=0.9, size=(n, 2))
    hot = np.linalg.norm(xy - [3.0, 0.0], axis=1) < 0.5
    wrong = rng.random(n) < np.where(hot, 0.6, 0.05)
    pred = np.where(wrong, (lab + 1) % len(CLASSES), lab)
    labels, preds = [CLASSES[k] for k in lab], [CLASSES[k] for k in pred]
    store = synthetic_store(tmp_path / "store", xy, [f"text {i}" for i in range(n)], labels=labels, preds=preds,
                            classes=CLASSES)
    regions = confusion_regions(xy, labels, preds=preds, texts=[f"text {i}" for i in range(n)])
    assert len(regions) >= 1
    write_regions(store.path, regions, column="vector")
    page = open_map(browser, write_map(store, tmp_path / "map.html"))
    first = regions.frame.iloc[0]
    item = page.locator(".region-item").first
    assert f"({first['enrichment']:.1f}×)" in item.text_content()
    item.click()
    detail = page.locator("#detail-body").text_content()
    assert f"{first['enrichment']:.1f}× the overall rate, p = {first['p_value']:.3f}" in detail
    assert page.errors == []
    page.close()


def _hex(colour: str) -> np.ndarray:
    return np.array([int(colour[k:k + 2], 16) for k in (1, 3, 5)])


def test_misclassified_points_have_rings_and_held_out_points_are_hollow(browser, tmp_path):
    """One point per row, its shape drawn by the point shader: a misclassified row has a rim in the ring
    colour around its body, a row of a held-out split a hole (the background shows), a correct training
    row is a plain disc; after a colour switch the bodies take the new colours and the rings stay. The
    points are drawn at the opacity of the render model, which the page's metadata carries."""
    xy = np.array([[-4.0, -4.0], [4.0, 4.0], [-4.0, 4.0], [4.0, -4.0], [0.0, 0.0]])
    labels = ["animal", "animal", "plant", "plant", "animal"]
    preds = ["animal", "plant", "plant", "animal", "animal"]  # rows 1 and 3 misclassified
    splits = ["train", "train", "test", "test", "train"]       # rows 2 and 3 held out
    store = synthetic_store(tmp_path / "store", xy, [f"t{i}" for i in range(5)], labels=labels, preds=preds,
                            confidence=[0.9] * 5, ids=[f"r{i}" for i in range(5)], splits=splits,
                            classes=["animal", "plant"])
    page = open_map(browser, write_map(store, tmp_path / "map.html", theme="light"))
    meta = page.evaluate("() => JSON.parse(document.getElementById('clsmap-meta').textContent)")
    ring = _hex(meta["colors"]["ring_light"])
    size = meta["point_size"]
    sizes = render_model(store).sizes
    assert (size, meta["point_opacity"]) == (sizes.map_px, sizes.map_opacity)
    opacity = meta["point_opacity"]
    box = page.locator("#plot").bounding_box()

    def centre(row: int) -> tuple[int, int]:
        x, y = page.evaluate(f"() => window.clsmap.screenPosition({row})")
        return round(y - box["y"]), round(x - box["x"])

    def count(pixels, row: int, colour: np.ndarray, radius: tuple[float, float]) -> int:
        """How many pixels at `radius` (min, max) from the row's centre are `colour` drawn at the map's
        opacity over the white background."""
        cy, cx = centre(row)
        yy, xx = np.mgrid[-12:13, -12:13]
        ring_of = (np.hypot(yy, xx) >= radius[0]) & (np.hypot(yy, xx) <= radius[1])
        patch = pixels[cy - 12:cy + 13, cx - 12:cx + 13][ring_of]
        shown = colour * opacity + 255 * (1 - opacity)
        return int((np.abs(patch - shown).sum(axis=1) < 45).sum())

    animal, plant = (_hex(c) for c in meta["colors"]["classes"][:2])
    white = np.array([255, 255, 255])
    inner = (0, size / 2 - 1.5)           # the body, inside its anti-aliased edge
    rim = (size / 2 + 0.5, size / 2 + 2)  # the ring: 2.5 px or more wider than the body
    centre_px = (0, 0.5)                  # the centre pixel: the hole, if any
    pixels = wait_for_picture(page, lambda px: True, what="the map")
    # row 0: correct, train: a plain disc
    assert count(pixels, 0, animal, inner) > 10 and count(pixels, 0, ring, rim) == 0
    # row 1: misclassified: its body and a ring around it
    assert count(pixels, 1, animal, inner) > 10 and count(pixels, 1, ring, rim) > 12
    # row 2: held out: hollow (the background at its centre, its colour around), no ring
    assert count(pixels, 2, white / opacity - 255 * (1 - opacity) / opacity, centre_px) == 1
    assert count(pixels, 2, plant, (size * 0.3, size / 2 - 1)) > 6 and count(pixels, 2, ring, rim) == 0
    # row 3: held out and misclassified: hollow and ringed
    assert count(pixels, 3, white / opacity - 255 * (1 - opacity) / opacity, centre_px) == 1
    assert count(pixels, 3, ring, rim) > 12
    # the predicted colours: the body of row 1 changes, its ring stays
    page.evaluate("() => window.clsmap.setMode('pred')")
    pred = wait_for_picture(page, changed(pixels), what="the map in predicted colours")
    assert count(pred, 1, plant, inner) > 10 and count(pred, 1, animal, inner) == 0 and count(pred, 1, ring, rim) > 12
    assert count(pred, 0, animal, inner) > 10   # row 0: the same class either way
    # a lasso around the middle point selects its row, once
    x0, y0 = page.evaluate("() => window.clsmap.screenPosition(4)")
    assert lasso(page, [(x0 - 30, y0 - 30), (x0 + 30, y0 - 30), (x0 + 30, y0 + 30), (x0 - 30, y0 + 30)]) == ["r4"]
    assert page.errors == [], page.errors
    page.close()
