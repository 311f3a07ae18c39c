"""Dataset cartography (Swayamdipta et al., 2020, "Dataset Cartography: Mapping and Diagnosing Datasets
with Training Dynamics"): how hard each training text was to learn, from the probabilities the model
gave its label while it trained.

For every training row of a dynamics store, over the snapshots taken after training began:

* ``confidence``: the mean probability of its given label;
* ``variability``: the standard deviation of that probability (population std, as the paper's code);
* ``correctness``: the share of snapshots at which the model predicted its label.

The groups follow the paper's selections (its "data maps" take a third of the data each): the third
of the rows with the highest variability are *ambiguous*; of the others, those among the third with
the lowest confidence are *hard-to-learn* and those among the third with the highest confidence are
*easy-to-learn*; the rest have no group. Hard-to-learn texts are where mislabeled ones gather
(the paper's section 5).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from ..store.files import write_parquet_atomic
from ..store.layout import CARTOGRAPHY_FILE

__all__ = ["GROUPS", "cartography", "store_cartography", "read_cartography"]

logger = logging.getLogger(__name__)

#: the groups, in the paper's order
GROUPS = ("easy-to-learn", "ambiguous", "hard-to-learn")


def cartography(labels: np.ndarray, probs: np.ndarray, *, fraction: float = 1 / 3) -> pd.DataFrame:
    """Confidence, variability, correctness and group of every row.

    ``labels`` (n,) are class indices, ``probs`` (s, n, c) the class probabilities of the n rows at
    each of s snapshots. Returns a DataFrame with one row per row of ``labels``: ``confidence``,
    ``variability``, ``correctness`` (floats in [0, 1]) and ``group`` (one of :data:`GROUPS`, or
    ``None``); ``fraction`` is the share of rows each selection takes.
    """
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3 or probs.shape[1] != len(labels):
        raise ValueError(f"cartography: probs must be (snapshots, {len(labels)}, classes); got {probs.shape}")
    if not 0 < fraction <= 1:
        raise ValueError(f"The 'fraction' parameter of cartography must be in (0, 1]. Got {fraction!r} instead.")
    n = len(labels)
    gold = probs[:, np.arange(n), labels]
    frame = pd.DataFrame({
        "confidence": gold.mean(axis=0),
        "variability": gold.std(axis=0),
        "correctness": (probs.argmax(axis=2) == labels).mean(axis=0),
    })
    take = int(round(fraction * n))
    group = np.full(n, None, dtype=object)
    ambiguous = np.argsort(-frame["variability"].to_numpy(), kind="stable")[:take]
    by_confidence = np.argsort(frame["confidence"].to_numpy(), kind="stable")
    group[by_confidence[:take]] = "hard-to-learn"
    group[by_confidence[n - take:]] = "easy-to-learn"
    group[ambiguous] = "ambiguous"
    frame["group"] = group
    return frame


def store_cartography(store: Any, *, fraction: float = 1 / 3, write: bool = True) -> pd.DataFrame:
    """The cartography of the training rows of a dynamics store (``clsmap train --map-every``), over the
    snapshots after step 0 (before training the head is random); written to
    ``STORE/analysis/cartography.parquet`` unless ``write=False``.

    Columns: ``id``, ``text``, ``label``, those of :func:`cartography`, and ``snapshots`` (how many
    it averages).
    """
    frame = store.frame
    if store.dynamics is None or "split" not in frame:
        raise ClsmapError(f"{store.path}: not a dynamics store; record one with clsmap train --map-every")
    if not store.classes or not store.has_predictions:
        raise ClsmapError(f"{store.path}: the snapshots have no class probabilities")
    trained = frame[(frame["split"] == "train") & (frame["step"] > 0)]
    snapshots = sorted(trained["snapshot"].unique())
    if not snapshots:
        raise ClsmapError(f"{store.path}: no training rows after step 0 (record with --map-train-rows above 0)")
    first = trained[trained["snapshot"] == snapshots[0]]
    index = {name: i for i, name in enumerate(store.classes)}
    known = first["label"].isin(list(index)).to_numpy()
    n = len(first)
    probs = np.stack(trained["prob"].to_numpy()).reshape(len(snapshots), n, -1)
    labels = first["label"].map(index).fillna(0).to_numpy(dtype=np.int64)
    result = cartography(labels[known], probs[:, known], fraction=fraction)
    out = pd.concat([first.loc[known, ["id", "text", "label"]].reset_index(drop=True), result], axis=1)
    out["snapshots"] = len(snapshots)
    counts = out["group"].value_counts()
    logger.info("cartography of %d training texts over %d snapshots: %s", len(out), len(snapshots),
                ", ".join(f"{counts.get(g, 0)} {g}" for g in GROUPS))
    if write:
        import pyarrow as pa

        meta = {"fraction": fraction, "snapshots": [int(s) for s in snapshots], "source": "clsmap.analysis.cartography",
                "store": {k: store.meta.get(k) for k in ("schema_version", "model", "dataset")}}
        write_parquet_atomic(pa.Table.from_pandas(out, preserve_index=False), Path(store.path) / CARTOGRAPHY_FILE,
                             metadata=meta)
    return out


def read_cartography(store_path: str | Path) -> pd.DataFrame | None:
    """The cartography written by :func:`store_cartography`, or ``None``."""
    path = Path(store_path) / CARTOGRAPHY_FILE
    return pd.read_parquet(path) if path.exists() else None
