"""Confusion regions: the places in a 2-D map where the model errs or the classes mix.

Points of interest are the misclassified rows (where there are predictions) and the rows whose
nearest neighbours in the *original* space mostly carry other labels ("mixed neighbourhood").
HDBSCAN (scikit-learn) clusters their 2-D positions; each cluster becomes a region outlined by
the convex hull of its points (pushed out by 1 % of the map's extent so that the points on the
hull lie inside). A region's numbers count *every* map point inside its outline, so its error
rate and purity describe the area the outline marks, not only the points that made it.

Regions go into the store as ``analysis/regions.json`` (schema 1; the interactive map reads it).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..store.files import write_json_atomic

__all__ = ["confusion_regions", "region_membership", "region_coverage", "write_regions", "read_regions",
           "REGIONS_FILE"]

logger = logging.getLogger(__name__)

REGIONS_FILE = Path("analysis") / "regions.json"
REGIONS_SCHEMA = 1


def _hull(points: np.ndarray, margin: float) -> np.ndarray | None:
    from scipy.spatial import ConvexHull, QhullError

    unique = np.unique(points, axis=0)
    if len(unique) < 3:
        return None
    try:
        hull = ConvexHull(unique)
    except QhullError:  # collinear points
        return None
    vertices = unique[hull.vertices]
    centre = vertices.mean(axis=0)
    offset = vertices - centre
    length = np.linalg.norm(offset, axis=1, keepdims=True)
    pushed = vertices + offset / np.maximum(length, 1e-12) * margin
    return np.vstack([pushed, pushed[:1]])  # closed: the last vertex repeats the first


def _signed_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _buffer(polygon: np.ndarray, margin: float) -> np.ndarray:
    """An open polygon's vertices pushed ``margin`` outwards (along the mean of the adjacent edges'
    outward normals), closed."""
    if _signed_area(polygon) < 0:
        polygon = polygon[::-1]
    edges = np.roll(polygon, -1, axis=0) - polygon
    normals = np.column_stack([edges[:, 1], -edges[:, 0]])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    vertex = normals + np.roll(normals, 1, axis=0)
    vertex /= np.maximum(np.linalg.norm(vertex, axis=1, keepdims=True), 1e-12)
    pushed = polygon + vertex * margin
    return np.vstack([pushed, pushed[:1]])


def _outlines(points: np.ndarray, max_edge: float, margin: float) -> list[np.ndarray]:
    """Concave outlines of ``points``: the outer boundaries of the union of the Delaunay triangles
    whose edges are all shorter than ``max_edge`` (an alpha shape), one closed polygon per
    connected piece, largest first; holes are dropped."""
    from scipy.spatial import Delaunay, QhullError

    unique = np.unique(points, axis=0)
    if len(unique) < 3:
        return []
    try:
        simplices = Delaunay(unique).simplices
    except QhullError:
        return []
    corners = unique[simplices]
    longest = np.linalg.norm(corners - np.roll(corners, -1, axis=1), axis=2).max(axis=1)
    kept = simplices[longest <= max_edge]
    if not len(kept):
        return []
    edges = np.sort(np.concatenate([kept[:, [0, 1]], kept[:, [1, 2]], kept[:, [2, 0]]]), axis=1)
    edges, counts = np.unique(edges, axis=0, return_counts=True)
    boundary = [tuple(e) for e in edges[counts == 1].tolist()]
    neighbours: dict[int, list[int]] = {}
    for a, b in boundary:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    used: set[tuple[int, int]] = set()
    loops = []
    for a, b in boundary:
        if (a, b) in used:
            continue
        loop, current = [a], b
        used.update({(a, b), (b, a)})
        while current != a:
            loop.append(current)
            step = next((c for c in neighbours[current] if (current, c) not in used), None)
            if step is None:
                break
            used.update({(current, step), (step, current)})
            current = step
        if len(loop) >= 3:
            loops.append(unique[loop])
    loops.sort(key=lambda p: -abs(_signed_area(p)))
    outer: list[np.ndarray] = []
    for loop in loops:
        if not any(_inside(loop[:1], o)[0] for o in outer):  # a loop inside another is a hole
            outer.append(loop)
    return [_buffer(o, margin) for o in outer]


def _polygon_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _inside(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    from matplotlib.path import Path as MplPath

    return MplPath(polygon).contains_points(xy)


def confusion_regions(
    xy: np.ndarray,
    labels: np.ndarray | list,
    *,
    preds: np.ndarray | list | None = None,
    neighbours: np.ndarray | None = None,
    texts: list[str] | None = None,
    mixed_below: float = 0.5,
    min_cluster_size: int | None = None,
    merge: float = 0.05,
    examples: int = 3,
) -> pd.DataFrame:
    """Find confusion regions in the map ``xy`` (n, 2).

    ``preds`` marks misclassified rows (``pred != label``); ``neighbours`` ((n, k) indices of
    each row's nearest neighbours in the original space) marks rows whose neighbour agreement is
    below ``mixed_below``. At least one of the two is needed. ``min_cluster_size`` defaults to
    ``max(5, 2 % of the points of interest)``; clusters closer than ``merge`` times the map's
    extent are merged (single linkage between clusters).

    Columns, one row per region, most errors first: ``region_id`` (1, 2, ...), ``polygon``
    (list of [x, y], closed outline), ``area`` (in map units squared), ``n`` (map points inside),
    ``n_errors`` (misclassified points inside), ``n_mixed`` (mixed-neighbourhood points inside),
    ``error_rate`` (n_errors / n), ``purity`` (share of the most common true label inside),
    ``true_label`` and ``pred_label`` (the most common true -> predicted pair among the errors
    inside; without predictions, true label -> most common neighbour label among the mixed
    points), ``examples`` (texts of up to ``examples`` of its most central points of interest).
    """
    from sklearn.cluster import HDBSCAN

    xy = np.asarray(xy, dtype=np.float64)
    labels = np.asarray(labels).astype(str)
    n = len(xy)
    if len(labels) != n:
        raise ValueError(f"confusion_regions: {n} map points but {len(labels)} labels")
    if preds is None and neighbours is None:
        raise ValueError("confusion_regions needs preds= or neighbours= (or both)")
    wrong = np.zeros(n, dtype=bool) if preds is None else (np.asarray(preds).astype(str) != labels)
    if neighbours is not None:
        neighbour_labels = labels[np.asarray(neighbours)]
        agreement = (neighbour_labels == labels[:, None]).mean(axis=1)
        mixed = agreement < mixed_below
    else:
        neighbour_labels, mixed = None, np.zeros(n, dtype=bool)
    other = _other_label(labels, preds, neighbour_labels)
    interest = np.flatnonzero(wrong | mixed)
    columns = ["region_id", "polygon", "area", "n", "n_errors", "n_mixed", "error_rate", "purity",
               "true_label", "pred_label", "examples"]
    size = min_cluster_size or max(5, int(round(0.02 * len(interest))))
    if len(interest) < max(size, 3):
        return pd.DataFrame(columns=columns)
    extent = float(np.ptp(xy, axis=0).max()) or 1.0
    clusterer = HDBSCAN(min_cluster_size=size, min_samples=min(size, 5), copy=True).fit(xy[interest])
    if (clusterer.labels_ < 0).all():  # one diffuse group: HDBSCAN only keeps it when asked to
        clusterer = HDBSCAN(min_cluster_size=size, min_samples=min(size, 5), allow_single_cluster=True,
                            copy=True).fit(xy[interest])
    cluster_of = _merge_close(xy[interest], clusterer.labels_, merge * extent)
    found = []
    outlines = []
    for cluster in sorted(set(cluster_of) - {-1}):
        in_cluster = cluster_of == cluster
        members = interest[in_cluster]
        strength = clusterer.probabilities_[in_cluster]
        polygons = _outlines(xy[members], merge * extent, 0.01 * extent)
        if not polygons:
            hull = _hull(xy[members], 0.01 * extent)
            polygons = [] if hull is None else [hull]
        for polygon in polygons:
            covered = _inside(xy[members], polygon)
            if covered.sum() >= max(3, size // 2):
                outlines.append((polygon, members[covered], strength[covered]))
    for polygon, members, strength in outlines:
        inside = _inside(xy, polygon)
        inside_wrong = inside & wrong
        true_label, pred_label = _dominant_pair(labels, other, inside_wrong if inside_wrong.any() else inside & mixed)
        central = members[np.argsort(-strength, kind="stable")][:examples]
        counts = pd.Series(labels[inside]).value_counts()
        found.append({
            "polygon": polygon.tolist(),
            "area": _polygon_area(polygon),
            "n": int(inside.sum()),
            "n_errors": int(inside_wrong.sum()),
            "n_mixed": int((inside & mixed).sum()),
            "error_rate": float(inside_wrong.sum() / max(inside.sum(), 1)),
            "purity": float(counts.iloc[0] / counts.sum()) if len(counts) else 0.0,
            "true_label": true_label,
            "pred_label": pred_label,
            "examples": [str(texts[i]) for i in central] if texts is not None else [],
        })
    found.sort(key=lambda r: (-r["n_errors"], -r["n_mixed"], -r["n"]))
    for i, region in enumerate(found, start=1):
        region["region_id"] = i
    return pd.DataFrame(found, columns=columns)


def _merge_close(points: np.ndarray, labels: np.ndarray, distance: float) -> np.ndarray:
    """Cluster labels with clusters whose nearest points are closer than ``distance`` merged
    (single linkage between clusters), so that a band of evenly spread errors is one region,
    not a dozen fragments; noise points (-1) that close to a cluster join it, the rest stay noise."""
    from scipy.spatial import cKDTree

    clusters = sorted(set(labels.tolist()) - {-1})
    parent = {c: c for c in clusters}

    def root(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    trees = {c: cKDTree(points[labels == c]) for c in clusters}
    for i, a in enumerate(clusters):
        for b in clusters[i + 1:]:
            if root(a) == root(b):
                continue
            gap, _ = trees[a].query(points[labels == b], k=1, distance_upper_bound=distance)
            if np.isfinite(gap).any():
                parent[root(b)] = root(a)
    merged = np.array([root(c) if c != -1 else -1 for c in labels.tolist()], dtype=np.int64)
    # noise points within ``distance`` of a cluster join the nearest one (HDBSCAN leaves the
    # thin edges of an evenly spread band as noise)
    clustered = np.flatnonzero(merged >= 0)
    noise = np.flatnonzero(merged < 0)
    if len(clustered) and len(noise):
        gap, nearest = cKDTree(points[clustered]).query(points[noise], k=1, distance_upper_bound=distance)
        close = np.isfinite(gap)
        merged[noise[close]] = merged[clustered[nearest[close]]]
    return merged


def _other_label(labels: np.ndarray, preds: Any, neighbour_labels: np.ndarray | None) -> np.ndarray:
    """Per row, the label it is confused with: its prediction, else its neighbours' commonest label."""
    if preds is not None:
        return np.asarray(preds).astype(str)
    other = labels.copy()
    if neighbour_labels is not None:
        for i, row in enumerate(neighbour_labels):
            values, counts = np.unique(row[row != labels[i]], return_counts=True)
            if len(values):
                other[i] = values[np.argmax(counts)]
    return other


def _dominant_pair(labels: np.ndarray, other: np.ndarray, mask: np.ndarray) -> tuple[str | None, str | None]:
    if not mask.any():
        return None, None
    pairs = pd.Series(list(zip(labels[mask], other[mask], strict=True))).value_counts()
    true_label, pred_label = pairs.index[0]
    return str(true_label), str(pred_label)


def region_membership(xy: np.ndarray, regions: pd.DataFrame) -> np.ndarray:
    """Per map point, the id of the first region (lowest id) whose outline contains it; 0 for none."""
    xy = np.asarray(xy, dtype=np.float64)
    member = np.zeros(len(xy), dtype=np.int64)
    for region in regions.sort_values("region_id", ascending=False).itertuples():
        member[_inside(xy, np.asarray(region.polygon))] = region.region_id
    return member


def region_coverage(xy: np.ndarray, wrong: np.ndarray, regions: pd.DataFrame, *, grid: int = 400) -> dict[str, float]:
    """How much the regions say: ``share_errors`` (misclassified points inside any region),
    ``share_points`` (all points inside any region) and ``share_area`` (share of the map's area,
    the convex hull of all points, that the regions cover; measured on a ``grid`` x ``grid`` raster)."""
    from scipy.spatial import ConvexHull

    xy = np.asarray(xy, dtype=np.float64)
    wrong = np.asarray(wrong, dtype=bool)
    member = region_membership(xy, regions) if len(regions) else np.zeros(len(xy), dtype=np.int64)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    in_map = _inside(cells, xy[ConvexHull(xy).vertices])
    in_region = region_membership(cells, regions) > 0 if len(regions) else np.zeros(len(cells), dtype=bool)
    return {
        "n_regions": int(len(regions)),
        "share_errors": float((member[wrong] > 0).mean()) if wrong.any() else float("nan"),
        "share_points": float((member > 0).mean()),
        "share_area": float((in_region & in_map).sum() / max(in_map.sum(), 1)),
    }


def write_regions(store_path: str | Path, regions: pd.DataFrame, *, column: str) -> Path:
    """Write ``regions`` to ``<store>/analysis/regions.json`` (atomically) in the shared schema."""
    keys = ["region_id", "polygon", "n", "n_errors", "error_rate", "purity", "true_label", "pred_label", "examples"]
    payload = {
        "schema": REGIONS_SCHEMA,
        "column": column,
        "regions": [{key: _plain(row[key]) for key in keys} for row in regions.to_dict("records")],
    }
    return write_json_atomic(Path(store_path) / REGIONS_FILE, payload)


def read_regions(store_path: str | Path) -> dict[str, Any] | None:
    """The regions file of a store as a dict, or ``None`` if there is none (or it cannot be read:
    a warning says why, and the maps are drawn without regions)."""
    path = Path(store_path) / REGIONS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        logger.warning("%s is unreadable (%s); the maps are drawn without regions", path, exc)
        return None
    if not isinstance(data, dict):
        logger.warning("%s is not a regions file (not a JSON object); the maps are drawn without regions", path)
        return None
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
