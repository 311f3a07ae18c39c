"""What changed between two vector spaces of the same texts (pure functions over arrays).

- :func:`neighbour_change`: per text, 1 - Jaccard of its k-NN sets in the two spaces ("moved most");
- :func:`change_kinds`: per text, fixed / broken / still wrong / still right between two models;
- :func:`region_matches`: which confusion regions of one map survive in the other, and which vanish;
- :func:`displacement`: how far texts lie apart in two maps, in units of the first map's spread.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .knn import knn_indices, shared_neighbour_counts
from .layers import spread

__all__ = ["neighbour_change", "change_kinds", "CHANGE_KINDS", "region_matches", "displacement"]

#: the kinds of :func:`change_kinds`, in the order every output lists them
CHANGE_KINDS = ["fixed", "broken", "still wrong", "still right", "unknown"]


def neighbour_change(A: np.ndarray, B: np.ndarray, *, k: int = 10) -> np.ndarray:
    """Per row, ``1 - |N_A ∩ N_B| / |N_A ∪ N_B|`` where ``N_A`` and ``N_B`` are its ``k`` nearest
    other rows (cosine) in ``A`` and in ``B`` (the same rows, in the same order; the widths may
    differ). 0: the same neighbours in both spaces; 1: none in common. Memory O(n * k)."""
    if len(A) != len(B):
        raise ValueError(f"neighbour_change: {len(A)} rows in A but {len(B)} in B")
    k = min(k, len(A) - 1)
    shared = shared_neighbour_counts(knn_indices(A, k=k), knn_indices(B, k=k))
    return 1.0 - shared / (2 * k - shared)


def change_kinds(correct_a: pd.Series | np.ndarray, correct_b: pd.Series | np.ndarray) -> np.ndarray:
    """Per row, one of :data:`CHANGE_KINDS`: ``fixed`` (wrong in A, right in B), ``broken`` (right in A,
    wrong in B), ``still wrong``, ``still right``, or ``unknown`` where either model's correctness is
    unknown (no label, or no prediction)."""
    a = pd.Series(correct_a, dtype=object).reset_index(drop=True)
    b = pd.Series(correct_b, dtype=object).reset_index(drop=True)
    known = (a.notna() & b.notna()).to_numpy()
    ra = a.where(a.notna(), False).astype(bool).to_numpy()
    rb = b.where(b.notna(), False).astype(bool).to_numpy()
    kinds = np.full(len(a), "unknown", dtype=object)
    kinds[known & ~ra & rb] = "fixed"
    kinds[known & ra & ~rb] = "broken"
    kinds[known & ~ra & ~rb] = "still wrong"
    kinds[known & ra & rb] = "still right"
    return kinds


def region_matches(member_a: np.ndarray, member_b: np.ndarray, *, min_overlap: float = 0.2) -> pd.DataFrame:
    """For each region of the first map (ids > 0 in ``member_a``, a region id per row as
    :func:`~clsmap.analysis.regions.region_membership` gives), the region of the second map whose rows
    overlap its rows most (Jaccard of the two row sets); the region ``disappeared`` when no region of the
    second map overlaps it by ``min_overlap`` or more. Columns: ``region_id``, ``n``, ``match``
    (the other region's id, or None), ``overlap`` (their Jaccard), ``disappeared``."""
    rows = []
    for region in sorted(set(np.unique(member_a)) - {0}):
        mine = member_a == region
        best, overlap = None, 0.0
        for other in sorted(set(np.unique(member_b[mine])) - {0}):
            theirs = member_b == other
            jaccard = float((mine & theirs).sum() / (mine | theirs).sum())
            if jaccard > overlap:
                best, overlap = int(other), jaccard
        rows.append({"region_id": int(region), "n": int(mine.sum()), "match": best if overlap >= min_overlap else None,
                     "overlap": overlap, "disappeared": overlap < min_overlap})
    return pd.DataFrame(rows, columns=["region_id", "n", "match", "overlap", "disappeared"])


def displacement(xy_a: np.ndarray, xy_b: np.ndarray) -> np.ndarray:
    """Per row, the distance between its places in the two maps, in units of the first map's spread
    (root-mean-square distance of its points to their centre)."""
    xy_a, xy_b = np.asarray(xy_a, dtype=np.float64), np.asarray(xy_b, dtype=np.float64)
    return np.linalg.norm(xy_a - xy_b, axis=1) / (spread(xy_a) or 1.0)
