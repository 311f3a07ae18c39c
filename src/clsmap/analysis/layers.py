"""Per-layer analysis of a store extracted with ``layer="all"`` (columns ``layer_0`` ... ``layer_L``).

:func:`layer_curves` measures class separation layer by layer; :func:`aligned_layer_maps`
gives one 2-D map per layer, each rotated/reflected, scaled and shifted onto the previous one
(orthogonal Procrustes) so that the eye can follow the classes from layer to layer.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from .metrics import knn_purity, linear_probe_accuracy, silhouette_per_class

__all__ = ["layer_columns", "layer_curves", "procrustes_align", "aligned_layer_maps"]

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


def procrustes_align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` (n, 2) rotated or reflected, uniformly scaled and translated to best match
    ``target`` (least squares; scipy's orthogonal Procrustes on the centred points)."""
    from scipy.linalg import orthogonal_procrustes

    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    a, b = source - mu_s, target - mu_t
    rotation, singular_sum = orthogonal_procrustes(a, b)
    norm = float((a * a).sum())
    scale = singular_sum / norm if norm > 0 else 1.0
    return a @ rotation * scale + mu_t


def aligned_layer_maps(maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Align each layer's map to the (already aligned) map of the layer before it.

    ``maps`` maps column names to (n, 2) coordinates of the same rows; the first layer is kept
    as it is. Returns a dict in layer order.
    """
    order = layer_columns(list(maps)) or list(maps)
    aligned: dict[str, Any] = {}
    previous = None
    for column in order:
        xy = np.asarray(maps[column], dtype=np.float64)
        aligned[column] = xy if previous is None else procrustes_align(xy, previous)
        previous = aligned[column]
    return aligned
