"""``clsmap.analyze``: every analysis of one store, as typed results, saved in the store."""

from __future__ import annotations

import time
from typing import Any, Protocol

import pandas as pd

from .context import AnalysisContext, AnalysisOptions, ProbSource, analysis_context
from .files import write_analysis
from .knn import Backend
from .results import (
    Analysis,
    Classification,
    Keywords,
    KnnGraph,
    LabelFlags,
    Layers,
    MapNeighbours,
    Regions,
    Silhouette,
    SplitMetrics,
    ordered_summary,
)
from .steps import run_steps

__all__ = ["analyze", "assemble"]


class _PerClass(Protocol):
    """A result with a per-class table (``label`` and its measures), or None."""

    @property
    def per_class(self) -> pd.DataFrame | None: ...


#: the results whose per-class columns join ``Analysis.per_class``, in column order (the k-NN graph's first)
_PER_CLASS: tuple[type[_PerClass], ...] = (Silhouette, MapNeighbours, Classification)


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

    The analysis is a sequence of steps over one context (:data:`~clsmap.analysis.steps.STEPS`), each giving
    a typed result (:mod:`clsmap.analysis.results`); ``write`` saves the result with
    :func:`~clsmap.analysis.files.write_analysis`.

    ``summary`` keys (their order: :data:`~clsmap.analysis.results.SUMMARY_KEYS`): ``n_rows``,
    ``n_classes``, ``column``, ``k``, ``labels_from`` (``label`` or ``pred``), ``accuracy``, ``macro_f1``,
    ``knn_purity``, ``knn_purity_chance``, ``silhouette``,
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
    silhouette, probe, map neighbours, trustworthiness, regions, keywords, label flags, N layers).
    """
    started = time.perf_counter()
    options = AnalysisOptions(column=column, k=k, probs=probs, folds=folds, seed=seed,
                              silhouette_sample=silhouette_sample, trust_sample=trust_sample, layers=layers, knn=knn)
    ctx = run_steps(analysis_context(store, options))
    result = assemble(ctx, seconds=round(time.perf_counter() - started, 2))
    if write:
        write_analysis(ctx.store, result)
    return result


def assemble(ctx: AnalysisContext, *, seconds: float) -> Analysis:
    """The :class:`Analysis` of the steps' results in ``ctx``: its summary (the context's facts, then each
    result's, in the order of :data:`~clsmap.analysis.results.SUMMARY_KEYS`) and its tables."""
    summary = ctx.summary()
    for result in ctx.results.values():
        summary.update(result.summary())
    summary.update(seconds=seconds, step_seconds=ctx.step_seconds)
    graph = ctx.need(KnnGraph)
    per_class = graph.per_class
    for kind in _PER_CLASS:
        found = ctx.get(kind)
        if found is not None and found.per_class is not None:
            per_class = per_class.merge(found.per_class, on="label", how="left")
    layers = ctx.get(Layers)
    return Analysis(
        store_path=ctx.store.path, column=ctx.column, summary=ordered_summary(summary), per_class=per_class,
        confusion=ctx.need(Classification).confusion, label_issues=ctx.get(LabelFlags), regions=ctx.get(Regions),
        layers=None if layers is None else layers.curves, layer_maps=None if layers is None else layers.maps,
        keywords=ctx.get(Keywords), neighbours=graph.indices, similarity=graph.similarity,
        splits=ctx.get(SplitMetrics))
