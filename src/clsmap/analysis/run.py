"""``clsmap.analyze``: every analysis of one store, as tables, plus the regions file in the store."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from .._memory import release_freed_memory
from .._validation import check_choice, check_positive_int
from ..projection.reducers import is_constant, make_reducer
from ..store.files import write_json_atomic
from ..store.layout import ANALYSIS_FILE
from ..store.reader import open_store
from ..store.vectors import as_vectors
from ..store.writer import write_neighbours
from .keywords import class_keywords, write_keywords
from .label_issues import label_issue_scores
from .layers import aligned_layer_maps, layer_columns, layer_curves
from .knn import BACKENDS, Backend, approximate_knn_graph, knn_backend, knn_graph, knn_indices
from .metrics import (
    classification_metrics,
    confusion_frame,
    neighbour_agreement,
    out_of_sample_probs,
    shared_neighbours,
    silhouette_per_class,
    trustworthiness,
)
from .regions import confusion_regions, region_coverage, region_membership, write_regions
from .splits import split_metrics

__all__ = ["Analysis", "analyze"]

logger = logging.getLogger(__name__)

ProbSource = Literal["probe", "model"]


@dataclass
class Analysis:
    """The analysis of one store. Every table is a tidy DataFrame with snake_case columns.

    ``summary``: dict of scalar numbers (see :func:`analyze`). ``per_class``: ``label``, ``n``,
    ``knn_purity``, ``chance``, ``map_knn_purity``, ``silhouette``, ``n_sampled`` and, with
    predictions, ``n_pred``, ``precision``, ``recall``, ``f1``. ``confusion``: ``true_label``,
    ``pred_label``, ``count``, ``share`` (None without predictions). ``label_issues``: the columns of
    :func:`~clsmap.analysis.label_issues.label_issue_scores` plus ``id``, ``text``, ``pred``,
    sorted by ``rank`` (None without labels). ``regions``: see
    :func:`~clsmap.analysis.regions.confusion_regions` (None without a map). ``layers``: see
    :func:`~clsmap.analysis.layers.layer_curves` (None unless the store has ``layer_N`` columns);
    ``layer_maps``: aligned (n, 2) maps per layer column. ``keywords``: the columns of
    :func:`~clsmap.analysis.keywords.class_keywords` plus ``kind`` (``class`` or ``region``; a
    region's ``group`` is its id). ``neighbours`` and ``similarity``: each row's ``k`` nearest rows
    in the vector space and their cosine similarities, (n, k), nearest first. ``splits``: every measure per
    split (see :func:`~clsmap.analysis.splits.split_metrics`; None unless the rows name their splits).
    """

    store_path: Path
    column: str
    summary: dict[str, Any]
    per_class: pd.DataFrame
    confusion: pd.DataFrame | None = None
    label_issues: pd.DataFrame | None = None
    regions: pd.DataFrame | None = None
    layers: pd.DataFrame | None = None
    layer_maps: dict[str, np.ndarray] | None = field(default=None, repr=False)
    keywords: pd.DataFrame | None = None
    neighbours: np.ndarray | None = field(default=None, repr=False)
    similarity: np.ndarray | None = field(default=None, repr=False)
    splits: pd.DataFrame | None = None

    def to_dict(self, *, top_issues: int = 50) -> dict[str, Any]:
        """Every number, JSON-ready (NaN becomes null); the label-issue table is cut to ``top_issues``."""

        def records(frame: pd.DataFrame | None, limit: int | None = None) -> list[dict[str, Any]] | None:
            if frame is None:
                return None
            frame = frame if limit is None else frame.head(limit)
            return [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]

        return {
            "store": str(self.store_path),
            "column": self.column,
            "summary": {k: _jsonable(v) for k, v in self.summary.items()},
            "per_class": records(self.per_class),
            "confusion": records(self.confusion),
            "label_issues": records(self.label_issues, top_issues),
            "regions": records(self.regions),
            "layers": records(self.layers),
            "keywords": records(self.keywords),
            "splits": records(self.splits),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def analyze(
    store: Any,
    *,
    column: str | None = None,
    k: int = 10,
    probs: ProbSource = "probe",
    folds: int = 5,
    seed: int = 0,
    silhouette_sample: int | None = 5000,
    trust_sample: int | None = 2000,
    layers: bool = True,
    knn: Backend = "auto",
    write: bool = True,
) -> Analysis:
    """Measure a store: how well the model classifies, how well the classes separate in the
    vector space and in the map, where they are confused, and which labels look wrong.

    ``column``: the vector column (default: the store's default, the last layer). ``k``: the
    neighbourhood size of purity, trustworthiness, preservation and label issues. ``probs``: where
    the out-of-sample probabilities of the label-issue score come from: ``"probe"`` (default) a
    linear probe cross-validated on the vectors, valid for any store; ``"model"`` the model's own
    probabilities, valid only when the store's rows were held out from the model's training
    (clsmap cannot check that). ``silhouette_sample`` and ``trust_sample``: row-sample sizes of the
    two measures that need all distances of a row (``None``: every row). ``knn``: how the k-NN graph
    of the vectors is searched, once, for every measure that needs it (see
    :func:`~clsmap.analysis.knn.knn_backend`; from 100,000 rows an approximate index whose recall@k
    is measured on a sample: ``knn_recall`` in the summary). ``layers``: with
    ``layer_N`` columns, also the per-layer curves and aligned maps. ``write``: save
    ``analysis/regions.json``, ``analysis/keywords.json``, ``analysis/analysis.json`` and the k-NN
    graph (``neighbours/<column>.parquet``, which the interactive map shows) in the store.

    ``summary`` keys: ``n_rows``, ``n_classes``, ``column``, ``k``, ``labels_from`` (``label`` or
    ``pred``), ``accuracy``, ``macro_f1``, ``knn_purity``, ``knn_purity_chance``, ``silhouette``,
    ``silhouette_sample``, ``linear_probe_accuracy``, ``map_knn_purity``, ``trustworthiness``,
    ``trust_sample``, ``knn_preservation``, ``probs_source``, ``n_flagged``, ``flags_accuracy``
    (accuracy of the probabilities behind the flags), ``flags_chance``, ``flags_needed``,
    ``knn_backend``, ``knn_recall`` and ``knn_recall_sample`` (an approximate graph's recall@k against
    exact neighbours, and on how many rows; ``knn_recall`` is 1.0 for an exact search), ``flags_estimated``
    (estimated wrong labels), ``flags_weight``, ``flags_note`` (why nothing is
    flagged, or None; see :func:`~clsmap.analysis.label_issues.label_issue_scores`), ``n_regions``,
    ``regions_share_errors`` (share of misclassified rows inside a region; without predictions,
    of rows whose neighbours mostly carry other labels), ``regions_share_points``,
    ``regions_share_area`` (of the convex hull of the map), ``regions_overall_rate`` (the rate the
    regions are measured against), ``regions_note`` (one sentence; says when the errors are diffuse
    and there is no region), ``seconds`` and ``step_seconds`` (seconds per step: neighbours,
    silhouette, probe, map neighbours, trustworthiness, regions, label flags, layers).
    """
    started = time.perf_counter()
    check_choice(probs, ("probe", "model"), param="probs", func="analyze")
    check_choice(knn, BACKENDS, param="knn", func="analyze")
    check_positive_int(k, param="k", func="analyze")
    opened = open_store(store)
    column = column or opened.default_vector
    frame = opened.frame
    if opened.has_labels:
        labels_from = "label"
    elif opened.has_predictions:
        labels_from = "pred"
        logger.warning("%s has no labels: purity and separation are measured against the predictions", opened.path)
    else:
        raise ClsmapError(f"{opened.path}: the store has neither labels nor predictions; nothing to analyse")
    if frame[labels_from].isna().any():
        bad = int(frame.index[frame[labels_from].isna()][0])
        raise ClsmapError(f"{opened.path}: row {bad} has no {labels_from}; every row needs one to be analysed")
    labels = frame[labels_from].astype(str).to_numpy()
    if len(labels) < 4:
        raise ClsmapError(f"{opened.path}: {len(labels)} rows are too few to analyse (need at least 4)")
    X = opened.vector_parts(column)  # read part by part by each measure that needs it, never held whole
    k = min(k, len(X) - 1)
    summary: dict[str, Any] = {"n_rows": len(X), "n_classes": int(len(np.unique(labels))), "column": column,
                               "k": k, "labels_from": labels_from}

    # the model's own quality
    with_preds = labels_from == "label" and opened.has_predictions
    confusion = None
    per_class_cls = None
    if with_preds:
        preds = frame["pred"].astype(str).to_numpy()
        per_class_cls = classification_metrics(labels, preds)
        confusion = confusion_frame(labels, preds)
        summary["accuracy"] = float((preds == labels).mean())
        summary["macro_f1"] = float(per_class_cls.loc[per_class_cls["support"] > 0, "f1"].mean())
    else:
        summary["accuracy"] = summary["macro_f1"] = None

    # the original space
    steps: dict[str, float] = {}
    step = _Steps(steps, column)
    backend = knn_backend(len(X), X.dim, knn)
    if backend != "approximate":  # an exact search reads them whole: the other measures (and layers) keep them
        X = as_vectors(opened.vectors_of(column))
    with step("neighbours"):
        if backend == "approximate":
            neighbours, similarity, info = approximate_knn_graph(X, k=k, seed=seed)
            summary.update(knn_backend=info["backend"], knn_recall=info["recall"],
                           knn_recall_sample=info["recall_sample"])
        else:
            neighbours, similarity = knn_graph(X, k=k, backend=backend)
            summary.update(knn_backend=f"{backend} (exact)", knn_recall=1.0, knn_recall_sample=None)
    agreement = neighbour_agreement(neighbours, labels)
    per_class = (pd.DataFrame({"label": labels, "a": agreement}).groupby("label", sort=True)
                 .agg(n=("a", "size"), knn_purity=("a", "mean")).reset_index())
    per_class["chance"] = per_class["n"] / len(labels)
    summary["knn_purity"] = float(agreement.mean())
    summary["knn_purity_chance"] = float((per_class["chance"] ** 2).sum())
    can_probe = summary["n_classes"] >= 2 and int(pd.Series(labels).value_counts().min()) >= 2
    if summary["n_classes"] >= 2:
        with step("silhouette"):
            sil = silhouette_per_class(X, labels, sample=silhouette_sample, seed=seed)
        per_class = per_class.merge(sil[["label", "n_sampled", "silhouette"]], on="label", how="left")
        summary["silhouette"] = float(np.average(sil["silhouette"], weights=sil["n_sampled"]))
        summary["silhouette_sample"] = int(sil["n_sampled"].sum())
    with step("probe"):
        oos_probs, oos_classes = (out_of_sample_probs(X, labels, folds=folds, seed=seed) if can_probe
                                  else (None, None))
    if oos_probs is not None:
        # the probe's accuracy is read off its out-of-sample predictions (one fit per fold)
        summary["linear_probe_accuracy"] = float((np.asarray(oos_classes)[oos_probs.argmax(1)] == labels).mean())
    else:
        summary["linear_probe_accuracy"] = None

    # the map
    proj = opened.projection_of(column)
    regions = map_agree = xy = None
    if proj is not None:
        xy = proj[["x", "y"]].to_numpy(dtype=np.float64)
        with step("map neighbours"):
            map_neighbours = knn_indices(xy, k=k, metric="euclidean")
        map_agree = neighbour_agreement(map_neighbours, labels)
        per_class = per_class.merge(
            pd.DataFrame({"label": labels, "m": map_agree}).groupby("label").agg(map_knn_purity=("m", "mean"))
            .reset_index(), on="label", how="left")
        summary["map_knn_purity"] = float(map_agree.mean())
        if k < len(X) / 2:
            with step("trustworthiness"):
                summary["trustworthiness"] = trustworthiness(X, xy, k=k, sample=trust_sample, seed=seed)
            summary["trust_sample"] = min(len(X), trust_sample or len(X))
        summary["knn_preservation"] = shared_neighbours(neighbours, map_neighbours)
        del map_neighbours
        with step("regions"):
            regions = confusion_regions(xy, labels, neighbours=neighbours, texts=frame["text"].tolist(), seed=seed,
                                        preds=frame["pred"].astype(str).to_numpy() if with_preds else None)
        wrong = (frame["pred"].astype(str).to_numpy() != labels) if with_preds else agreement < 0.5
        coverage = region_coverage(xy, wrong, regions)
        summary["n_regions"] = coverage["n_regions"]
        summary.update({f"regions_{key}": coverage[key]
                        for key in ("share_errors", "share_points", "share_area", "overall_rate", "note")})
    else:
        logger.info("%s has no map of %s: map measures and regions skipped (run clsmap project)", opened.path, column)
    if per_class_cls is not None:
        per_class = per_class.merge(per_class_cls.drop(columns="support"), on="label", how="left")

    # keywords: per class, and per region against the rest of the map
    with step("keywords"):
        texts = frame["text"].to_numpy()
        keywords = class_keywords(texts, labels, seed=seed)
        region_words = None
        if regions is not None and len(regions):
            region_words = class_keywords(texts, region_membership(xy, regions), ignore=[0], seed=seed)
            region_words["group"] = region_words["group"].astype(int)
    parts = [part.assign(kind=kind) for kind, part in (("class", keywords), ("region", region_words))
             if part is not None and len(part)]
    keywords_table = (pd.concat(parts, ignore_index=True) if parts else keywords.assign(kind=[]))
    keywords_table = keywords_table[["kind", *keywords.columns]]

    # likely-mislabeled rows
    issues = None
    if labels_from == "label" and oos_probs is not None:
        use_probs, use_classes = oos_probs, oos_classes
        if probs == "model":
            if not opened.has_predictions or frame["prob"].isna().any():
                raise ClsmapError(f"{opened.path}: probs='model' needs the model's probabilities in every row")
            use_probs, use_classes = np.stack(frame["prob"].to_numpy()), list(opened.classes or [])
        with step("label flags"):
            issues = label_issue_scores(X, labels, probs=use_probs, classes=use_classes, neighbours=neighbours)
        issues.insert(1, "id", frame["id"].to_numpy())
        issues["text"] = frame["text"].to_numpy()
        issues["pred"] = frame["pred"].to_numpy()
        decision = dict(issues.attrs)
        issues = issues.sort_values("rank").reset_index(drop=True)  # flagged rows first: they are the top ranks
        summary["probs_source"] = probs
        summary["n_flagged"] = int(issues["flagged"].sum())
        summary.update({f"flags_{key}": decision[name] for key, name in (
            ("accuracy", "accuracy"), ("chance", "chance"), ("needed", "needed"), ("estimated", "n_estimated"),
            ("weight", "weight"), ("note", "note"))})
        if decision["note"]:
            logger.warning("%s: %s", column, decision["note"])

    by_split = None
    if frame["split"].notna().any():
        logger.info("analysing %s per split", column)
        probe_correct = None if oos_probs is None else np.asarray(oos_classes)[oos_probs.argmax(1)] == labels
        by_split = split_metrics(frame["split"].to_numpy(dtype=object), labels,
                                 preds=frame["pred"].astype(str).to_numpy() if with_preds else None,
                                 agreement=agreement, map_agreement=map_agree, probe_correct=probe_correct, X=X,
                                 xy=xy, seed=seed)
        summary["splits"] = by_split["split"].tolist()

    # layers
    curves = maps = None
    found_layers = layer_columns(opened.vector_columns)
    if layers and len(found_layers) > 1:
        with step(f"{len(found_layers)} layers"):
            vectors = {c: opened.vectors_of(c) for c in found_layers}
            curves = layer_curves(vectors, labels, k=k, folds=folds, seed=seed, silhouette_sample=min(
                silhouette_sample or len(X), 2000))
            maps = aligned_layer_maps(_layer_maps(opened, vectors, seed=seed))
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["step_seconds"] = steps
    result = Analysis(store_path=opened.path, column=column, summary=summary, per_class=per_class,
                      confusion=confusion, label_issues=issues, regions=regions, layers=curves, layer_maps=maps,
                      keywords=keywords_table, neighbours=neighbours, similarity=similarity,
                      splits=by_split)
    if write:
        if regions is not None:
            write_regions(opened.path, regions, column=column)
        write_keywords(opened.path, keywords, region_words, column=column)
        write_neighbours(opened.path, column, frame["id"].tolist(), neighbours, similarity,
                         metadata={"column": column, "k": k, "metric": "cosine", "n_rows": len(X)})
        write_json_atomic(opened.path / ANALYSIS_FILE, result.to_dict())
    return result


class _Steps:
    """``with step("name"):`` logs the step and adds its seconds to ``steps["name"]``; before and after it,
    the memory the C allocator kept of what was freed goes back to the system (at 1M rows, steps left
    hundreds of MB each in glibc's heaps)."""

    def __init__(self, steps: dict[str, float], column: str) -> None:
        self.steps, self.column = steps, column

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        logger.info("analysing %s: %s", self.column, name)
        release_freed_memory()  # and what was freed since the last step
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = round(self.steps.get(name, 0.0) + time.perf_counter() - started, 3)
            release_freed_memory()


def _layer_maps(store: Any, vectors: dict[str, np.ndarray], *, seed: int) -> dict[str, np.ndarray]:
    """The map of every layer column (``vectors``: column -> its vectors). A constant layer (every text
    the same vector) is one point, whatever map is stored for it; a layer without a stored map is
    projected here (in memory, not saved) with the method of the store's default map, or PCA if it
    has none."""
    meta = store.projection_meta(None) or {}
    method = meta.get("method", "pca")
    maps = {}
    for column, X in vectors.items():
        proj = store.projection_of(column)
        if is_constant(X):
            maps[column] = np.zeros((len(X), 2))
        elif proj is None:
            maps[column] = make_reducer(method, seed=seed).fit_transform(X)
        else:
            maps[column] = proj[["x", "y"]].to_numpy(dtype=np.float64)
    return maps
