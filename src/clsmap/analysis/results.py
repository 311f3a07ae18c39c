"""The typed results of the analysis: each step's result (a tidy frame plus its facts as fields), and
:class:`Analysis`, all of them for one store.

A result's :meth:`summary` gives its entries of :attr:`Analysis.summary`; :data:`SUMMARY_KEYS` is their
order (the keys of ``analysis.json``'s ``summary``, documented in :func:`~clsmap.analysis.analyze`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._json import jsonable

__all__ = [
    "Analysis", "Classification", "KnnGraph", "Silhouette", "Probe", "MapNeighbours", "Trust", "Regions",
    "RegionCoverage", "Keywords", "LabelFlags", "SplitMetrics", "Layers", "SUMMARY_KEYS", "ordered_summary",
]

#: the order of the summary's keys (a key not listed goes after these, in the order it was given)
SUMMARY_KEYS = (
    "n_rows", "n_classes", "column", "k", "labels_from", "accuracy", "macro_f1", "knn_backend", "knn_recall",
    "knn_recall_sample", "knn_purity", "knn_purity_chance", "silhouette", "silhouette_sample",
    "linear_probe_accuracy", "map_knn_purity", "trustworthiness", "trust_sample", "knn_preservation", "n_regions",
    "regions_share_errors", "regions_share_points", "regions_share_area", "regions_overall_rate", "regions_note",
    "probs_source", "n_flagged", "flags_accuracy", "flags_chance", "flags_needed", "flags_estimated",
    "flags_weight", "flags_note", "splits", "seconds", "step_seconds",
)


def ordered_summary(entries: dict[str, Any]) -> dict[str, Any]:
    """``entries`` in the order of :data:`SUMMARY_KEYS`, then the keys it does not list."""
    known = [key for key in SUMMARY_KEYS if key in entries]
    return {key: entries[key] for key in [*known, *(key for key in entries if key not in SUMMARY_KEYS)]}


@dataclass
class Classification:
    """The model's own quality (its predictions against the labels): ``per_class`` (``label``, ``n_pred``,
    ``precision``, ``recall``, ``f1``), ``confusion`` (``true_label``, ``pred_label``, ``count``,
    ``share``), ``accuracy`` and ``macro_f1``; all None without predictions."""

    per_class: pd.DataFrame | None = None
    confusion: pd.DataFrame | None = None
    accuracy: float | None = None
    macro_f1: float | None = None

    def summary(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1}


@dataclass
class KnnGraph:
    """Each row's ``k`` nearest rows in the vector space: ``indices`` and cosine ``similarity`` ((n, k),
    nearest first), how they were searched (``backend``; ``recall``: recall@k against exact neighbours, 1.0
    for an exact search, measured on ``recall_sample`` rows), each row's share of neighbours with its label
    (``agreement``), and ``per_class`` (``label``, ``n``, ``knn_purity``, ``chance``)."""

    indices: np.ndarray = field(repr=False)
    similarity: np.ndarray = field(repr=False)
    backend: str
    recall: float
    recall_sample: int | None
    agreement: np.ndarray = field(repr=False)
    per_class: pd.DataFrame

    @property
    def purity(self) -> float:
        return float(self.agreement.mean())

    @property
    def chance(self) -> float:
        """The purity expected if positions ignored labels (sum of squared class shares)."""
        return float((self.per_class["chance"] ** 2).sum())

    def summary(self) -> dict[str, Any]:
        return {"knn_backend": self.backend, "knn_recall": self.recall, "knn_recall_sample": self.recall_sample,
                "knn_purity": self.purity, "knn_purity_chance": self.chance}


@dataclass
class Silhouette:
    """The cosine silhouette: ``per_class`` (``label``, ``n_sampled``, ``silhouette``), their mean weighted
    by the rows sampled, and ``sample``, the rows sampled in all."""

    per_class: pd.DataFrame
    mean: float
    sample: int

    def summary(self) -> dict[str, Any]:
        return {"silhouette": self.mean, "silhouette_sample": self.sample}


@dataclass
class Probe:
    """A linear probe's out-of-sample probabilities ((n, C) in ``classes`` order; None when the classes are
    too few to cross-validate) and its accuracy; ``correct``: per row, whether it got the row right."""

    probs: np.ndarray | None = field(default=None, repr=False)
    classes: list[str] | None = None
    accuracy: float | None = None
    correct: np.ndarray | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {"linear_probe_accuracy": self.accuracy}


@dataclass
class MapNeighbours:
    """The map's k-NN: each row's share of map neighbours with its label (``agreement``), ``per_class``
    (``label``, ``map_knn_purity``) and ``preservation`` (share of the vector space's neighbours kept)."""

    agreement: np.ndarray = field(repr=False)
    per_class: pd.DataFrame
    preservation: float

    @property
    def purity(self) -> float:
        return float(self.agreement.mean())

    def summary(self) -> dict[str, Any]:
        return {"map_knn_purity": self.purity, "knn_preservation": self.preservation}


@dataclass
class Trust:
    """The map's trustworthiness, measured on ``sample`` rows."""

    value: float
    sample: int

    def summary(self) -> dict[str, Any]:
        return {"trustworthiness": self.value, "trust_sample": self.sample}


@dataclass
class RegionCoverage:
    """How much the regions say (:func:`~clsmap.analysis.regions.region_coverage`): ``n_regions``,
    ``share_errors`` (flagged rows inside a region), ``share_points``, ``share_area`` (of the convex hull of
    the map), ``overall_rate`` and ``note``, one sentence for a reader."""

    n_regions: int
    share_errors: float
    share_points: float
    share_area: float
    overall_rate: float
    note: str

    def summary(self) -> dict[str, Any]:
        return {"n_regions": self.n_regions, "regions_share_errors": self.share_errors,
                "regions_share_points": self.share_points, "regions_share_area": self.share_area,
                "regions_overall_rate": self.overall_rate, "regions_note": self.note}


@dataclass
class Regions:
    """Confusion regions (:func:`~clsmap.analysis.regions.confusion_regions`): ``frame``, one row per region,
    strongest first, and how they were found: ``measure`` (``"error"`` or ``"mixed"``), ``overall_rate`` (the
    rate they are measured against), ``min_enrichment``, ``max_share``, ``alpha``, ``permutations``, the
    grid (``cells`` along the longer side, ``cell_size``; None when the map was not scanned),
    ``n_candidates`` and ``null_llr_95`` (the 95th percentile of the scan statistic under permutation;
    None without candidates). ``coverage``: what they hold of the map (set by
    :func:`~clsmap.analyze`). Read back from a store (:func:`~clsmap.analysis.read_regions`), the facts
    that the file does not keep are None."""

    frame: pd.DataFrame
    measure: Literal["error", "mixed"] | None
    overall_rate: float | None
    min_enrichment: float | None = None
    max_share: float | None = None
    alpha: float | None = None
    permutations: int | None = None
    cells: int | None = None
    cell_size: float | None = None
    n_candidates: int = 0
    null_llr_95: float | None = None
    coverage: RegionCoverage | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def summary(self) -> dict[str, Any]:
        return {} if self.coverage is None else self.coverage.summary()


@dataclass
class Keywords:
    """Keywords by class-based TF-IDF (:func:`~clsmap.analysis.keywords.class_keywords`): ``frame`` (``group``,
    ``rank``, ``term``, ``score``, ``n_texts``, ``share``; in an :class:`Analysis` also ``kind``: ``class``,
    or ``region`` with the region's id as ``group``), the texts counted (``n_texts``) and the vocabulary's
    size (``n_terms``); None where no term was found (or, read back from a store, not kept)."""

    frame: pd.DataFrame
    n_texts: int | None = None
    n_terms: int | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def of(self, kind: Literal["class", "region"]) -> pd.DataFrame:
        """The keywords of the classes or of the regions."""
        return self.frame[self.frame["kind"] == kind] if "kind" in self.frame else self.frame.iloc[:0]

    def terms(self, kind: Literal["class", "region"], *, top: int = 5) -> dict[str, list[str]]:
        """The first ``top`` terms of each class (by name) or region (by id, as text), in rank order."""
        part = self.of(kind)
        return {str(group): [str(t) for t in words.sort_values("rank")["term"].head(top)]
                for group, words in part.groupby("group", sort=False)}

    def summary(self) -> dict[str, Any]:
        return {}


@dataclass
class LabelFlags:
    """Likely-mislabeled rows (:func:`~clsmap.analysis.label_issues.label_issue_scores`): ``frame``, one row
    per input row, and the decision: ``weight`` (of the probabilities against the neighbours), ``accuracy``
    (of the probabilities), ``chance``, ``needed`` (the accuracy flags need), ``n_estimated`` (estimated
    wrong labels), ``n_flagged`` and ``note`` (why nothing is flagged, or None). ``source``: where the
    probabilities came from (``probe`` or ``model``; set by :func:`~clsmap.analyze`)."""

    frame: pd.DataFrame
    weight: float
    accuracy: float
    chance: float
    needed: float
    n_estimated: int
    n_flagged: int
    note: str | None
    source: Literal["probe", "model"] | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def summary(self) -> dict[str, Any]:
        return {"probs_source": self.source, "n_flagged": self.n_flagged, "flags_accuracy": self.accuracy,
                "flags_chance": self.chance, "flags_needed": self.needed, "flags_estimated": self.n_estimated,
                "flags_weight": self.weight, "flags_note": self.note}


@dataclass
class SplitMetrics:
    """Every measure per split (:func:`~clsmap.analysis.splits.split_metrics`): ``frame``, one row per
    split, and ``reference``, the split whose errors mark the reference regions (None without splits)."""

    frame: pd.DataFrame
    reference: str | None

    def __len__(self) -> int:
        return len(self.frame)

    def summary(self) -> dict[str, Any]:
        return {"splits": self.frame["split"].tolist()}


@dataclass
class Layers:
    """Per-layer curves (:func:`~clsmap.analysis.layers.layer_curves`) and the aligned map of each layer."""

    curves: pd.DataFrame
    maps: dict[str, np.ndarray] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {}


def _records(frame: pd.DataFrame | None, limit: int | None = None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    frame = frame if limit is None else frame.head(limit)
    return [{k: jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


@dataclass
class Analysis:
    """The analysis of one store. Every table is a tidy DataFrame with snake_case columns; a table with facts
    of its own comes in its typed result, the table as ``.frame``.

    ``summary``: dict of scalar numbers (see :func:`analyze`). ``per_class``: ``label``, ``n``,
    ``knn_purity``, ``chance``, ``map_knn_purity``, ``silhouette``, ``n_sampled`` and, with
    predictions, ``n_pred``, ``precision``, ``recall``, ``f1``. ``confusion``: ``true_label``,
    ``pred_label``, ``count``, ``share`` (None without predictions). ``label_issues``: a
    :class:`LabelFlags` whose frame has the columns of
    :func:`~clsmap.analysis.label_issues.label_issue_scores` plus ``id``, ``text``, ``pred``,
    sorted by ``rank`` (None without labels). ``regions``: :class:`Regions` (see
    :func:`~clsmap.analysis.regions.confusion_regions`; None without a map). ``layers``: see
    :func:`~clsmap.analysis.layers.layer_curves` (None unless the store has ``layer_N`` columns);
    ``layer_maps``: aligned (n, 2) maps per layer column. ``keywords``: :class:`Keywords`, the columns of
    :func:`~clsmap.analysis.keywords.class_keywords` plus ``kind`` (``class`` or ``region``; a
    region's ``group`` is its id). ``neighbours`` and ``similarity``: each row's ``k`` nearest rows
    in the vector space and their cosine similarities, (n, k), nearest first. ``splits``: every measure per
    split (:class:`SplitMetrics`, see :func:`~clsmap.analysis.splits.split_metrics`; None unless the rows
    name their splits).
    """

    store_path: Path
    column: str
    summary: dict[str, Any]
    per_class: pd.DataFrame
    confusion: pd.DataFrame | None = None
    label_issues: LabelFlags | None = None
    regions: Regions | None = None
    layers: pd.DataFrame | None = None
    layer_maps: dict[str, np.ndarray] | None = field(default=None, repr=False)
    keywords: Keywords | None = None
    neighbours: np.ndarray | None = field(default=None, repr=False)
    similarity: np.ndarray | None = field(default=None, repr=False)
    splits: SplitMetrics | None = None

    def to_dict(self, *, top_issues: int = 50) -> dict[str, Any]:
        """Every number, JSON-ready (NaN becomes null); the label-issue table is cut to ``top_issues``."""

        def frame(result: Any) -> pd.DataFrame | None:
            return None if result is None else result.frame

        return {
            "store": str(self.store_path),
            "column": self.column,
            "summary": {k: jsonable(v) for k, v in self.summary.items()},
            "per_class": _records(self.per_class),
            "confusion": _records(self.confusion),
            "label_issues": _records(frame(self.label_issues), top_issues),
            "regions": _records(frame(self.regions)),
            "layers": _records(self.layers),
            "keywords": _records(frame(self.keywords)),
            "splits": _records(frame(self.splits)),
        }
