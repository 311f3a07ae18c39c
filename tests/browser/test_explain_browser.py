"""What explains a point and a region, in chromium: a click lists and rings the text's nearest neighbours in
the vector space, and the keywords caption the regions and the legend."""

from __future__ import annotations

import numpy as np
import pytest
from support.explain import PLANTED, sklearn_neighbours
from support.viewer_browser import canvas_pixels, open_map, wait_for_picture

from clsmap.render import write_map
from clsmap.render.model import COLOURS
from clsmap.render.palette import hex_to_rgb
from clsmap.render.payload import similarity_codes, similarity_of


@pytest.fixture(scope="module")
def explain_map(explain_store, tmp_path_factory):
    store, _, _ = explain_store
    return write_map(store, tmp_path_factory.mktemp("explain_map") / "map.html", theme="light")


def test_a_click_lists_and_rings_the_vector_space_neighbours(browser, explain_store, explain_map):
    store, _, _ = explain_store
    k = store.neighbours_of()[0].shape[1]  # as many as analyze stored
    want, want_sim = sklearn_neighbours(store.vectors, k)
    labels = store.frame["label"].to_numpy()
    page = open_map(browser, explain_map)
    rows = [0, 1, 2, 700, len(store) - 1]
    got = page.evaluate(f"() => {rows}.map((r) => window.clsmap.neighbours(r))")
    for row, near in zip(rows, got, strict=True):
        assert [g["id"] for g in near] == [f"doc-{j}" for j in want[row]]
        shown = np.array([g["similarity"] for g in near])
        assert np.allclose(shown, similarity_of(similarity_codes(want_sim[row])), atol=1e-9)
    ring = 255 * np.array(hex_to_rgb(COLOURS["neighbour"]))

    def ringed(pixels) -> int:
        return int((np.abs(pixels - ring).sum(axis=2) < 60).sum())

    assert ringed(canvas_pixels(page)) < 20
    x, y = page.evaluate("() => window.clsmap.screenPosition(0)")
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=5)
    page.wait_for_function("() => window.clsmap.hovered() === 0", timeout=5000)
    page.mouse.click(x, y)
    page.locator("#near").wait_for(state="visible", timeout=5000)
    listed = page.eval_on_selector_all("#near-list li", "(items) => items.map((li) => Number(li.dataset.row))")
    assert listed == want[0].tolist()
    agree = int((labels[want[0]] == labels[0]).sum())
    assert page.locator("#near-agree [data-agree=label]").text_content() == \
        f"neighbours agree with the label: {agree} of {k}"
    # the rings, in the neighbours' colour, around the clicked point and its neighbours
    wait_for_picture(page, lambda px: ringed(px) > (k + 1) * 20, what="rings around the neighbours")
    # a neighbour's entry shows that text, and its own neighbours
    page.locator("#near-list li").nth(3).click()
    assert page.evaluate("() => window.clsmap.shownRow()") == want[0][3]
    listed = page.eval_on_selector_all("#near-list li", "(items) => items.map((li) => Number(li.dataset.row))")
    assert listed == want[want[0][3]].tolist()
    page.locator("#detail-close").click()
    assert page.locator("#near").is_hidden() and page.evaluate("() => window.clsmap.shownRow()") == -1
    wait_for_picture(page, lambda px: ringed(px) < 20, what="the map without rings")
    assert page.errors == []
    page.close()


def test_keywords_caption_the_regions_and_the_legend(browser, explain_store, explain_map):
    _, result, _ = explain_store
    page = open_map(browser, explain_map)
    items = page.locator(".region-item .keywords").all_text_contents()
    assert any(text.split(" · ")[0] == PLANTED for text in items)
    titles = page.eval_on_selector_all(".legend-item", "(items) => items.map((i) => i.title)")
    class_words = result.keywords.of("class")
    assert len(class_words) and any(t.startswith("keywords: ") for t in titles)
    before = page.locator("#legend-title").text_content()
    page.locator("#modes button[data-mode=correct]").click()  # not a class mode: no keywords
    page.wait_for_function("(before) => document.querySelector('#legend-title').textContent !== before", arg=before)
    titles = page.eval_on_selector_all(".legend-item", "(items) => items.map((i) => i.title)")
    assert not any(t.startswith("keywords: ") for t in titles)
    assert page.errors == []
    page.close()
