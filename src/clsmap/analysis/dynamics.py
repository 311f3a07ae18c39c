"""What a dynamics store says (``clsmap train --map-every``): per-step curves, where the space formed,
aligned maps of every snapshot, and the cartography of the training rows.

:func:`analyze_dynamics` measures every snapshot on the held-out (validation) rows of the probe set
(the training rows when there are none): the model's accuracy, 10-NN label purity, linear-probe
accuracy and silhouette of the [CLS] vectors, and the purity of each class; a class *formed* at the
first step where its purity reaches ``formed_at`` (0.8). It maps every snapshot with both alignments
of :mod:`.alignment` and keeps the one that moves unchanged neighbourhoods least, saves the kept maps
as the store's projection (``projections/vector.parquet``: every snapshot's rows, in the store's
order), the cartography (:mod:`.dataset_cartography`) and ``analysis/dynamics.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from ..store.files import write_json_atomic
from ..store.reader import Store, open_store
from ..store.layout import DYNAMICS_FILE
from ..store.writer import write_projection
from .alignment import compare_alignments
from .dataset_cartography import GROUPS, store_cartography
from .metrics import knn_purity_per_class, linear_probe_accuracy, silhouette_per_class

__all__ = ["CURVES", "DynamicsAnalysis", "analyze_dynamics", "snapshot_curves", "formation_steps"]

logger = logging.getLogger(__name__)

#: the per-step curves that the player, the animation and the report draw, in their order: column of
#: :attr:`DynamicsAnalysis.curves` -> name
CURVES = {"accuracy": "accuracy", "knn_purity": "10-NN purity", "linear_probe_accuracy": "probe accuracy",
          "silhouette": "silhouette"}


@dataclass
class DynamicsAnalysis:
    """What :func:`analyze_dynamics` found. ``curves``: one row per snapshot (``snapshot``, ``step``,
    ``epoch``, ``accuracy``, ``train_accuracy``, ``knn_purity``, ``linear_probe_accuracy``,
    ``silhouette``); ``per_class``: ``snapshot``, ``step``, ``label``, ``knn_purity``; ``formation``:
    class -> first step at which its purity reached the threshold (``None``: never); ``alignment``:
    the method kept and the displacement measures of each; ``cartography``: one row per training row
    of the probe set; ``maps``: (snapshots, rows, 2)."""

    store_path: Path
    curves: pd.DataFrame
    per_class: pd.DataFrame
    formation: dict[str, int | None]
    alignment: dict[str, Any]
    cartography: pd.DataFrame | None
    maps: np.ndarray = field(repr=False)
    summary: dict[str, Any] = field(default_factory=dict)
    #: the positions in the probe set of the rows mapped (all of them up to ``max_rows``)
    rows: np.ndarray | None = field(default=None, repr=False)

    def mapped_frame(self, store: Store) -> pd.DataFrame:
        """The store's rows that ``maps`` places, snapshot after snapshot (as ``maps.reshape(-1, 2)``)."""
        count, shown = self.maps.shape[:2]
        n = len(store.frame) // count
        rows = np.arange(n) if self.rows is None else self.rows
        return store.frame.iloc[(np.arange(count)[:, None] * n + rows[None, :]).ravel()].reset_index(drop=True)


def _snapshot_arrays(store: Store) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The rows of the first snapshot (the probe set), the vectors as (snapshots, rows, d), and the
    number of snapshots."""
    frame = store.frame
    if store.dynamics is None or "snapshot" not in frame:
        raise ClsmapError(f"{store.path}: not a dynamics store; record one with clsmap train --map-every")
    count = int(frame["snapshot"].nunique())
    n = len(frame) // count
    vectors = store.vectors.reshape(count, n, -1)
    return frame.iloc[:n].reset_index(drop=True), vectors, count


def snapshot_curves(store: Store, *, k: int = 10, seed: int = 0,
                    probe_sample: int = 5000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per snapshot, on the held-out rows of the probe set (validation and test; the training rows when
    there are none): the curves and the per-class purity (see :class:`DynamicsAnalysis`). The linear
    probe is cross-validated on a random sample of ``probe_sample`` of those rows when there are more."""
    first, vectors, count = _snapshot_arrays(store)
    frame = store.frame
    n = len(first)
    held = (first["split"] != "train").to_numpy()  # validation (and test) rows
    rows = held if held.any() else ~held
    labels = first["label"].to_numpy()[rows]
    sample = np.arange(int(rows.sum()))
    if len(sample) > probe_sample:
        sample = np.sort(np.random.default_rng(seed).choice(sample, probe_sample, replace=False))
    curves, per_class = [], []
    for s in range(count):
        part = frame.iloc[s * n:(s + 1) * n]
        X = vectors[s][rows]
        correct = part["correct"].to_numpy()
        train = ~held
        purity = knn_purity_per_class(X, labels, k=min(k, len(X) - 1))
        try:
            probe = linear_probe_accuracy(X[sample], labels[sample], seed=seed)
        except ValueError:  # a class with one example: no cross-validation
            probe = None
        try:
            sil = silhouette_per_class(X, labels, sample=2000, seed=seed)
            silhouette = float(np.average(sil["silhouette"], weights=sil["n_sampled"]))
        except ValueError:  # one class among the rows measured
            silhouette = None
        curves.append({
            "snapshot": s, "step": int(part["step"].iloc[0]), "epoch": float(part["epoch"].iloc[0]),
            "accuracy": float(np.mean(correct[rows].astype(bool))),
            "train_accuracy": float(np.mean(correct[train].astype(bool))) if train.any() else None,
            "knn_purity": float(np.average(purity["knn_purity"], weights=purity["n"])),
            "linear_probe_accuracy": probe,
            "silhouette": silhouette,
        })
        per_class.append(purity.assign(snapshot=s, step=curves[-1]["step"])[["snapshot", "step", "label",
                                                                              "knn_purity"]])
    return pd.DataFrame(curves), pd.concat(per_class, ignore_index=True)


def formation_steps(per_class: pd.DataFrame, *, formed_at: float = 0.8) -> dict[str, int | None]:
    """Per class, the first step at which its k-NN purity reached ``formed_at`` (``None``: never)."""
    out: dict[str, int | None] = {}
    for label, rows in per_class.sort_values("step").groupby("label", sort=True):
        reached = rows[rows["knn_purity"] >= formed_at]
        out[str(label)] = int(reached["step"].iloc[0]) if len(reached) else None
    return out


def analyze_dynamics(store: str | Path | Store, *, k: int = 10, seed: int = 0, method: str = "pacmap",
                     formed_at: float = 0.8, max_rows: int | None = 20_000) -> DynamicsAnalysis:
    """Curves, formation steps, aligned maps and cartography of a dynamics store; saved in the store
    (``projections/vector.parquet``, ``analysis/dynamics.json``, ``analysis/cartography.parquet``).

    The curves and the cartography use every row of the probe set; the maps (every snapshot, both
    alignments) a random sample of ``max_rows`` of them when it is larger (the same rows at every
    snapshot; then the maps are not saved as the store's projection, which covers every row).
    """
    store = open_store(store)
    curves, per_class = snapshot_curves(store, k=k, seed=seed)
    formation = formation_steps(per_class, formed_at=formed_at)
    first, vectors, count = _snapshot_arrays(store)
    rows = np.arange(len(first))
    if max_rows is not None and len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))
        logger.info("mapping %d of the %d texts of each snapshot", max_rows, len(first))
    kept, maps, stats = compare_alignments(list(vectors[:, rows]), method=method, seed=seed)
    if len(rows) == len(first):
        write_projection(store.path, store.default_vector, store.frame["id"].tolist(), maps.reshape(-1, 2), metadata={
            "method": method, "align": kept, "alignment": stats, "snapshots": count, "column": store.default_vector,
            "n_rows": int(maps.shape[0] * maps.shape[1]), "seed": seed,
            "store": {key: store.meta.get(key) for key in ("schema_version", "model", "extraction", "dataset")},
        })
    carto = store_cartography(store) if (first["split"] == "train").any() else None
    final = curves.iloc[-1]
    summary = {
        "snapshots": count, "probe_rows": len(first), "mapped_rows": len(rows), "steps": curves["step"].tolist(),
        "rows": "held-out" if (first["split"] != "train").any() else "train",
        "formed_at": formed_at, "formation": formation,
        "alignment": {"kept": kept, **{name: value for name, value in stats.items()}},
        "final": {key: (None if pd.isna(final[key]) else float(final[key]))
                  for key in ("accuracy", "knn_purity", "linear_probe_accuracy", "silhouette")},
        "cartography": None if carto is None else {g: int((carto["group"] == g).sum()) for g in GROUPS},
        "curves": curves.round(6).replace({np.nan: None}).to_dict("list"),
    }
    write_json_atomic(store.path / DYNAMICS_FILE, summary, indent=1)
    logger.info("dynamics of %s: %d snapshots; classes formed (10-NN purity >= %.2f) at steps %s", store.path, count,
                formed_at, ", ".join(f"{c} {s}" for c, s in formation.items()))
    return DynamicsAnalysis(store_path=store.path, curves=curves, per_class=per_class, formation=formation,
                            alignment={"kept": kept, **stats}, cartography=carto, maps=maps, summary=summary,
                            rows=rows)
