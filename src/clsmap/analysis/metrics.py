"""Measures of how well classes separate (pure functions over arrays); how faithful a 2-D map is
(trustworthiness, k-NN preservation) is :mod:`~clsmap.analysis.faithfulness`'s.

Memory stays O(n * k): neighbours come from k-NN queries (:mod:`clsmap.analysis.knn`), never from an
n x n distance matrix. Functions that need more than k-NN lists
(trustworthiness, silhouette) work on a random sample of rows against the full data and say so.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pandas as pd

from ..store.vectors import Vectors, as_vectors
from .knn import Backend, Metric, knn_indices

__all__ = [
    "neighbour_agreement",
    "knn_purity",
    "knn_purity_per_class",
    "silhouette_per_class",
    "linear_probe_accuracy",
    "out_of_sample_probs",
    "classification_metrics",
    "confusion_frame",
]

logger = logging.getLogger(__name__)

#: from this many rows the probe is fitted in torch (:mod:`clsmap.analysis.probe`: same objective,
#: whitened L-BFGS, 6.6x faster at 24,656 rows); below, scikit-learn's lbfgs takes a second or two
TORCH_PROBE_FROM = 5_000


def _as_xy(X: np.ndarray, labels: np.ndarray | list, func: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"{func}: expected a 2-D array of vectors, got shape {X.shape}")
    return X, _labels_of(len(X), labels, func)


def _as_vectors(X: np.ndarray | Vectors, labels: np.ndarray | list, func: str) -> tuple[Vectors, np.ndarray]:
    """:func:`_as_xy` for the measures that read their vectors part by part."""
    X = as_vectors(X, func)
    return X, _labels_of(len(X), labels, func)


def _labels_of(n: int, labels: np.ndarray | list, func: str) -> np.ndarray:
    """``labels`` as an array, one per vector (``n``)."""
    labels = np.asarray(labels)
    if n != len(labels):
        raise ValueError(f"{func}: {n} vectors but {len(labels)} labels")
    return labels


def neighbour_agreement(neighbours: np.ndarray, labels: np.ndarray | list) -> np.ndarray:
    """Per row, the fraction of its neighbours (rows of ``neighbours``) that share its label."""
    codes = np.unique(np.asarray(labels), return_inverse=True)[1].reshape(-1).astype(np.int32)  # not (n, k) labels
    return (codes[neighbours] == codes[: len(neighbours), None]).mean(axis=1)


def knn_purity(
    X: np.ndarray, labels: np.ndarray | list, *, k: int = 10, metric: Metric = "cosine", backend: Backend = "auto"
) -> float:
    """Mean fraction of each point's ``k`` nearest neighbours (itself excluded) that share its label.

    1.0 when every class is a tight, separate cluster; about the chance level
    ``sum(p_c ** 2)`` when labels are unrelated to position. Memory is O(n * k).
    """
    X, labels = _as_xy(X, labels, "knn_purity")
    if len(X) < 2:
        raise ValueError("knn_purity needs at least two points")
    return float(neighbour_agreement(knn_indices(X, k=k, metric=metric, backend=backend), labels).mean())


def knn_purity_per_class(
    X: np.ndarray, labels: np.ndarray | list, *, k: int = 10, metric: Metric = "cosine", backend: Backend = "auto"
) -> pd.DataFrame:
    """k-NN label purity per class.

    Columns: ``label`` (class), ``n`` (rows of that class), ``knn_purity`` (mean fraction of
    their ``k`` neighbours with the same label), ``chance`` (the class's share of all rows, the
    purity expected if positions ignored labels).
    """
    X, labels = _as_xy(X, labels, "knn_purity_per_class")
    agree = neighbour_agreement(knn_indices(X, k=k, metric=metric, backend=backend), labels)
    frame = pd.DataFrame({"label": labels, "agree": agree})
    out = frame.groupby("label", sort=True).agg(n=("agree", "size"), knn_purity=("agree", "mean")).reset_index()
    out["chance"] = out["n"] / len(labels)
    return out


def _sample_rows(labels: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """Up to ``size`` rows, stratified by label (every class keeps at least 2 rows where it has them)."""
    n = len(labels)
    if size is None or n <= size:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    chosen = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        take = max(min(2, len(members)), int(round(size * len(members) / n)))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def silhouette_per_class(
    X: np.ndarray | Vectors,
    labels: np.ndarray | list,
    *,
    metric: Metric = "cosine",
    sample: int | None = 5000,
    seed: int = 0,
    within: np.ndarray | None = None,
) -> pd.DataFrame:
    """Mean silhouette coefficient per class (in [-1, 1]; > 0 when a class sits closer to itself
    than to the nearest other class).

    The silhouette needs all pairwise distances of the rows it uses, so above ``sample`` rows it
    is computed on a stratified random sample of ``sample`` rows (chunked; memory O(chunk * sample)), the
    only rows of ``X`` (an array or :class:`~clsmap.store.vectors.Vectors`) that are read. ``within`` (row
    indices): the silhouette of those rows alone, as if ``X`` and ``labels`` held only them.
    Columns: ``label``, ``n`` (rows of the class), ``n_sampled`` (rows used), ``silhouette``.
    """
    import sklearn
    from sklearn.metrics import silhouette_samples

    X, labels = _as_vectors(X, labels, "silhouette_per_class")
    within = np.arange(len(labels)) if within is None else np.asarray(within, dtype=np.int64)
    labels = labels[within]
    rows = _sample_rows(labels, sample, seed)
    if len(np.unique(labels[rows])) < 2:
        raise ValueError("silhouette_per_class needs at least two classes")
    with sklearn.config_context(working_memory=128):  # MB of distances at a time (scikit-learn's default: 1 GB)
        values = silhouette_samples(X.rows(within[rows]), labels[rows], metric=metric)
    frame = pd.DataFrame({"label": labels[rows], "s": values})
    out = frame.groupby("label", sort=True).agg(n_sampled=("s", "size"), silhouette=("s", "mean")).reset_index()
    counts = pd.Series(labels).value_counts()
    out.insert(1, "n", out["label"].map(counts).astype(int))
    return out


def _probe(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))


def _blas_threads(n_rows: int) -> AbstractContextManager[Any]:
    """One BLAS thread for small probes: their matrix products are too small to share, and on a
    busy machine extra BLAS threads spin (measured: 0.2 s single-threaded vs 9.7 s with 2 threads
    for a 600 x 384 probe on a loaded 2-core host). Large probes keep the default."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas") if n_rows <= 20_000 else nullcontext()


def _folds(labels: np.ndarray, folds: int, func: str) -> int:
    smallest = int(np.unique(labels, return_counts=True)[1].min())
    folds = min(folds, smallest)
    if folds < 2:
        raise ValueError(f"{func} needs at least two examples of every class")
    return folds


def linear_probe_accuracy(X: np.ndarray | Vectors, labels: np.ndarray | list, *, folds: int = 5,
                          seed: int = 0) -> float:
    """Cross-validated accuracy of a logistic-regression probe on the vectors.

    How much class information a linear read-out can take from the space, whether or not the
    model has a classification head: the "accuracy" of a base encoder's [CLS] space.
    Standardised features, stratified folds (fewer when a class is rarer than ``folds``). From
    :data:`TORCH_PROBE_FROM` rows the probe is :mod:`clsmap.analysis.probe`'s (the same objective).
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, labels = _as_vectors(X, labels, "linear_probe_accuracy")
    folds = _folds(labels, folds, "linear_probe_accuracy")
    if len(X) >= TORCH_PROBE_FROM:
        probs, classes = out_of_sample_probs(X, labels, folds=folds, seed=seed)
        return float((np.asarray(classes)[probs.argmax(axis=1)] == labels).mean())
    X = X.array()
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with _blas_threads(len(X)):
        return float(cross_val_score(_probe(seed), X, labels, cv=splits).mean())


def out_of_sample_probs(
    X: np.ndarray | Vectors, labels: np.ndarray | list, *, folds: int = 5, seed: int = 0
) -> tuple[np.ndarray, list]:
    """Out-of-sample class probabilities from a cross-validated linear probe on the vectors.

    Each row's probabilities come from a probe trained on the other folds, so a row's own
    (possibly wrong) label never informs its probabilities. Returns ``(probs, classes)``:
    ``probs`` is (n, C) float64 in the order of ``classes`` (sorted unique labels). ``X``: an array, or
    :class:`~clsmap.store.vectors.Vectors` (from :data:`TORCH_PROBE_FROM` rows read part by part).
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X, labels = _as_vectors(X, labels, "out_of_sample_probs")
    folds = _folds(labels, folds, "out_of_sample_probs")
    classes = sorted(np.unique(labels).tolist())
    if len(X) >= TORCH_PROBE_FROM:
        from .probe import cross_val_probs

        codes = np.searchsorted(np.asarray(classes), labels)
        return cross_val_probs(X, codes, len(classes), folds=folds, seed=seed), classes
    X = X.array()
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with _blas_threads(len(X)):
        probs = cross_val_predict(_probe(seed), X, labels, cv=splits, method="predict_proba")
    return np.asarray(probs, dtype=np.float64), classes


def classification_metrics(labels: np.ndarray | list, preds: np.ndarray | list) -> pd.DataFrame:
    """Per-class precision, recall and F1 of predictions against labels.

    Columns: ``label``, ``support`` (rows with that label), ``n_pred`` (rows predicted as it),
    ``precision``, ``recall``, ``f1``. The macro-F1 is the mean of ``f1``.
    """
    from sklearn.metrics import precision_recall_fscore_support

    labels, preds = np.asarray(labels).astype(str), np.asarray(preds).astype(str)
    classes = sorted(set(labels) | set(preds))
    p, r, f, s = precision_recall_fscore_support(labels, preds, labels=classes, zero_division=0)
    n_pred = pd.Series(preds).value_counts().reindex(classes, fill_value=0).to_numpy()
    return pd.DataFrame({"label": classes, "support": s.astype(int), "n_pred": n_pred.astype(int),
                         "precision": p, "recall": r, "f1": f})


def confusion_frame(labels: np.ndarray | list, preds: np.ndarray | list) -> pd.DataFrame:
    """The confusion matrix as a tidy table: ``true_label``, ``pred_label``, ``count``, ``share``
    (count / rows with that true label), every pair of classes included."""
    labels, preds = np.asarray(labels).astype(str), np.asarray(preds).astype(str)
    classes = sorted(set(labels) | set(preds))
    table = pd.crosstab(pd.Categorical(labels, classes), pd.Categorical(preds, classes), dropna=False)
    long = table.stack().rename("count").reset_index()
    long.columns = ["true_label", "pred_label", "count"]
    long["true_label"] = long["true_label"].astype(str)
    long["pred_label"] = long["pred_label"].astype(str)
    totals = long.groupby("true_label")["count"].transform("sum")
    long["count"] = long["count"].astype(int)
    long["share"] = np.where(totals > 0, long["count"] / totals.clip(lower=1), 0.0)
    return long
