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

The regions are a :class:`~clsmap.analysis.results.Regions`: the table and how it was found. They go into
the store as ``analysis/regions.json`` (:mod:`clsmap.analysis.files`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .metrics import neighbour_agreement
from .results import RegionCoverage, Regions
from .scan import Grid, Scan, make_grid, outline

__all__ = ["RegionOptions", "confusion_regions", "region_membership", "region_coverage"]

logger = logging.getLogger(__name__)

COLUMNS = ["region_id", "polygon", "area", "n", "n_errors", "n_mixed", "error_rate", "rate", "enrichment",
           "p_value", "llr", "share_points", "purity", "true_label", "pred_label", "examples"]


@dataclass(frozen=True)
class RegionOptions:
    """How :func:`confusion_regions` searches. Without predictions, a row is flagged when its neighbour
    agreement is below ``mixed_below``. A region's flag rate is at least ``min_enrichment`` x the overall
    rate, it holds at most ``max_share`` of the points, at least ``min_points`` points and ``min_flags``
    flagged ones, and its p-value (``permutations`` Monte Carlo permutations of the flags) is at most
    ``alpha``. ``cells``: grid cells along the map's longer side (None: from N); ``bandwidth``: the
    smoothing in cells; ``examples``: texts kept per region."""

    mixed_below: float = 0.5
    min_enrichment: float = 2.0
    max_share: float = 0.10
    alpha: float = 0.05
    permutations: int = 199
    cells: int | None = None
    bandwidth: float = 1.0
    min_points: int = 10
    min_flags: int = 5
    examples: int = 3

    def __post_init__(self) -> None:
        if (not 0 < self.max_share <= 1 or self.min_enrichment <= 1 or not 0 < self.alpha < 1
                or self.permutations < 1):
            raise ValueError("confusion_regions: need 0 < max_share <= 1, min_enrichment > 1, 0 < alpha < 1 and "
                             f"permutations >= 1; got {self.max_share}, {self.min_enrichment}, {self.alpha}, "
                             f"{self.permutations}")


@dataclass
class _Flags:
    """The rows of one map and what flags them: ``wrong`` (misclassified), ``mixed`` (mixed
    neighbourhood), ``flags`` (those the regions are measured by) and, per flagged row, the other label
    of its pair (``other``: the prediction, or None: the commonest other label among its neighbours)."""

    labels: np.ndarray
    wrong: np.ndarray
    mixed: np.ndarray
    flags: np.ndarray
    other: np.ndarray | None
    neighbours: np.ndarray | None
    texts: list[str] | None

    @property
    def measure(self) -> str:
        return "mixed" if self.other is None else "error"


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
    seed: int = 0,
    options: RegionOptions | None = None,
) -> Regions:
    """The confusion regions of the map ``xy`` (n, 2), strongest first (method: module docstring).

    ``preds`` flags misclassified rows (``pred != label``); without it, ``neighbours`` ((n, k)
    indices of each row's nearest neighbours in the original space) flags rows whose neighbour
    agreement is below ``options.mixed_below``. At least one of the two is needed. ``options``: the
    thresholds of the search (:class:`RegionOptions`); ``seed``: of the permutations.

    The frame's columns: ``region_id`` (1, 2, ...), ``polygon`` (closed outline, list of [x, y]), ``area``
    (map units squared), ``n`` (points inside), ``n_errors`` (misclassified inside), ``n_mixed``
    (mixed-neighbourhood inside), ``error_rate`` (n_errors / n), ``rate`` (flagged / n: the error
    rate, or the mixed rate without predictions), ``enrichment`` (rate / overall rate), ``p_value``,
    ``llr`` (the scan statistic), ``share_points`` (n / all points), ``purity`` (share of the most
    common true label inside), ``true_label`` and ``pred_label`` (the commonest true -> predicted
    pair among the flagged rows inside; without predictions, true label -> the commonest other
    label among their neighbours), ``examples`` (texts of up to ``options.examples`` flagged rows, from
    the region's highest-rate cells). The facts (measure, overall rate, the grid, the candidates) are the
    fields of the :class:`~clsmap.analysis.results.Regions`.
    """
    options = options or RegionOptions()
    xy = np.asarray(xy, dtype=np.float64)
    rows = _flags(xy, labels, preds, neighbours, texts, options)
    n, flags = len(xy), rows.flags
    base = float(flags.mean()) if n else 0.0
    facts: dict[str, Any] = {"measure": rows.measure, "overall_rate": base, "min_enrichment": options.min_enrichment,
                             "max_share": options.max_share, "alpha": options.alpha,
                             "permutations": options.permutations}
    if n < options.min_points or flags.sum() < options.min_flags or options.min_enrichment * base > 1:
        return Regions(frame=pd.DataFrame(columns=COLUMNS), **facts)
    grid = make_grid(xy, cells=options.cells, bandwidth=options.bandwidth)
    scan = Scan(base=base, min_enrichment=options.min_enrichment, max_points=options.max_share * n,
                min_points=options.min_points, min_flags=options.min_flags, bandwidth=options.bandwidth, floor=1.0)
    scores, masks, rate = scan.run(grid.counts, grid.flags(flags.astype(np.float64)), keep=True)
    facts.update(cells=int(max(grid.shape)), cell_size=grid.size, n_candidates=len(scores))
    if not len(scores):
        return Regions(frame=pd.DataFrame(columns=COLUMNS), **facts)
    null = scan.null_maxima(grid.counts, int(flags.sum()), options.permutations, seed)
    p_values = (1 + (null[None, :] >= scores[:, None] - 1e-9).sum(axis=1)) / (options.permutations + 1)
    cell_rate = rate.ravel()[grid.cell_of]
    found = [_region(rows, grid, mask, cell_rate, score=float(score), p_value=float(p_value), base=base,
                     examples=options.examples)
             for score, p_value, mask in zip(scores, p_values, masks, strict=True) if p_value <= options.alpha]
    found.sort(key=lambda r: (r["p_value"], -r["llr"]))
    for i, region in enumerate(found, start=1):
        region["region_id"] = i
    return Regions(frame=pd.DataFrame(found, columns=COLUMNS), null_llr_95=float(np.quantile(null, 0.95)), **facts)


def _flags(xy: np.ndarray, labels: np.ndarray | list, preds: np.ndarray | list | None,
           neighbours: np.ndarray | None, texts: list[str] | None, options: RegionOptions) -> _Flags:
    """What flags each row of the map (checked against the map's size)."""
    labels = np.asarray(labels).astype(str)
    n = len(xy)
    if len(labels) != n:
        raise ValueError(f"confusion_regions: {n} map points but {len(labels)} labels")
    if preds is None and neighbours is None:
        raise ValueError("confusion_regions needs preds= or neighbours= (or both)")
    other = None if preds is None else np.asarray(preds).astype(str)
    wrong = np.zeros(n, dtype=bool) if other is None else other != labels
    if neighbours is not None:
        neighbours = np.asarray(neighbours)
        mixed = neighbour_agreement(neighbours, labels) < options.mixed_below
    else:
        mixed = np.zeros(n, dtype=bool)
    return _Flags(labels=labels, wrong=wrong, mixed=mixed, flags=wrong if other is not None else mixed, other=other,
                  neighbours=neighbours, texts=texts)


def _region(rows: _Flags, grid: Grid, mask: np.ndarray, cell_rate: np.ndarray, *, score: float, p_value: float,
            base: float, examples: int) -> dict[str, Any]:
    """One region's row of the table: the rows in the cells of ``mask``, its outline and numbers."""
    polygon = outline(mask, grid)
    members = np.flatnonzero(mask.ravel()[grid.cell_of])
    hits = members[rows.flags[members]]
    hits = hits[np.argsort(-cell_rate[hits], kind="stable")]
    labels = rows.labels
    if rows.other is None and rows.neighbours is not None:
        pair = _dominant_pair(labels[hits], _neighbour_label(labels, rows.neighbours, hits))
    else:
        pair = _dominant_pair(labels[hits], rows.other[hits] if rows.other is not None else labels[hits])
    counts = pd.Series(labels[members]).value_counts()
    return {
        "polygon": polygon.tolist(),
        "area": _polygon_area(polygon),
        "n": len(members),
        "n_errors": int(rows.wrong[members].sum()),
        "n_mixed": int(rows.mixed[members].sum()),
        "error_rate": float(rows.wrong[members].mean()),
        "rate": float(rows.flags[members].mean()),
        "enrichment": float(rows.flags[members].mean() / base),
        "p_value": p_value,
        "llr": score,
        "share_points": len(members) / len(labels),
        "purity": float(counts.iloc[0] / counts.sum()),
        "true_label": pair[0],
        "pred_label": pair[1],
        "examples": [str(rows.texts[i]) for i in hits[:examples]] if rows.texts is not None else [],
    }


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


def region_membership(xy: np.ndarray, regions: pd.DataFrame | Regions) -> np.ndarray:
    """Per map point, the id of the first region (lowest id) whose outline contains it; 0 for none.
    ``regions``: the regions, or their table (``region_id`` and ``polygon``)."""
    frame = regions.frame if isinstance(regions, Regions) else regions
    xy = np.asarray(xy, dtype=np.float64)
    member = np.zeros(len(xy), dtype=np.int64)
    for region in frame.sort_values("region_id", ascending=False).itertuples():
        member[_inside(xy, np.asarray(region.polygon))] = region.region_id
    return member


def region_coverage(xy: np.ndarray, wrong: np.ndarray, regions: Regions, *, grid: int = 400) -> RegionCoverage:
    """How much the regions say: ``n_regions``, ``share_errors`` (flagged points inside any region),
    ``share_points`` (all points inside any region), ``share_area`` (share of the map's area, the
    convex hull of all points, that the regions cover; measured on a ``grid`` x ``grid`` raster),
    ``overall_rate`` (of ``wrong``) and ``note``: one sentence for a reader, which says when the
    errors are diffuse (no region)."""
    xy = np.asarray(xy, dtype=np.float64)
    wrong = np.asarray(wrong, dtype=bool)
    member = region_membership(xy, regions) if len(regions) else np.zeros(len(xy), dtype=np.int64)
    overall = float(wrong.mean()) if len(wrong) else float("nan")
    share_errors = float((member[wrong] > 0).mean()) if wrong.any() else float("nan")
    return RegionCoverage(n_regions=int(len(regions)), share_errors=share_errors,
                          share_points=float((member > 0).mean()), share_area=_share_area(xy, regions, grid),
                          overall_rate=overall, note=_coverage_note(regions, overall, share_errors, member))


def _share_area(xy: np.ndarray, regions: Regions, grid: int) -> float:
    """The share of the map's convex hull that the regions cover, on a ``grid`` x ``grid`` raster."""
    from scipy.spatial import ConvexHull, QhullError

    lo, hi = xy.min(axis=0), xy.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    try:
        in_map = _inside(cells, xy[ConvexHull(xy).vertices])
    except QhullError:  # every point on one spot or one line: the map has no area
        in_map = np.zeros(len(cells), dtype=bool)
    in_region = region_membership(cells, regions) > 0 if len(regions) else np.zeros(len(cells), dtype=bool)
    return float((in_region & in_map).sum() / max(in_map.sum(), 1))


def _coverage_note(regions: Regions, overall: float, share_errors: float, member: np.ndarray) -> str:
    measure = "errors" if (regions.measure or "error") == "error" else "mixed neighbourhoods"
    enrichment = 2 if regions.min_enrichment is None else regions.min_enrichment
    alpha = 0.05 if regions.alpha is None else regions.alpha
    if len(regions):
        return (f"{len(regions)} region(s) where the {measure} are at least {enrichment:g}x "
                f"as frequent as overall ({overall:.1%}), p <= {alpha:g}; they hold "
                f"{share_errors:.0%} of the {measure} and {(member > 0).mean():.0%} of the points")
    max_share = 0.1 if regions.max_share is None else regions.max_share
    return (f"{measure} are diffuse: no region of the map has {enrichment:g}x the "
            f"overall rate ({overall:.1%}) at p <= {alpha:g} with at most {max_share:.0%} of the points")
