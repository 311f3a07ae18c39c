"""The interactive map: one self-contained, offline HTML file per store.

:func:`write_map` packs a store's projection, labels, predictions, confidences, ids and texts
(truncated to ``max_text_chars``) as columnar binary (float32 coordinates, int32 category codes,
UTF-8 text blobs with offsets), gzips and base64-encodes it into a
``<script type="application/octet-stream">`` element, and inlines the bundled viewer
(``clsmap/_assets/viewer.js``, built from ``js/viewer`` with esbuild around regl-scatterplot).
A Content-Security-Policy meta tag forbids every load from outside the file; the only script
allowed to run is the viewer itself (by its sha256 hash). The page builds its DOM with
``textContent``, so texts, labels, ids and names are shown as text, never run.

:func:`show` displays the same map inline in Jupyter.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import logging
import math
import time
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._errors import ClsmapError
from ._validation import check_choice, check_positive_int
from .store import Store, open_store

__all__ = ["MapView", "map_html", "show", "write_map"]

logger = logging.getLogger(__name__)

Theme = Literal["light", "dark", "auto"]
THEMES = ("light", "dark", "auto")
REGIONS_FILE = Path("analysis") / "regions.json"

#: Every load from outside the file is forbidden. regl compiles its draw calls with ``Function``,
#: hence 'unsafe-eval'; the spatial index is built in a worker made from a blob; the payload is
#: decoded by fetching a data: URL where ``Uint8Array.fromBase64`` is missing.
_CSP = (
    "default-src 'none'; script-src '{hash}' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; worker-src blob:; connect-src data: blob:; font-src 'none'; "
    "base-uri 'none'; form-action 'none'; object-src 'none'"
)


def _asset() -> str:
    return resources.files("clsmap").joinpath("_assets/viewer.js").read_text(encoding="utf-8")


def _json_for_script(obj: Any) -> str:
    """JSON that cannot end its ``<script>`` element or open a comment: ``<``, ``>`` and ``&`` are escaped."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _strings(values: Any, max_chars: int | None) -> tuple[np.ndarray, bytes, int]:
    """Lengths in UTF-16 code units (what JavaScript counts) and the UTF-8 blob of ``values``
    (nulls as ''), cut to ``max_chars`` code points; also how many were cut. Vectorised with pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values, type=pa.large_string(), from_pandas=True).fill_null("")
    cut = 0
    if max_chars is not None:
        lengths = pc.utf8_length(arr)
        cut = int(pc.sum(pc.greater(lengths, max_chars)).as_py() or 0)
        if cut:
            arr = pc.utf8_slice_codeunits(arr, 0, max_chars)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    # a code point above U+FFFF takes two UTF-16 code units
    units = pc.utf8_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    units += pc.count_substring_regex(arr, "[\\x{10000}-\\x{10FFFF}]").to_numpy(zero_copy_only=False)
    if units.sum() >= 2**32:
        raise ClsmapError("the texts are too long for one map (over 4 G characters); lower --max-text-chars")
    byte_offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    blob = arr.buffers()[2].to_pybytes()[int(byte_offsets[0]):int(byte_offsets[-1])] if len(arr) else b""
    return _smallest_uint(units), blob, cut


def _smallest_uint(values: np.ndarray) -> np.ndarray:
    top = int(values.max()) if len(values) else 0
    return values.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.uint32)


def _smallest_int(codes: np.ndarray, n_names: int) -> np.ndarray:
    return codes.astype(np.int8 if n_names < 2**7 else np.int16 if n_names < 2**15 else np.int32)


_DTYPES = {np.dtype(np.float32): "f4", np.dtype(np.int32): "i4", np.dtype(np.uint32): "u4", np.dtype(np.int16): "i2",
           np.dtype(np.uint16): "u2", np.dtype(np.int8): "i1", np.dtype(np.uint8): "u1"}
_MEMBER_BYTES = 8 << 20


def _pack(columns: dict[str, Any], compresslevel: int) -> tuple[list[dict[str, Any]], dict[str, Any], bytes]:
    """Lay the columns out 8-byte aligned in one buffer and gzip it as a series of members of at most
    8 MB, compressed on all cores (zlib releases the GIL); the page decodes each into its range."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    layout, chunks, offset = [], [], 0
    for name, values in columns.items():
        pad = (-offset) % 8
        if pad:
            chunks.append(b"\0" * pad)
            offset += pad
        if isinstance(values, bytes):
            dtype, length, payload = "u1", len(values), values
        else:
            values = np.ascontiguousarray(values)
            dtype, length, payload = _DTYPES[values.dtype], len(values), values.tobytes()
        layout.append({"name": name, "dtype": dtype, "offset": offset, "length": length})
        chunks.append(payload)
        offset += len(payload)
    raw = b"".join(chunks)
    pieces = [raw[i:i + _MEMBER_BYTES] for i in range(0, len(raw), _MEMBER_BYTES)] or [b""]
    with ThreadPoolExecutor(max_workers=min(len(pieces), os.cpu_count() or 1)) as pool:
        packed = list(pool.map(lambda piece: gzip.compress(piece, compresslevel=compresslevel, mtime=0), pieces))
    members, at = [], 0
    for k, member in enumerate(packed):
        members.append({"offset": at, "length": len(member), "raw_offset": k * _MEMBER_BYTES})
        at += len(member)
    return layout, {"members": members, "raw_length": len(raw)}, b"".join(packed)


def _codes(values: Any, names: list[str]) -> np.ndarray:
    import pandas as pd

    cat = pd.Categorical(values, categories=names)
    return np.asarray(cat.codes, dtype=np.int32)


def _normalise(xy: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Coordinates in [-1, 1] (aspect kept, a small margin); returns them, the scale and the centre."""
    xy = np.asarray(xy, dtype=np.float64)
    finite = np.isfinite(xy).all(axis=1)
    if not finite.all():
        raise ClsmapError(f"the projection has {int((~finite).sum())} non-finite coordinates; run clsmap project again")
    lo, hi = (xy.min(axis=0), xy.max(axis=0)) if len(xy) else (np.zeros(2), np.ones(2))
    centre = (lo + hi) / 2
    half = float(max((hi - lo).max() / 2, 1e-12)) * 1.04
    return ((xy - centre) / half).astype(np.float32), half, centre


def _point_size(n: int) -> float:
    """Points shrink as N grows: about 7 px for a few hundred, 3.5 for 10k, 1.5 for 1M."""
    return float(min(8.0, max(1.0, 35.0 / max(n, 1) ** 0.23)))


def _read_regions(store: Store, column: str, half: float, centre: np.ndarray) -> list[dict[str, Any]]:
    path = store.path / REGIONS_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        logger.warning("%s is unreadable (%s); the map is drawn without regions", path, exc)
        return []
    if not isinstance(data, dict) or data.get("column") != column:
        logger.info("%s describes column %r, not %r; regions not drawn", path,
                    data.get("column") if isinstance(data, dict) else None, column)
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
            "purity": _number(region.get("purity")),
            "true_label": str(region.get("true_label", "")),
            "pred_label": str(region.get("pred_label", "")),
            "examples": [str(e) for e in (region.get("examples") or [])[:10]],
        })
    return out


def _number(value: Any) -> float | int | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else None


def _title(store: Store, column: str, reducer: str | None, accuracy: float | None) -> dict[str, Any]:
    meta = store.meta
    model = meta.get("model") or {}
    extraction = meta.get("extraction") or {}
    layer = extraction.get("module") or extraction.get("layer")
    if column != store.default_vector or layer == "all":
        layer = column
    return {
        "model": str(model.get("name_or_path") or "clsmap"),
        "layer": None if layer is None else str(layer),
        "pooling": None if extraction.get("pooling") is None else str(extraction.get("pooling")),
        "reducer": reducer,
        "column": column,
        "accuracy": accuracy,
        "store": store.path.name,
    }


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
    import pandas as pd

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
    xy, half, centre = _normalise(proj[["x", "y"]].to_numpy())

    classes = [str(c) for c in (store.classes or [])]
    label_values = frame["label"]
    extra_labels = sorted(set(map(str, pd.unique(label_values.dropna()))) - set(classes))
    label_names = classes + extra_labels if store.has_labels else []
    pred_names = list(classes)
    extra_preds = sorted(set(map(str, pd.unique(frame["pred"].dropna()))) - set(pred_names))
    pred_names += extra_preds
    label = _codes(label_values.astype("string"), label_names) if label_names else np.full(n, -1, np.int32)
    pred = _codes(frame["pred"].astype("string"), pred_names) if store.has_predictions else np.full(n, -1, np.int32)
    conf = frame["confidence"].to_numpy(dtype=np.float32, na_value=np.nan)
    correct_col = frame["correct"]
    correct = np.full(n, -1, dtype=np.int8)
    known = correct_col.notna().to_numpy()
    correct[known] = correct_col[known].astype(bool).to_numpy().astype(np.int8)

    text_len, text_blob, cut = _strings(frame["text"], max_text_chars)
    id_len, id_blob, _ = _strings(frame["id"].astype("string"), None)
    columns, packing, packed = _pack({
        "x": xy[:, 0], "y": xy[:, 1],
        "label": _smallest_int(label, len(label_names)), "pred": _smallest_int(pred, len(pred_names)),
        "conf": conf, "correct": correct,
        "text_len": text_len, "id_len": id_len, "text": text_blob, "id": id_blob,
    }, compresslevel)
    encoded = base64.b64encode(packed).decode("ascii")

    pmeta = store.projection_meta(column) or {}
    reducer = pmeta.get("method")
    accuracy = store.accuracy
    heading = _title(store, column, None if reducer is None else str(reducer), accuracy)
    meta = {
        "version": 1,
        "n": n,
        "title": heading,
        "label_names": label_names,
        "pred_names": pred_names,
        "has_labels": bool(label_names) and bool((label >= 0).any()),
        "has_predictions": bool(store.has_predictions),
        "max_text_chars": max_text_chars,
        "truncated": cut,
        "columns": columns,
        **packing,
        "theme": theme,
        "point_size": _point_size(n),
        "regions": _read_regions(store, column, half, centre),
    }
    script = _asset()
    for bad in ("</script", "<!--"):
        if bad in script.lower():  # pragma: no cover - checked when the asset is built
            raise AssertionError(f"the bundled viewer contains {bad!r}")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    page_title = title or f"clsmap · {heading['model']} · {n:,} points"
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP.format(hash='sha256-' + digest)}\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"referrer\" content=\"no-referrer\">\n",
        f"<title>{html.escape(page_title)}</title>\n<style>{_CSS}</style></head>\n<body>\n",
        _BODY,
        f"<script type=\"application/json\" id=\"clsmap-meta\">{_json_for_script(meta)}</script>\n",
        "<script type=\"application/octet-stream\" id=\"clsmap-data\">",
        encoded,
        "</script>\n<script>",
        script,
        "</script>\n</body></html>\n",
    ])


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
    page = map_html(store, column=column, max_text_chars=max_text_chars, title=title, theme=theme)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    logger.info("interactive map: %s (%.1f MB, %.1f s)", path, path.stat().st_size / 1e6,
                time.perf_counter() - started)
    return path


def _iframe(page: str, height: int) -> str:
    # srcdoc is an attribute: html.escape(quote=True) leaves no way to end it early
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width:100%;height:{height}px;border:0" '
            'sandbox="allow-scripts allow-downloads" title="clsmap interactive map"></iframe>')


class MapView:
    """The interactive map of a store, for Jupyter: the notebook renders it through ``_repr_html_``
    (an ``<iframe srcdoc>`` holding the self-contained page, so its scripts and styles stay apart).
    ``html`` is the page itself; :meth:`save` writes it to a file."""

    def __init__(self, page: str, *, height: int = 640) -> None:
        self.html = page
        self.height = height

    def _repr_html_(self) -> str:
        return _iframe(self.html, self.height)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def __repr__(self) -> str:
        return f"<clsmap MapView: {len(self.html) / 1e6:.1f} MB of HTML>"


def show(store: Store | str | Path, *, column: str | None = None, max_text_chars: int | None = 200,
         theme: Theme = "auto", height: int = 640) -> MapView:
    """The map of ``store`` for a Jupyter notebook: the last expression of a cell, or passed to
    ``IPython.display.display``, it shows inline (same page as :func:`write_map`)."""
    check_positive_int(height, param="height", func="show")
    page = map_html(store, column=column, max_text_chars=max_text_chars, theme=theme)
    return MapView(page, height=height)


def store_html(store: Store) -> str:
    """What ``Store._repr_html_`` shows: the map if the store has a projection, else a short summary."""
    if store.projection_of(None) is None:
        return (f"<pre>{html.escape(repr(store))}\nno 2-D projection yet: "
                f"clsmap.project(store) adds one, then the map shows here</pre>")
    return show(store)._repr_html_()


_BODY = """\
<header id="bar">
  <div class="titles"><span id="title"></span><span id="facts"></span></div>
  <div id="modes" class="group" aria-label="colour by"></div>
  <div id="tools" class="group" aria-label="mouse">
    <button data-tool="pan" class="on" title="drag to pan, wheel to zoom; shift-drag lassoes">pan</button>
    <button data-tool="lasso" title="drag a free-form lasso">lasso</button>
    <button data-tool="box" title="drag a rectangle">box</button>
    <button id="reset-view" title="back to the whole map">reset</button>
  </div>
  <button id="theme" title="light / dark">◐</button>
</header>
<main>
  <div id="plot"><canvas id="canvas"></canvas><canvas id="overlay"></canvas>
    <div id="loading">loading the map…</div></div>
  <aside id="side">
    <section>
      <input id="search" type="search" placeholder="search texts and ids" autocomplete="off" spellcheck="false">
      <label class="small"><input id="regex" type="checkbox"> regex</label>
      <span id="search-count" class="small"></span>
    </section>
    <section>
      <div class="row"><h3 id="legend-title">colour</h3><button id="show-all" class="small">show all</button></div>
      <div class="small hint">click: hide/show · alt- or double-click: isolate · dark ring: misclassified</div>
      <div id="legend"></div></section>
    <section id="regions" hidden><div class="row"><h3>confusion regions</h3>
      <label class="small"><input id="show-regions" type="checkbox" checked> outlines</label></div>
      <div id="region-list"></div></section>
    <section id="detail" hidden><div class="row"><h3>text</h3><button id="detail-close" class="small">×</button></div>
      <div id="detail-body"></div></section>
    <section id="selection" hidden>
      <div class="row"><h3 id="sel-count"></h3><span>
        <button id="sel-csv" class="small">download CSV</button>
        <button id="sel-copy" class="small">copy ids</button>
        <button id="sel-clear" class="small">clear</button></span></div>
      <div id="sel-hists"></div>
      <div class="small" id="sel-more"></div>
      <table id="sel-table"><thead><tr><th>id</th><th>label</th><th>pred</th><th>conf</th><th>text</th></tr></thead>
        <tbody id="sel-rows"></tbody></table>
    </section>
  </aside>
</main>
<div id="tooltip" hidden></div>
"""

_CSS = """
:root{--bg:#fff;--fg:#1d2125;--muted:#5f6b76;--panel:#f6f7f9;--line:#dde1e6;--accent:#1f6feb;--wrong:#c0392b}
[data-theme=dark]{--bg:#15181c;--fg:#e6e8eb;--muted:#9aa4ae;--panel:#1d2127;--line:#313841;--accent:#58a6ff;
--wrong:#ff7b72}
*{box-sizing:border-box}
html,body{margin:0;height:100%;background:var(--bg);color:var(--fg);
font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK KR",sans-serif}
body{display:flex;flex-direction:column;overflow:hidden}
header{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;padding:6px 10px;border-bottom:1px solid var(--line);
background:var(--panel)}
.titles{display:flex;flex-direction:column;min-width:200px;flex:1}
#title{font-weight:600;font-size:14px;overflow-wrap:anywhere}
#facts{color:var(--muted);font-size:12px}
.group{display:flex;gap:0}
button{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);padding:3px 9px;cursor:pointer}
.group button+button{border-left:0}
button.on{background:var(--accent);color:#fff;border-color:var(--accent)}
button.small,.small{font-size:11px}
main{flex:1;display:flex;min-height:0}
#plot{position:relative;flex:1;min-width:0}
#canvas,#overlay{position:absolute;inset:0;width:100%;height:100%}
#overlay{pointer-events:none}
#loading{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;color:var(--muted)}
#loading[hidden]{display:none}
aside{width:380px;max-width:45vw;overflow:auto;border-left:1px solid var(--line);background:var(--panel);padding:0 10px}
section{padding:8px 0;border-bottom:1px solid var(--line)}
section[hidden]{display:none}
h3{margin:0;font-size:13px}
h4{margin:6px 0 2px;font-size:12px;color:var(--muted);font-weight:600}
.row{display:flex;justify-content:space-between;align-items:center;gap:6px}
.hint{color:var(--muted);margin:2px 0 4px}
#search{width:100%;padding:5px 7px;font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line)}
#search-count.error{color:var(--wrong)}
#legend{max-height:34vh;overflow:auto}
.legend-item,.region-item{display:flex;align-items:center;gap:6px;padding:1px 2px;cursor:pointer;user-select:none}
.legend-item:hover,.region-item:hover{background:var(--bg)}
.legend-item.off{opacity:.35}
.legend-item .name{flex:1;overflow-wrap:anywhere}
.count{color:var(--muted);font-variant-numeric:tabular-nums}
.swatch{width:11px;height:11px;border-radius:50%;flex:none}
#detail-body .text,#tooltip .text{white-space:pre-wrap;overflow-wrap:anywhere}
#detail-body .text{max-height:30vh;overflow:auto;margin-bottom:4px}
.fields{color:var(--muted);font-size:12px}
.fields b{color:var(--fg);font-weight:600}
#tooltip{position:fixed;z-index:10;max-width:380px;pointer-events:none;padding:7px 9px;background:var(--bg);
color:var(--fg);border:1px solid var(--line);box-shadow:0 2px 10px rgba(0,0,0,.18);font-size:12px}
#tooltip[hidden]{display:none}
#tooltip .text{margin-bottom:4px}
.bar-row{display:flex;align-items:center;gap:6px;font-size:11px}
.bar-name{width:35%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar{height:9px;background:var(--accent);display:inline-block}
table{width:100%;border-collapse:collapse;font-size:11px;margin-top:6px;table-layout:fixed}
th,td{border-bottom:1px solid var(--line);padding:2px 3px;text-align:left;vertical-align:top;overflow:hidden;
text-overflow:ellipsis}
th:nth-child(1){width:18%}th:nth-child(2),th:nth-child(3){width:17%}th:nth-child(4){width:11%}
td.cell-text{white-space:nowrap}
tr.wrong td:nth-child(3){color:var(--wrong)}
tbody tr{cursor:pointer}
tbody tr:hover{background:var(--bg)}
"""
