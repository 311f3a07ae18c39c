"""Stores made from given columns, without a model: for the viewer's tests and benchmark.

The store is written by the real :class:`~clsmap.store.StoreWriter` and projection writer path,
so what is read back is exactly what ``clsmap extract`` + ``clsmap project`` would produce for
these rows (the 2-D coordinates double as the stored vectors).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .store import PROJECTIONS, Store, StoreWriter, open_store, write_table_atomic


def synthetic_store(
    folder: str | Path,
    xy: np.ndarray,
    texts: Sequence[str],
    *,
    labels: Sequence[str | None] | None = None,
    preds: Sequence[str] | None = None,
    confidence: Sequence[float] | None = None,
    ids: Sequence[str] | None = None,
    classes: Sequence[str] | None = None,
    model: str = "synthetic-model",
    method: str = "pacmap",
    part_rows: int = 65536,
) -> Store:
    """Write a complete store with the given rows and projection ``xy`` (n, 2); return it opened."""
    import pyarrow as pa

    xy = np.asarray(xy, dtype=np.float32)
    n = len(xy)
    ids = [str(i) for i in range(n)] if ids is None else [str(i) for i in ids]
    classes = list(classes) if classes is not None else (sorted(set(preds)) if preds is not None else None)
    manifest: dict[str, Any] = {
        "model": {"name_or_path": model, "architecture": "synthetic", "hidden_size": 2},
        "extraction": {"layer": -1, "module": None, "pooling": "cls", "max_length": 0, "dtype": "float32"},
        "dataset": {"source": "synthetic", "sha256": str(n)},
        "n_rows": n,
        "part_rows": part_rows,
        "classes": classes,
        "vector_columns": ["vector"],
        "default_vector": "vector",
    }
    writer = StoreWriter(folder, manifest, overwrite=True)
    index = {c: k for k, c in enumerate(classes or [])}
    for part, start in enumerate(range(0, n, part_rows)):
        stop = min(n, start + part_rows)
        sl = slice(start, stop)
        lab = None if labels is None else list(labels[sl])
        prd = None if preds is None else list(preds[sl])
        conf = None if confidence is None else np.asarray(confidence[sl], dtype=np.float32)
        correct = None
        if lab is not None and prd is not None:
            correct = [None if a is None or a not in index else a == b for a, b in zip(lab, prd, strict=True)]
        m = stop - start
        table = pa.table({
            "row": pa.array(np.arange(start, stop, dtype=np.int64)),
            "id": pa.array(ids[sl], type=pa.string()),
            "text": pa.array(list(texts[sl]), type=pa.string()),
            "label": pa.array(lab if lab is not None else [None] * m, type=pa.string()),
            "pred": pa.array(prd if prd is not None else [None] * m, type=pa.string()),
            "pred_id": pa.array([index[p] for p in prd] if prd is not None else [None] * m, type=pa.int32()),
            "confidence": pa.array(conf if conf is not None else [None] * m, type=pa.float32()),
            "correct": pa.array(correct if correct is not None else [None] * m, type=pa.bool_()),
            "prob": pa.array([None] * m, type=pa.list_(pa.float32())),
            "logits": pa.array([None] * m, type=pa.list_(pa.float32())),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(xy[sl].reshape(-1)), 2),
        })
        writer.write_part(part, table)
    writer.finish()
    folder = Path(folder)
    (folder / PROJECTIONS).mkdir(exist_ok=True)
    proj = pa.table({
        "id": pa.array(ids, type=pa.string()),
        "x": pa.array(xy[:, 0], type=pa.float32()),
        "y": pa.array(xy[:, 1], type=pa.float32()),
    })
    write_table_atomic(proj, folder / PROJECTIONS / "vector.parquet",
                       metadata={"method": method, "params": {}, "column": "vector", "n_rows": n})
    return open_store(folder)
