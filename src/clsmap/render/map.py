"""The interactive map: one self-contained, offline HTML file per store.

:func:`write_map` packs a store's projection, class codes, confidences, ids and texts (truncated to
``max_text_chars``) as columnar binary (:mod:`clsmap.render.payload`) into a ``<script
type="application/octet-stream">`` element, and inlines the bundled viewer (``assets/viewer.js``,
built from ``js/viewer`` with esbuild around regl-scatterplot). Class order, colours, title and
point size come from :mod:`clsmap.render.model`, as in the figures and the report: the page draws
with the colours it receives. A Content-Security-Policy meta tag forbids every load from outside the
file; the only script allowed to run is the viewer itself (by its sha256 hash). The page builds its
DOM with ``textContent``, so texts, labels, ids and names are shown as text, never run. When the
model has failed (:attr:`~clsmap.render.model.RenderModel.warnings`), a banner above the map says so.
When the page can show CJK, a subset of a CJK font holding just those characters is embedded
(:func:`~clsmap.render.fonts.web_font`); the policy then allows fonts from ``data:`` URLs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._errors import ClsmapError
from .._validation import check_choice, check_positive_int
from ..analysis.regions import REGIONS_FILE, read_regions
from ..store.files import write_text_atomic
from ..store.reader import Store, open_store
from .fonts import web_font
from .model import render_model
from .payload import normalise, pack, smallest_int, strings
from .templates import Markup, asset, render

__all__ = ["map_html", "write_map", "THEMES"]

logger = logging.getLogger(__name__)

Theme = Literal["light", "dark", "auto"]
THEMES = ("light", "dark", "auto")
#: version of the page's metadata (the viewer reads this layout)
META_VERSION = 2

#: Every load from outside the file is forbidden. regl compiles its draw calls with ``Function``,
#: hence 'unsafe-eval'; the spatial index is built in a worker made from a blob; the payload is
#: decoded by fetching a data: URL where ``Uint8Array.fromBase64`` is missing.
_CSP = (
    "default-src 'none'; script-src '{hash}' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; worker-src blob:; connect-src data: blob:; font-src {font}; "
    "base-uri 'none'; form-action 'none'; object-src 'none'"
)


def _read_regions(store: Store, column: str, half: float, centre: np.ndarray) -> list[dict[str, Any]]:
    """The regions of ``column`` in the page's coordinates (those drawn on ``[-1, 1]``)."""
    path = store.path / REGIONS_FILE
    data = read_regions(store.path)
    if data is None:
        return []
    if data.get("column") != column:
        logger.info("%s describes column %r, not %r; regions not drawn", path, data.get("column"), column)
        return []
    out = []
    for region in data.get("regions") or []:
        try:
            poly = np.asarray(region["polygon"], dtype=np.float64)
            if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3 or not np.isfinite(poly).all():
                raise ValueError("polygon needs at least 3 finite [x, y] points")
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("%s: skipping a region without a usable polygon (%s)", path, exc)
            continue
        norm = (poly - centre) / half
        if not np.allclose(norm[0], norm[-1]):
            norm = np.vstack([norm, norm[:1]])

        out.append({
            "region_id": str(region.get("region_id", len(out) + 1)),
            "polygon": np.round(norm, 5).tolist(),
            "cx": float(norm[:-1, 0].mean()),
            "cy": float(norm[:-1, 1].mean()),
            "n": _number(region.get("n")),
            "n_errors": _number(region.get("n_errors")),
            "error_rate": _number(region.get("error_rate")),
            "rate": _number(region.get("rate")),
            "enrichment": _number(region.get("enrichment")),
            "p_value": _number(region.get("p_value")),
            "purity": _number(region.get("purity")),
            "true_label": str(region.get("true_label", "")),
            "pred_label": str(region.get("pred_label", "")),
            "examples": [str(e) for e in (region.get("examples") or [])[:10]],
        })
    return out


def _number(value: Any) -> float | int | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else None


def map_html(
    store: Store | str | Path,
    *,
    column: str | None = None,
    max_text_chars: int | None = 200,
    title: str | None = None,
    theme: Theme = "auto",
    compresslevel: int = 4,
) -> str:
    """The map of ``store`` as one self-contained HTML document (a string). See :func:`write_map`."""
    check_choice(theme, THEMES, param="theme", func="map_html")
    if max_text_chars is not None:
        check_positive_int(max_text_chars, param="max_text_chars", func="map_html")
    store = open_store(store)
    column = column or store.default_vector
    proj = store.projection_of(column)
    if proj is None:
        raise ClsmapError(
            f"store {store.path} has no 2-D projection of {column!r}; run: clsmap project {store.path}"
            + (f" --column {column}" if column != store.default_vector else "")
        )
    frame = store.frame
    n = len(frame)
    xy, half, centre = normalise(proj[["x", "y"]].to_numpy())
    model = render_model(store, column)
    label = model.codes(frame["label"])
    pred = model.codes(frame["pred"])
    conf = frame["confidence"].to_numpy(dtype=np.float32, na_value=np.nan)
    correct = np.full(n, -1, dtype=np.int8)
    known = frame["correct"].notna().to_numpy()
    correct[known] = frame["correct"][known].astype(bool).to_numpy().astype(np.int8)

    text_len, text_blob, cut = strings(frame["text"], max_text_chars)
    id_len, id_blob, _ = strings(frame["id"].astype("string"), None)
    columns, packing, packed = pack({
        "x": xy[:, 0], "y": xy[:, 1],
        "label": smallest_int(label, len(model.classes)), "pred": smallest_int(pred, len(model.classes)),
        "conf": conf, "correct": correct,
        "text_len": text_len, "id_len": id_len, "text": text_blob, "id": id_blob,
    }, compresslevel)

    heading = model.title
    meta = {
        "version": META_VERSION,
        "n": n,
        "title": {**{k: v for k, v in asdict(heading).items() if k != "single_class"}, "facts": heading.facts},
        "classes": model.classes,
        "pairs": model.pairs,
        "colors": model.page_colours(),
        "has_labels": bool((label >= 0).any()),
        "has_predictions": bool(store.has_predictions),
        "max_text_chars": max_text_chars,
        "truncated": cut,
        "columns": columns,
        **packing,
        "theme": theme,
        "point_size": model.sizes.map_px,
        "regions": _read_regions(store, column, half, centre),
    }
    page_title = title or f"clsmap · {heading.model} · {n:,} points"
    return page_html(meta, packed, page_title=page_title, warnings=model.warnings, blobs=(text_blob, id_blob))


def page_html(meta: dict[str, Any], packed: bytes, *, page_title: str, warnings: list[str], blobs: tuple[bytes, ...],
              player: bool = False) -> str:
    """The page around the viewer: its metadata, the packed payload, the bundled script (allowed by its
    hash), the banner, and a CJK font subset holding every character the page can show (``blobs``: the
    texts as cut and the ids; the names and titles in ``meta``; the banner). ``player``: the training
    dynamics player's controls (:mod:`clsmap.render.player`)."""
    script = asset("viewer.js")
    for bad in ("</script", "<!--"):
        if bad in script.lower():  # pragma: no cover - checked when the asset is built
            raise AssertionError(f"the bundled viewer contains {bad!r}")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    font = web_font(*blobs, json.dumps(meta, ensure_ascii=False).encode("utf-8"),
                    "\n".join([page_title, *warnings]).encode("utf-8"))
    return render(
        "map.html",
        csp=_CSP.format(hash="sha256-" + digest, font="'none'" if font is None else "data:"),
        page_title=page_title,
        meta=meta,
        payload=Markup(base64.b64encode(packed).decode("ascii")),
        script=Markup(script),
        warnings=warnings,
        font_face=None if font is None else Markup(font.css),
        player=player,
    )


def write_map(
    store: Store | str | Path,
    out: str | Path | None = None,
    *,
    column: str | None = None,
    max_text_chars: int | None = 200,
    title: str | None = None,
    theme: Theme = "auto",
) -> Path:
    """Write the interactive map of ``store`` to ``out`` (default ``STORE/map.html``); return the path.

    One HTML file that opens from the disk in a current browser without any network access:
    colour by true label, prediction, correctness, confidence or confusion pair; hover for the
    text; search; lasso to a table, CSV or the clipboard. Texts longer than ``max_text_chars``
    are cut (``None`` keeps them whole). Confusion regions in ``STORE/analysis/regions.json``
    are drawn when they belong to ``column``.
    """
    started = time.perf_counter()
    store = open_store(store)
    path = Path(out) if out is not None else store.path / "map.html"
    if path.suffix.lower() not in (".html", ".htm"):
        path = path.with_suffix(path.suffix + ".html") if path.suffix else path.with_suffix(".html")
    if path.exists() and path.is_dir():
        raise ClsmapError(f"{path} is a folder; give a file name such as {path / 'map.html'}")
    write_text_atomic(path, map_html(store, column=column, max_text_chars=max_text_chars, title=title, theme=theme))
    logger.info("interactive map: %s (%.1f MB, %.1f s)", path, path.stat().st_size / 1e6,
                time.perf_counter() - started)
    return path
