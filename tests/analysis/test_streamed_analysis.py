"""The analysis reads a store's vectors part by part (clsmap.store.Vectors), never all at once, and measures
from the parts what it measures from the same vectors in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clsmap._blocks import blocks
from clsmap.analysis import silhouette_per_class, trustworthiness
from clsmap.analysis.knn import approximate_knn_graph
from clsmap.analysis.probe import cross_val_probs
from clsmap.store import Store, Vectors, as_vectors, synthetic_store


def clustered(n_per: int = 300, classes: int = 8, dim: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(classes), n_per)
    X = rng.normal(size=(classes, dim))[codes] * 2.0 + rng.normal(size=(len(codes), dim))
    return X.astype(np.float32), codes


def scrambled(X: np.ndarray, part: int = 700, seed: int = 0) -> Vectors:
    """``X`` in parts of ``part`` rows, the rows shuffled across and within parts (a store's parts need not
    come in row order), each part a fresh copy as a read from disk is."""
    order = np.random.default_rng(seed).permutation(len(X))

    def parts():
        for lo in range(0, len(X), part):
            at = order[lo:lo + part]
            yield at, X[at].copy()

    return Vectors(len(X), X.shape[1], parts)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 300), st.integers(1, 70), st.integers(0, 300))
def test_blocks_cover_the_range_once_in_order(n, size, start):
    spans = list(blocks(n, size, start=start))
    covered = [i for span in spans for i in range(span.start, span.stop)]
    assert covered == list(range(start, n))  # every row once, in order
    assert all(0 < span.stop - span.start <= size for span in spans)
    assert all(span.stop - span.start == size for span in spans[:-1])  # only the last block is shorter
    with pytest.raises(ValueError, match="size"):
        list(blocks(n, 0))


def test_vectors_give_rows_in_any_order_and_every_row_once():
    X, _ = clustered()
    parts = scrambled(X)
    assert parts.shape == X.shape and len(parts) == len(X)
    asked = np.array([5, 3, 3, 2399, 0, 1200])  # unsorted, repeated
    np.testing.assert_array_equal(parts.rows(asked), X[asked])
    np.testing.assert_array_equal(parts.array(), X)
    seen = np.concatenate([positions for positions, block in parts.blocks(256) if len(block) <= 256])
    assert np.array_equal(np.sort(seen), np.arange(len(X)))
    with pytest.raises(ValueError, match="not among"):
        parts.rows(np.array([len(X)]))
    # an array in memory: its parts are views, its rows a copy
    held = as_vectors(X)
    assert held.array() is X and np.shares_memory(next(held.blocks())[1], X)
    with pytest.raises(ValueError, match="2-D"):
        as_vectors(X[0])


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_the_approximate_graph_of_parts_is_the_graph_of_the_array(monkeypatch, dtype):
    import torch

    from clsmap.analysis import knn

    monkeypatch.setattr(knn, "_search_dtype", lambda: getattr(torch, dtype))
    X, _ = clustered()
    held, held_sims, held_info = approximate_knn_graph(X, k=10, sample=400, target_recall=0.9)
    read, read_sims, read_info = approximate_knn_graph(scrambled(X), k=10, sample=400, target_recall=0.9)
    assert read_info == held_info
    assert (read == held).all(axis=1).mean() > 0.999
    np.testing.assert_allclose(read_sims, held_sims, atol=1e-6)


def test_measures_of_parts_are_the_measures_of_the_array():
    X, codes = clustered()
    labels = np.array([f"c{c}" for c in codes])
    xy = X[:, :2] + np.random.default_rng(1).normal(size=(len(X), 2)).astype(np.float32)
    parts = scrambled(X)
    for sample in (None, 500):
        assert trustworthiness(parts, xy, k=7, sample=sample) == trustworthiness(X, xy, k=7, sample=sample)
    pd.testing.assert_frame_equal(silhouette_per_class(parts, labels, sample=600),
                                  silhouette_per_class(X, labels, sample=600))
    within = np.flatnonzero(codes < 4)
    pd.testing.assert_frame_equal(silhouette_per_class(parts, labels, sample=None, within=within),
                                  silhouette_per_class(X[within], labels[within], sample=None))
    for cap in (None, 800):  # every row learnt from, or a pool of 1,000 read once and 800 per fold
        kwargs = {} if cap is None else {"max_fit_rows": cap}
        np.testing.assert_allclose(cross_val_probs(parts, codes, 8, folds=5, seed=0, **kwargs),
                                   cross_val_probs(X, codes, 8, folds=5, seed=0, **kwargs), atol=1e-5)


def test_analyze_never_holds_every_vector_of_a_large_store(tmp_path):
    """With the approximate graph (a store too large to hold twice), analyze reads the vectors part by part:
    reading them whole fails here, and the measures are those of the vectors in memory."""
    from clsmap.analysis import analyze, linear_probe_accuracy

    X, codes = clustered()
    labels = np.array([f"c{c}" for c in codes])
    xy = X[:, :2].copy()
    store = synthetic_store(tmp_path / "s", xy, [f"t{i}" for i in range(len(X))], labels=labels, vectors=X)

    def held_whole(self, column):
        raise AssertionError("the analysis read every vector at once")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Store, "vectors_of", held_whole)
        summary = analyze(store, knn="approximate", layers=False).summary
    assert summary["knn_backend"].startswith("inverted file") and summary["knn_recall_sample"] == 1000
    assert summary["trustworthiness"] == trustworthiness(X, xy, k=10, sample=2000)
    assert summary["linear_probe_accuracy"] == linear_probe_accuracy(X, labels)
