"""Separation measures on data with known structure, and their invariances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clsmap.analysis import knn_purity, linear_probe_accuracy


def blobs(n_per: int, classes: int, dim: int, spread: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, dim)) * 10
    X = np.concatenate([c + spread * rng.normal(size=(n_per, dim)) for c in centers])
    y = np.repeat(np.arange(classes), n_per)
    return X.astype(np.float32), y


def test_separated_blobs_are_pure_and_probe_perfectly():
    X, y = blobs(60, 4, 16, 0.5)
    assert knn_purity(X, y) >= 0.99
    assert linear_probe_accuracy(X, y) >= 0.99


def test_random_labels_are_near_chance():
    X, _ = blobs(100, 4, 16, 0.5)
    y = np.random.default_rng(1).integers(0, 4, size=len(X))
    chance = sum((y == c).mean() ** 2 for c in range(4))
    assert abs(knn_purity(X, y) - chance) < 0.08
    assert linear_probe_accuracy(X, y) < 0.45


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 100))
def test_purity_ignores_row_order_rotation_and_scale(seed, scale):
    X, y = blobs(15, 3, 6, 3.0, seed=seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    base = knn_purity(X, y, k=5, metric="euclidean")
    moved = knn_purity((X[order] @ rotation) * scale, y[order], k=5, metric="euclidean")
    assert moved == pytest.approx(base, abs=1e-6)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="3 vectors but 2 labels"):
        knn_purity(np.zeros((3, 2)), [0, 1])
