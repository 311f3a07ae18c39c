"""Likely-mislabeled and hard examples: out-of-sample confidence in the given label, combined
with what the row's nearest neighbours in the [CLS] space are labeled.

Where the probabilities come from matters: a model's probability for a row it was trained on
has seen that row's (possibly wrong) label. :func:`label_issue_scores` therefore takes
out-of-sample probabilities: by default those of a linear probe cross-validated on the vectors
(:func:`clsmap.analysis.metrics.out_of_sample_probs`; every row is scored by a probe that did
not see it), or a model's own probabilities when the rows were held out from its training
(``probs=`` argument; :func:`clsmap.analyze` uses them only with ``probs="model"``).

How many rows to flag is estimated, not thresholded (:func:`estimate_issue_count`): a row whose
label was changed to another class scores its given label the way a row scores a *wrong* class,
so the share of rows whose given label scores as low as wrong classes do bounds the share of
wrong labels. The flags are the top that-many rows of the ranking, and none at all when the
probabilities are too close to chance to tell a wrong label from a hard row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._blocks import ROWS, blocks
from ..store.vectors import Vectors, as_vectors
from .knn import Metric, knn_indices
from .metrics import out_of_sample_probs
from .results import LabelFlags

__all__ = ["label_issue_scores", "estimate_issue_count", "flag_gate", "cleanlab_issues"]

#: the least skill over chance, ``(accuracy - chance) / (1 - chance)``, that flags need: above the
#: "slight agreement" band (kappa <= 0.2) of Landis & Koch (1977)
MIN_SKILL = 0.2
_NULL_SAMPLE = 1_000_000
#: fewest given labels below a low threshold for its bound to count (a thinner tail is noise)
_MIN_TAIL = 30


def _neighbour_votes(neighbours: np.ndarray, codes: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, C) share of each row's neighbours per class, with add-one smoothing (one (n, C) array)."""
    votes = np.empty((len(neighbours), n_classes))
    for rows in blocks(len(neighbours), ROWS):  # each (row, class) pair counted, a block of rows at a time
        block = neighbours[rows]
        cells = codes[block] + np.arange(len(block))[:, None] * n_classes  # the pair's place in the block's (r, C)
        votes[rows] = np.bincount(cells.ravel(), minlength=len(block) * n_classes).reshape(len(block), n_classes)
    votes += 1.0 / n_classes
    votes /= neighbours.shape[1] + 1.0
    return votes


def _fit_weight(p: np.ndarray, v: np.ndarray) -> float:
    """The weight of the probabilities ``p`` of the given labels against their neighbour shares ``v`` that
    best predicts the given labels (least mean log-loss over the grid 0.05, 0.10, ..., 0.95): a
    calibration that needs no clean labels, since most are right."""
    grid = np.linspace(0.05, 0.95, 19)  # both sources always count: votes alone tie (k + 1 values)
    loss = [-np.log(np.clip(w * p + (1.0 - w) * v, 1e-12, None)).mean() for w in grid]
    return float(grid[int(np.argmin(loss))])


def estimate_issue_count(q: np.ndarray, codes: np.ndarray, *, seed: int = 0) -> int:
    """Estimated number of wrong labels among the rows of ``q`` ((n, C) scores per class; ``codes``
    the given labels' column indices).

    A row whose label was changed to another class at random scores its given label like a row
    scores a wrong class. Let ``F0`` be the distribution of ``q[i, j]`` over ``j != codes[i]`` and
    ``t_a`` its ``a``-quantile: about a share ``a`` of the wrong labels score ``<= t_a``, and the
    right labels only add to that count, so ``#(q_given <= t_a) / a`` bounds the number of wrong
    labels from above for every ``a``. The estimate is the least bound over a grid of ``a`` in
    [1e-4, 0.99] (the null-share estimator of Storey 2002, with the wrong-class scores as the null),
    counting a level below 0.5 only when at least 30 given labels lie under its threshold (a
    thinner tail is noise, and the least of many noisy bounds would pick one that fell low by
    chance). Low levels matter with many classes, where a weak probe gives many
    right labels a middling score; levels from 0.5 let clean data estimate zero. Wrong labels
    that favour a *similar* class score higher than random ones and are undercounted.
    """
    n, n_classes = q.shape
    if n == 0 or n_classes < 2:
        return 0
    take = _null_rows(n, n_classes, seed)
    return _issue_count(q[np.arange(n), codes], q[take], codes[take])


def _null_rows(n: int, n_classes: int, seed: int) -> np.ndarray:
    """The rows whose scores of the other classes make the null of :func:`estimate_issue_count`: every row,
    or a sample (O(sample) memory however large n * C is)."""
    if n * (n_classes - 1) <= _NULL_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max(1, _NULL_SAMPLE // (n_classes - 1)),
                                                      replace=False))


def _issue_count(given: np.ndarray, null_rows: np.ndarray, null_codes: np.ndarray) -> int:
    """:func:`estimate_issue_count` from every row's score of its given label and the scores (r, C) of
    the null's rows, whose given labels are ``null_codes``."""
    n = len(given)
    given = np.sort(given)
    wrong = np.ones(null_rows.shape, dtype=bool)
    wrong[np.arange(len(null_rows)), null_codes] = False
    null = null_rows[wrong]
    levels = np.unique(np.concatenate([np.geomspace(1e-4, 0.5, 60), np.linspace(0.5, 0.99, 50)]))
    below = np.searchsorted(given, np.quantile(null, levels), side="right")
    usable = (below >= _MIN_TAIL) | (levels >= 0.5)
    return int(round(min(float(np.min(below[usable] / levels[usable])), n)))


def flag_gate(accuracy: float, codes: np.ndarray, n_classes: int) -> tuple[float, float, str | None]:
    """``(chance, needed, note)``: whether probabilities right on ``accuracy`` of the rows can
    support flags. ``chance`` is ``max(majority share, 1 / C)``. ``needed`` is chance plus the
    larger of ``MIN_SKILL * (1 - chance)`` (the probe must close a fifth of the gap from chance
    to perfect: a kappa-like skill above Landis & Koch's "slight" band) and 3 standard errors of
    an accuracy at chance over the ``n`` rows (an accuracy chance alone would give). Below it the
    probe errs on so many right labels that the rows it doubts most are mostly hard rows, not
    wrong labels (measured: on 500 Korean rows of 19 topics, a probe 8 points above chance
    flagged 4-5 times the wrong labels, at precision 0.15). ``note`` says why nothing is flagged,
    else None."""
    n = len(codes)
    chance = max(float(np.bincount(codes, minlength=n_classes).max()) / max(n, 1), 1.0 / n_classes)
    needed = chance + max(MIN_SKILL * (1.0 - chance), 3.0 * math.sqrt(chance * (1.0 - chance) / max(n, 1)))
    if accuracy >= needed:
        return chance, needed, None
    note = (f"nothing flagged: the out-of-sample probabilities are right on {accuracy:.1%} of the rows, "
            f"too close to chance ({chance:.1%}; flags need at least {needed:.1%}) for these vectors "
            f"to tell a wrong label from a hard example")
    return chance, needed, note


def label_issue_scores(
    X: np.ndarray | Vectors,
    labels: np.ndarray | list,
    *,
    probs: np.ndarray | None = None,
    classes: list | None = None,
    k: int = 10,
    metric: Metric = "cosine",
    weight: float | None = None,
    folds: int = 5,
    seed: int = 0,
    neighbours: np.ndarray | None = None,
) -> LabelFlags:
    """Score every row for how likely its given label is wrong, and flag the likeliest.

    ``q = w * p + (1 - w) * v`` per class, where ``p`` is the row's out-of-sample probability
    (``probs``, (n, C) in ``classes`` order; by default from a cross-validated linear probe on
    ``X``) and ``v`` the (smoothed) share of its ``k`` nearest neighbours in ``X`` with each label.
    ``weight`` is ``w``; ``None`` (default) fits it: the ``w`` whose ``q`` best predicts the given
    labels (least log-loss over 0.05, ..., 0.95; most labels are right, so no clean labels are
    needed). Rows are ranked by ``score = 1 - q_given``, ties by ``p_given``, except that a row
    whose given label is its likeliest class under ``q`` ranks after every row where another
    class is likelier (flagging it would suggest the label it already has). The number flagged
    is :func:`estimate_issue_count` of ``q`` (at most the rows where another class is likelier),
    and the flags are exactly the top that-many rows of the ranking (rank 1 is flagged whenever
    anything is), each with a ``suggested_label`` other than its own. Nothing is flagged when the accuracy of
    ``p`` on the given labels is too close to chance (:func:`flag_gate`), or when the estimate
    says more than half the labels are wrong (then the classes do not separate enough for the
    estimate to mean anything).

    The frame's columns, one row per input row, in input order: ``row``, ``label`` (given), ``p_given``,
    ``knn_given`` (neighbour share of the given label), ``q_given``, ``suggested_label`` (the
    class with the highest ``q``), ``q_suggested``, ``score`` (higher is more suspicious),
    ``flagged`` (bool), ``rank`` (1 = most suspicious). The decision is in the fields of the
    :class:`~clsmap.analysis.results.LabelFlags`: ``weight`` (``w`` used), ``accuracy`` (of ``p``),
    ``chance``, ``needed`` (the accuracy that flags need), ``n_estimated`` (estimated wrong labels),
    ``n_flagged`` and ``note`` (why nothing is flagged, or None).
    """
    labels = np.asarray(labels)
    X = as_vectors(X, "label_issue_scores")  # read only for what is not given (probs, neighbours)
    if len(X) != len(labels):
        raise ValueError(f"label_issue_scores: {len(X)} vectors but {len(labels)} labels")
    if weight is not None and not 0.0 <= weight <= 1.0:
        raise ValueError(f"label_issue_scores: weight must be in [0, 1] or None (fitted), got {weight}")
    if probs is None:
        probs, classes = out_of_sample_probs(X, labels, folds=folds, seed=seed)
    elif classes is None:
        raise ValueError("label_issue_scores: pass classes= (the column order of probs) with probs=")
    probs, classes, codes = _checked(probs, classes, labels, len(X))
    if neighbours is None:
        neighbours = knn_indices(X, k=k, metric=metric)
    scores = _scores(probs, codes, neighbours, weight=weight, seed=seed)
    agrees = scores.best == codes
    # a row whose given label is still its likeliest class is never ranked above (or flagged
    # before) one where another class is likelier: a flag whose suggestion is the given label
    # would contradict itself. Then by score; ties: the lower probability first
    rows = np.arange(len(X))
    order = np.lexsort((rows, scores.p_given, -(1.0 - scores.q_given), agrees))
    rank = np.empty(len(X), dtype=np.int64)
    rank[order] = np.arange(1, len(X) + 1)
    flags = _decision(probs, codes, scores, n_classes=len(classes), can_flag=int((~agrees).sum()))
    return replace(flags, frame=pd.DataFrame({
        "row": rows,
        "label": labels,
        "p_given": scores.p_given,
        "knn_given": scores.same / neighbours.shape[1],
        "q_given": scores.q_given,
        "suggested_label": np.asarray(classes, dtype=object)[scores.best],
        "q_suggested": scores.q_best,
        "score": 1.0 - scores.q_given,
        "flagged": rank <= flags.n_flagged,
        "rank": rank,
    }))


def _checked(probs: np.ndarray, classes: list, labels: np.ndarray, n: int) -> tuple[np.ndarray, list, np.ndarray]:
    """``probs`` as float64, ``classes`` as a list and the labels' codes (their columns in ``probs``),
    checked against each other."""
    probs = np.asarray(probs, dtype=np.float64)
    classes = list(classes)
    if probs.shape != (n, len(classes)):
        raise ValueError(f"label_issue_scores: probs has shape {probs.shape}, expected {(n, len(classes))}")
    index = {c: i for i, c in enumerate(classes)}
    missing = sorted({str(v) for v in labels} - {str(c) for c in classes})
    if missing:
        raise ValueError(f"label_issue_scores: labels {missing[:3]} are not among the classes of probs")
    return probs, classes, np.array([index[v] for v in labels], dtype=np.int64)


@dataclass
class _Scores:
    """Per row: ``p_given``, ``same`` (neighbours with the given label), ``q_given``, the best class under
    ``q`` and its score; ``weight`` (``w``); the null's rows (``take``) and their ``q`` (r, C)."""

    p_given: np.ndarray
    same: np.ndarray
    q_given: np.ndarray
    best: np.ndarray
    q_best: np.ndarray
    weight: float
    take: np.ndarray
    null_rows: np.ndarray


def _scores(probs: np.ndarray, codes: np.ndarray, neighbours: np.ndarray, *, weight: float | None,
            seed: int) -> _Scores:
    """``q = w * probs + (1 - w) * votes``, a block of rows at a time (at 1M rows and 40 classes an (n, C)
    array is 320 MB): what is kept of it is each row's best class and its score, and the null's rows."""
    n, n_classes = probs.shape
    rows = np.arange(n)
    p_given = probs[rows, codes]
    same = (codes[neighbours] == codes[:, None]).sum(axis=1)  # neighbours with the given label
    v_given = (same + 1.0 / n_classes) / (neighbours.shape[1] + 1.0)
    w = _fit_weight(p_given, v_given) if weight is None else float(weight)
    best, q_best = np.empty(n, dtype=np.int64), np.empty(n)
    take = _null_rows(n, n_classes, seed) if n_classes >= 2 else rows[:0]
    null_rows = np.empty((len(take), n_classes))
    for block in blocks(n, ROWS):
        q = _neighbour_votes(neighbours[block], codes, n_classes)
        q *= 1.0 - w
        q += w * probs[block]
        best[block] = q.argmax(axis=1)
        q_best[block] = q[np.arange(len(q)), best[block]]
        inside = (take >= block.start) & (take < block.stop)
        null_rows[inside] = q[take[inside] - block.start]
    return _Scores(p_given=p_given, same=same, q_given=w * p_given + (1.0 - w) * v_given, best=best, q_best=q_best,
                   weight=w, take=take, null_rows=null_rows)


def _decision(probs: np.ndarray, codes: np.ndarray, scores: _Scores, *, n_classes: int, can_flag: int) -> LabelFlags:
    """How many rows to flag (at most ``can_flag``, those where another class is likelier), and why none
    where none are: the facts of a :class:`LabelFlags` (its frame still empty)."""
    n = len(codes)
    accuracy = float((probs.argmax(axis=1) == codes).mean()) if n else 0.0
    chance, needed, note = flag_gate(accuracy, codes, n_classes)
    estimated = _issue_count(scores.q_given, scores.null_rows, codes[scores.take]) if n and n_classes >= 2 else 0
    if note is None and estimated > n / 2:
        note = (f"nothing flagged: the estimate says {estimated:,} of {n:,} labels are wrong, more than "
                f"half, so these vectors do not separate the classes enough to tell which")
    return LabelFlags(frame=pd.DataFrame(), weight=scores.weight, accuracy=accuracy, chance=chance, needed=needed,
                      n_estimated=estimated, n_flagged=0 if note is not None else min(estimated, can_flag), note=note)


def cleanlab_issues(labels: np.ndarray | list, probs: np.ndarray, classes: list) -> np.ndarray:
    """Rows that cleanlab's ``find_label_issues`` flags for the same out-of-sample ``probs``
    (extra ``clsmap[cleanlab]``; used to compare with :func:`label_issue_scores`). Boolean mask."""
    from .._errors import require

    filter_mod = require("cleanlab.filter", extra="cleanlab", purpose="the cleanlab comparison", package="cleanlab")
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index[v] for v in np.asarray(labels)])
    return np.asarray(filter_mod.find_label_issues(codes, np.asarray(probs, dtype=np.float64)), dtype=bool)
