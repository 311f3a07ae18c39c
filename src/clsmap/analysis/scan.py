"""The grid scan behind :func:`~clsmap.analysis.regions.confusion_regions` (pure numpy/scipy).

A map of N points is binned on square cells sized so that an occupied cell holds about 4 points
(8 to 512 cells along the longer side); point and flag counts are smoothed with a Gaussian of
``bandwidth`` cells.
Candidates are the 4-connected areas (holes filled) where the smoothed rate is at least 1.5x the
overall rate. A candidate whose own rate (raw counts) falls short of ``min_enrichment`` (2) x the
overall rate, or that holds more than ``max_share`` of the points, is searched again at a higher
level (x1.25 each time), so it splits into its cores or vanishes. Each kept candidate is
scored by Kulldorff's Bernoulli log-likelihood ratio; its p-value is the share of permutations of
the flags over the points whose *best* candidate scores as high (the scan repeated on each; only
cell counts matter, so a permutation is one multivariate hypergeometric draw over the occupied
cells). Cost: O(N) binning, then O(cells x levels) per permutation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__: list[str] = []  # private: used by clsmap.analysis.regions

LEVEL_STEP = 1.25  # each search level asks 1.25x the rate of the one before
START = 1.5  # the first level: smoothed rate >= 1.5x overall (a region's own rate must reach 2x)
PER_CELL = 4.0  # points per occupied cell


@dataclass
class Grid:
    """Square cells of side ``size``; cell ``(i, j)`` spans ``origin + size * [i, i + 1] x [j, j + 1]``."""

    origin: np.ndarray
    size: float
    shape: tuple[int, int]
    cell_of: np.ndarray  # (N,) flat cell index of each point
    counts: np.ndarray  # (gx, gy) points per cell

    def flags(self, flags: np.ndarray) -> np.ndarray:
        return np.bincount(self.cell_of, weights=flags, minlength=self.counts.size).reshape(self.shape)


def grid_side(xy: np.ndarray, *, per_cell: float = PER_CELL, most: int = 512) -> int:
    """Cells along the map's longer side such that an occupied cell holds about ``per_cell`` points:
    a first binning at sqrt(N) cells measures the share of the map's box that holds points."""
    n = len(xy)
    first = int(np.clip(round(np.sqrt(n)), 8, most))
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    idx = np.minimum(((xy - lo) / max(float((hi - lo).max()), 1e-12) * first).astype(np.int64), first - 1)
    occupied = len(np.unique(idx[:, 0] * first + idx[:, 1]))
    return int(np.clip(round(first * np.sqrt(n / occupied / per_cell)), 8, most))


def make_grid(xy: np.ndarray, *, cells: int | None, bandwidth: float) -> Grid:
    """Bin ``xy`` on square cells, ``cells`` along the longer side (default: :func:`grid_side`), with a
    margin of three bandwidths so that the smoothing does not wrap or cut at the border."""
    side = int(cells or grid_side(xy))
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    size = float(max((hi - lo).max(), 1e-12)) / side
    pad = int(np.ceil(3 * bandwidth)) + 1
    origin = lo - pad * size
    shape = tuple(int(v) for v in np.floor((hi - origin) / size).astype(int) + pad + 1)
    idx = np.floor((xy - origin) / size).astype(np.int64)
    idx = np.minimum(idx, np.array(shape) - 1)
    cell_of = idx[:, 0] * shape[1] + idx[:, 1]
    counts = np.bincount(cell_of, minlength=shape[0] * shape[1]).reshape(shape).astype(np.float64)
    return Grid(origin=origin, size=size, shape=(shape[0], shape[1]), cell_of=cell_of, counts=counts)


def llr(n: np.ndarray, e: np.ndarray, total_n: float, total_e: float) -> np.ndarray:
    """Kulldorff's Bernoulli log-likelihood ratio of ``e`` flags among ``n`` points inside against the
    rest (0 where the inside rate is not above the outside rate)."""
    from scipy.special import xlogy

    n, e = np.asarray(n, dtype=np.float64), np.asarray(e, dtype=np.float64)
    m, f = total_n - n, total_e - e

    def ll(k: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = np.maximum(t, 1e-300)
        return xlogy(k, k / t) + xlogy(t - k, 1 - k / t)

    out = ll(e, n) + ll(f, m) - ll(np.asarray(total_e, dtype=np.float64), np.asarray(total_n, dtype=np.float64))
    higher = e * np.maximum(m, 1e-300) > f * n
    return np.where(higher & (n > 0), np.maximum(out, 0.0), 0.0)


@dataclass
class Scan:
    """The rules of one scan (the same for the data and for every permutation)."""

    base: float  # overall flag rate
    min_enrichment: float
    max_points: float
    min_points: int
    min_flags: int
    bandwidth: float
    floor: float  # smoothed points per cell below which a cell is empty space

    def smooth(self, grid: np.ndarray) -> np.ndarray:
        from scipy.ndimage import gaussian_filter

        return gaussian_filter(grid, sigma=self.bandwidth, mode="constant", truncate=3.0)

    def run(self, counts: np.ndarray, flagged: np.ndarray, *,
            keep: bool) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """Candidates of one flag grid: (scores, cell masks (when ``keep``), smoothed rate)."""
        from scipy.ndimage import binary_fill_holes, label

        smooth_n = self.smooth(counts)
        rate = np.where(smooth_n >= self.floor, self.smooth(flagged) / np.maximum(smooth_n, 1e-12), 0.0)
        total_n, total_e = counts.sum(), flagged.sum()
        threshold = min(START, self.min_enrichment) * self.base
        active = rate >= threshold
        scores, masks = [], []
        while threshold <= 1.0 + 1e-9 and active.any():
            labels, found = label(binary_fill_holes(active & (rate >= threshold)))
            if not found:
                break
            flat = labels.ravel()
            n = np.bincount(flat, weights=counts.ravel(), minlength=found + 1)
            e = np.bincount(flat, weights=flagged.ravel(), minlength=found + 1)
            sizeable = (n >= self.min_points) & (e >= self.min_flags)
            sizeable[0] = False
            good = sizeable & (e >= self.min_enrichment * self.base * n - 1e-9) & (n <= self.max_points)
            for i in np.flatnonzero(good):
                scores.append(float(llr(n[i], e[i], total_n, total_e)))
                if keep:
                    masks.append(labels == i)
            active = (sizeable & ~good)[labels]
            threshold *= LEVEL_STEP
        return np.asarray(scores, dtype=np.float64), masks, rate

    def null_maxima(self, counts: np.ndarray, total_flags: int, permutations: int, seed: int) -> np.ndarray:
        """The best candidate's score on each of ``permutations`` random placements of the flags
        (the same number of flags, drawn over the points without replacement)."""
        rng = np.random.default_rng(seed)
        occupied = np.flatnonzero(counts.ravel() > 0)
        colours = counts.ravel()[occupied].astype(np.int64)
        out = np.zeros(permutations)
        for r in range(permutations):
            flagged = np.zeros(counts.size)
            flagged[occupied] = rng.multivariate_hypergeometric(colours, total_flags, method="marginals")
            scores, _, _ = self.run(counts, flagged.reshape(counts.shape), keep=False)
            out[r] = scores.max() if len(scores) else 0.0
        return out


def outline(mask: np.ndarray, grid: Grid) -> np.ndarray:
    """The boundary of a 4-connected set of cells without holes as a closed counter-clockwise ring
    of map coordinates (corners only: straight runs are merged)."""
    m = np.pad(mask, 1)
    i, j = np.nonzero(m[1:-1, 1:-1])
    i, j = i + 1, j + 1  # padded indices; the cell's lower-left corner is (i - 1, j - 1) in grid units
    starts, ends = [], []
    # per side of a cell: the neighbour across it, and the side's corners in counter-clockwise order
    # (bottom, right, top, left), so that the cells lie on the left of every edge
    for (di, dj), a, b in (((0, -1), (0, 0), (1, 0)), ((1, 0), (1, 0), (1, 1)),
                           ((0, 1), (1, 1), (0, 1)), ((-1, 0), (0, 1), (0, 0))):
        open_side = ~m[i + di, j + dj]
        ci, cj = i[open_side] - 1, j[open_side] - 1
        starts.append(np.column_stack([ci + a[0], cj + a[1]]))
        ends.append(np.column_stack([ci + b[0], cj + b[1]]))
    start, end = np.concatenate(starts), np.concatenate(ends)
    following: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for s, t in zip(map(tuple, start.tolist()), map(tuple, end.tolist()), strict=True):
        following.setdefault(s, []).append(t)
    rings: list[np.ndarray] = []
    while following:
        first = min(following)
        ring, here = [first], first
        while True:
            nxt = following[here].pop()
            if not following[here]:
                del following[here]
            if nxt == first:
                break
            ring.append(nxt)
            here = nxt
            if here not in following:
                break
        rings.append(np.asarray(ring, dtype=np.float64))
    boundary = max(rings, key=len)
    turn = np.roll(boundary, -1, axis=0) - boundary
    back = boundary - np.roll(boundary, 1, axis=0)
    corner = (turn[:, 0] * back[:, 1] - turn[:, 1] * back[:, 0]) != 0
    boundary = boundary[corner] if corner.sum() >= 3 else boundary
    coords = grid.origin + boundary * grid.size
    return np.vstack([coords, coords[:1]])
