"""What explains a point and a region, as analyze finds it: each text's nearest neighbours in the vector space
(computed once, stored) and the keywords of each class and confusion region (c-TF-IDF). The page that carries
them: tests/render/test_explain_page.py; the map in chromium: tests/browser/test_explain_browser.py."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from support.explain import CLASSES, PLANTED, WORDS, sklearn_neighbours

import clsmap
from clsmap.analysis import class_keywords, knn_graph, read_keywords
from clsmap.analysis.keywords import tokenize
from clsmap.store import synthetic_store, write_neighbours

# Korean particles (josa): a keyword is a word, never one of these alone
PARTICLES = {"은", "는", "이", "가", "을", "를", "의", "에", "에서", "에게", "로", "으로", "와", "과", "도", "만"}

# ---------------------------------------------------------------- neighbours


@pytest.mark.parametrize("backend", ["sklearn", "faiss"])
def test_knn_graph_is_scikit_learns_cosine_neighbours(backend):
    if backend == "faiss":
        pytest.importorskip("faiss")
    X = np.random.default_rng(0).normal(size=(300, 12)).astype(np.float32)
    indices, similarity = knn_graph(X, k=7, backend=backend)
    want, want_sim = sklearn_neighbours(X, 7)
    assert np.array_equal(indices, want)
    assert np.allclose(similarity, want_sim, atol=1e-5)
    assert (np.diff(similarity, axis=1) <= 1e-6).all()  # nearest first


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
    words = result.keywords.of("region")
    assert words[words["group"] == best].sort_values("rank")["term"].iloc[0] == PLANTED
    saved = read_keywords(store, "vector")  # what the store keeps, read back as the same typed result
    assert saved.terms("region")[str(best)][0] == PLANTED and saved.n_texts == result.keywords.n_texts
    assert set(saved.terms("class")) <= set(CLASSES)
    assert saved.terms("class", top=5) == result.keywords.terms("class", top=5)
    assert read_keywords(store, "another column") is None


def test_korean_planted_word_with_particles():
    rng = np.random.default_rng(1)
    words = ["학교에서", "친구를", "바다는", "음악이", "하늘을", "사과와", "시간이", "도시의", "편지를", "여름에"]
    planted = ["쿼카가", "쿼카를", "쿼카는", "쿼카와", "쿼카의"]
    texts = [" ".join(rng.choice(words, size=5)) for _ in range(400)]
    groups = np.zeros(400, dtype=int)
    groups[:40] = 1
    for i in range(40):
        texts[i] += " " + planted[i % len(planted)]
    found = class_keywords(texts, groups, ignore=[0]).frame
    assert set(found["group"]) == {1} and found["term"].iloc[0] == "쿼카"


def test_korean_keywords_are_hangul_words(shared_data):
    data = pd.read_csv(shared_data / "chatterbot_ko.csv")
    found = class_keywords(data["text"], data["label"], top=5).frame
    assert found["group"].nunique() >= 0.8 * data["label"].nunique()
    for term in found["term"]:
        hangul = re.fullmatch(r"[\uac00-\ud7a3]+", term)
        assert hangul or re.fullmatch(r"[a-z]+(?:'[a-z]+)*", term), term  # syllables (no jamo) or a Latin word
        assert term not in PARTICLES, term
    top = found.groupby("group")["term"].apply(list)
    assert "컴퓨터" in top["computers"] and "역사" in top["history"]


def test_keywords_count_a_bounded_sample():
    rng = np.random.default_rng(2)
    texts = pd.Series(rng.choice(WORDS, size=(30_000, 4)).tolist()).str.join(" ")
    groups = rng.integers(0, 5, len(texts))
    found = class_keywords(texts, groups, sample=2_000, max_terms=8)
    assert found.n_texts <= 2_000 and found.n_terms <= 8 and found.frame["term"].nunique() <= 8
