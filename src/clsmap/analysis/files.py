"""What :func:`~clsmap.analysis.analyze` keeps in the store, written and read back once.

:func:`write_analysis` writes an :class:`~clsmap.analysis.results.Analysis` (``analysis/analysis.json``,
``analysis/regions.json``, ``analysis/keywords.json`` and the k-NN graph ``neighbours/<column>.parquet``;
paths and versions from :mod:`clsmap.store.layout`). :func:`read_regions` and :func:`read_keywords` read
the regions and the keywords back as typed results, checked once (the file's schema version, the column it
describes, each region's outline), for the figures, the interactive map and the report.

``regions.json`` (schema 2): ``schema``, ``column``, ``measure``, ``overall_rate``, ``alpha`` and ``regions``,
each with the keys of :data:`REGION_KEYS` (schema 1, still read, lacks ``rate``, ``enrichment``,
``p_value``, ``measure`` and ``overall_rate``). ``keywords.json`` (schema 1): ``schema``, ``column``,
``method``, ``n_texts`` and per class (``classes``) and region (``regions``, by id) the keywords in rank
order, each ``{term, score, share}``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._json import jsonable
from ..store.files import read_json_object, write_json_atomic
from ..store.layout import ANALYSIS_FILE, KEYWORDS_FILE, KEYWORDS_SCHEMA, REGIONS_FILE, REGIONS_SCHEMA
from ..store.reader import Store, open_store
from ..store.writer import write_neighbours
from .results import Analysis, Keywords, Regions

__all__ = ["write_analysis", "write_regions", "write_keywords", "read_regions", "read_keywords", "REGION_KEYS"]

logger = logging.getLogger(__name__)

#: what ``regions.json`` keeps of each region
REGION_KEYS = ["region_id", "polygon", "n", "n_errors", "error_rate", "rate", "enrichment", "p_value", "purity",
               "true_label", "pred_label", "examples"]


def write_analysis(store: Store | str | Path, result: Analysis) -> None:
    """Save ``result`` in ``store``: its regions (when it has a map), keywords, k-NN graph and every number
    (:meth:`~clsmap.analysis.results.Analysis.to_dict`), each file atomically."""
    opened = open_store(store)
    column = result.column
    if result.regions is not None:
        write_regions(opened.path, result.regions, column=column)
    if result.keywords is not None:
        write_keywords(opened.path, result.keywords, column=column)
    if result.neighbours is not None:
        write_neighbours(opened.path, column, opened.frame["id"].tolist(), result.neighbours, result.similarity,
                         metadata={"column": column, "k": result.summary["k"], "metric": "cosine",
                                   "n_rows": result.summary["n_rows"]})
    write_json_atomic(opened.path / ANALYSIS_FILE, result.to_dict())


def write_regions(store_path: str | Path, regions: Regions, *, column: str) -> Path:
    """Write ``regions`` to ``<store>/analysis/regions.json`` (atomically)."""
    payload = {
        "schema": REGIONS_SCHEMA,
        "column": column,
        "measure": regions.measure,
        "overall_rate": jsonable(regions.overall_rate),
        "alpha": jsonable(regions.alpha),
        "regions": [{key: jsonable(row.get(key)) for key in REGION_KEYS} for row in regions.frame.to_dict("records")],
    }
    return write_json_atomic(Path(store_path) / REGIONS_FILE, payload)


def _keyword_records(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    if not len(frame):
        return {}
    return {str(group): [{"term": r.term, "score": round(float(r.score), 6), "share": round(float(r.share), 4)}
                         for r in part.sort_values("rank").itertuples()]
            for group, part in frame.groupby("group", sort=False)}


def write_keywords(store_path: str | Path, keywords: Keywords, *, column: str) -> Path:
    """Write ``<store>/analysis/keywords.json``: per class and per region (by id), the keywords in rank
    order, each ``{term, score, share}`` (``keywords``: an analysis's, with ``kind``)."""
    payload = {"schema": KEYWORDS_SCHEMA, "column": column, "method": "c-TF-IDF", "n_texts": keywords.n_texts,
               "classes": _keyword_records(keywords.of("class")), "regions": _keyword_records(keywords.of("region"))}
    return write_json_atomic(Path(store_path) / KEYWORDS_FILE, payload)


def _folder(store: Store | str | Path) -> Path:
    return store.path if isinstance(store, Store) else Path(store)


def read_regions(store: Store | str | Path, column: str) -> Regions | None:
    """The confusion regions saved in ``store`` for ``column`` (regions file of schema 1 or 2), each with a
    usable outline; ``None`` when there are none for that column (or the file cannot be read, or is of a
    newer schema: a warning says why, and the maps are drawn without regions). A region whose outline is
    not at least three finite ``[x, y]`` points is left out, with a warning."""
    path = _folder(store) / REGIONS_FILE
    data = read_json_object(path, without="the maps are drawn without regions")
    if data is None:
        return None
    schema = data.get("schema", 1)
    if isinstance(schema, int) and schema > REGIONS_SCHEMA:
        logger.warning("%s has schema %s, newer than this clsmap reads (%d); the maps are drawn without regions "
                       "(upgrade clsmap or run clsmap analyze again)", path, schema, REGIONS_SCHEMA)
        return None
    if data.get("column") != column:
        logger.info("%s describes column %r, not %r; regions not drawn", path, data.get("column"), column)
        return None
    rows = [row for i, region in enumerate(data.get("regions") or []) if (row := _region_row(path, i, region))]
    return Regions(frame=pd.DataFrame(rows, columns=REGION_KEYS), measure=data.get("measure"),
                   overall_rate=data.get("overall_rate"), alpha=data.get("alpha"))


def _region_row(path: Path, index: int, region: Any) -> dict[str, Any] | None:
    """One region of a regions file as a row of :data:`REGION_KEYS`, or None (with a warning) when its
    outline is unusable."""
    try:
        poly = np.asarray(region["polygon"], dtype=np.float64)
        if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3 or not np.isfinite(poly).all():
            raise ValueError("polygon needs at least 3 finite [x, y] points")
    except (KeyError, TypeError, ValueError) as exc:
        logger.warning("%s: skipping a region without a usable polygon (%s)", path, exc)
        return None
    row = {key: region.get(key) for key in REGION_KEYS}
    row["region_id"] = region.get("region_id", index + 1)
    row["polygon"] = poly.tolist()
    row["true_label"], row["pred_label"] = region.get("true_label", ""), region.get("pred_label", "")
    row["examples"] = list(region.get("examples") or [])
    return row


def read_keywords(store: Store | str | Path, column: str) -> Keywords | None:
    """The keywords saved in ``store`` for ``column``: a :class:`~clsmap.analysis.results.Keywords` whose frame
    has ``kind``, ``group``, ``rank``, ``term``, ``score`` and ``share``; ``None`` when there are none for that
    column (or the file cannot be read, or is of a newer schema: a warning says why, and the pages are made
    without keywords)."""
    path = _folder(store) / KEYWORDS_FILE
    data = read_json_object(path, without="the pages are made without keywords")
    if data is None:
        return None
    schema = data.get("schema")
    if not isinstance(schema, int) or schema > KEYWORDS_SCHEMA:
        logger.warning("%s is not a keywords file this clsmap reads (schema %r); the pages are made without keywords",
                       path, schema)
        return None
    if data.get("column") != column:
        return None
    rows = []
    for key, kind in (("classes", "class"), ("regions", "region")):
        groups = data.get(key)
        for group, entries in (groups.items() if isinstance(groups, dict) else ()):
            terms = [e for e in (entries if isinstance(entries, list) else []) if isinstance(e, dict) and "term" in e]
            rows += [(kind, str(group), rank, str(e["term"]), e.get("score"), e.get("share"))
                     for rank, e in enumerate(terms, start=1)]
    n_texts = data.get("n_texts")
    return Keywords(frame=pd.DataFrame(rows, columns=["kind", "group", "rank", "term", "score", "share"]),
                    n_texts=n_texts if isinstance(n_texts, int) else None)
