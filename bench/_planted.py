"""Synthetic maps with errors planted in known areas: shared by ``bench/regions.py`` and
``tests/analysis/test_regions.py``, so that the benchmark and the tests measure the same maps."""

from __future__ import annotations

import numpy as np

__all__ = ["blobs", "planted"]


def blobs(n: int, seed: int, classes: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` Gaussian clusters on a circle (a PaCMAP-like map), unequal sizes."""
    rng = np.random.default_rng(seed)
    sizes = rng.dirichlet(np.full(classes, 4.0))
    codes = rng.choice(classes, size=n, p=sizes)
    angle = 2 * np.pi * np.arange(classes) / classes
    centres = np.column_stack([np.cos(angle), np.sin(angle)]) * 10
    xy = centres[codes] + rng.normal(size=(n, 2)) * rng.uniform(1.5, 2.5, classes)[codes, None]
    return xy, np.array([f"c{c}" for c in codes])


def planted(n: int, seed: int = 0, *, base: float = 0.08, hot: float = 0.5, share: float = 0.03, areas: int = 4):
    """A map with uniform errors at rate ``base`` plus ``areas`` discs (each ``share`` of the points,
    at fixed places inside different clusters) where the error rate is ``hot``."""
    xy, labels = blobs(n, seed)
    rng = np.random.default_rng(seed + 1)
    angle = 2 * np.pi * np.arange(areas) / 6 + 0.3
    centres = np.column_stack([np.cos(angle), np.sin(angle)]) * 10.5
    discs = []
    for centre in centres:
        distance = np.linalg.norm(xy - centre, axis=1)
        discs.append(distance <= np.quantile(distance, share))
    hot_area = np.any(discs, axis=0)
    wrong = np.where(hot_area, rng.random(n) < hot, rng.random(n) < base)
    preds = labels.copy()
    preds[wrong] = np.where(labels[wrong] == "c0", "c1", "c0")
    return xy, labels, preds, discs
