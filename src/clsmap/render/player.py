"""The training dynamics player: the interactive map's page and viewer, with a step slider.

:func:`player_html` packs every snapshot of a dynamics store (``clsmap train --map-every``) for the
same viewer as :mod:`clsmap.render.map`: the aligned 2-D positions, predictions, confidences and
correctness of each snapshot, the labels, splits, ids and texts once, and the cartography of the
training rows (variability, confidence, group). The page adds a step slider, play/pause with
animated transitions, the per-step curves (accuracy, 10-NN purity, probe accuracy, silhouette) and
the cartography scatter, linked to the map both ways by lasso. Colours, class order and titles come
from the one render model (:mod:`clsmap.render.model`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from .._json import finite_or_none
from .._validation import check_choice
from ..analysis.dataset_cartography import GROUPS
from ..analysis.dynamics import CURVES, DynamicsAnalysis
from ..store.files import write_text_atomic
from ..store.reader import Store, open_store
from ..store.layout import PAGE_META_VERSION
from .map import THEMES, map_page, page_parts
from .model import COLOURS, RenderModel, point_sizes, render_model
from .palette import categorical
from .payload import normalise, pack, smallest_int, strings

__all__ = ["player_html", "write_player"]

logger = logging.getLogger(__name__)

#: the cartography's axes on the page: variability in [0, 0.5] and confidence in [0, 1], onto [-0.9, 0.9]
_CARTO_SPAN = 0.9


def player_html(store: str | Path | Store, analysis: DynamicsAnalysis, *, max_text_chars: int | None = 200,
                theme: Literal["light", "dark", "auto"] = "auto", compresslevel: int = 4) -> str:
    """The player of a dynamics store whose snapshots ``analysis`` (:func:`clsmap.analysis.analyze_dynamics`)
    mapped, as one self-contained HTML document."""
    check_choice(theme, THEMES, param="theme", func="player_html")
    store = open_store(store)
    count, n = analysis.maps.shape[0], analysis.maps.shape[1]
    if len(store.frame) % count or (analysis.rows is None and count * n != len(store.frame)):
        raise ClsmapError(f"{store.path}: the maps cover {count} x {n} rows, the store {len(store.frame)}; "
                          "analyse it again")
    frame = analysis.mapped_frame(store)
    model = render_model(store)
    first = frame.iloc[:n]
    text_len, text_blob, cut = strings(first["text"], max_text_chars)
    id_len, id_blob, _ = strings(first["id"].astype("string"), None)
    cartography = _cartography_columns(first, analysis.cartography)
    columns, packing, packed = pack({
        **_point_columns(analysis.maps, frame, first, model), **cartography,
        "text_len": text_len, "id_len": id_len, "text": text_blob, "id": id_blob,
    }, compresslevel)
    heading = model.title
    facts = [f for f in heading.facts if not f.startswith(("N=", "accuracy"))]
    meta = {
        "version": PAGE_META_VERSION, "n": n,
        "title": {**{k: v for k, v in asdict(heading).items() if k != "single_class"}, "n": n,
                  "facts": [*facts, f"{n:,} texts", f"{count} snapshots"]},
        "classes": model.classes, "pairs": model.pairs, "colors": model.page_colours(),
        "has_labels": bool(first["label"].notna().any()), "has_predictions": bool(store.has_predictions),
        "max_text_chars": max_text_chars, "truncated": cut, "columns": columns, **packing, "theme": theme,
        "point_size": point_sizes(n).map_px, "point_opacity": point_sizes(n).map_opacity, "regions": [],
        # a cartography of some of the rows mapped: each has a group index (``len(GROUPS)`` for none)
        "player": _player_meta(analysis, has_cartography=bool((cartography["cgroup"] >= 0).any())),
    }
    title = f"clsmap · training dynamics · {heading.model} · {count} snapshots of {n:,} texts"
    return map_page(page_parts(meta, packed, page_title=title, warnings=[], blobs=(text_blob, id_blob)), player=True)


def _point_columns(maps: np.ndarray, frame: pd.DataFrame, first: pd.DataFrame,
                   model: RenderModel) -> dict[str, np.ndarray]:
    """The columns of every snapshot's points (``frame``, snapshot after snapshot): their places, labels (of
    the first snapshot's rows, ``first``), predictions, confidences, correctness (-1 unknown) and splits."""
    xy, _, _ = normalise(maps.reshape(-1, 2))
    correct = np.full(len(frame), -1, dtype=np.int8)
    known = frame["correct"].notna().to_numpy()
    correct[known] = frame["correct"][known].astype(bool).to_numpy().astype(np.int8)
    return {
        "x": xy[:, 0], "y": xy[:, 1],
        "label": smallest_int(model.codes(first["label"]), len(model.classes)),
        "pred": smallest_int(model.codes(frame["pred"]), len(model.classes)),
        "conf": frame["confidence"].to_numpy(dtype=np.float32, na_value=np.nan), "correct": correct,
        "train": (first["split"] == "train").to_numpy().astype(np.uint8),
    }


def _cartography_columns(first: pd.DataFrame, carto: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """The cartography's scatter on the page, per row of ``first``: ``cx`` (variability), ``cy`` (confidence),
    NaN for the rows without one, and ``cgroup`` (the index of the group in :data:`GROUPS`, ``len(GROUPS)``
    for no group, -1 without a cartography)."""
    n = len(first)
    cx = np.full(n, np.nan, dtype=np.float32)
    cy = np.full(n, np.nan, dtype=np.float32)
    cgroup = np.full(n, -1, dtype=np.int8)
    if carto is not None and len(carto):
        where = first.reset_index(drop=True).reset_index().set_index("id")["index"]
        carto = carto[carto["id"].isin(where.index)]  # the rows mapped
        rows = where.loc[carto["id"]].to_numpy()
        cx[rows] = (np.clip(carto["variability"].to_numpy(), 0, 0.5) * 4 - 1) * _CARTO_SPAN
        cy[rows] = (np.clip(carto["confidence"].to_numpy(), 0, 1) * 2 - 1) * _CARTO_SPAN
        names = [*GROUPS, None]
        cgroup[rows] = [names.index(g) if g in names else len(GROUPS) for g in carto["group"]]
    return {"cx": cx, "cy": cy, "cgroup": cgroup}


def _player_meta(analysis: DynamicsAnalysis, *, has_cartography: bool) -> dict[str, Any]:
    """What the page's step slider, curves and cartography scatter need beside the points."""
    curves = analysis.curves
    return {
        "snapshots": [{"step": int(s), "epoch": round(float(e), 4)}
                      for s, e in zip(curves["step"], curves["epoch"], strict=True)],
        "curves": [{"key": key, "name": name, "values": [finite_or_none(v, digits=5) for v in curves[key]],
                    "colour": colour}
                   for (key, name), colour in zip(CURVES.items(), categorical(len(CURVES)), strict=True)],
        "formation": analysis.formation, "formed_at": analysis.summary.get("formed_at"),
        "alignment": analysis.alignment.get("kept"),
        "groups": [*GROUPS, "no group"], "group_colours": [COLOURS[g] for g in [*GROUPS, "no group"]],
        "held_out_colour": COLOURS["held_out"], "has_cartography": has_cartography,
    }


def write_player(store: str | Path | Store, analysis: DynamicsAnalysis, out: str | Path, **options: Any) -> Path:
    """Write :func:`player_html` to ``out``; return the path."""
    started = time.perf_counter()
    path = Path(out)
    write_text_atomic(path, player_html(store, analysis, **options))
    logger.info("training dynamics player: %s (%.1f MB, %.1f s)", path, path.stat().st_size / 1e6,
                time.perf_counter() - started)
    return path
