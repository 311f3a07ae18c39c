"""Confusion regions: the areas of a 2-D map where the model errs (or the classes mix) significantly
more often than on the map as a whole.

A row is *flagged* when it is misclassified (``pred != label``) or, without predictions, when most of
its nearest neighbours in the *original* space carry other labels ("mixed neighbourhood"). A region
is an area of the map whose flag rate is at least ``min_enrichment`` (2) times the map's overall
rate, that holds at most ``max_share`` (10 %) of the points, and whose excess is significant:

1. **Grid.** The map is binned on square cells sized so that an occupied cell holds about 4 points
   (8 to 512 cells along the longer side), and the counts of points and of flagged points are
   smoothed with a Gaussian of one cell (cells whose smoothed count is below 1 are empty space).
2. **Candidates.** Connected areas (4-neighbour cells, holes filled) where the smoothed rate is at
   least 1.5x the overall rate. A candidate whose own rate (raw counts) falls below twice the
   overall rate, or that holds more than 10 % of the points, is searched again at a 1.25x higher
   level, where it splits into its cores or vanishes.
3. **Test.** Each candidate is scored by Kulldorff's Bernoulli log-likelihood ratio (flags inside
   against outside). Its p-value is Monte Carlo: the share of ``permutations`` random placements of
   the same number of flags over the points whose best candidate, found by the same scan, scores as
   high. This calibrates for the many candidates (the max statistic), so a map with diffuse errors
   gets no region at level ``alpha`` (0.05) 95 % of the time.

Cost: O(N) to bin, then O(cells x levels) per permutation, independent of N beyond the binning.
Outlines are the boundaries of the regions' cells (polygons along the grid); a region's numbers
count exactly the points in its cells. See :mod:`clsmap.analysis.scan` for the scan itself.

Regions go into the store as ``analysis/regions.json`` (schema 2: schema 1 plus ``rate``,
``enrichment``, ``p_value`` per region and ``measure``, ``overall_rate`` at the top; files of
schema 1 are still read).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..store.files import read_json_object, write_json_atomic
from ..store.layout import REGIONS_FILE, REGIONS_SCHEMA
from .metrics import neighbour_agreement
from .scan import Scan, make_grid, outline

__all__ = ["confusion_regions", "region_membership", "region_coverage", "write_regions", "read_regions"]

logger = logging.getLogger(__name__)

COLUMNS = ["region_id", "polygon", "area", "n", "n_errors", "n_mixed", "error_rate", "rate", "enrichment",
           "p_value", "llr", "share_points", "purity", "true_label", "pred_label", "examples"]


def _polygon_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _inside(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    from matplotlib.path import Path as MplPath

    lo, hi = polygon.min(axis=0), polygon.max(axis=0)
    box = np.flatnonzero(((xy >= lo) & (xy <= hi)).all(axis=1))
    out = np.zeros(len(xy), dtype=bool)
    if len(box):
        out[box] = MplPath(polygon).contains_points(xy[box])
    return out


def confusion_regions(
    xy: np.ndarray,
    labels: np.ndarray | list,
    *,
    preds: np.ndarray | list | None = None,
    neighbours: np.ndarray | None = None,
    texts: list[str] | None = None,
    mixed_below: float = 0.5,
    min_enrichment: float = 2.0,
    max_share: float = 0.10,
    alpha: float = 0.05,
    permutations: int = 199,
    cells: int | None = None,
    bandwidth: float = 1.0,
    min_points: int = 10,
    min_flags: int = 5,
    seed: int = 0,
    examples: int = 3,
) -> pd.DataFrame:
    """The confusion regions of the map ``xy`` (n, 2), strongest first (method: module docstring).

    ``preds`` flags misclassified rows (``pred != label``); without it, ``neighbours`` ((n, k)
    indices of each row's nearest neighbours in the original space) flags rows whose neighbour
    agreement is below ``mixed_below``. At least one of the two is needed. A region's flag rate is
    at least ``min_enrichment`` x the overall rate, it holds at most ``max_share`` of the points, at
    least ``min_points`` points and ``min_flags`` flagged ones, and its p-value (``permutations``
    Monte Carlo permutations of the flags, ``seed``) is at most ``alpha``. ``cells``: grid cells
    along the map's longer side (default from N); ``bandwidth``: the smoothing in cells.

    Columns: ``region_id`` (1, 2, ...), ``polygon`` (closed outline, list of [x, y]), ``area`` (map
    units squared), ``n`` (points inside), ``n_errors`` (misclassified inside), ``n_mixed``
    (mixed-neighbourhood inside), ``error_rate`` (n_errors / n), ``rate`` (flagged / n: the error
    rate, or the mixed rate without predictions), ``enrichment`` (rate / overall rate), ``p_value``,
    ``llr`` (the scan statistic), ``share_points`` (n / all points), ``purity`` (share of the most
    common true label inside), ``true_label`` and ``pred_label`` (the commonest true -> predicted
    pair among the flagged rows inside; without predictions, true label -> the commonest other
    label among their neighbours), ``examples`` (texts of up to ``examples`` flagged rows, from
    the region's highest-rate cells). ``frame.attrs`` holds ``measure`` ("error" or "mixed"),
    ``overall_rate``, ``alpha``, ``permutations``, ``cells``, ``cell_size``, ``n_candidates``.
    """
    xy = np.asarray(xy, dtype=np.float64)
    labels = np.asarray(labels).astype(str)
    n = len(xy)
    if len(labels) != n:
        raise ValueError(f"confusion_regions: {n} map points but {len(labels)} labels")
    if preds is None and neighbours is None:
        raise ValueError("confusion_regions needs preds= or neighbours= (or both)")
    if not 0 < max_share <= 1 or min_enrichment <= 1 or not 0 < alpha < 1 or permutations < 1:
        raise ValueError("confusion_regions: need 0 < max_share <= 1, min_enrichment > 1, 0 < alpha < 1 and "
                         f"permutations >= 1; got {max_share}, {min_enrichment}, {alpha}, {permutations}")
    wrong = np.zeros(n, dtype=bool) if preds is None else (np.asarray(preds).astype(str) != labels)
    if neighbours is not None:
        mixed = neighbour_agreement(np.asarray(neighbours), labels) < mixed_below
    else:
        mixed = np.zeros(n, dtype=bool)
    flags = wrong if preds is not None else mixed
    base = float(flags.mean()) if n else 0.0
    attrs: dict[str, Any] = {"measure": "error" if preds is not None else "mixed", "overall_rate": base,
                             "min_enrichment": min_enrichment, "max_share": max_share, "alpha": alpha,
                             "permutations": permutations, "cells": None, "cell_size": None, "n_candidates": 0}

    def none() -> pd.DataFrame:
        empty = pd.DataFrame(columns=COLUMNS)
        empty.attrs = attrs
        return empty

    if n < min_points or flags.sum() < min_flags or min_enrichment * base > 1:
        return none()
    grid = make_grid(xy, cells=cells, bandwidth=bandwidth)
    scan = Scan(base=base, min_enrichment=min_enrichment, max_points=max_share * n, min_points=min_points,
                min_flags=min_flags, bandwidth=bandwidth, floor=1.0)
    flagged = grid.flags(flags.astype(np.float64))
    scores, masks, rate = scan.run(grid.counts, flagged, keep=True)
    attrs.update(cells=int(max(grid.shape)), cell_size=grid.size, n_candidates=len(scores))
    if not len(scores):
        return none()
    null = scan.null_maxima(grid.counts, int(flags.sum()), permutations, seed)
    p_values = (1 + (null[None, :] >= scores[:, None] - 1e-9).sum(axis=1)) / (permutations + 1)
    attrs["null_llr_95"] = float(np.quantile(null, 0.95))
    other = np.asarray(preds).astype(str) if preds is not None else None
    cell_rate = rate.ravel()[grid.cell_of]
    found = []
    for score, p_value, mask in zip(scores, p_values, masks, strict=True):
        if p_value > alpha:
            continue
        inside = mask.ravel()[grid.cell_of]
        polygon = outline(mask, grid)
        members = np.flatnonzero(inside)
        hits = members[flags[members]]
        hits = hits[np.argsort(-cell_rate[hits], kind="stable")]
        if other is None and neighbours is not None:
            pair = _dominant_pair(labels[hits], _neighbour_label(labels, neighbours, hits))
        else:
            pair = _dominant_pair(labels[hits], other[hits] if other is not None else labels[hits])
        counts = pd.Series(labels[members]).value_counts()
        found.append({
            "polygon": polygon.tolist(),
            "area": _polygon_area(polygon),
            "n": len(members),
            "n_errors": int(wrong[members].sum()),
            "n_mixed": int(mixed[members].sum()),
            "error_rate": float(wrong[members].mean()),
            "rate": float(flags[members].mean()),
            "enrichment": float(flags[members].mean() / base),
            "p_value": float(p_value),
            "llr": float(score),
            "share_points": len(members) / n,
            "purity": float(counts.iloc[0] / counts.sum()),
            "true_label": pair[0],
            "pred_label": pair[1],
            "examples": [str(texts[i]) for i in hits[:examples]] if texts is not None else [],
        })
    found.sort(key=lambda r: (r["p_value"], -r["llr"]))
    for i, region in enumerate(found, start=1):
        region["region_id"] = i
    out = pd.DataFrame(found, columns=COLUMNS)
    out.attrs = attrs
    return out


def _neighbour_label(labels: np.ndarray, neighbours: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each of ``rows``, the commonest label among its neighbours other than its own."""
    out = labels[rows].copy()
    for i, row in enumerate(rows):
        theirs = labels[neighbours[row]]
        values, counts = np.unique(theirs[theirs != labels[row]], return_counts=True)
        if len(values):
            out[i] = values[np.argmax(counts)]
    return out


def _dominant_pair(true: np.ndarray, other: np.ndarray) -> tuple[str | None, str | None]:
    if not len(true):
        return None, None
    pairs = pd.Series(list(zip(true, other, strict=True))).value_counts()
    true_label, pred_label = pairs.index[0]
    return str(true_label), str(pred_label)


def region_membership(xy: np.ndarray, regions: pd.DataFrame) -> np.ndarray:
    """Per map point, the id of the first region (lowest id) whose outline contains it; 0 for none."""
    xy = np.asarray(xy, dtype=np.float64)
    member = np.zeros(len(xy), dtype=np.int64)
    for region in regions.sort_values("region_id", ascending=False).itertuples():
        member[_inside(xy, np.asarray(region.polygon))] = region.region_id
    return member


def region_coverage(xy: np.ndarray, wrong: np.ndarray, regions: pd.DataFrame, *, grid: int = 400) -> dict[str, Any]:
    """How much the regions say: ``n_regions``, ``share_errors`` (flagged points inside any region),
    ``share_points`` (all points inside any region), ``share_area`` (share of the map's area, the
    convex hull of all points, that the regions cover; measured on a ``grid`` x ``grid`` raster),
    ``overall_rate`` (of ``wrong``) and ``note``: one sentence for a reader, which says when the
    errors are diffuse (no region)."""
    from scipy.spatial import ConvexHull, QhullError

    xy = np.asarray(xy, dtype=np.float64)
    wrong = np.asarray(wrong, dtype=bool)
    member = region_membership(xy, regions) if len(regions) else np.zeros(len(xy), dtype=np.int64)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    try:
        in_map = _inside(cells, xy[ConvexHull(xy).vertices])
    except QhullError:  # every point on one spot or one line: the map has no area
        in_map = np.zeros(len(cells), dtype=bool)
    in_region = region_membership(cells, regions) > 0 if len(regions) else np.zeros(len(cells), dtype=bool)
    attrs = getattr(regions, "attrs", {}) or {}
    measure = "errors" if attrs.get("measure", "error") == "error" else "mixed neighbourhoods"
    overall = float(wrong.mean()) if len(wrong) else float("nan")
    share_errors = float((member[wrong] > 0).mean()) if wrong.any() else float("nan")
    if len(regions):
        note = (f"{len(regions)} region(s) where the {measure} are at least {attrs.get('min_enrichment', 2):g}x "
                f"as frequent as overall ({overall:.1%}), p <= {attrs.get('alpha', 0.05):g}; they hold "
                f"{share_errors:.0%} of the {measure} and {(member > 0).mean():.0%} of the points")
    else:
        note = (f"{measure} are diffuse: no region of the map has {attrs.get('min_enrichment', 2):g}x the "
                f"overall rate ({overall:.1%}) at p <= {attrs.get('alpha', 0.05):g} with at most "
                f"{attrs.get('max_share', 0.1):.0%} of the points")
    return {
        "n_regions": int(len(regions)),
        "share_errors": share_errors,
        "share_points": float((member > 0).mean()),
        "share_area": float((in_region & in_map).sum() / max(in_map.sum(), 1)),
        "overall_rate": overall,
        "note": note,
    }


def write_regions(store_path: str | Path, regions: pd.DataFrame, *, column: str) -> Path:
    """Write ``regions`` to ``<store>/analysis/regions.json`` (atomically) in the shared schema."""
    keys = ["region_id", "polygon", "n", "n_errors", "error_rate", "rate", "enrichment", "p_value", "purity",
            "true_label", "pred_label", "examples"]
    attrs = getattr(regions, "attrs", {}) or {}
    payload = {
        "schema": REGIONS_SCHEMA,
        "column": column,
        "measure": attrs.get("measure"),
        "overall_rate": _plain(attrs.get("overall_rate")),
        "alpha": _plain(attrs.get("alpha")),
        "regions": [{key: _plain(row.get(key)) for key in keys} for row in regions.to_dict("records")],
    }
    return write_json_atomic(Path(store_path) / REGIONS_FILE, payload)


def read_regions(store_path: str | Path) -> dict[str, Any] | None:
    """The regions file of a store as a dict (schema 1 or 2), or ``None`` if there is none (or it
    cannot be read, or is of a newer schema: a warning says why, and the maps are drawn without
    regions)."""
    path = Path(store_path) / REGIONS_FILE
    data = read_json_object(path, without="the maps are drawn without regions")
    if data is None:
        return None
    schema = data.get("schema", 1)
    if isinstance(schema, int) and schema > REGIONS_SCHEMA:
        logger.warning("%s has schema %s, newer than this clsmap reads (%d); the maps are drawn without regions "
                       "(upgrade clsmap or run clsmap analyze again)", path, schema, REGIONS_SCHEMA)
        return None
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
