"""Measures of how well classes separate and how faithful a 2-D map is (pure functions over arrays).

Memory stays O(n * k): neighbours come from k-NN queries (:mod:`clsmap.analysis.knn`), never from an
n x n distance matrix. Functions that need more than k-NN lists
(trustworthiness, silhouette) work on a random sample of rows against the full data and say so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._blocks import PRODUCT_ROWS, blocks
from ..store.vectors import Vectors, as_vectors
from .knn import Backend, Metric, knn_indices, shared_neighbour_counts

__all__ = [
    "neighbour_agreement",
    "knn_purity",
    "knn_purity_per_class",
    "silhouette_per_class",
    "linear_probe_accuracy",
    "out_of_sample_probs",
    "trustworthiness",
    "knn_preservation",
    "shared_neighbours",
    "classification_metrics",
    "confusion_frame",
]

logger = logging.getLogger(__name__)

#: from this many rows the probe is fitted in torch (:mod:`clsmap.analysis.probe`: same objective,
#: whitened L-BFGS, 6.6x faster at 24,656 rows); below, scikit-learn's lbfgs takes a second or two
TORCH_PROBE_FROM = 5_000


def _as_xy(X: np.ndarray, labels: np.ndarray | list | None, func: str) -> tuple[np.ndarray, np.ndarray | None]:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"{func}: expected a 2-D array of vectors, got shape {X.shape}")
    return X, _labels_of(len(X), labels, func)


def _as_vectors(X: np.ndarray | Vectors, labels: np.ndarray | list | None,
                func: str) -> tuple[Vectors, np.ndarray | None]:
    """:func:`_as_xy` for the measures that read their vectors part by part."""
    X = as_vectors(X, func)
    return X, _labels_of(len(X), labels, func)


def _labels_of(n: int, labels: np.ndarray | list | None, func: str) -> np.ndarray | None:
    """``labels`` as an array, one per vector (``n``), or None."""
    if labels is None:
        return None
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


def _probe(seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))


def _blas_threads(n_rows: int):
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


def trustworthiness(
    X: np.ndarray | Vectors,
    Y: np.ndarray,
    *,
    k: int = 10,
    metric: Metric = "cosine",
    sample: int | None = 2000,
    seed: int = 0,
    chunk: int = 4096,
) -> float:
    """Trustworthiness of the map ``Y`` (n, 2) of the vectors ``X`` (Venna & Kaski 2001).

    ``1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in N_k^Y(i)} max(0, r_X(i, j) - k)``: a map's
    neighbours that are far apart in the original space are penalised by their original rank.
    Equal to :func:`sklearn.manifold.trustworthiness` when every row is used. The ranks need a
    point's distances to all others, so above ``sample`` rows the sum runs over a random sample
    of rows (each still ranked against all ``n`` rows) and is rescaled; ``sample=None`` uses every row.

    The ranks are counted in float32 torch products of blocks of up to
    :data:`~clsmap._blocks.PRODUCT_ROWS` sampled rows with ``chunk`` rows of ``X`` at a time (memory
    O(PRODUCT_ROWS * chunk)), in one pass over ``X`` (an array or :class:`~clsmap.store.vectors.Vectors`,
    read part by part, never held whole).
    """
    X = as_vectors(X, "trustworthiness")
    Y, _ = _as_xy(Y, None, "trustworthiness")
    n = len(X)
    if len(Y) != n:
        raise ValueError(f"trustworthiness: {n} vectors but {len(Y)} map points")
    if k >= n / 2:
        raise ValueError(f"trustworthiness: k ({k}) should be less than n / 2 ({n / 2})")
    rows = np.arange(n)
    if sample is not None and n > sample:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
    map_neighbours = knn_indices(Y, k=k, metric="euclidean", backend="sklearn", query=rows)
    cosine = metric == "cosine"
    Q, queries = _rank_queries(X, rows, map_neighbours, k=k, cosine=cosine)
    _count_nearer(X, Q, queries, k=k, chunk=chunk, cosine=cosine)
    penalty = sum(_rank_excess(query.thresholds, query.nearer, k) for query in queries)
    return float(1.0 - penalty * 2.0 / (len(rows) * k * (2.0 * n - 3.0 * k - 1.0)))


def _scored(part: np.ndarray, *, cosine: bool):
    """Rows as :func:`trustworthiness` compares them: a score that grows as a row gets nearer is ``Q . row`` for
    unit rows (cosine), or ``Q . row - |row|^2 / 2`` (euclidean: the query's own ``|q|^2 / 2`` is the same for
    every row it is compared with). Returns the rows (unit for cosine) and the offsets (None for cosine), as
    torch tensors."""
    import torch

    squares = np.einsum("ij,ij->i", part, part)
    if cosine:
        return torch.from_numpy(part / np.maximum(np.sqrt(squares), 1e-12)[:, None]), None
    return torch.from_numpy(part), torch.from_numpy(0.5 * squares)


@dataclass
class _RankQueries:
    """A block of :func:`trustworthiness`'s queries: their positions among all queries (``at``), the sorted
    scores of each query's map neighbours (``thresholds``, (q, k)), per query how many rows exceed exactly
    0 ... k of those thresholds (``nearer``, (q, k + 1), counted by :func:`_count_nearer`), and the rows left
    out of that count (``skip``: the query itself and its map neighbours, (q, k + 1))."""

    at: slice
    thresholds: Any
    nearer: Any
    skip: np.ndarray


def _rank_queries(X: Vectors, rows: np.ndarray, map_neighbours: np.ndarray, *, k: int,
                  cosine: bool) -> tuple[Any, list[_RankQueries]]:
    """The queries ``rows`` as compared (:func:`_scored`) and their blocks of
    :data:`~clsmap._blocks.PRODUCT_ROWS`: per query, the score of each map neighbour (the thresholds,
    sorted). The map neighbours are left out of the counting and ranked among themselves from these scores,
    so that no product is compared with itself. One read of ``X`` for the queries and their map neighbours."""
    import torch

    read = X.rows(np.concatenate([rows, map_neighbours.ravel()]))
    Q, _ = _scored(read[:len(rows)], cosine=cosine)
    theirs_rows, theirs_offset = _scored(read[len(rows):], cosine=cosine)
    theirs_rows = theirs_rows.view(len(rows), k, -1)
    del read
    queries = []
    for at in blocks(len(rows), PRODUCT_ROWS):
        near = torch.einsum("qd,qkd->qk", Q[at], theirs_rows[at])
        if theirs_offset is not None:
            near = near - theirs_offset.view(len(rows), k)[at]
        thresholds, _ = near.sort(dim=1)
        skip = np.concatenate([rows[at][:, None], map_neighbours[at]], axis=1)  # itself, its map neighbours
        queries.append(_RankQueries(at, thresholds, torch.zeros((len(skip), k + 1), dtype=torch.int64), skip))
    return Q, queries


def _count_nearer(X: Vectors, Q: Any, queries: list[_RankQueries], *, k: int, chunk: int, cosine: bool) -> None:
    """One pass over ``X``, ``chunk`` rows at a time: adds to each query's ``nearer`` how many of the rows
    (but those it skips) exceed exactly 0 ... k of its thresholds."""
    import torch

    for positions, part in X.blocks(chunk):
        R, offset = _scored(part, cosine=cosine)
        sorter = np.argsort(positions, kind="stable")
        for query in queries:
            S = Q[query.at] @ R.T
            if offset is not None:
                S -= offset
            # the row itself and its map neighbours, where this block holds them
            at = np.minimum(np.searchsorted(positions, query.skip, sorter=sorter), len(positions) - 1)
            held = positions[sorter[at]] == query.skip
            row, column = np.nonzero(held)
            S[torch.from_numpy(row), torch.from_numpy(sorter[at[row, column]])] = -torch.inf
            # how many thresholds each score exceeds (strictly), then a histogram per query; most rows are
            # below a query's lowest threshold and are counted nowhere
            above_lowest, column = (S > query.thresholds[:, :1]).nonzero(as_tuple=True)
            above = torch.searchsorted(query.thresholds[above_lowest], S[above_lowest, column][:, None],
                                       right=False)[:, 0]
            query.nearer += torch.bincount(above_lowest * (k + 1) + above,
                                           minlength=len(query.skip) * (k + 1)).view(-1, k + 1)


def _rank_excess(thresholds: Any, nearer: Any, k: int) -> int:
    """The sum over a block of queries of ``max(0, r_X(i, j) - k)`` for their map neighbours ``j``."""
    # the map neighbours strictly nearer than each threshold
    nearer_neighbours = (thresholds[:, None, :] > thresholds[:, :, None]).sum(dim=2)
    # rows strictly nearer than the m-th threshold: those exceeding more than m thresholds
    ranks = 1 + nearer.flip(1).cumsum(1).flip(1)[:, 1:] + nearer_neighbours
    excess = ranks - k
    return int(excess[excess > 0].sum())


def knn_preservation(
    X: np.ndarray, Y: np.ndarray, *, k: int = 10, metric: Metric = "cosine", backend: Backend = "auto"
) -> float:
    """Mean share of each point's ``k`` nearest neighbours in ``X`` that are also among its ``k``
    nearest in the map ``Y`` (1.0: the map keeps every neighbourhood). O(n * k) memory."""
    X, _ = _as_xy(X, None, "knn_preservation")
    Y, _ = _as_xy(Y, None, "knn_preservation")
    if len(X) != len(Y):
        raise ValueError(f"knn_preservation: {len(X)} vectors but {len(Y)} map points")
    return shared_neighbours(knn_indices(X, k=k, metric=metric, backend=backend),
                             knn_indices(Y, k=k, metric="euclidean", backend=backend))


def shared_neighbours(a: np.ndarray, b: np.ndarray) -> float:
    """The mean share of each row's neighbours in ``a`` (n, k; distinct per row) that are also among its
    neighbours in ``b`` (n, k): :func:`~clsmap.analysis.knn.shared_neighbour_counts` over all of ``a``."""
    return int(shared_neighbour_counts(a, b).sum()) / max(a.size, 1)


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
