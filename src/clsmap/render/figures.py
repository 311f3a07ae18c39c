"""Static figures: a store's 2-D map as PNG and SVG, maps side by side, per-layer curves and grids.

Map panels: coloured by true label, by prediction, and by correctness (misclassified points
crossed in every panel, or past a few thousand points drawn in a dark shade of their colour, so
that the classes stay visible). Legends carry counts; the title names the model, layer and
accuracy. Colours, class order, titles, point sizes and opacity come from
:mod:`clsmap.render.model`, as on the interactive map and in the report; many points are drawn by
:mod:`clsmap.render.points`. Class names and texts in Korean, Chinese or Japanese
are drawn with a CJK font (:mod:`clsmap.render.fonts`), never as empty boxes.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from .._validation import check_choice
from ..analysis.files import read_regions
from ..analysis.results import Regions
from ..store.files import write_atomic
from ..store.reader import Store, open_store
from .fonts import font_families
from .model import COLOURS, ERROR_SHADE, PointSizes, RenderModel, render_model
from .palette import hex_to_rgb, rgb_array
from .layer_grid import layer_grid_figure
from .points import RASTER_ABOVE, draw_points

__all__ = ["plot", "plot_compare", "map_figure", "plot_layer_curves", "layer_grid_figure", "confusion_figure"]

logger = logging.getLogger(__name__)

Panel = Literal["label", "pred", "correct"]
PANELS = ("label", "pred", "correct")
FORMATS = ("png", "svg", "pdf")
#: the most classes a figure's legend lists
LEGEND_MAX = 40


def _scatter_by(ax: Any, xy: np.ndarray, rgb: np.ndarray, keep: np.ndarray, sizes: PointSizes,
                hollow: np.ndarray | None = None) -> None:
    """The rows ``keep`` in the colours ``rgb`` (one per row), all in one call, in a fixed random
    order, so that no class is always drawn on top; the rows ``hollow`` (those of the held-out splits)
    as rings, over the others."""
    hollow = np.zeros(len(xy), dtype=bool) if hollow is None else hollow
    for rows, ring in ((keep & ~hollow, False), (keep & hollow, True)):
        order = np.flatnonzero(rows)
        if len(order) or not ring:
            order = order[np.random.default_rng(0).permutation(len(order))]
            draw_points(ax, xy[order], rgb[order], area=sizes.figure_area, alpha=sizes.figure_alpha, hollow=ring)


def _cross(ax: Any, xy: np.ndarray, wrong: np.ndarray, sizes: PointSizes, colour: str) -> None:
    if wrong.any():
        ax.scatter(xy[wrong, 0], xy[wrong, 1], s=sizes.error_area, marker="x", color=colour,
                   linewidths=0.7, alpha=0.85, rasterized=int(wrong.sum()) > RASTER_ABOVE)


def _available_panels(store: Store) -> list[Panel]:
    frame = store.frame
    has_labels, has_preds = store.has_labels, store.has_predictions
    panels: tuple[tuple[Panel, bool], ...] = (("label", has_labels), ("pred", has_preds),
                                               ("correct", has_labels and frame["correct"].notna().any()))
    return [p for p, ok in panels if ok]


def map_figure(store: str | Path | Store, *, column: str | None = None, panels: tuple[Panel, ...] | None = None,
               title: str | None = None, regions: bool | None | Regions = None, split: str | None = None,
               model: RenderModel | None = None) -> Any:
    """The map of ``store`` as a matplotlib ``Figure`` (what :func:`plot` saves). ``regions`` as for
    :func:`plot`, or the regions themselves (:attr:`clsmap.Analysis.regions`); ``split`` as for
    :func:`plot`; ``model``: the render model of ``store``'s ``column`` when the caller has it."""
    from matplotlib.figure import Figure

    opened = open_store(store)
    column = column or opened.default_vector
    proj = opened.projection_of(column)
    if proj is None:
        raise ClsmapError(f"{opened.path}: no 2-D map of {column} yet; run clsmap project first")
    frame = opened.frame
    xy = proj[["x", "y"]].to_numpy(dtype=np.float32)
    available = _available_panels(opened)
    if panels is None:
        panels = tuple(available) or ("label",)
    for panel in panels:
        check_choice(panel, PANELS, param="panels", func="plot")
        if panel not in available and not (panel == "label" and not available):
            raise ClsmapError(f"--panels {panel}: the store has no {'labels' if panel != 'pred' else 'predictions'}")
    model = model or render_model(opened, column)
    title = title or model.title.text
    if split is not None:  # one split's rows, in the colours and markers of the whole map
        keep = (frame["split"] == split).to_numpy(dtype=bool)
        if not keep.any():
            raise ClsmapError(f"--split {split!r}: {opened.path} has no such split; its splits are "
                              f"{', '.join(map(repr, model.splits)) or 'none'}")
        frame, xy = frame[keep].reset_index(drop=True), xy[keep]
        title = f"{title} · split {split} ({int(keep.sum()):,} rows)"
    import matplotlib

    with matplotlib.rc_context({"font.family": font_families(model.present + model.splits + [title])}):
        fig = Figure(figsize=(6.2 * len(panels) + 2.2, 6.4), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        outlines = regions if isinstance(regions, Regions) else _stored_regions(opened, column, regions)
        for ax, panel in zip(axes, panels, strict=True):
            _draw_panel(ax, xy, frame, panel if panel in available else "none", model)
            _draw_regions(ax, outlines)
        _legend(fig, frame, model, show=any(p in ("label", "pred") and p in available for p in panels))
        fig.suptitle(title, fontsize=11)
    return fig


def plot(
    store: str | Path | Store,
    out: str | Path | None = None,
    *,
    column: str | None = None,
    panels: tuple[Panel, ...] | None = None,
    title: str | None = None,
    formats: tuple[str, ...] = ("png", "svg"),
    dpi: int = 150,
    regions: bool | None = None,
    split: str | None = None,
) -> list[Path]:
    """Draw the store's 2-D map and save it as ``<out>.png`` and ``<out>.svg``.

    ``out`` is a path without suffix (default ``<store>/map``). ``panels`` chooses among
    ``label``, ``pred`` and ``correct``; by default all that the store can show. ``regions``:
    outline the confusion regions of ``analysis/regions.json`` (written by ``clsmap analyze``)
    with their ids; ``None`` draws them when the file exists for this column. ``split``: draw only
    that split's rows (see :attr:`clsmap.Store.splits`). Returns the paths written.
    """
    for fmt in formats:
        check_choice(fmt, FORMATS, param="formats", func="plot")
    opened = open_store(store)
    fig = map_figure(opened, column=column, panels=panels, title=title, regions=regions, split=split)
    written = _save(fig, Path(out) if out is not None else opened.path / "map", formats, dpi)
    logger.info("figure written to %s", ", ".join(map(str, written)))
    return written


def _draw_panel(ax: Any, xy: np.ndarray, frame: pd.DataFrame, panel: str, model: RenderModel) -> None:
    """One map panel: points coloured by ``label``/``pred``, or ``correct`` vs misclassified. The
    misclassified rows are crossed, or past a few thousand drawn in a dark shade (``model.sizes``)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")
    wrong = (frame["correct"] == False).to_numpy(dtype=bool)  # noqa: E712  (nullable column)
    sizes = model.sizes
    shade = sizes.errors == "shade"
    hollow = model.held_out(frame)
    if panel in ("label", "pred"):
        codes = model.codes(frame[panel])
        rgb = rgb_array(model.colours)[np.maximum(codes, 0)]
        if shade:
            rgb[wrong] *= ERROR_SHADE
        _scatter_by(ax, xy, rgb, codes >= 0, sizes, hollow)
        if not shade:
            _cross(ax, xy, wrong, sizes, "black")
        ax.set_title("true label" if panel == "label" else "prediction")
    elif panel == "correct":
        correct = ~wrong & frame["correct"].notna().to_numpy()
        rgb = np.where(wrong[:, None], rgb_array([COLOURS["figure_wrong"]]), rgb_array([COLOURS["figure_correct"]]))
        _scatter_by(ax, xy, rgb, correct | (wrong & shade), sizes, hollow)
        if not shade:
            _cross(ax, xy, wrong, sizes, COLOURS["figure_wrong"])
        ax.set_title("correct / misclassified")
        ax.legend(handles=[_handle(COLOURS["figure_correct"], f"correct ({int(correct.sum()):,})"),
                           _handle(COLOURS["figure_wrong"], f"misclassified ({int(wrong.sum()):,})",
                                   marker="o" if shade else "x")], loc="best", fontsize=8)
    else:
        grey = np.broadcast_to(rgb_array(["#666666"]), (len(xy), 3))
        _scatter_by(ax, xy, grey, np.ones(len(xy), dtype=bool), sizes, hollow)


def _handle(colour: str, label: str, *, marker: str = "o") -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], marker=marker, linestyle="", color=colour, label=label, markersize=6)


def _stored_regions(store: Store, column: str, wanted: bool | None) -> Regions | None:
    """The confusion regions saved in the store for ``column`` (None when not wanted or absent)."""
    if wanted is False:
        return None
    regions = read_regions(store, column)
    if regions is None and wanted:
        raise ClsmapError(f"{store.path}: no confusion regions for {column}; run clsmap analyze first")
    return regions


def _draw_regions(ax: Any, regions: Regions | None) -> None:
    """Each region's outline (dashed, on a white halo so that it shows over any density of points)
    and its id at the outline's top, in a white box."""
    from matplotlib import patheffects

    halo = [patheffects.withStroke(linewidth=2.6, foreground="white", alpha=0.9)]
    for region in [] if regions is None else regions.frame.to_dict("records"):
        poly = np.asarray(region["polygon"], dtype=np.float64)
        ax.plot(poly[:, 0], poly[:, 1], color="black", linewidth=1.0, linestyle="--", path_effects=halo, zorder=4)
        top = poly[np.argmax(poly[:, 1])]
        ax.annotate(str(int(region["region_id"])), top, fontsize=9, fontweight="bold", ha="center", va="bottom",
                    zorder=5, bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "black", "lw": 0.7,
                                    "alpha": 0.95})


def _shade(colour: str) -> tuple[float, ...]:
    return tuple(float(c) * ERROR_SHADE for c in hex_to_rgb(colour))


def _count_label(frame: pd.DataFrame, name: str) -> str:
    n_true = int((frame["label"] == name).sum())
    n_pred = int((frame["pred"] == name).sum())
    if frame["label"].notna().any() and frame["pred"].notna().any():
        return f"{name}  ({n_true:,} true / {n_pred:,} pred)"
    return f"{name}  ({max(n_true, n_pred):,})"


def _legend(fig: Any, frame: pd.DataFrame, model: RenderModel, *, show: bool) -> None:
    """The classes with their colours and counts; past :data:`LEGEND_MAX` classes, the most frequent
    ones and a line saying how many more there are (the interactive map lists them all)."""
    from matplotlib.lines import Line2D

    if not show:
        return
    shown = model.present
    if len(shown) > LEGEND_MAX:
        counts = pd.concat([frame["label"], frame["pred"]]).value_counts()
        top = set(counts.reindex(shown).fillna(0).sort_values(ascending=False, kind="stable").index[:LEGEND_MAX])
        shown = [name for name in model.present if name in top]
    handles = [Line2D([], [], marker="o", linestyle="", color=model.colour_of(name), label=_count_label(frame, name))
               for name in shown]
    if len(shown) < len(model.present):
        handles.append(Line2D([], [], linestyle="", label=f"… {len(model.present) - len(shown):,} more classes "
                                                          "(all on the interactive map)"))
    if len(model.splits) > 1:
        counts = frame["split"].value_counts()
        for name in model.splits:
            ring = name != model.splits[0]
            handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="none" if ring else "#666666",
                                  markeredgecolor="#666666", label=f"split {name} ({int(counts.get(name, 0)):,})"
                                  + (": rings" if ring else ": disks")))
    wrong = int((frame["correct"] == False).sum())  # noqa: E712
    if wrong and model.sizes.errors == "crosses":
        handles.append(Line2D([], [], marker="x", linestyle="", color="black", label=f"misclassified ({wrong:,})"))
    elif wrong:
        handles.append(Line2D([], [], marker="o", linestyle="", color=_shade(model.colours[0]),
                              label=f"misclassified ({wrong:,}): a dark shade of the class colour"))
    fig.legend(handles=handles, loc="outside right center", fontsize=8,
               ncols=1 if len(handles) <= 30 else 2, frameon=False)


def _save(fig: Any, base: Path, formats: tuple[str, ...], dpi: int) -> list[Path]:
    """``fig`` as ``<base>.<format>`` for each format (SVG text stays text, so it can be searched)."""
    import matplotlib

    written = []
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for fmt in formats:
            path = base.with_name(base.name + "." + fmt)
            write_atomic(path, partial(fig.savefig, format=fmt, dpi=dpi))
            written.append(path)
    return written


def plot_compare(
    stores: list[str | Path | Store],
    out: str | Path,
    *,
    titles: list[str] | None = None,
    formats: tuple[str, ...] = ("png", "svg"),
    dpi: int = 150,
) -> list[Path]:
    """Maps of several stores of the same texts side by side, coloured by true label.

    Misclassified points are crossed where a store has predictions. Colours and class order are those
    of the last store's render model. Used by the demo to show the [CLS] space before and after
    fine-tuning.
    """
    import matplotlib
    from matplotlib.figure import Figure

    opened = [open_store(s) for s in stores]
    model = render_model(opened[-1])
    titles = titles or [render_model(s).title.text for s in opened]
    with matplotlib.rc_context({"font.family": font_families(model.present + model.splits + titles)}):
        fig = Figure(figsize=(6.2 * len(opened) + 2.6, 6.4), layout="constrained")
        axes = fig.subplots(1, len(opened), squeeze=False)[0]
        for ax, store, title in zip(axes, opened, titles, strict=True):
            proj = store.projection
            if proj is None:
                raise ClsmapError(f"{store.path}: no 2-D map yet; run clsmap project first")
            _draw_panel(ax, proj[["x", "y"]].to_numpy(dtype=np.float32), store.frame, "label", model)
            subtitle = title
            if store.accuracy is not None and len(store.splits) > 1:  # each split's own accuracy
                frame = store.frame
                subtitle += "\naccuracy " + ", ".join(
                    f"{name} {frame.loc[frame['split'] == name, 'correct'].dropna().astype(bool).mean():.1%}"
                    for name in store.splits)
            elif store.accuracy is not None:
                subtitle += f"\nheld-out accuracy {store.accuracy:.1%}"
            ax.set_title(subtitle, fontsize=10)
        _legend(fig, opened[-1].frame, model, show=True)
        return _save(fig, Path(out), formats, dpi)


def plot_layer_curves(curves: dict[str, pd.DataFrame], out: str | Path | None = None) -> Any:
    """Per-layer k-NN purity, probe accuracy and silhouette, one line per named curve table
    (e.g. ``{"before": ..., "after": ...}``, tables from :func:`clsmap.analysis.layer_curves`).
    Saved as ``<out>.png`` and ``<out>.svg`` when ``out`` is given; returns the figure."""
    from matplotlib.figure import Figure

    measures = [("knn_purity", "k-NN label purity (k=10)"), ("linear_probe_accuracy", "linear-probe accuracy (CV)"),
                ("silhouette", "cosine silhouette")]
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (column, title) in zip(axes, measures, strict=True):
        for name, frame in curves.items():
            ax.plot(frame["layer"], frame[column], marker="o", label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.grid(alpha=0.3)
    if len(curves) > 1:
        axes[0].legend(fontsize=8)
    if out is not None:
        _save(fig, Path(out), ("png", "svg"), 150)
    return fig


def confusion_figure(confusion: pd.DataFrame, classes: list[str]) -> Any:
    """The confusion matrix as a heatmap (share of each true label's rows), classes in ``classes`` order."""
    import matplotlib

    with matplotlib.rc_context({"font.family": font_families(list(map(str, classes)))}):
        return _confusion_figure(confusion, classes)


def _confusion_figure(confusion: pd.DataFrame, classes: list[str]) -> Any:
    from matplotlib.figure import Figure

    seen = set(confusion["true_label"]) | set(confusion["pred_label"])
    classes = [c for c in classes if c in seen] + sorted(seen - set(classes))
    share = confusion.pivot(index="true_label", columns="pred_label", values="share").reindex(
        index=classes, columns=classes).fillna(0.0).to_numpy()
    count = confusion.pivot(index="true_label", columns="pred_label", values="count").reindex(
        index=classes, columns=classes).fillna(0).to_numpy()
    size = min(2.0 + 0.55 * len(classes), 14.0)
    fig = Figure(figsize=(size + 1.5, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    if len(classes) <= 60:  # more names than that overlap at any readable size
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(classes)), classes, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true label")
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"predicted ({len(classes)} classes, in the model's order)")
        ax.set_ylabel("true label")
    if len(classes) <= 25:
        for i in range(len(classes)):
            for j in range(len(classes)):
                if count[i, j]:
                    ax.text(j, i, f"{int(count[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, label="share of the true label's rows", shrink=0.8)
    return fig
