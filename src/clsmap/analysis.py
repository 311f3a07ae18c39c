"""Measures of how well classes separate, computed on arrays (pure functions)."""

from __future__ import annotations

import numpy as np

__all__ = ["knn_purity", "linear_probe_accuracy"]


def knn_purity(X: np.ndarray, labels: np.ndarray | list, *, k: int = 10, metric: str = "cosine") -> float:
    """Mean fraction of each point's ``k`` nearest neighbours (itself excluded) that share its label.

    1.0 when every class is a tight, separate cluster; about the chance level
    ``sum(p_c ** 2)`` when labels are unrelated to position. Memory is O(n * k).
    """
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=np.float32)
    labels = np.asarray(labels)
    if len(X) != len(labels):
        raise ValueError(f"knn_purity: {len(X)} vectors but {len(labels)} labels")
    if len(X) < 2:
        raise ValueError("knn_purity needs at least two points")
    k = min(k, len(X) - 1)
    index = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(X)
    neighbours = index.kneighbors(X, return_distance=False)
    # drop each point itself (it may not come first when duplicates tie)
    rows = np.arange(len(X))[:, None]
    not_self = neighbours != rows
    keep = np.where(not_self.sum(axis=1, keepdims=True) > k, not_self & (np.cumsum(not_self, axis=1) <= k), not_self)
    same = (labels[neighbours] == labels[:, None]) & keep
    return float((same.sum(axis=1) / keep.sum(axis=1)).mean())


def linear_probe_accuracy(X: np.ndarray, labels: np.ndarray | list, *, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated accuracy of a logistic-regression probe on the vectors.

    How much class information a linear read-out can take from the space, whether or not the
    model has a classification head: the "accuracy" of a base encoder's [CLS] space.
    Standardised features, stratified folds (fewer when a class is rarer than ``folds``).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, dtype=np.float32)
    labels = np.asarray(labels)
    smallest = int(np.unique(labels, return_counts=True)[1].min())
    folds = min(folds, smallest)
    if folds < 2:
        raise ValueError("linear_probe_accuracy needs at least two examples of every class")
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(probe, X, labels, cv=splits).mean())
