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

When the store has its k-NN graph (``clsmap analyze``), each point's nearest neighbours in the vector
space travel with it (:func:`~clsmap.render.payload.neighbour_columns`): a click on a text lists them
and rings them on the map. By default the page carries as many of the stored neighbours as add at most
:data:`NEIGHBOUR_SHARE` (25 %) to the file, or 4 MB where that is more: all 10 up to about 100,000
points, 2 or 3 of them at a million.
Class and region keywords (``analysis/keywords.json``) go to the legend's tooltips and the regions'
captions.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from .._json import finite_or_none
from .._validation import check_choice, check_positive_int
from ..analysis.files import read_regions
from ..analysis.results import Regions
from ..store.files import write_text_atomic
from ..store.layout import PAGE_META_VERSION
from ..store.reader import Store, open_store
from .fonts import WebFont, web_font
from .model import RenderModel, render_model
from .payload import SIMILARITY_LEVELS, neighbour_columns, normalise, pack, smallest_int, strings
from .templates import Markup, asset, render

__all__ = ["MapExtras", "MapParts", "map_html", "map_page", "map_parts", "page_csp", "write_map", "THEMES"]

logger = logging.getLogger(__name__)

Theme = Literal["light", "dark", "auto"]
THEMES = ("light", "dark", "auto")
#: by default, the neighbours add at most this share to the size of the page without them, or
#: :data:`NEIGHBOUR_ALLOWANCE` bytes if that is more
NEIGHBOUR_SHARE = 0.25
NEIGHBOUR_ALLOWANCE = 4_000_000
#: rows whose neighbours are compressed to estimate what all of them cost
_COST_SAMPLE = 50_000

#: Every load from outside the file is forbidden. regl compiles its draw calls with ``Function``,
#: hence 'unsafe-eval'; the spatial index is built in a worker made from a blob; the payload is
#: decoded by fetching a data: URL where ``Uint8Array.fromBase64`` is missing.
_CSP = (
    "default-src 'none'; script-src '{hash}' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; worker-src blob:; connect-src data: blob:; font-src {font}; "
    "base-uri 'none'; form-action 'none'; object-src 'none'"
)


def _neighbours_on_page(graph: tuple[np.ndarray, np.ndarray] | None, requested: int | None, budget: float,
                        compresslevel: int) -> tuple[dict[str, np.ndarray], int]:
    """The neighbour columns of the page and how many neighbours per point they hold: ``requested``
    (at most those stored), or with ``None`` as many as fit in ``budget`` bytes of base64 (their cost
    measured by compressing those of a sample of rows)."""
    if graph is None or requested == 0:
        return {}, 0
    indices, similarity = graph
    n, k = indices.shape
    k = k if requested is None else min(requested, k)
    if requested is None and k:
        rows = np.linspace(0, n - 1, min(n, _COST_SAMPLE)).astype(np.int64)
        sample = neighbour_columns(indices[rows, :k], similarity[rows, :k], n)
        cost = sum(len(gzip.compress(c.tobytes(), compresslevel=compresslevel, mtime=0)) for c in sample.values())
        cost *= n / len(rows) * 4 / 3  # all the rows, in base64
        if cost > budget:
            fit = int(k * budget / cost)
            logger.info("the page carries %d of the %d stored neighbours per point, to add at most %.1f MB to it "
                        "(all of them would add %.1f MB); set neighbours= (--neighbours) for more",
                        fit, k, budget / 1e6, cost / 1e6)
            k = fit
    if k == 0:
        return {}, 0
    return neighbour_columns(indices[:, :k], similarity[:, :k], n), k


def _page_regions(regions: Regions | None, half: float, centre: np.ndarray,
                  keywords: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The regions in the page's coordinates (those drawn on ``[-1, 1]``), with their keywords (by region
    id)."""
    out = []
    for region in [] if regions is None else regions.frame.to_dict("records"):
        norm = (np.asarray(region["polygon"], dtype=np.float64) - centre) / half
        if not np.allclose(norm[0], norm[-1]):
            norm = np.vstack([norm, norm[:1]])
        out.append({
            "region_id": str(region["region_id"]),
            "polygon": np.round(norm, 5).tolist(),
            "cx": float(norm[:-1, 0].mean()),
            "cy": float(norm[:-1, 1].mean()),
            **{key: finite_or_none(region.get(key))
               for key in ("n", "n_errors", "error_rate", "rate", "enrichment", "p_value", "purity")},
            "true_label": str(region.get("true_label", "")),
            "pred_label": str(region.get("pred_label", "")),
            "examples": [str(e) for e in (region.get("examples") or [])[:10]],
            "keywords": keywords.get(str(region["region_id"]), []),
        })
    return out


@dataclass
class MapParts:
    """What a map holds, for the page (:func:`map_html`) and the notebook widget: ``meta`` (the viewer's
    metadata), ``packed`` (the gzip'd columnar payload), the title, the warnings to show above the map,
    and the embedded CJK font (``None`` when the texts need none)."""

    meta: dict[str, Any]
    packed: bytes
    page_title: str
    warnings: list[str]
    font: WebFont | None


@dataclass
class MapExtras:
    """What a page of :mod:`clsmap.render.compare` changes in a store's map: the rows in another order
    (``order``: the store's row for each row drawn), coordinates to draw instead of the stored map
    (``xy``, in drawing order), the render model shared by the two maps, more colour modes (``modes``:
    ``{"key", "name", "codes"(int per row drawn, -1 none), "names", "colours"}`` each), no regions, and
    ``linked``: the page tells its parent page what is hovered and selected, and follows it."""

    order: np.ndarray | None = None
    xy: np.ndarray | None = None
    model: RenderModel | None = None
    modes: list[dict[str, Any]] = field(default_factory=list)
    linked: bool = False


def map_parts(
    store: Store | str | Path,
    *,
    column: str | None = None,
    max_text_chars: int | None = 200,
    title: str | None = None,
    theme: Theme = "auto",
    neighbours: int | None = None,
    compresslevel: int = 4,
    extras: MapExtras | None = None,
    func: str = "map_html",
) -> MapParts:
    """The data and metadata of the map of ``store`` (see :func:`write_map`), changed by ``extras``
    (see :class:`MapExtras`; a page of reordered rows carries no neighbours)."""
    check_choice(theme, THEMES, param="theme", func=func)
    if max_text_chars is not None:
        check_positive_int(max_text_chars, param="max_text_chars", func=func)
    if neighbours is not None:
        check_positive_int(neighbours, param="neighbours", func=func, minimum=0)
    store = open_store(store)
    extras = extras or MapExtras()
    column = column or store.default_vector
    frame, coordinates = _rows(store, column, extras)
    if extras.order is not None:
        neighbours = 0
    xy, half, centre = normalise(coordinates)
    model = extras.model or render_model(store, column, neighbours=neighbours != 0)
    rows = _pack_rows(frame, xy, model, extras, max_text_chars, compresslevel)
    near, near_k = _neighbours_on_page(model.neighbours, neighbours, rows.budget, compresslevel)
    if near:
        rows.columns, rows.packing, rows.packed = pack(near, compresslevel,
                                                       after=(rows.columns, rows.packing, rows.packed))
    own = extras.xy is None  # a page of the store's own map: its regions and keywords
    regions = _page_regions(read_regions(store, column) if own else None, half, centre,
                            model.keywords.get("regions", {}))
    meta = {
        **_meta(store, model, extras, rows, max_text_chars=max_text_chars, theme=theme),
        "regions": regions,
        "keywords": model.keywords.get("classes", {}) if own else {},
        # nb0, nb1, ...: byte planes of the neighbours' rows; nb_sim: their similarities
        "neighbours": None if not near or model.neighbours is None else {
            "k": near_k, "stored": int(model.neighbours[0].shape[1]), "planes": len(near) - 1, "metric": "cosine",
            "levels": SIMILARITY_LEVELS},
    }
    page_title = title or f"clsmap · {model.title.model} · {len(frame):,} points"
    return page_parts(meta, rows.packed, page_title=page_title, warnings=list(model.warnings), blobs=rows.blobs)


def _rows(store: Store, column: str, extras: MapExtras) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows drawn (in ``extras.order`` when given) and their coordinates."""
    proj = store.projection_of(column)
    if extras.xy is not None:
        coordinates = extras.xy
    elif proj is not None:
        coordinates = proj[["x", "y"]].to_numpy()
    else:
        raise ClsmapError(
            f"store {store.path} has no 2-D projection of {column!r}; run: clsmap project {store.path}"
            + (f" --column {column}" if column != store.default_vector else "")
        )
    frame = store.frame
    if extras.order is not None:
        frame = frame.iloc[extras.order].reset_index(drop=True)
    return frame, coordinates


@dataclass
class _Packed:
    """The ``n`` rows of a page, packed (``columns``, ``packing``, ``packed``), the strings as cut (``blobs``:
    texts and ids, for the font), whether texts were cut, whether any row has a label, and what the
    neighbours may add (``budget``, bytes)."""

    n: int
    columns: Any
    packing: dict[str, Any]
    packed: bytes
    blobs: tuple[bytes, bytes]
    cut: Any
    has_labels: bool
    budget: float


def _pack_rows(frame: pd.DataFrame, xy: np.ndarray, model: RenderModel, extras: MapExtras,
               max_text_chars: int | None, compresslevel: int) -> _Packed:
    """Every column of the rows drawn, packed (:func:`~clsmap.render.payload.pack`)."""
    n = len(frame)
    label = model.codes(frame["label"])
    pred = model.codes(frame["pred"])
    conf = frame["confidence"].to_numpy(dtype=np.float32, na_value=np.nan)
    correct = np.full(n, -1, dtype=np.int8)
    known = frame["correct"].notna().to_numpy()
    correct[known] = frame["correct"][known].astype(bool).to_numpy().astype(np.int8)
    text_len, text_blob, cut = strings(frame["text"], max_text_chars)
    id_len, id_blob, _ = strings(frame["id"].astype("string"), None)
    splits = {"split": smallest_int(model.split_codes(frame), len(model.splits))} if len(model.splits) > 1 else {}
    more = {f"mode_{m['key']}": smallest_int(np.asarray(m["codes"]), len(m["names"])) for m in extras.modes}
    columns, packing, packed = pack({
        "x": xy[:, 0], "y": xy[:, 1],
        "label": smallest_int(label, len(model.classes)), "pred": smallest_int(pred, len(model.classes)),
        "conf": conf, "correct": correct, **splits, **more,
        "text_len": text_len, "id_len": id_len, "text": text_blob, "id": id_blob,
    }, compresslevel)
    page_size = len(packed) * 4 / 3 + len(asset("viewer.js"))
    return _Packed(n=n, columns=columns, packing=packing, packed=packed, blobs=(text_blob, id_blob), cut=cut,
                   has_labels=bool((label >= 0).any()),
                   budget=max(NEIGHBOUR_SHARE * page_size, NEIGHBOUR_ALLOWANCE))


def _meta(store: Store, model: RenderModel, extras: MapExtras, rows: _Packed, *, max_text_chars: int | None,
          theme: Theme) -> dict[str, Any]:
    """The viewer's metadata of a page, but its regions, keywords and neighbours."""
    heading = model.title
    return {
        "version": PAGE_META_VERSION,
        "n": rows.n,
        "title": {**{k: v for k, v in asdict(heading).items() if k != "single_class"}, "facts": heading.facts},
        "classes": model.classes,
        "splits": model.splits,
        "extra_modes": [{k: m[k] for k in ("key", "name", "names", "colours")} for m in extras.modes],
        "linked": extras.linked,
        "pairs": model.pairs,
        "colors": model.page_colours(),
        "has_labels": rows.has_labels,
        "has_predictions": bool(store.has_predictions),
        "max_text_chars": max_text_chars,
        "truncated": rows.cut,
        "columns": rows.columns,
        **rows.packing,
        "theme": theme,
        "point_size": model.sizes.map_px,
        "point_opacity": model.sizes.map_opacity,
    }


def page_parts(meta: dict[str, Any], packed: bytes, *, page_title: str, warnings: list[str],
               blobs: tuple[bytes, ...]) -> MapParts:
    """A page's :class:`MapParts`, with a CJK font subset holding every character the page can show
    (``blobs``: the texts as cut and the ids; the names and titles in ``meta``; the banner)."""
    font = web_font(*blobs, json.dumps(meta, ensure_ascii=False).encode("utf-8"),
                    "\n".join([page_title, *warnings]).encode("utf-8"))
    return MapParts(meta=meta, packed=packed, page_title=page_title, warnings=warnings, font=font)


def map_page(parts: MapParts, *, player: bool = False) -> str:
    """One self-contained HTML document of the map ``parts`` (the viewer's bundle inline, under a CSP);
    ``player``: with the training dynamics player's controls (:mod:`clsmap.render.player`)."""
    script = asset("viewer.js")
    for bad in ("</script", "<!--"):
        if bad in script.lower():  # pragma: no cover - checked when the asset is built
            raise AssertionError(f"the bundled viewer contains {bad!r}")
    return render(
        "map.html",
        csp=page_csp(script, font=parts.font is not None),
        page_title=parts.page_title,
        meta=parts.meta,
        payload=Markup(base64.b64encode(parts.packed).decode("ascii")),
        script=Markup(script),
        warnings=parts.warnings,
        font_face=None if parts.font is None else Markup(parts.font.css),
        player=player,
    )


def map_html(
    store: Store | str | Path,
    *,
    column: str | None = None,
    max_text_chars: int | None = 200,
    title: str | None = None,
    theme: Theme = "auto",
    neighbours: int | None = None,
    compresslevel: int = 4,
) -> str:
    """The map of ``store`` as one self-contained HTML document (a string). See :func:`write_map`."""
    return map_page(map_parts(store, column=column, max_text_chars=max_text_chars, title=title, theme=theme,
                              neighbours=neighbours, compresslevel=compresslevel))


def page_csp(script: str, *, font: bool) -> str:
    """The Content-Security-Policy of a page whose only script is ``script`` (fonts only as ``data:``)."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return _CSP.format(hash="sha256-" + digest, font="data:" if font else "'none'")


def write_map(
    store: Store | str | Path,
    out: str | Path | None = None,
    *,
    column: str | None = None,
    max_text_chars: int | None = 200,
    title: str | None = None,
    theme: Theme = "auto",
    neighbours: int | None = None,
) -> Path:
    """Write the interactive map of ``store`` to ``out`` (default ``STORE/map.html``); return the path.

    One HTML file that opens from the disk in a current browser without any network access:
    colour by true label, prediction, correctness, confidence or confusion pair; hover for the
    text; search; lasso to a table, CSV or the clipboard. Texts longer than ``max_text_chars``
    are cut (``None`` keeps them whole). Confusion regions in ``STORE/analysis/regions.json``
    are drawn when they belong to ``column``, captioned with their keywords. ``neighbours``: how many
    of each point's stored nearest neighbours (``clsmap analyze``) the page lists when a text is
    clicked; ``None`` (default) as many as add at most 25 % (:data:`NEIGHBOUR_SHARE`) to the file or 4 MB
    (:data:`NEIGHBOUR_ALLOWANCE`) where that is more; 0 none.
    """
    started = time.perf_counter()
    store = open_store(store)
    path = Path(out) if out is not None else store.path / "map.html"
    if path.suffix.lower() not in (".html", ".htm"):
        path = path.with_suffix(path.suffix + ".html") if path.suffix else path.with_suffix(".html")
    if path.exists() and path.is_dir():
        raise ClsmapError(f"{path} is a folder; give a file name such as {path / 'map.html'}")
    write_text_atomic(path, map_html(store, column=column, max_text_chars=max_text_chars, title=title, theme=theme,
                                     neighbours=neighbours))
    logger.info("interactive map: %s (%.1f MB, %.1f s)", path, path.stat().st_size / 1e6,
                time.perf_counter() - started)
    return path
