"""Maps of training snapshots aligned with each other, so that a text whose neighbourhood does not
change stays put, and how well an alignment does that, measured.

Two ways to align (:data:`ALIGNMENTS`):

* ``procrustes``: every snapshot mapped on its own (same reducer, same seed), then rotated or
  reflected, scaled to the same spread and shifted onto the last snapshot's map (orthogonal
  Procrustes, :func:`~clsmap.analysis.layers.procrustes_align`);
* ``init``: the first snapshot mapped from PCA, every later one *refined from the previous map*
  (PaCMAP's ``init``, its last phase only: neighbours and far pairs), then Procrustes-aligned onto
  it to remove what rotation or scale remains.

:func:`displacement_stats` says which keeps still what should be still: between consecutive
snapshots it compares the 2-D displacement (in units of the map's spread) of points whose k nearest
neighbours in the vector space stayed (at least ``kept`` of them) with that of points whose
neighbours changed (at most ``lost`` of them stayed). A good alignment moves the first far less.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np

from .._validation import check_choice
from ..projection.reducers import PaCMAP, make_reducer
from .knn import knn_indices, shared_neighbour_counts
from .layers import procrustes_align, spread

__all__ = ["ALIGNMENTS", "Alignment", "snapshot_maps", "displacement_stats", "compare_alignments"]

logger = logging.getLogger(__name__)

Alignment = Literal["procrustes", "init"]
ALIGNMENTS = ("procrustes", "init")


def snapshot_maps(vectors: list[np.ndarray] | np.ndarray, *, align: Alignment = "procrustes",
                  method: str = "pacmap", seed: int | None = 0) -> np.ndarray:
    """One 2-D map per snapshot, aligned (see the module's text): ``vectors`` holds (n, d) arrays of the
    same n rows; returns (snapshots, n, 2) float32. ``init`` needs ``method="pacmap"``."""
    check_choice(align, ALIGNMENTS, param="align", func="snapshot_maps")
    if align == "init" and method != "pacmap":
        raise ValueError(f"align='init' starts each PaCMAP map from the previous one; method {method!r} cannot")
    maps: list[np.ndarray] = []
    for X in vectors:
        if align == "init" and maps:
            xy = PaCMAP(init=maps[-1], seed=seed).fit_transform(X)
            xy = procrustes_align(xy, maps[-1], scale="spread")
        else:
            xy = make_reducer(method, seed=seed).fit_transform(X)  # type: ignore[arg-type]
        maps.append(np.asarray(xy, dtype=np.float64))
    if align == "procrustes":
        anchor = maps[-1]
        maps = [procrustes_align(xy, anchor, scale="spread") for xy in maps[:-1]] + [anchor]
    return np.stack(maps).astype(np.float32)


def displacement_stats(vectors: list[np.ndarray] | np.ndarray, maps: np.ndarray, *, k: int = 10,
                       kept: float = 0.8, lost: float = 0.3) -> dict[str, Any]:
    """Median 2-D displacement between consecutive snapshots of the points whose ``k`` nearest
    neighbours (cosine, in the vector space) stayed and of those whose neighbours changed.

    Displacements are divided by the root-mean-square spread of the later map. Returns
    ``unchanged_median``, ``changed_median`` (``None`` without such points), their ``ratio``,
    ``n_unchanged`` and ``n_changed`` (point-transitions), and ``max_unchanged``.
    """
    unchanged, changed = [], []
    previous = None
    for t, X in enumerate(vectors):
        current = knn_indices(np.asarray(X), k=k)
        if previous is not None:
            share = shared_neighbour_counts(previous, current) / previous.shape[1]
            step = np.linalg.norm(maps[t].astype(np.float64) - maps[t - 1], axis=1) / (spread(maps[t]) or 1.0)
            unchanged.append(step[share >= kept])
            changed.append(step[share <= lost])
        previous = current
    still = np.concatenate(unchanged) if unchanged else np.zeros(0)
    moved = np.concatenate(changed) if changed else np.zeros(0)
    med_still = float(np.median(still)) if len(still) else None
    med_moved = float(np.median(moved)) if len(moved) else None
    ratio = med_still / med_moved if med_still is not None and med_moved else None
    return {"unchanged_median": med_still, "changed_median": med_moved, "ratio": ratio,
            "n_unchanged": int(len(still)), "n_changed": int(len(moved)),
            "max_unchanged": float(still.max()) if len(still) else None, "k": k, "kept": kept, "lost": lost}


def compare_alignments(vectors: list[np.ndarray] | np.ndarray, *, method: str = "pacmap", seed: int | None = 0,
                       aligns: tuple[str, ...] | None = None) -> tuple[str, np.ndarray, dict[str, dict[str, Any]]]:
    """Map the snapshots with every alignment that applies and keep the one whose unchanged points move
    least relative to the changed ones (lowest ``ratio``; lowest ``unchanged_median`` when no ratio).

    Returns the name kept, its maps (snapshots, n, 2) and the :func:`displacement_stats` of each.
    """
    aligns = aligns or tuple(a for a in ALIGNMENTS if a != "init" or method == "pacmap")
    maps, stats = {}, {}
    for align in aligns:
        maps[align] = snapshot_maps(vectors, align=align, method=method, seed=seed)  # type: ignore[arg-type]
        stats[align] = displacement_stats(vectors, maps[align])
        logger.info("alignment %s: median displacement %s (neighbours kept) vs %s (changed)", align,
                    _fmt(stats[align]["unchanged_median"]), _fmt(stats[align]["changed_median"]))

    def score(align: str) -> tuple[float, float]:
        s = stats[align]
        return (s["ratio"] if s["ratio"] is not None else np.inf,
                s["unchanged_median"] if s["unchanged_median"] is not None else np.inf)

    best = min(aligns, key=score)
    return best, maps[best], stats


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
