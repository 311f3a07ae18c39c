"""What explains a point and a region, on the page and in the report: the map page carries each text's nearest
neighbours in the vector space (as analyze stored them, within a share of the page), and the report lists the
keywords of each class and confusion region."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from support.explain import PLANTED, sklearn_neighbours
from support.pages import page_parts

import clsmap
from clsmap.render import map_html
from clsmap.render.payload import similarity_codes, similarity_of


def test_similarity_codes_are_fine_where_neighbours_are():
    near = np.linspace(0.99, 1.0, 2001)
    assert np.abs(similarity_of(similarity_codes(near)) - near).max() < 6e-4
    everywhere = np.linspace(-1.0, 1.0, 20001)
    codes = similarity_codes(everywhere)
    assert codes.min() >= 0 and codes.max() <= 255 and (np.diff(codes) <= 0).all()  # uint8, order kept
    assert np.abs(similarity_of(codes) - everywhere).max() < 0.008


def _page_neighbours(html: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The neighbours as the page decodes them (js/viewer/src/neighbours.js, in numpy)."""
    meta, col = page_parts(html)
    info = meta["neighbours"]
    if info is None:
        return None
    k = info["k"]
    rows = sum(col[f"nb{p}"].astype(np.int64) << (8 * p) for p in range(info["planes"])).reshape(-1, k)
    codes = np.cumsum(col["nb_sim"].astype(np.int64).reshape(-1, k), axis=1)
    return rows, 1.0 - 2.0 * (codes / info["levels"]) ** 2


@pytest.mark.parametrize("member_bytes", [8 << 20, 4096])
def test_analyze_stores_the_graph_and_the_page_carries_it(explain_store, monkeypatch, member_bytes):
    store, result, _ = explain_store
    indices, similarity = store.neighbours_of()
    want, want_sim = sklearn_neighbours(store.vectors, indices.shape[1])
    assert np.array_equal(indices, want) and np.array_equal(result.neighbours, want)
    assert np.allclose(similarity, want_sim, atol=1e-5)
    monkeypatch.setattr("clsmap.render.payload.MEMBER_BYTES", member_bytes)  # one gzip member or many
    rows, sims = _page_neighbours(map_html(store))
    assert np.array_equal(rows, want)
    assert np.allclose(sims, similarity_of(similarity_codes(want_sim)), atol=1e-9)
    assert np.abs(sims - want_sim).max() < 0.005


def test_how_many_neighbours_the_page_carries(explain_store, monkeypatch, caplog):
    store, _, _ = explain_store
    assert _page_neighbours(map_html(store, neighbours=0)) is None
    rows, _ = _page_neighbours(map_html(store, neighbours=3))
    assert rows.shape == (len(store), 3)
    # by default: as many as fit the share of the page; a smaller share keeps fewer
    full = len(map_html(store, neighbours=0))
    monkeypatch.setattr("clsmap.render.map.NEIGHBOUR_SHARE", 0.02)
    monkeypatch.setattr("clsmap.render.map.NEIGHBOUR_ALLOWANCE", 0)
    with caplog.at_level(logging.INFO, logger="clsmap.render.map"):
        page = map_html(store)
    rows, _ = _page_neighbours(page)
    assert 1 <= rows.shape[1] < store.neighbours_of()[0].shape[1] and "stored neighbours per point" in caplog.text
    assert len(page) - full <= 0.02 * full * 1.25  # the estimate from a sample holds, give or take
    with pytest.raises(ValueError, match="neighbours"):
        map_html(store, neighbours=-1)


def test_report_shows_the_keywords(explain_store, tmp_path):
    store, result, _ = explain_store
    page = clsmap.report(store, tmp_path / "report.html", analysis=result).read_text(encoding="utf-8")
    regions = page[page.index('id="regions"'):]
    assert "keywords" in regions and PLANTED in regions
    assert "keywords" in page[page.index('id="per-class"'):page.index('id="regions"')]
