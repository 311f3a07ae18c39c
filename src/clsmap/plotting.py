"""Stage 5, figures: a static map of a store's projection, as PNG and SVG.

Panels: coloured by true label, by prediction, and by correctness (misclassified points
marked with a cross in every panel). Legends carry counts; the title names the model, layer
and accuracy. Class names and texts in Korean, Chinese or Japanese are drawn with a CJK font
found on the system (or the one from ``pip install 'clsmap[cjk]'``), never as empty boxes.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._errors import ClsmapError
from ._validation import check_choice
from .store import Store, open_store

__all__ = ["plot", "plot_compare", "palette", "find_cjk_font"]

logger = logging.getLogger(__name__)

Panel = Literal["label", "pred", "correct"]
PANELS = ("label", "pred", "correct")
_CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_CJK_FAMILIES = (
    "Noto Sans CJK KR", "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans KR", "Source Han Sans",
    "NanumGothic", "Nanum Gothic", "Malgun Gothic", "Apple SD Gothic Neo", "AppleGothic",
    "Microsoft YaHei", "WenQuanYi Zen Hei", "Droid Sans Fallback", "Hiragino Sans",
)


def palette(n: int) -> list[tuple[float, float, float]]:
    """``n`` distinguishable RGB colours: tab10/tab20 for few classes, spaced hues beyond."""
    from matplotlib import colormaps
    from matplotlib.colors import hsv_to_rgb

    if n <= 10:
        return [tuple(c[:3]) for c in colormaps["tab10"].colors[:n]]
    if n <= 20:
        cmap = colormaps["tab20"].colors
        return [tuple(cmap[i][:3]) for i in list(range(0, 20, 2)) + list(range(1, 20, 2))][:n]
    golden = 0.618033988749895
    out = []
    for i in range(n):
        hue = (i * golden) % 1.0
        sat = 0.55 + 0.35 * ((i // 3) % 2)
        val = 0.95 - 0.25 * ((i // 2) % 2)
        out.append(tuple(float(c) for c in hsv_to_rgb((hue, sat, val))))
    return out


def _has_cjk(strings: list[str]) -> bool:
    return any(_CJK.search(s) for s in strings if isinstance(s, str))


def find_cjk_font() -> str | None:
    """Register and return the family name of a font that covers Hangul and CJK ideographs.

    Looks at the fonts matplotlib knows, then at the font shipped by the ``cjk`` extra
    (``noto-cjk-sans-otc``). Returns ``None`` when there is none.
    """
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in known:
            return family
    for entry in font_manager.fontManager.ttflist:
        if "CJK" in entry.name or "Han Sans" in entry.name:
            return entry.name
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return None
    for path in Path(noto_cjk_sans_otc.__file__).parent.glob("*.tt[cf]"):
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    return None


def _font_families(strings: list[str]) -> list[str]:
    families = ["DejaVu Sans"]
    if _has_cjk(strings):
        cjk = find_cjk_font()
        if cjk is None:
            logger.warning(
                "class names or the title contain Korean/CJK characters but no CJK font was found; "
                "they may show as boxes: pip install 'clsmap[cjk]' (or install Noto Sans CJK)"
            )
        else:
            families.append(cjk)
    return families


def _scatter_by(ax: Any, xy: np.ndarray, codes: np.ndarray, size: float,
                colors: list[tuple[float, float, float]]) -> None:
    """All points in one call, in a fixed random order, so that no class is always drawn on top."""
    keep = np.flatnonzero(codes >= 0)
    order = keep[np.random.default_rng(0).permutation(len(keep))]
    rgb = np.asarray(colors, dtype=np.float32)[codes[order]]
    ax.scatter(xy[order, 0], xy[order, 1], s=size, c=rgb, alpha=0.75, linewidths=0,
               rasterized=len(xy) > 20_000)


def _mark_errors(ax: Any, xy: np.ndarray, wrong: np.ndarray, size: float) -> None:
    if wrong.any():
        ax.scatter(xy[wrong, 0], xy[wrong, 1], s=size * 2.2, marker="x", color="black",
                   linewidths=0.6, alpha=0.8, rasterized=len(xy) > 20_000)


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
) -> list[Path]:
    """Draw the store's 2-D map and save it as ``<out>.png`` and ``<out>.svg``.

    ``out`` is a path without suffix (default ``<store>/map``). ``panels`` chooses among
    ``label``, ``pred`` and ``correct``; by default all that the store can show. ``regions``:
    outline the confusion regions of ``analysis/regions.json`` (written by ``clsmap analyze``)
    with their ids; ``None`` draws them when the file exists for this column. Returns the
    paths written.
    """
    import matplotlib
    from matplotlib.figure import Figure

    opened = open_store(store)
    for fmt in formats:
        check_choice(fmt, ("png", "svg", "pdf"), param="formats", func="plot")
    proj = opened.projection_of(column)
    if proj is None:
        raise ClsmapError(
            f"{opened.path}: no 2-D map of {column or opened.default_vector} yet; run clsmap project first"
        )
    frame = opened.frame
    xy = proj[["x", "y"]].to_numpy(dtype=np.float32)
    has_labels, has_preds = opened.has_labels, opened.has_predictions
    available = [p for p, ok in (("label", has_labels), ("pred", has_preds),
                                 ("correct", has_labels and frame["correct"].notna().any())) if ok]
    if panels is None:
        panels = tuple(available) or ("label",)
    for panel in panels:
        check_choice(panel, PANELS, param="panels", func="plot")
        if panel not in available and not (panel == "label" and not available):
            raise ClsmapError(f"--panels {panel}: the store has no {'labels' if panel != 'pred' else 'predictions'}")

    classes = _class_order(opened)
    title = title or _title(opened, column)
    with matplotlib.rc_context({"font.family": _font_families(classes + [title]), "svg.fonttype": "none"}):
        fig = Figure(figsize=(6.2 * len(panels) + 2.2, 6.4), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        outlines = _regions_of(opened, column or opened.default_vector, regions)
        for ax, panel in zip(axes, panels, strict=True):
            _draw_panel(ax, xy, frame, panel if panel in available else "none", classes)
            _draw_regions(ax, outlines)
        _legend(fig, frame, classes, show=any(p in ("label", "pred") and p in available for p in panels))
        fig.suptitle(title, fontsize=11)
        written = _save(fig, Path(out) if out is not None else opened.path / "map", formats, dpi)
    logger.info("figure written to %s", ", ".join(map(str, written)))
    return written


def _draw_panel(ax: Any, xy: np.ndarray, frame: pd.DataFrame, panel: str, classes: list[str]) -> None:
    """One map panel: points coloured by ``label``/``pred``, or ``correct`` vs misclassified."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")
    wrong = (frame["correct"] == False).to_numpy(dtype=bool)  # noqa: E712  (nullable column)
    size = float(np.clip(30000 / max(len(frame), 1), 1.0, 24.0))
    raster = len(xy) > 20_000
    if panel in ("label", "pred"):
        codes = pd.Categorical(frame[panel], categories=classes).codes
        _scatter_by(ax, xy, codes, size, palette(len(classes)))
        _mark_errors(ax, xy, wrong, size)
        ax.set_title("true label" if panel == "label" else "prediction")
    elif panel == "correct":
        correct = ~wrong & frame["correct"].notna().to_numpy()
        ax.scatter(xy[correct, 0], xy[correct, 1], s=size, color=(0.65, 0.78, 0.9), linewidths=0,
                   label=f"correct ({int(correct.sum()):,})", rasterized=raster)
        ax.scatter(xy[wrong, 0], xy[wrong, 1], s=size * 2.2, marker="x", color=(0.85, 0.1, 0.1),
                   linewidths=0.8, label=f"misclassified ({int(wrong.sum()):,})", rasterized=raster)
        ax.set_title("correct / misclassified")
        ax.legend(loc="best", fontsize=8, markerscale=2)
    else:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color=(0.4, 0.4, 0.4), linewidths=0, rasterized=raster)


def _regions_of(store: Store, column: str, wanted: bool | None) -> list[dict[str, Any]]:
    """The confusion regions saved in the store for ``column`` (empty when not wanted or absent)."""
    if wanted is False:
        return []
    from .analysis.regions import read_regions

    data = read_regions(store.path)
    if data is None or data.get("column") != column:
        if wanted:
            raise ClsmapError(f"{store.path}: no confusion regions for {column}; run clsmap analyze first")
        return []
    return list(data.get("regions", []))


def _draw_regions(ax: Any, regions: list[dict[str, Any]]) -> None:
    """Each region's outline (dashed) and its id at the outline's top."""
    for region in regions:
        poly = np.asarray(region["polygon"], dtype=np.float64)
        if poly.ndim != 2 or len(poly) < 3:
            continue
        ax.plot(poly[:, 0], poly[:, 1], color="black", linewidth=0.9, linestyle="--", alpha=0.85)
        top = poly[np.argmax(poly[:, 1])]
        ax.annotate(str(int(region["region_id"])), top, fontsize=8, fontweight="bold", ha="center",
                    va="bottom", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "black", "lw": 0.6})


def _legend(fig: Any, frame: pd.DataFrame, classes: list[str], *, show: bool) -> None:
    from matplotlib.lines import Line2D

    if not show:
        return
    colors = palette(len(classes))
    handles = [Line2D([], [], marker="o", linestyle="", color=colors[i], label=_count_label(frame, name))
               for i, name in enumerate(classes)]
    wrong = int((frame["correct"] == False).sum())  # noqa: E712
    if wrong:
        handles.append(Line2D([], [], marker="x", linestyle="", color="black", label=f"misclassified ({wrong:,})"))
    fig.legend(handles=handles, loc="outside right center", fontsize=8,
               ncols=1 if len(handles) <= 30 else 2, frameon=False)


def _save(fig: Any, base: Path, formats: tuple[str, ...], dpi: int) -> list[Path]:
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = base.with_name(base.name + "." + fmt)
        fig.savefig(path, dpi=dpi)
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

    Misclassified points are crossed where a store has predictions. Used by the demo to show
    the [CLS] space before and after fine-tuning.
    """
    import matplotlib
    from matplotlib.figure import Figure

    opened = [open_store(s) for s in stores]
    titles = titles or [_title(s, None) for s in opened]
    classes = _class_order(opened[-1])
    with matplotlib.rc_context({"font.family": _font_families(classes + titles), "svg.fonttype": "none"}):
        fig = Figure(figsize=(6.2 * len(opened) + 2.6, 6.4), layout="constrained")
        axes = fig.subplots(1, len(opened), squeeze=False)[0]
        for ax, store, title in zip(axes, opened, titles, strict=True):
            proj = store.projection
            if proj is None:
                raise ClsmapError(f"{store.path}: no 2-D map yet; run clsmap project first")
            _draw_panel(ax, proj[["x", "y"]].to_numpy(dtype=np.float32), store.frame, "label", classes)
            subtitle = title
            if store.accuracy is not None:
                subtitle += f"\nheld-out accuracy {store.accuracy:.1%}"
            ax.set_title(subtitle, fontsize=10)
        _legend(fig, opened[-1].frame, classes, show=True)
        return _save(fig, Path(out), formats, dpi)


def _class_order(store: Store) -> list[str]:
    frame = store.frame
    present = pd.concat([frame["label"], frame["pred"]]).dropna().unique().tolist()
    classes = list(store.classes or [])
    extra = sorted(set(present) - set(classes), key=lambda s: (len(s), s) if s.isdigit() else (0, s))
    ordered = [c for c in classes if c in set(present)] + extra
    return ordered or ["(none)"]


def _count_label(frame: pd.DataFrame, name: str) -> str:
    n_true = int((frame["label"] == name).sum())
    n_pred = int((frame["pred"] == name).sum())
    if frame["label"].notna().any() and frame["pred"].notna().any():
        return f"{name}  ({n_true:,} true / {n_pred:,} pred)"
    return f"{name}  ({max(n_true, n_pred):,})"


def _title(store: Store, column: str | None) -> str:
    meta = store.meta
    model = Path(str(meta["model"]["name_or_path"])).name or meta["model"]["name_or_path"]
    ext = meta["extraction"]
    what = f"module {ext['module']}" if ext.get("module") else f"layer {column or store.default_vector}"
    if not ext.get("module") and ext.get("layer") not in (None, "all"):
        what = f"layer {ext['layer']}"
    proj = store.projection_meta(column) or {}
    parts = [model, what, f"{ext['pooling']} pooling", f"{proj.get('method', '?')}", f"N={len(store):,}"]
    if store.accuracy is not None:
        parts.append(f"accuracy {store.accuracy:.1%}")
    return " · ".join(parts)
