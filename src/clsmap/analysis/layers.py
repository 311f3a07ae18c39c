"""Per-layer analysis of a store extracted with ``layer="all"`` (columns ``layer_0`` ... ``layer_L``).

:func:`layer_curves` measures class separation layer by layer; :func:`aligned_layer_maps`
gives one 2-D map per layer, each rotated/reflected, scaled and shifted onto the next layer's,
back from the last (orthogonal Procrustes), so that the eye can follow the classes from layer to
layer. A layer whose map is one point (layer 0's [CLS] of a BERT: the same vector for every text)
stays one point and anchors nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._validation import check_choice
from .metrics import knn_purity, linear_probe_accuracy, silhouette_per_class

__all__ = ["layer_columns", "layer_curves", "procrustes_align", "aligned_layer_maps", "degenerate_maps", "spread"]

logger = logging.getLogger(__name__)

_LAYER = re.compile(r"^layer_(\d+)$")


def layer_columns(columns: list[str]) -> list[str]:
    """The ``layer_N`` columns among ``columns``, in layer order."""
    found = [(int(m.group(1)), c) for c in columns if (m := _LAYER.match(c))]
    return [c for _, c in sorted(found)]


def layer_curves(
    vectors: dict[str, np.ndarray],
    labels: np.ndarray | list,
    *,
    k: int = 10,
    folds: int = 5,
    seed: int = 0,
    silhouette_sample: int | None = 2000,
) -> pd.DataFrame:
    """Class separation per vector column.

    ``vectors`` maps column names (``layer_0`` ...) to (n, d) arrays of the same rows. Columns:
    ``layer`` (int index, from the name), ``column``, ``knn_purity`` (k-NN label purity, cosine),
    ``linear_probe_accuracy`` (cross-validated), ``silhouette`` (mean cosine silhouette over a
    stratified sample of ``silhouette_sample`` rows).
    """
    labels = np.asarray(labels)
    rows = []
    for column in layer_columns(list(vectors)) or list(vectors):
        X = vectors[column]
        m = _LAYER.match(column)
        sil = silhouette_per_class(X, labels, sample=silhouette_sample, seed=seed)
        rows.append({
            "layer": int(m.group(1)) if m else -1,
            "column": column,
            "knn_purity": knn_purity(X, labels, k=k),
            "linear_probe_accuracy": linear_probe_accuracy(X, labels, folds=folds, seed=seed),
            "silhouette": float(np.average(sil["silhouette"], weights=sil["n_sampled"])),
        })
        logger.info("%s: purity %.3f, probe %.3f", column, rows[-1]["knn_purity"], rows[-1]["linear_probe_accuracy"])
    return pd.DataFrame(rows, columns=["layer", "column", "knn_purity", "linear_probe_accuracy", "silhouette"])


def procrustes_align(source: np.ndarray, target: np.ndarray, *,
                     scale: Literal["fit", "spread"] = "fit") -> np.ndarray:
    """``source`` (n, 2) rotated or reflected, uniformly scaled and translated to best match
    ``target`` (least squares; scipy's orthogonal Procrustes on the centred points).

    ``scale``: ``"fit"`` the least-squares scale, which shrinks a map towards its centre the less it
    resembles ``target`` (to a point when nothing matches); ``"spread"`` the scale that gives
    ``source`` the root-mean-square spread of ``target``, so that every aligned map is as large.
    """
    from scipy.linalg import orthogonal_procrustes

    check_choice(scale, ("fit", "spread"), param="scale", func="procrustes_align")
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    a, b = source - mu_s, target - mu_t
    rotation, singular_sum = orthogonal_procrustes(a, b)
    norm = float((a * a).sum())
    if norm <= 0:
        factor = 1.0
    elif scale == "fit":
        factor = singular_sum / norm
    else:
        factor = float(np.sqrt((b * b).sum() / norm))
    return a @ rotation * factor + mu_t


def spread(xy: np.ndarray) -> float:
    """Root-mean-square distance of the points ``xy`` (n, 2) to their centre, in their own dtype; 0.0 for no
    points, about 0 for points all at one place (a caller that divides by it decides what zero means)."""
    return float(np.sqrt(((xy - xy.mean(axis=0)) ** 2).sum(axis=1).mean())) if len(xy) else 0.0


def degenerate_maps(maps: dict[str, np.ndarray], *, rtol: float = 1e-6) -> set[str]:
    """The columns of ``maps`` whose points all lie at one place: a spread of at most ``rtol`` times
    the largest map's (exactly zero, for a constant layer's map made by :mod:`clsmap.projection`)."""
    spreads = {column: spread(np.asarray(xy, dtype=np.float64)) for column, xy in maps.items()}
    largest = max(spreads.values(), default=0.0)
    return {column for column, value in spreads.items() if value <= rtol * largest or value == 0}


def aligned_layer_maps(maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One map per layer, each aligned to the next layer's aligned map, back from the last layer.

    ``maps`` maps column names to (n, 2) coordinates of the same rows. The last layer whose map is
    not one point (see :func:`degenerate_maps`) is kept as it is; every earlier layer is rotated or
    reflected and shifted onto the nearest later such layer (orthogonal Procrustes) and scaled to
    its spread, so that no map shrinks to a dot. A degenerate map is never an anchor: it is drawn
    as what it is, every row at the centre of the anchor. Returns a dict in layer order.
    """
    order = layer_columns(list(maps)) or list(maps)
    arrays = {column: np.asarray(maps[column], dtype=np.float64) for column in order}
    degenerate = degenerate_maps(arrays)
    aligned: dict[str, Any] = {}
    anchor = None
    for column in reversed(order):
        xy = arrays[column]
        if column in degenerate:
            continue
        aligned[column] = xy if anchor is None else procrustes_align(xy, anchor, scale="spread")
        anchor = aligned[column]
    if degenerate:
        logger.info("layers whose map is one point (all texts alike): %s", ", ".join(sorted(degenerate)))
    for column in degenerate:
        centre = anchor.mean(axis=0) if anchor is not None else arrays[column].mean(axis=0)
        aligned[column] = np.broadcast_to(centre, arrays[column].shape).copy()
    return {column: aligned[column] for column in order}
