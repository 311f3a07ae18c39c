"""What explains a point and a region: each text's nearest neighbours in the vector space (computed once
by analyze, stored, carried by the map page, listed and ringed on a click) and the keywords of each class
and confusion region (c-TF-IDF; shown as region captions, in the legend's tooltips and in the report)."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pandas as pd
import pytest
from support.viewer_browser import canvas_pixels, open_map, wait_for_picture

import clsmap
from clsmap.analysis import class_keywords, knn_graph, read_keywords, tokenize
from clsmap.analysis.keywords import _JOSA
from clsmap.render import map_html, write_map
from clsmap.render.payload import similarity_codes, similarity_of
from clsmap.store import synthetic_store, write_neighbours

CLASSES = ["animal", "plant", "food", "body"]
PLANTED = "quokka"
WORDS = ["river", "stone", "leaf", "cloud", "engine", "paper", "window", "garden", "silver", "music", "bridge",
         "candle", "forest", "mirror", "button", "ladder"]
HOT = np.array([3.0, 0.0])  # the disc where the errors are, and every text says the planted word


def _sklearn_neighbours(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest other rows by cosine distance, from scikit-learn (brute force), nearest first."""
    from sklearn.neighbors import NearestNeighbors

    distance, found = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(X).kneighbors(X)
    return found[:, 1:], 1.0 - distance[:, 1:]


@pytest.fixture(scope="module")
def explain_store(tmp_path_factory):
    """1,500 rows in four clusters, 5 % errors plus a disc with 60 % errors whose texts all hold PLANTED;
    16-d vectors of their own (class centre + noise), so the [CLS] neighbours are not the map's; row 0
    sits alone at the map's corner (to be clicked). Analysed."""
    rng = np.random.default_rng(4)
    n = 1500
    lab = rng.integers(0, 4, n)
    xy = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])[lab] + rng.normal(scale=0.9, size=(n, 2))
    xy[0] = [-7.0, 7.0]
    hot = np.linalg.norm(xy - HOT, axis=1) < 0.6
    wrong = rng.random(n) < np.where(hot, 0.6, 0.05)
    pred = np.where(wrong, (lab + 1) % 4, lab)
    vectors = 2.0 * np.eye(16)[lab] + rng.normal(size=(n, 16))
    texts = [" ".join(rng.choice(WORDS, size=6)) + (f" the {PLANTED}" if h else "") for h in hot]
    store = synthetic_store(tmp_path_factory.mktemp("explain") / "store", xy, texts, vectors=vectors,
                            labels=[CLASSES[k] for k in lab], preds=[CLASSES[k] for k in pred], classes=CLASSES,
                            ids=[f"doc-{i}" for i in range(n)])
    return store, clsmap.analyze(store, layers=False), hot


# ---------------------------------------------------------------- neighbours


@pytest.mark.parametrize("backend", ["sklearn", "faiss"])
def test_knn_graph_is_scikit_learns_cosine_neighbours(backend):
    if backend == "faiss":
        pytest.importorskip("faiss")
    X = np.random.default_rng(0).normal(size=(300, 12)).astype(np.float32)
    indices, similarity = knn_graph(X, k=7, backend=backend)
    want, want_sim = _sklearn_neighbours(X, 7)
    assert np.array_equal(indices, want)
    assert np.allclose(similarity, want_sim, atol=1e-5)
    assert (np.diff(similarity, axis=1) <= 1e-6).all()  # nearest first


def test_similarity_codes_are_fine_where_neighbours_are():
    near = np.linspace(0.99, 1.0, 2001)
    assert np.abs(similarity_of(similarity_codes(near)) - near).max() < 6e-4
    everywhere = np.linspace(-1.0, 1.0, 20001)
    codes = similarity_codes(everywhere)
    assert codes.min() >= 0 and codes.max() <= 255 and (np.diff(codes) <= 0).all()  # uint8, order kept
    assert np.abs(similarity_of(codes) - everywhere).max() < 0.008


def _page(html: str) -> tuple[dict, bytes]:
    import base64
    import gzip

    meta = json.loads(re.search(r'id="clsmap-meta">(.*?)</script>', html, re.S).group(1))
    packed = base64.b64decode(re.search(r'id="clsmap-data">(.*?)</script>', html, re.S).group(1))
    raw = bytearray(meta["raw_length"])
    for m in meta["members"]:
        part = gzip.decompress(packed[m["offset"]:m["offset"] + m["length"]])
        raw[m["raw_offset"]:m["raw_offset"] + len(part)] = part
    return meta, bytes(raw)


def _page_neighbours(html: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The neighbours as the page decodes them (js/viewer/src/neighbours.js, in numpy)."""
    meta, raw = _page(html)
    info = meta["neighbours"]
    if info is None:
        return None
    col = {c["name"]: np.frombuffer(raw, dtype=np.uint8, count=c["length"], offset=c["offset"])
           for c in meta["columns"] if c["name"].startswith("nb")}
    k = info["k"]
    rows = sum(col[f"nb{p}"].astype(np.int64) << (8 * p) for p in range(info["planes"])).reshape(-1, k)
    codes = np.cumsum(col["nb_sim"].astype(np.int64).reshape(-1, k), axis=1)
    return rows, 1.0 - 2.0 * (codes / info["levels"]) ** 2


@pytest.mark.parametrize("member_bytes", [8 << 20, 4096])
def test_analyze_stores_the_graph_and_the_page_carries_it(explain_store, monkeypatch, member_bytes):
    store, result, _ = explain_store
    want, want_sim = _sklearn_neighbours(store.vectors, 10)
    indices, similarity = store.neighbours_of()
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
    assert 1 <= rows.shape[1] < 10 and "stored neighbours per point" in caplog.text
    assert len(page) - full <= 0.02 * full * 1.25  # the estimate from a sample holds, give or take
    with pytest.raises(ValueError, match="neighbours"):
        map_html(store, neighbours=-1)


def test_a_graph_of_other_rows_is_refused(explain_store, tmp_path):
    store, _, _ = explain_store
    other = synthetic_store(tmp_path / "other", np.zeros((4, 2)) + np.arange(4)[:, None], ["a", "b", "c", "d"])
    write_neighbours(other.path, "vector", ["x", "y", "z", "w"], np.zeros((4, 1), int), np.ones((4, 1)),
                     metadata={"column": "vector", "k": 1})
    with pytest.raises(clsmap.ClsmapError, match="run clsmap analyze again"):
        clsmap.open_store(other.path).neighbours_of()
    assert store.neighbours_of("vector") is not None
    # a store written again over the old one (--overwrite) drops the old graph with the old vectors
    again = synthetic_store(tmp_path / "other", np.zeros((4, 2)) + np.arange(4)[:, None], ["a", "b", "c", "d"])
    assert again.neighbours_of() is None


# ---------------------------------------------------------------- keywords


def test_tokens_suit_the_script():
    assert tokenize("The cats aren't in THE garden, 42 times!") == ["cats", "aren't", "garden", "times"]
    assert tokenize("나는 영화를 좋아해 고양이가 귀여워") == ["영화", "좋아해", "고양이", "귀여워"]
    assert tokenize("책을 읽었다") == ["책을", "읽었다"]  # a one-syllable stem keeps its particle
    assert tokenize("東京タワー") == ["東京", "京タ", "タワ", "ワー"]


def test_a_planted_word_leads_its_region(explain_store):
    store, result, hot = explain_store
    regions = result.regions
    member = clsmap.analysis.region_membership(store.projection[["x", "y"]].to_numpy(), regions)
    best = int(pd.Series(member[hot]).value_counts().idxmax())  # the region that holds the disc
    assert best > 0
    words = result.keywords[(result.keywords["kind"] == "region") & (result.keywords["group"] == best)]
    assert words.sort_values("rank")["term"].iloc[0] == PLANTED
    saved = read_keywords(store.path)
    assert saved["column"] == "vector" and saved["regions"][str(best)][0]["term"] == PLANTED
    assert set(saved["classes"]) <= set(CLASSES)


def test_korean_planted_word_with_particles():
    rng = np.random.default_rng(1)
    words = ["학교에서", "친구를", "바다는", "음악이", "하늘을", "사과와", "시간이", "도시의", "편지를", "여름에"]
    planted = ["쿼카가", "쿼카를", "쿼카는", "쿼카와", "쿼카의"]
    texts = [" ".join(rng.choice(words, size=5)) for _ in range(400)]
    groups = np.zeros(400, dtype=int)
    groups[:40] = 1
    for i in range(40):
        texts[i] += " " + planted[i % len(planted)]
    found = class_keywords(texts, groups, ignore=[0])
    assert set(found["group"]) == {1} and found["term"].iloc[0] == "쿼카"


def test_korean_keywords_are_hangul_words(shared_data):
    data = pd.read_csv(shared_data / "chatterbot_ko.csv")
    found = class_keywords(data["text"], data["label"], top=5)
    assert found["group"].nunique() >= 0.8 * data["label"].nunique()
    for term in found["term"]:
        hangul = re.fullmatch(r"[\uac00-\ud7a3]+", term)
        assert hangul or re.fullmatch(r"[a-z]+(?:'[a-z]+)*", term), term  # syllables (no jamo) or a Latin word
        assert term not in _JOSA, term
    top = found.groupby("group")["term"].apply(list)
    assert "컴퓨터" in top["computers"] and "역사" in top["history"]


def test_keywords_count_a_bounded_sample():
    rng = np.random.default_rng(2)
    texts = pd.Series(rng.choice(WORDS, size=(30_000, 4)).tolist()).str.join(" ")
    groups = rng.integers(0, 5, len(texts))
    found = class_keywords(texts, groups, sample=2_000, max_terms=8)
    assert found.attrs["n_texts"] <= 2_000 and found.attrs["n_terms"] <= 8


def test_report_shows_the_keywords(explain_store, tmp_path):
    store, result, _ = explain_store
    page = clsmap.report(store, tmp_path / "report.html", analysis=result).read_text(encoding="utf-8")
    regions = page[page.index('id="regions"'):]
    assert "keywords" in regions and PLANTED in regions
    assert "keywords" in page[page.index('id="per-class"'):page.index('id="regions"')]


# ---------------------------------------------------------------- the page, in chromium


@pytest.fixture(scope="module")
def explain_map(explain_store, tmp_path_factory):
    store, _, _ = explain_store
    return write_map(store, tmp_path_factory.mktemp("explain_map") / "map.html", theme="light")


def test_a_click_lists_and_rings_the_vector_space_neighbours(browser, explain_store, explain_map):
    store, _, _ = explain_store
    want, want_sim = _sklearn_neighbours(store.vectors, 10)
    labels = store.frame["label"].to_numpy()
    page = open_map(browser, explain_map)
    rows = [0, 1, 2, 700, len(store) - 1]
    got = page.evaluate(f"() => {rows}.map((r) => window.clsmap.neighbours(r))")
    for row, near in zip(rows, got, strict=True):
        assert [g["id"] for g in near] == [f"doc-{j}" for j in want[row]]
        shown = np.array([g["similarity"] for g in near])
        assert np.allclose(shown, similarity_of(similarity_codes(want_sim[row])), atol=1e-9)
    ring = np.array([0xD8, 0x1B, 0x9C])  # COLOURS["neighbour"]

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
        f"neighbours agree with the label: {agree} of 10"
    # the rings, in the neighbours' colour, around the clicked point and its neighbours
    wait_for_picture(page, lambda px: ringed(px) > 11 * 20, what="rings around the neighbours")
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
    class_words = result.keywords[result.keywords["kind"] == "class"]
    assert len(class_words) and any(t.startswith("keywords: ") for t in titles)
    before = page.locator("#legend-title").text_content()
    page.locator("#modes button[data-mode=correct]").click()  # not a class mode: no keywords
    page.wait_for_function("(before) => document.querySelector('#legend-title').textContent !== before", arg=before)
    titles = page.eval_on_selector_all(".legend-item", "(items) => items.map((i) => i.title)")
    assert not any(t.startswith("keywords: ") for t in titles)
    assert page.errors == []
    page.close()
