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
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._errors import ClsmapError
from .._validation import check_choice
from ..analysis.cartography import GROUPS
from ..analysis.dynamics import DynamicsAnalysis
from ..store.files import write_text_atomic
from ..store.reader import Store, open_store
from ..store.layout import PAGE_META_VERSION
from .map import THEMES, map_page, page_parts
from .model import COLOURS, point_sizes, render_model
from .palette import categorical
from .payload import normalise, pack, smallest_int, strings

__all__ = ["player_html", "write_player", "CURVES"]

logger = logging.getLogger(__name__)

#: the per-step curves the player draws: column of ``DynamicsAnalysis.curves`` -> name
CURVES = {"accuracy": "accuracy", "knn_purity": "10-NN purity", "linear_probe_accuracy": "probe accuracy",
          "silhouette": "silhouette"}
#: the cartography's axes on the page: variability in [0, 0.5] and confidence in [0, 1], onto [-0.9, 0.9]
_CARTO_SPAN = 0.9


def _finite(values: Any) -> list[float | None]:
    return [None if v is None or not math.isfinite(float(v)) else round(float(v), 5) for v in values]


def player_html(store: str | Path | Store, analysis: DynamicsAnalysis, *, max_text_chars: int | None = 200,
                theme: Literal["light", "dark", "auto"] = "auto", compresslevel: int = 4) -> str:
    """The player of a dynamics store whose snapshots ``analysis`` (:func:`clsmap.analysis.analyze_dynamics`)
    mapped, as one self-contained HTML document."""
    check_choice(theme, THEMES, param="theme", func="player_html")
    store = open_store(store)
    maps = analysis.maps
    count, n = maps.shape[0], maps.shape[1]
    if len(store.frame) % count or (analysis.rows is None and count * n != len(store.frame)):
        raise ClsmapError(f"{store.path}: the maps cover {count} x {n} rows, the store {len(store.frame)}; "
                          "analyse it again")
    frame = analysis.mapped_frame(store)
    xy, _, _ = normalise(maps.reshape(-1, 2))
    model = render_model(store)
    first = frame.iloc[:n]
    correct = np.full(len(frame), -1, dtype=np.int8)
    known = frame["correct"].notna().to_numpy()
    correct[known] = frame["correct"][known].astype(bool).to_numpy().astype(np.int8)
    train = (first["split"] == "train").to_numpy().astype(np.uint8)
    cx = np.full(n, np.nan, dtype=np.float32)
    cy = np.full(n, np.nan, dtype=np.float32)
    cgroup = np.full(n, -1, dtype=np.int8)
    carto = analysis.cartography
    if carto is not None and len(carto):
        where = first.reset_index(drop=True).reset_index().set_index("id")["index"]
        carto = carto[carto["id"].isin(where.index)]  # the rows mapped
        rows = where.loc[carto["id"]].to_numpy()
        cx[rows] = (np.clip(carto["variability"].to_numpy(), 0, 0.5) * 4 - 1) * _CARTO_SPAN
        cy[rows] = (np.clip(carto["confidence"].to_numpy(), 0, 1) * 2 - 1) * _CARTO_SPAN
        names = [*GROUPS, None]
        cgroup[rows] = [names.index(g) if g in names else len(GROUPS) for g in carto["group"]]
    text_len, text_blob, cut = strings(first["text"], max_text_chars)
    id_len, id_blob, _ = strings(first["id"].astype("string"), None)
    columns, packing, packed = pack({
        "x": xy[:, 0], "y": xy[:, 1],
        "label": smallest_int(model.codes(first["label"]), len(model.classes)),
        "pred": smallest_int(model.codes(frame["pred"]), len(model.classes)),
        "conf": frame["confidence"].to_numpy(dtype=np.float32, na_value=np.nan), "correct": correct,
        "train": train, "cx": cx, "cy": cy, "cgroup": cgroup,
        "text_len": text_len, "id_len": id_len, "text": text_blob, "id": id_blob,
    }, compresslevel)
    curves = analysis.curves
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
        "player": {
            "snapshots": [{"step": int(s), "epoch": round(float(e), 4)} for s, e in zip(curves["step"], curves["epoch"],
                                                                                      strict=True)],
            "curves": [{"key": key, "name": name, "values": _finite(curves[key]), "colour": colour}
                       for (key, name), colour in zip(CURVES.items(), categorical(len(CURVES)), strict=True)],
            "formation": analysis.formation, "formed_at": analysis.summary.get("formed_at"),
            "alignment": analysis.alignment.get("kept"),
            "groups": [*GROUPS, "no group"], "group_colours": [COLOURS[g] for g in [*GROUPS, "no group"]],
            "held_out_colour": COLOURS["held_out"], "has_cartography": bool(carto is not None and len(carto)),
        },
    }
    title = f"clsmap · training dynamics · {heading.model} · {count} snapshots of {n:,} texts"
    return map_page(page_parts(meta, packed, page_title=title, warnings=[], blobs=(text_blob, id_blob)), player=True)


def write_player(store: str | Path | Store, analysis: DynamicsAnalysis, out: str | Path, **options: Any) -> Path:
    """Write :func:`player_html` to ``out``; return the path."""
    started = time.perf_counter()
    path = Path(out)
    write_text_atomic(path, player_html(store, analysis, **options))
    logger.info("training dynamics player: %s (%.1f MB, %.1f s)", path, path.stat().st_size / 1e6,
                time.perf_counter() - started)
    return path
