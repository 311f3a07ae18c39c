"""The steps of :func:`~clsmap.analysis.analyze`, in order: :data:`STEPS`.

Each step is one function ``step(context) -> result`` (a typed result of :mod:`clsmap.analysis.results`,
whose ``summary()`` gives its entries of the analysis's summary), run when its condition holds, timed under
its name (``summary["step_seconds"]``), its result kept in the context (by its type) for the steps after it.
A new step is one function here and one line in :data:`STEPS`.

=================  ==========================  ===================================================
step               function                    result
=================  ==========================  ===================================================
classification     :func:`classification`      :class:`~.results.Classification` (not timed)
neighbours         :func:`neighbours`          :class:`~.results.KnnGraph`
silhouette         :func:`silhouette`          :class:`~.results.Silhouette` (two classes or more)
probe              :func:`probe`               :class:`~.results.Probe`
map neighbours     :func:`map_neighbours`      :class:`~.results.MapNeighbours` (with a map)
trustworthiness    :func:`trust`               :class:`~.results.Trust` (with a map, k < n / 2)
regions            :func:`regions`             :class:`~.results.Regions` (with a map)
keywords           :func:`keywords`            :class:`~.results.Keywords`
label flags        :func:`label_flags`         :class:`~.results.LabelFlags` (labels and a probe)
splits             :func:`splits`              :class:`~.results.SplitMetrics` (rows with splits; not timed)
N layers           :func:`layers`              :class:`~.results.Layers` (``layer_N`` columns)
=================  ==========================  ===================================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from .._memory import release_freed_memory
from ..projection.reducers import is_constant, make_reducer
from .context import AnalysisContext
from .faithfulness import shared_neighbours, trustworthiness
from .keywords import class_keywords
from .knn import approximate_knn_graph, knn_graph, knn_indices
from .label_issues import label_issue_scores
from .layers import aligned_layer_maps, layer_columns, layer_curves
from .metrics import (
    classification_metrics,
    confusion_frame,
    neighbour_agreement,
    out_of_sample_probs,
    silhouette_per_class,
)
from .regions import confusion_regions, region_coverage, region_membership
from .results import (
    Classification,
    Keywords,
    KnnGraph,
    LabelFlags,
    Layers,
    MapNeighbours,
    Probe,
    Regions,
    Silhouette,
    SplitMetrics,
    Trust,
)
from .splits import split_metrics

__all__ = ["Step", "STEPS", "run_steps"]

logger = logging.getLogger(__name__)


def classification(ctx: AnalysisContext) -> Classification:
    """The model's own quality: its predictions against the labels (nothing without predictions)."""
    if ctx.preds is None:
        return Classification()
    labels = ctx.labels.names
    per_class = classification_metrics(labels, ctx.preds)
    return Classification(per_class=per_class.drop(columns="support"), confusion=confusion_frame(labels, ctx.preds),
                          accuracy=float((ctx.preds == labels).mean()),
                          macro_f1=float(per_class.loc[per_class["support"] > 0, "f1"].mean()))


def neighbours(ctx: AnalysisContext) -> KnnGraph:
    """The k-NN graph of the vectors, searched once for every measure that needs it, and the purity."""
    k, seed = ctx.k, ctx.options.seed
    if ctx.backend == "approximate":
        indices, similarity, info = approximate_knn_graph(ctx.vectors, k=k, seed=seed)
        backend, recall, sample = info["backend"], info["recall"], info["recall_sample"]
    else:
        indices, similarity = knn_graph(ctx.vectors, k=k, backend=ctx.backend)
        backend, recall, sample = f"{ctx.backend} (exact)", 1.0, None
    labels = ctx.labels.names
    agreement = neighbour_agreement(indices, labels)
    per_class = (pd.DataFrame({"label": labels, "a": agreement}).groupby("label", sort=True)
                 .agg(n=("a", "size"), knn_purity=("a", "mean")).reset_index())
    per_class["chance"] = per_class["n"] / len(labels)
    return KnnGraph(indices=indices, similarity=similarity, backend=backend, recall=recall, recall_sample=sample,
                    agreement=agreement, per_class=per_class)


def silhouette(ctx: AnalysisContext) -> Silhouette:
    sil = silhouette_per_class(ctx.vectors, ctx.labels.names, sample=ctx.options.silhouette_sample,
                               seed=ctx.options.seed)
    return Silhouette(per_class=sil[["label", "n_sampled", "silhouette"]],
                      mean=float(np.average(sil["silhouette"], weights=sil["n_sampled"])),
                      sample=int(sil["n_sampled"].sum()))


def probe(ctx: AnalysisContext) -> Probe:
    """A linear probe cross-validated on the vectors: its out-of-sample probabilities and accuracy (read off
    its out-of-sample predictions, one fit per fold); nothing when a class has fewer than two rows."""
    if ctx.n_classes < 2 or np.bincount(ctx.labels.codes).min() < 2:
        return Probe()
    labels = ctx.labels.names
    probs, classes = out_of_sample_probs(ctx.vectors, labels, folds=ctx.options.folds, seed=ctx.options.seed)
    correct = np.asarray(classes)[probs.argmax(1)] == labels
    return Probe(probs=probs, classes=list(classes), accuracy=float(correct.mean()), correct=correct)


def map_neighbours(ctx: AnalysisContext) -> MapNeighbours:
    """The map's k-NN: its purity, and how many of the vector space's neighbours it keeps."""
    found = knn_indices(ctx.need_map(), k=ctx.k, metric="euclidean")
    labels = ctx.labels.names
    agreement = neighbour_agreement(found, labels)
    per_class = (pd.DataFrame({"label": labels, "m": agreement}).groupby("label")
                 .agg(map_knn_purity=("m", "mean")).reset_index())
    return MapNeighbours(agreement=agreement, per_class=per_class,
                         preservation=shared_neighbours(ctx.need(KnnGraph).indices, found))


def trust(ctx: AnalysisContext) -> Trust:
    sample = ctx.options.trust_sample
    xy = ctx.need_map()
    return Trust(value=trustworthiness(ctx.vectors, xy, k=ctx.k, sample=sample, seed=ctx.options.seed),
                 sample=min(ctx.n, sample or ctx.n))


def regions(ctx: AnalysisContext) -> Regions:
    """The confusion regions of the map, and how much of the errors (or mixed neighbourhoods) they hold."""
    graph, xy = ctx.need(KnnGraph), ctx.need_map()
    labels = ctx.labels.names
    found = confusion_regions(xy, labels, neighbours=graph.indices, texts=ctx.frame["text"].tolist(),
                              seed=ctx.options.seed, preds=ctx.preds)
    wrong = (ctx.preds != labels) if ctx.preds is not None else graph.agreement < 0.5
    return replace(found, coverage=region_coverage(xy, wrong, found))


def keywords(ctx: AnalysisContext) -> Keywords:
    """The keywords of each class, and of each region against the rest of the map."""
    texts = ctx.frame["text"].to_numpy()
    classes = class_keywords(texts, ctx.labels.names, seed=ctx.options.seed)
    found = ctx.get(Regions)
    in_regions = None
    if found is not None and len(found):
        in_regions = class_keywords(texts, region_membership(ctx.need_map(), found), ignore=[0],
                                    seed=ctx.options.seed).frame
        in_regions["group"] = in_regions["group"].astype(int)
    parts = [part.assign(kind=kind) for kind, part in (("class", classes.frame), ("region", in_regions))
             if part is not None and len(part)]
    table = pd.concat(parts, ignore_index=True) if parts else classes.frame.assign(kind=[])
    return Keywords(frame=table[["kind", *classes.frame.columns]], n_texts=classes.n_texts, n_terms=classes.n_terms)


def label_flags(ctx: AnalysisContext) -> LabelFlags:
    """Likely-mislabeled rows, scored with the probe's probabilities (or the model's, ``probs="model"``);
    flagged rows first."""
    found = ctx.need(Probe)
    probs, classes, frame = found.probs, found.classes, ctx.frame
    if ctx.options.probs == "model":
        if not ctx.store.has_predictions or frame["prob"].isna().any():
            raise ClsmapError(f"{ctx.store.path}: probs='model' needs the model's probabilities in every row")
        probs, classes = np.stack(frame["prob"].to_numpy()), list(ctx.store.classes or [])
    flags = label_issue_scores(ctx.vectors, ctx.labels.names, probs=probs, classes=classes,
                               neighbours=ctx.need(KnnGraph).indices)
    table = flags.frame
    table.insert(1, "id", frame["id"].to_numpy())
    table["text"] = frame["text"].to_numpy()
    table["pred"] = frame["pred"].to_numpy()
    if flags.note:
        logger.warning("%s: %s", ctx.column, flags.note)
    return replace(flags, frame=table.sort_values("rank").reset_index(drop=True), source=ctx.options.probs)


def splits(ctx: AnalysisContext) -> SplitMetrics:
    logger.info("analysing %s per split", ctx.column)
    in_map = ctx.get(MapNeighbours)
    return split_metrics(ctx.frame["split"].to_numpy(dtype=object), ctx.labels.names, preds=ctx.preds,
                         agreement=ctx.need(KnnGraph).agreement,
                         map_agreement=None if in_map is None else in_map.agreement,
                         probe_correct=ctx.need(Probe).correct, X=ctx.vectors, xy=ctx.xy, seed=ctx.options.seed)


def layers(ctx: AnalysisContext) -> Layers:
    """The per-layer curves and the aligned map of each ``layer_N`` column."""
    vectors = {c: ctx.store.vectors_of(c) for c in layer_columns(ctx.store.vector_columns)}
    options = ctx.options
    curves = layer_curves(vectors, ctx.labels.names, k=ctx.k, folds=options.folds, seed=options.seed,
                          silhouette_sample=min(options.silhouette_sample or ctx.n, 2000))
    return Layers(curves=curves, maps=aligned_layer_maps(_layer_maps(ctx.store, vectors, seed=options.seed)))


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


def _n_layers(ctx: AnalysisContext) -> int:
    return len(layer_columns(ctx.store.vector_columns))


def _always(ctx: AnalysisContext) -> bool:
    return True


def _has_map(ctx: AnalysisContext) -> bool:
    return ctx.xy is not None


@dataclass(frozen=True)
class Step:
    """One step of :func:`~clsmap.analysis.analyze`: ``run`` when ``when`` holds; timed as ``name`` (or as
    ``timer`` names it, from the context) unless ``timed`` is False."""

    name: str
    run: Callable[[AnalysisContext], Any]
    when: Callable[[AnalysisContext], bool] = _always
    timed: bool = True
    timer: Callable[[AnalysisContext], str] | None = None


#: the steps of :func:`~clsmap.analysis.analyze`, in order
STEPS = (
    Step("classification", classification, timed=False),
    Step("neighbours", neighbours),
    Step("silhouette", silhouette, when=lambda ctx: ctx.n_classes >= 2),
    Step("probe", probe),
    Step("map neighbours", map_neighbours, when=_has_map),
    Step("trustworthiness", trust, when=lambda ctx: _has_map(ctx) and ctx.k < ctx.n / 2),
    Step("regions", regions, when=_has_map),
    Step("keywords", keywords),
    Step("label flags", label_flags,
         when=lambda ctx: ctx.labels.source == "label" and ctx.need(Probe).probs is not None),
    Step("splits", splits, when=lambda ctx: bool(ctx.frame["split"].notna().any()), timed=False),
    Step("layers", layers, when=lambda ctx: ctx.options.layers and _n_layers(ctx) > 1,
         timer=lambda ctx: f"{_n_layers(ctx)} layers"),
)


def run_steps(ctx: AnalysisContext, steps: tuple[Step, ...] = STEPS) -> AnalysisContext:
    """Run ``steps`` in order over ``ctx``, each result kept in ``ctx.results`` by its type."""
    timer = _Steps(ctx.step_seconds, ctx.column)
    for step in steps:
        if not step.when(ctx):
            continue
        if step.timed:
            with timer(step.timer(ctx) if step.timer is not None else step.name):
                result = step.run(ctx)
        else:
            result = step.run(ctx)
        ctx.results[type(result)] = result
    return ctx


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
