"""The compare page in a real headless chromium: both maps open in their frames, hover and selection in one
map show in the other, the buttons colour both, a moved-most row selects its text in both, and the split
markers of a store with splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.viewer_browser import settle

from clsmap.analysis import compare
from clsmap.render import write_compare, write_map
from clsmap.store import synthetic_store

N = 400


@pytest.fixture(scope="module")
def compare_page(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare_page")
    rng = np.random.default_rng(0)
    labels = np.array(["animal", "plant"])[np.arange(N) % 2]
    xy = np.where(labels[:, None] == "animal", -2.0, 2.0) + rng.normal(size=(N, 2))
    texts = [f"text {i} of a {label}" for i, label in enumerate(labels)]
    preds = np.where(rng.random(N) < 0.9, labels, np.where(labels == "animal", "plant", "animal"))
    a = synthetic_store(root / "a", xy, texts, labels=list(labels), preds=list(preds),
                        splits=["train"] * 300 + ["test"] * 100)
    order = rng.permutation(N)  # B holds the same texts in another order
    xy_b = xy * [1.0, -1.0] + rng.normal(scale=0.3, size=(N, 2))
    b = synthetic_store(root / "b", xy_b[order], [texts[i] for i in order], labels=list(labels[order]),
                        preds=list(labels[order]), ids=[str(i) for i in order], model="model-b",
                        splits=["test" if i >= 300 else "train" for i in order])
    return write_compare(compare(a, b, alignment="procrustes"), root / "compare.html"), a


@pytest.fixture
def page(browser, compare_page):
    path, _ = compare_page
    page = browser.new_page()
    page.errors = []
    page.requests = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(Path(path).resolve().as_uri())
    page.wait_for_function("() => window.clsmapCompare && window.clsmapCompare.ready()", timeout=60000)
    yield page
    page.close()


def _maps(page):
    frames = [f for f in page.frames if f != page.main_frame]
    assert len(frames) == 2
    for frame in frames:
        frame.wait_for_function("() => window.clsmap && window.clsmap.ready", timeout=30000)
    return frames


def _point(page, frame, row):
    """The page coordinates of ``row``'s point in ``frame`` (its own coordinates plus the frame's place)."""
    x, y = frame.evaluate(f"() => window.clsmap.screenPosition({row})")
    box = frame.frame_element().bounding_box()
    border = frame.frame_element().evaluate("(f) => [f.clientLeft, f.clientTop]")
    return box["x"] + border[0] + x, box["y"] + border[1] + y


def test_hover_in_one_map_highlights_the_text_in_the_other(page):
    left, right = _maps(page)
    row = 7
    x, y = _point(page, left, row)
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=4)
    left.wait_for_function(f"() => window.clsmap.hovered() === {row}", timeout=5000)
    right.wait_for_function(f"() => window.clsmap.linked() === {row}", timeout=5000)
    assert page.evaluate("() => window.clsmapCompare.hovered()")[0] == row
    box = left.locator("#plot").bounding_box()
    page.mouse.move(box["x"] + 4, box["y"] + 4, steps=4)  # an empty corner of the map: the other map lets go too
    right.wait_for_function("() => window.clsmap.linked() === -1", timeout=5000)
    # and the other way round
    x, y = _point(page, right, row)
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=4)
    left.wait_for_function(f"() => window.clsmap.linked() === {row}", timeout=5000)
    assert page.errors == [] and all(url.startswith(("file:", "data:", "blob:", "about:")) for url in page.requests)


def test_a_selection_in_one_map_is_selected_in_the_other(page):
    left, right = _maps(page)
    left.fill("#search", "of a plant")
    left.press("#search", "Enter")
    left.wait_for_function("() => window.clsmap.selection().length === 200", timeout=5000)
    right.wait_for_function("() => window.clsmap.selection().length === 200", timeout=5000)
    assert sorted(left.evaluate("() => window.clsmap.selection()")) == sorted(
        right.evaluate("() => window.clsmap.selection()"))
    assert right.locator("#sel-count").text_content() == "200 selected"
    right.click("#sel-clear")
    left.wait_for_function("() => window.clsmap.selection().length === 0", timeout=5000)


def test_buttons_colour_both_maps_and_a_moved_row_selects_its_text(page):
    left, right = _maps(page)
    page.click("#compare-modes button[data-mode=changed]")
    for frame in (left, right):
        frame.wait_for_function("() => window.clsmap.mode() === 'changed'", timeout=5000)
        names = {entry["name"] for entry in frame.evaluate("() => window.clsmap.legend()")}
        assert names <= {"fixed", "broken", "still wrong", "still right", "(none)"} and "fixed" in names
    first = page.locator("#moved-rows tr").first
    wanted = first.locator("td").nth(1).text_content()  # the id column
    first.click()
    for frame in (left, right):
        frame.wait_for_function(f"() => window.clsmap.selection().join() === {wanted!r}", timeout=5000)


def test_split_markers_and_filter_on_a_map(browser, compare_page, tmp_path):
    _, store = compare_page
    page = browser.new_page()
    page.goto(write_map(store, tmp_path / "map.html").resolve().as_uri())
    page.wait_for_function("() => window.clsmap && window.clsmap.ready", timeout=30000)
    assert page.evaluate("() => window.clsmap.splits()") == ["train", "test"]
    assert page.evaluate("() => window.clsmap.splitOf(350)") == "test"
    assert page.locator("#split-list label").count() == 2
    page.uncheck("#split-list input[data-split=test]")
    settle(page)
    assert page.evaluate("() => window.clsmap.hiddenSplits()") == ["test"]
    page.close()
