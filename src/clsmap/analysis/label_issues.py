"""Likely-mislabeled and hard examples: out-of-sample confidence in the given label, combined
with what the row's nearest neighbours in the [CLS] space are labeled.

Where the probabilities come from matters: a model's probability for a row it was trained on
has seen that row's (possibly wrong) label. :func:`label_issue_scores` therefore takes
out-of-sample probabilities: by default those of a linear probe cross-validated on the vectors
(:func:`clsmap.analysis.metrics.out_of_sample_probs`; every row is scored by a probe that did
not see it), or a model's own probabilities when the rows were held out from its training
(``probs=`` argument; :func:`clsmap.analyze` uses them only with ``probs="model"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import Metric, knn_indices, out_of_sample_probs

__all__ = ["label_issue_scores", "cleanlab_issues"]


def _neighbour_votes(neighbours: np.ndarray, codes: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, C) share of each row's neighbours per class, with add-one smoothing."""
    votes = np.zeros((len(neighbours), n_classes))
    np.add.at(votes, (np.repeat(np.arange(len(neighbours)), neighbours.shape[1]), codes[neighbours].ravel()), 1.0)
    return (votes + 1.0 / n_classes) / (neighbours.shape[1] + 1.0)


def label_issue_scores(
    X: np.ndarray,
    labels: np.ndarray | list,
    *,
    probs: np.ndarray | None = None,
    classes: list | None = None,
    k: int = 10,
    metric: Metric = "cosine",
    weight: float = 0.5,
    folds: int = 5,
    seed: int = 0,
    neighbours: np.ndarray | None = None,
) -> pd.DataFrame:
    """Score every row for how likely its given label is wrong.

    ``q = weight * p + (1 - weight) * v`` per class, where ``p`` is the row's out-of-sample
    probability (``probs``, (n, C) in ``classes`` order; by default from a cross-validated linear
    probe on ``X``) and ``v`` the (smoothed) share of its ``k`` nearest neighbours in ``X`` with
    each label. A row is *flagged* when another class ``j`` reaches that class's typical
    confidence (``q[:, j] >= t_j``, ``t_j`` the mean ``q[:, j]`` over rows labeled ``j``) while its
    own label stays below its class's (``q[:, y] < t_y``), the confident-learning rule applied to
    the combined ``q``, *and* most of its ``k`` neighbours carry another label (``knn_given < 0.5``):
    both sources of evidence must point away from the given label.

    Columns, one row per input row, in input order: ``row``, ``label`` (given), ``p_given``,
    ``knn_given`` (neighbour share of the given label), ``q_given``, ``suggested_label`` (the
    class with the highest ``q``), ``q_suggested``, ``score`` (``1 - q_given``: higher is more
    suspicious), ``flagged`` (bool), ``rank`` (1 = most suspicious).
    """
    labels = np.asarray(labels)
    X = np.asarray(X, dtype=np.float32)
    if len(X) != len(labels):
        raise ValueError(f"label_issue_scores: {len(X)} vectors but {len(labels)} labels")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"label_issue_scores: weight must be in [0, 1], got {weight}")
    if probs is None:
        probs, classes = out_of_sample_probs(X, labels, folds=folds, seed=seed)
    elif classes is None:
        raise ValueError("label_issue_scores: pass classes= (the column order of probs) with probs=")
    probs = np.asarray(probs, dtype=np.float64)
    classes = list(classes)
    if probs.shape != (len(X), len(classes)):
        raise ValueError(f"label_issue_scores: probs has shape {probs.shape}, expected {(len(X), len(classes))}")
    index = {c: i for i, c in enumerate(classes)}
    missing = sorted({str(v) for v in labels} - {str(c) for c in classes})
    if missing:
        raise ValueError(f"label_issue_scores: labels {missing[:3]} are not among the classes of probs")
    codes = np.array([index[v] for v in labels])
    if neighbours is None:
        neighbours = knn_indices(X, k=k, metric=metric)
    votes = _neighbour_votes(neighbours, codes, len(classes))
    q = weight * probs + (1.0 - weight) * votes
    rows = np.arange(len(X))
    q_given = q[rows, codes]
    thresholds = np.array([q[codes == j, j].mean() if (codes == j).any() else 1.0 for j in range(len(classes))])
    others = q >= thresholds[None, :]
    others[rows, codes] = False
    knn_given = (codes[neighbours] == codes[:, None]).mean(axis=1)
    flagged = (q_given < thresholds[codes]) & others.any(axis=1) & (knn_given < 0.5)
    best = q.argmax(axis=1)
    score = 1.0 - q_given
    order = np.lexsort((rows, -score))
    rank = np.empty(len(X), dtype=np.int64)
    rank[order] = np.arange(1, len(X) + 1)
    return pd.DataFrame({
        "row": rows,
        "label": labels,
        "p_given": probs[rows, codes],
        "knn_given": knn_given,
        "q_given": q_given,
        "suggested_label": np.asarray(classes, dtype=object)[best],
        "q_suggested": q[rows, best],
        "score": score,
        "flagged": flagged,
        "rank": rank,
    })


def cleanlab_issues(labels: np.ndarray | list, probs: np.ndarray, classes: list) -> np.ndarray:
    """Rows that cleanlab's ``find_label_issues`` flags for the same out-of-sample ``probs``
    (extra ``clsmap[cleanlab]``; used to compare with :func:`label_issue_scores`). Boolean mask."""
    from .._errors import require

    filter_mod = require("cleanlab.filter", extra="cleanlab", purpose="the cleanlab comparison", package="cleanlab")
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index[v] for v in np.asarray(labels)])
    return np.asarray(filter_mod.find_label_issues(codes, np.asarray(probs, dtype=np.float64)), dtype=bool)
