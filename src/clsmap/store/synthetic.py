"""Stores made from given columns, without a model: for tests, benchmarks and examples.

The store is written by the real :class:`~clsmap.store.writer.StoreWriter` with the tables of
:mod:`clsmap.store.schema`, so what is read back is exactly what ``clsmap extract`` + ``clsmap
project`` would produce for these rows. The 2-D coordinates are the map; the vectors are ``vectors``
when given, else the coordinates themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._blocks import blocks
from .reader import Store, open_store
from .schema import Manifest, input_table, part_rows_for, part_table, snapshot_table
from .writer import StoreWriter, write_projection

__all__ = ["synthetic_store", "synthetic_dynamics_store"]


def synthetic_store(
    folder: str | Path,
    xy: np.ndarray,
    texts: Sequence[str],
    *,
    labels: Sequence[str | None] | None = None,
    preds: Sequence[str] | None = None,
    confidence: Sequence[float] | None = None,
    ids: Sequence[str] | None = None,
    splits: Sequence[str | None] | None = None,
    classes: Sequence[str] | None = None,
    vectors: np.ndarray | None = None,
    model: str = "synthetic-model",
    method: str = "pacmap",
    part_rows: int | None = None,
) -> Store:
    """Write a complete store with the given rows and projection ``xy`` (n, 2); return it opened.
    ``splits``: the split of each row (``None``: no splits). ``part_rows``: rows per part (default: as
    many as an extraction writes, :func:`~clsmap.store.schema.part_rows_for` the vectors' width)."""
    xy = np.asarray(xy, dtype=np.float32)
    vectors = xy if vectors is None else np.asarray(vectors, dtype=np.float32)
    part_rows = part_rows or part_rows_for(vectors.shape[1], 1)
    n = len(xy)
    ids = [str(i) for i in range(n)] if ids is None else [str(i) for i in ids]
    classes = list(classes) if classes is not None else (sorted(set(preds)) if preds is not None else None)
    manifest = Manifest(
        n_rows=n, part_rows=part_rows, vector_columns=["vector"], default_vector="vector",
        model={"name_or_path": model, "architecture": "synthetic", "hidden_size": int(vectors.shape[1])},
        extraction={"layer": -1, "module": None, "pooling": "cls", "max_length": 0, "dtype": "float32"},
        dataset={"source": "synthetic", "sha256": str(n)}, classes=classes,
    )
    writer = StoreWriter(folder, manifest, overwrite=True)
    for part, sl in enumerate(blocks(n, part_rows)):
        inputs = input_table(np.arange(sl.start, sl.stop), ids[sl], list(texts[sl]),
                             None if labels is None else list(labels[sl]),
                             None if splits is None else list(splits[sl]))
        table = part_table(inputs, {"vector": vectors[sl]}, classes=classes,
                           preds=None if preds is None else list(preds[sl]),
                           confidence=None if confidence is None else np.asarray(confidence[sl]))
        writer.write_part(part, table)
    writer.finish()
    write_projection(folder, "vector", ids, xy,
                     metadata={"method": method, "params": {}, "column": "vector", "n_rows": n})
    return open_store(folder)


def synthetic_dynamics_store(
    folder: str | Path,
    vectors: np.ndarray,
    logits: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[str],
    splits: Sequence[str],
    *,
    classes: Sequence[str],
    steps: Sequence[int],
    steps_per_epoch: int,
    ids: Sequence[str] | None = None,
    model: str = "synthetic-model",
) -> Store:
    """Write a complete dynamics store (what ``clsmap train --map-every`` records) from given snapshots:
    ``vectors`` (snapshots, n, d) and ``logits`` (snapshots, n, classes) of the same n rows at ``steps``."""
    vectors = np.asarray(vectors, dtype=np.float32)
    logits = np.asarray(logits, dtype=np.float32)
    count, n = vectors.shape[:2]
    ids = [str(i) for i in range(n)] if ids is None else [str(i) for i in ids]
    classes = list(classes)
    label_index = np.array([classes.index(label) for label in labels], dtype=np.int64)
    manifest = Manifest(
        n_rows=n * count, part_rows=n, vector_columns=["vector"], default_vector="vector",
        model={"name_or_path": model, "architecture": "synthetic", "hidden_size": int(vectors.shape[2])},
        extraction={"layer": -1, "module": None, "pooling": "cls", "max_length": 0, "dtype": "float32"},
        dataset={"source": "synthetic", "sha256": str(n)}, classes=classes,
        dynamics={"base_model": model, "map_every": "synthetic", "steps_per_epoch": steps_per_epoch,
                  "probe": {name: list(splits).count(name) for name in ("validation", "test", "train")},
                  "snapshots": [{"snapshot": k, "step": int(s), "epoch": round(s / steps_per_epoch, 6)}
                                for k, s in enumerate(steps)], "checkpoints": None},
    )
    writer = StoreWriter(folder, manifest, overwrite=True)
    inputs = input_table(np.arange(n), ids, list(texts), list(labels))
    for k, step in enumerate(steps):
        part = part_table(inputs, {"vector": vectors[k]}, logits=logits[k], classes=classes, label_index=label_index)
        writer.write_part(k, snapshot_table(part, snapshot=k, step=int(step), epoch=step / steps_per_epoch,
                                            splits=list(splits)))
    writer.finish()
    return open_store(folder)
