"""What every step of :func:`~clsmap.analysis.analyze` works on: the options, and one context per analysis
(the opened store, the column, the labels as codes, the vectors, the predictions, the map, and the results
of the steps so far)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from .._validation import check_choice, check_positive_int
from ..store.reader import Store, open_store
from ..store.vectors import Vectors, as_vectors
from .knn import BACKENDS, Backend, knn_backend

__all__ = ["AnalysisOptions", "AnalysisContext", "Labels", "ProbSource", "analysis_context"]

logger = logging.getLogger(__name__)

ProbSource = Literal["probe", "model"]
R = TypeVar("R")


@dataclass(frozen=True)
class AnalysisOptions:
    """The options of :func:`~clsmap.analysis.analyze` (see there), checked when made."""

    column: str | None = None
    k: int = 10
    probs: ProbSource = "probe"
    folds: int = 5
    seed: int = 0
    silhouette_sample: int | None = 5000
    trust_sample: int | None = 2000
    layers: bool = True
    knn: Backend = "auto"

    def __post_init__(self) -> None:
        check_choice(self.probs, ("probe", "model"), param="probs", func="analyze")
        check_choice(self.knn, BACKENDS, param="knn", func="analyze")
        check_positive_int(self.k, param="k", func="analyze")


@dataclass(frozen=True)
class Labels:
    """The labels the analysis measures against (``source``: the ``label`` column, or ``pred`` when the store
    has no labels): ``codes`` index ``classes`` (sorted); ``names`` are the labels as text, one per row."""

    codes: np.ndarray
    classes: list[str]
    source: Literal["label", "pred"]
    names: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.codes)


@dataclass
class AnalysisContext:
    """One analysis in progress. ``vectors`` are read part by part by each step that needs them (or whole,
    when the k-NN search is exact); ``k`` is the neighbourhood size (at most n - 1); ``backend`` the k-NN
    search's (:func:`~clsmap.analysis.knn.knn_backend`); ``preds`` the predictions as text where they can
    be compared with the labels, else None; ``xy`` the stored map of ``column`` (None without one).
    ``results`` holds each step's result by its type (:meth:`get`, :meth:`need`); ``step_seconds`` the
    seconds of each timed step."""

    store: Store
    column: str
    options: AnalysisOptions
    labels: Labels
    vectors: Vectors
    k: int
    backend: Backend
    preds: np.ndarray | None = None
    xy: np.ndarray | None = None
    results: dict[type, Any] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def frame(self) -> pd.DataFrame:
        return self.store.frame

    @property
    def n(self) -> int:
        return len(self.vectors)

    @property
    def n_classes(self) -> int:
        return len(self.labels.classes)

    def get(self, kind: type[R]) -> R | None:
        """The result of type ``kind``, or None when no step gave one."""
        return self.results.get(kind)

    def need(self, kind: type[R]) -> R:
        """The result of type ``kind``, which an earlier step must have given."""
        if kind not in self.results:  # pragma: no cover - a step listed before the one that gives it
            raise RuntimeError(f"analyze: a step needs {kind.__name__}, which no earlier step gave")
        return self.results[kind]

    def need_map(self) -> np.ndarray:
        """The stored map (``xy``), which a step that runs only with a map can count on."""
        if self.xy is None:  # pragma: no cover - a map step listed without its condition
            raise RuntimeError(f"analyze: a step needs the map of {self.column}, which the store lacks")
        return self.xy

    def summary(self) -> dict[str, Any]:
        """What the analysis is of: rows, classes, column, ``k`` and where the labels come from."""
        return {"n_rows": self.n, "n_classes": self.n_classes, "column": self.column, "k": self.k,
                "labels_from": self.labels.source}


def analysis_context(store: Any, options: AnalysisOptions) -> AnalysisContext:
    """Open ``store`` and check that it can be analysed: every row has a label (or, without labels, a
    prediction), and there are at least 4 rows."""
    opened = open_store(store)
    column = options.column or opened.default_vector
    labels = _labels(opened)
    X = opened.vector_parts(column)  # read part by part by each measure that needs it, never held whole
    backend = knn_backend(len(X), X.dim, options.knn)
    if backend != "approximate":  # an exact search reads them whole: the other measures (and layers) keep them
        X = as_vectors(opened.vectors_of(column))
    with_preds = labels.source == "label" and opened.has_predictions
    proj = opened.projection_of(column)
    if proj is None:
        logger.info("%s has no map of %s: map measures and regions skipped (run clsmap project)", opened.path, column)
    return AnalysisContext(
        store=opened, column=column, options=options, labels=labels, vectors=X, k=min(options.k, len(X) - 1),
        backend=backend, preds=opened.frame["pred"].astype(str).to_numpy() if with_preds else None,
        xy=None if proj is None else proj[["x", "y"]].to_numpy(dtype=np.float64))


def _labels(store: Store) -> Labels:
    if store.has_labels:
        source: Literal["label", "pred"] = "label"
    elif store.has_predictions:
        source = "pred"
        logger.warning("%s has no labels: purity and separation are measured against the predictions", store.path)
    else:
        raise ClsmapError(f"{store.path}: the store has neither labels nor predictions; nothing to analyse")
    values = store.frame[source]
    if values.isna().any():
        bad = int(store.frame.index[values.isna()][0])
        raise ClsmapError(f"{store.path}: row {bad} has no {source}; every row needs one to be analysed")
    names = values.astype(str).to_numpy()
    if len(names) < 4:
        raise ClsmapError(f"{store.path}: {len(names)} rows are too few to analyse (need at least 4)")
    classes, codes = np.unique(names, return_inverse=True)
    return Labels(codes=codes.astype(np.int64), classes=[str(c) for c in classes], source=source, names=names)
