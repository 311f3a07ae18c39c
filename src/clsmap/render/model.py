"""The one render model: class order, colours, titles and point sizes, decided once for every output.

The static figures (PNG/SVG), the interactive map and the report all take these from
:func:`render_model`, so a class has the same colour everywhere, for any number of classes, and a
title says the same thing in every output. So does a warning: when the model predicts one class (or does
no better than the majority class), :attr:`RenderModel.warnings` holds the sentences that the map and the
report show in a banner, and the title's facts (hence the figures' titles) say "predicts one class".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..analysis.files import read_keywords
from ..analysis.results import Keywords
from ..store.reader import Store
from ..training.checks import prediction_warnings, single_class
from .palette import categorical, viridis

__all__ = ["RenderModel", "Title", "PointSizes", "render_model", "shared_models", "class_order", "point_sizes",
           "store_warnings", "COLOURS", "ERROR_SHADE", "CROSSES_UP_TO"]

#: colours of everything that is not a class, per theme where the background matters
COLOURS = {
    "correct": "#2a9d8f",
    "wrong": "#e4572e",
    "figure_correct": "#a6c7e6",
    "figure_wrong": "#d91a1a",
    "unknown_light": "#c4c8cc",
    "unknown_dark": "#5a5f66",
    "ring_light": "#111111",
    "ring_dark": "#ffffff",
    "points_light": "#1f77b4",
    "points_dark": "#8ab4f8",
    "region": "#e4572e",
    "neighbour": "#d81b9c",
    # a text between two models (clsmap compare)
    "fixed": "#1a9850",
    "broken": "#d73027",
    "still wrong": "#7b3294",
    "still right": "#b8c4cc",
    # dataset cartography's groups (the training dynamics player, its figure), and the held-out rows
    "easy-to-learn": "#2a9d8f",
    "ambiguous": "#f4a261",
    "hard-to-learn": "#c1121f",
    "no group": "#9aa0a6",
    "held_out": "#7b2cbf",
}
#: the confidence ramp of the interactive map
CONFIDENCE_BINS = 64


@dataclass(frozen=True)
class PointSizes:
    """How ``n`` points are drawn: ``map_px`` the diameter on the interactive map (CSS pixels) and
    ``map_opacity`` their opacity there, ``figure_area`` the marker area of a full-size figure panel and
    ``grid_area`` that of a small panel (matplotlib's ``s``, points squared), ``figure_alpha`` and
    ``grid_alpha`` their opacity.
    ``errors`` says how a figure marks the misclassified points: ``"crosses"`` (a few thousand or
    fewer: a black cross of area ``error_area`` over each) or ``"shade"`` (more: each drawn in a
    dark shade of its colour, :data:`ERROR_SHADE`, among the others, so that the classes stay
    visible and the errors show as darker ground where they are dense)."""

    map_px: float
    map_opacity: float
    figure_area: float
    grid_area: float
    figure_alpha: float
    grid_alpha: float
    error_area: float
    errors: Literal["crosses", "shade"]


#: above this many points, a figure marks the misclassified ones by shade instead of crosses
CROSSES_UP_TO = 5_000
#: a misclassified point's colour is its class colour times this (towards black)
ERROR_SHADE = 0.35


def point_sizes(n: int) -> PointSizes:
    """Points shrink and fade as N grows: on the map about 7 px for a few hundred, 3.5 for 10k, 1.5
    for 1M, at opacity 0.9 up to 200k and 0.75 above; in a figure panel an area of 24 pt² at opacity 0.75
    for 600, 1.2 pt² at 0.67 for 25k, 1 pt² at 0.15 for 1M (the opacity falls with the expected overlap
    of the points)."""
    n = max(int(n), 1)
    figure_area = float(np.clip(30000 / n, 1.0, 24.0))
    grid_area = float(np.clip(3000 / n, 0.5, 10.0))
    return PointSizes(
        map_px=float(min(8.0, max(1.0, 35.0 / n ** 0.23))),
        map_opacity=0.75 if n > 200_000 else 0.9,
        figure_area=figure_area,
        grid_area=grid_area,
        figure_alpha=_alpha(n * figure_area / 60_000),
        grid_alpha=_alpha(n * grid_area / 6_000),
        error_area=figure_area * 1.6,
        errors="crosses" if n <= CROSSES_UP_TO else "shade",
    )


def _alpha(overlap: float) -> float:
    """Opacity for points that overlap ``overlap`` times on average where the map is dense."""
    return float(np.clip(0.85 / (1.0 + overlap) ** 0.6, 0.08, 0.8))


@dataclass(frozen=True)
class Title:
    """What a map shows of its store: ``model`` (the folder's name or the Hub id; ``source`` is the whole
    name or path), ``what`` ("layer 6" or "module encoder.layer.5"), ``pooling``, ``reducer``, ``n``,
    ``accuracy`` and ``single_class``: the one class the model predicts for every row, when that says it
    has not learned (:func:`clsmap.training.checks.single_class`)."""

    model: str
    source: str
    what: str | None
    pooling: str | None
    reducer: str | None
    n: int
    accuracy: float | None
    column: str
    store: str
    single_class: str | None = None

    @property
    def facts(self) -> list[str]:
        """The parts after the model's name, as every output writes them."""
        parts = [self.what, f"{self.pooling} pooling" if self.pooling else None, self.reducer, f"N={self.n:,}"]
        if self.accuracy is not None:
            parts.append(f"accuracy {self.accuracy:.1%}")
        if self.single_class is not None:
            parts.append(f"⚠ predicts one class ({self.single_class})")
        return [p for p in parts if p]

    @property
    def text(self) -> str:
        return " · ".join([self.model, *self.facts])


def _what(meta: dict[str, Any], column: str, default: str) -> str | None:
    extraction = meta.get("extraction") or {}
    if extraction.get("module"):
        return f"module {extraction['module']}"
    if column.startswith("layer_") and column[6:].isdigit():
        return f"layer {int(column[6:])}"
    layer = extraction.get("layer")
    if column == default and layer not in (None, "all"):
        return f"layer {layer}"
    return f"column {column}"


def _model_name(name: str) -> str:
    """A local folder by its own name; a Hub id (``org/model``) whole."""
    hub_id = not name.startswith((".", "/", "~")) and name.count("/") <= 1 and "\\" not in name
    return name if hub_id and not Path(name).is_absolute() else (Path(name).name or name)


def title_of(store: Store, column: str | None = None) -> Title:
    column = column or store.default_vector
    meta = store.meta
    name = str((meta.get("model") or {}).get("name_or_path") or "clsmap")
    projection = store.projection_meta(column) or {}
    pooling = (meta.get("extraction") or {}).get("pooling")
    return Title(
        model=_model_name(name), source=name, what=_what(meta, column, store.default_vector),
        pooling=None if pooling is None else str(pooling),
        reducer=None if projection.get("method") is None else str(projection["method"]),
        n=len(store), accuracy=store.accuracy, column=column, store=store.path.name,
        single_class=single_class(*_predictions(store)) if store.has_predictions else None,
    )


def _predictions(store: Store) -> tuple[pd.Series, pd.Series | None]:
    """The predictions, and the labels where they can be compared with them (those that are classes of
    the model: where ``correct`` is known)."""
    frame = store.frame
    labels = frame["label"].where(frame["correct"].notna())
    return frame["pred"], (labels if labels.notna().any() else None)


def store_warnings(store: Store) -> list[str]:
    """What the map and the report warn about ``store``'s model, one sentence each (none when it has no
    predictions): it predicts one class, or does no better than the labels' majority class."""
    if not store.has_predictions:
        return []
    return prediction_warnings(*_predictions(store), what="rows of this map")


def _natural(name: str) -> tuple[Any, ...]:
    return (0, int(name), name) if name.lstrip("-").isdigit() else (1, 0, name)


def class_order(classes: list[str] | None, labels: pd.Series, preds: pd.Series) -> list[str]:
    """The model's classes in its own order, then the labels and predictions that are not among them
    (numbers in numeric order, then names): one index per class for labels and predictions alike."""
    known = [str(c) for c in classes or []]
    present = set(map(str, pd.unique(pd.concat([labels.dropna(), preds.dropna()]))))
    return known + sorted(present - set(known), key=_natural)


@dataclass
class RenderModel:
    """The decisions every output of one store's map shares.

    ``classes`` orders the classes (labels and predictions index the same list) and ``colours`` gives
    each its colour; ``present`` are the classes that occur. ``pairs`` are the confusion pairs
    (true → predicted) of the misclassified rows, most frequent first, with their own colours.
    ``warnings`` (:func:`store_warnings`) are shown in a banner by the map and the report.
    ``keywords``: the first terms of each class (``"classes"``, by name) and confusion region
    (``"regions"``, by id) from the store's ``analysis/keywords.json``, when it describes this column:
    the map's legend tooltips and region captions and the report show them. ``neighbours``: each
    point's nearest rows in the vector space and their cosine similarities, ((n, k) int32, (n, k)
    float32, nearest first) from the store's k-NN graph, when asked for and stored (``clsmap analyze``).
    ``splits`` are the store's splits (``train`` first: the reference, drawn as disks; the others, the
    held-out ones, as rings, in the figures and on the map); empty without splits.
    """

    classes: list[str]
    colours: list[str]
    present: list[str]
    title: Title
    sizes: PointSizes
    pairs: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keywords: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    neighbours: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    splits: list[str] = field(default_factory=list)

    def held_out(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row, whether it is drawn as a ring: it belongs to a split other than the first."""
        if len(self.splits) < 2:
            return np.zeros(len(frame), dtype=bool)
        return (frame["split"].notna() & (frame["split"] != self.splits[0])).to_numpy(dtype=bool)

    def split_codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Split index of each row (-1 for a row without one)."""
        return np.asarray(pd.Categorical(frame["split"].astype("string"), categories=self.splits).codes,
                          dtype=np.int32)

    def colour_of(self, name: str) -> str:
        return self.colours[self.classes.index(name)]

    def codes(self, values: pd.Series) -> np.ndarray:
        """Class index of each value (-1 for a missing one)."""
        return np.asarray(pd.Categorical(values.astype("string"), categories=self.classes).codes, dtype=np.int32)

    def page_colours(self) -> dict[str, Any]:
        """Every colour the interactive map draws with, for both themes."""
        return {**COLOURS, "classes": self.colours, "confidence": viridis(CONFIDENCE_BINS)}


def render_model(store: Store, column: str | None = None, *, neighbours: bool = False,
                 keywords: Keywords | None = None) -> RenderModel:
    """Class order, colours, title, point sizes, confusion pairs and keywords for ``store``'s map of
    ``column``; with ``neighbours``, also the stored k-NN graph of ``column`` (None if there is none).
    ``keywords``: those of an analysis of ``column`` (:attr:`clsmap.Analysis.keywords`); by default those
    saved in the store (:func:`~clsmap.analysis.read_keywords`)."""
    frame = store.frame
    column = column or store.default_vector
    classes = class_order(store.classes, frame["label"], frame["pred"])
    present = set(map(str, pd.unique(pd.concat([frame["label"].dropna(), frame["pred"].dropna()]))))
    model = RenderModel(classes=classes, colours=categorical(len(classes)),
                        present=[c for c in classes if c in present], title=title_of(store, column),
                        sizes=point_sizes(len(frame)), warnings=store_warnings(store), splits=store.splits)
    words = keywords if keywords is not None else read_keywords(store, column)
    model.keywords = {"classes": {} if words is None else words.terms("class"),
                      "regions": {} if words is None else words.terms("region")}
    if neighbours:
        model.neighbours = store.neighbours_of(column)
    wrong = (frame["correct"] == False).to_numpy(dtype=bool)  # noqa: E712  (nullable column)
    if wrong.any():
        label, pred = model.codes(frame["label"])[wrong], model.codes(frame["pred"])[wrong]
        pairs, counts = np.unique(np.stack([label, pred], axis=1), axis=0, return_counts=True)
        order = np.lexsort((pairs[:, 1], pairs[:, 0], -counts))
        colours = categorical(len(order))
        model.pairs = [{"label": int(pairs[i, 0]), "pred": int(pairs[i, 1]), "count": int(counts[i]),
                        "name": f"{classes[pairs[i, 0]]} → {classes[pairs[i, 1]]}", "colour": colours[k]}
                       for k, i in enumerate(order)]
    return model


def shared_models(a: RenderModel, b: RenderModel) -> tuple[RenderModel, RenderModel]:
    """Two maps of the same texts drawn side by side (``clsmap compare``): both models get one class
    order (A's, then B's classes that A lacks) and one set of colours, so that a class has the same
    colour in both maps (A's colours stay as they are on A's own map)."""
    classes = a.classes + [c for c in b.classes if c not in a.classes]
    colours = categorical(len(classes))
    present = [c for c in classes if c in set(a.present) | set(b.present)]

    def moved(model: RenderModel) -> RenderModel:
        index = [classes.index(c) for c in model.classes]  # the confusion pairs index the classes
        pairs = [{**pair, "label": index[pair["label"]], "pred": index[pair["pred"]]} for pair in model.pairs]
        return replace(model, classes=classes, colours=colours, present=present, pairs=pairs)

    return moved(a), moved(b)
