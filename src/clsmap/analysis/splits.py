"""Every measure per split: training texts against held-out ones on one map.

A store whose rows name their split (``train``, ``test``, ``validation``, ...; see
:func:`clsmap.read_dataset`) is measured split by split: the model's accuracy and macro-F1, the
k-NN label purity of the vector space and of the map (each row's neighbours are found among all
rows, so a held-out text is judged by where it lands among the training texts), the linear probe's
out-of-sample accuracy and the silhouette (within the split's own rows).

And one measure that only splits give: **do the held-out errors lie where the training errors
are?** The confusion regions (:func:`~clsmap.analysis.regions.confusion_regions`) of the
*reference* split alone (``train`` if there is one, else the first) mark where the model errs on the
texts it learned from; for every split, ``errors_in_reference_regions`` is the share of its
misclassified rows inside those regions, beside ``points_in_reference_regions``, the share of all its
rows there (what the errors would give if they fell anywhere). Held-out errors far above that base
share sit in the same confused places as the training errors.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ..store.vectors import Vectors
from .metrics import classification_metrics, silhouette_per_class
from .regions import confusion_regions, region_membership
from .results import SplitMetrics

__all__ = ["split_metrics", "reference_split", "SPLIT_COLUMNS"]

logger = logging.getLogger(__name__)

#: the columns of :func:`split_metrics`, in order
SPLIT_COLUMNS = ["split", "n", "n_errors", "accuracy", "macro_f1", "knn_purity", "map_knn_purity",
                 "linear_probe_accuracy", "silhouette", "errors_in_reference_regions",
                 "points_in_reference_regions"]


def reference_split(names: list[str]) -> str:
    """The split whose errors mark the reference regions: ``train`` when there is one, else the first."""
    return "train" if "train" in names else names[0]


def split_metrics(
    splits: np.ndarray | list,
    labels: np.ndarray | list,
    *,
    preds: np.ndarray | list | None = None,
    agreement: np.ndarray | None = None,
    map_agreement: np.ndarray | None = None,
    probe_correct: np.ndarray | None = None,
    X: np.ndarray | Vectors | None = None,
    xy: np.ndarray | None = None,
    silhouette_sample: int | None = 2000,
    seed: int = 0,
) -> SplitMetrics:
    """One row per split (``train`` first, then in order of appearance) with the columns of
    :data:`SPLIT_COLUMNS`; a measure whose input is not given (or that a split cannot have, such as the
    silhouette of a split with one class) is NaN.

    ``splits``, ``labels`` and ``preds``: one entry per row (a row without a split is left out).
    ``agreement`` and ``map_agreement``: each row's share of same-label neighbours in the vector space
    and in the map (from :func:`~clsmap.analysis.metrics.neighbour_agreement` over all rows).
    ``probe_correct``: whether the cross-validated probe got each row right. ``X``: the vectors (for
    the silhouette, on up to ``silhouette_sample`` rows per split). ``xy``: the map (with ``preds``, for
    the regions of the reference split's errors; see the module docstring). The
    :class:`~clsmap.analysis.results.SplitMetrics` names that split (``reference``).
    """
    splits = np.asarray(pd.Series(splits, dtype=object).where(pd.notna(splits), None))
    labels = np.asarray(labels).astype(str)
    names = [str(s) for s in pd.unique(splits[pd.notna(splits)])]
    names.sort(key=lambda s: s != "train")
    wrong = None if preds is None else np.asarray(preds).astype(str) != labels
    inside = _reference_regions(splits, labels, np.asarray(preds).astype(str), xy, names, seed) \
        if wrong is not None and xy is not None and names else None
    rows = []
    for name in names:
        mask = splits == name
        row: dict[str, Any] = {"split": name, "n": int(mask.sum())}
        if wrong is not None:
            row["n_errors"] = int(wrong[mask].sum())
            row["accuracy"] = float(1 - wrong[mask].mean())
            per_class = classification_metrics(labels[mask], np.asarray(preds).astype(str)[mask])
            row["macro_f1"] = float(per_class.loc[per_class["support"] > 0, "f1"].mean())
        for key, values in (("knn_purity", agreement), ("map_knn_purity", map_agreement),
                            ("linear_probe_accuracy", probe_correct)):
            if values is not None:
                row[key] = float(np.asarray(values, dtype=float)[mask].mean())
        if X is not None and len(np.unique(labels[mask])) >= 2 and mask.sum() >= 3:
            sil = silhouette_per_class(X, labels, sample=silhouette_sample, seed=seed, within=np.flatnonzero(mask))
            row["silhouette"] = float(np.average(sil["silhouette"], weights=sil["n_sampled"]))
        if inside is not None:
            errors = wrong & mask
            row["errors_in_reference_regions"] = float(inside[errors].mean()) if errors.any() else np.nan
            row["points_in_reference_regions"] = float(inside[mask].mean())
        rows.append(row)
    return SplitMetrics(frame=pd.DataFrame(rows, columns=SPLIT_COLUMNS),
                        reference=reference_split(names) if names else None)


def _reference_regions(splits: np.ndarray, labels: np.ndarray, preds: np.ndarray, xy: np.ndarray,
                       names: list[str], seed: int) -> np.ndarray | None:
    """Per row, whether it lies in a confusion region of the reference split's own errors (None when
    that split is too small to have regions)."""
    ref = splits == reference_split(names)
    if ref.sum() < 20 or not (preds[ref] != labels[ref]).any():
        return None
    regions = confusion_regions(np.asarray(xy)[ref], labels[ref], preds=preds[ref], seed=seed)
    logger.info("%d confusion region(s) of the %s split's errors", len(regions), reference_split(names))
    if not len(regions):
        return np.zeros(len(splits), dtype=bool)
    return region_membership(np.asarray(xy), regions) > 0
