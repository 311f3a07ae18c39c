""":func:`project`: a store's vectors to 2-D, saved beside them in ``projections/<column>.parquet``."""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .._memory import release_freed_memory
from .._validation import check_positive_int
from ..store.reader import Store, open_store
from ..store.writer import write_projection
from .reducers import Method, make_reducer
from .sampling import MAX_FIT, fit_on_parts

__all__ = ["project"]

logger = logging.getLogger(__name__)


def project(
    store: str | Path | Store,
    *,
    method: Method = "pacmap",
    column: str | None = None,
    seed: int | None = 0,
    max_fit: int | None = MAX_FIT,
    **params: Any,
) -> np.ndarray:
    """Project a store's vectors to 2-D and save the map in ``projections/<column>.parquet``.

    ``column`` is the vector column to map (default: the store's default, the last layer);
    ``"all"`` maps every vector column. With more than ``max_fit`` rows (default 100,000;
    ``None`` for no limit) the reducer is fitted on a random sample of that size and the other
    rows are placed among their nearest sampled neighbours (:func:`fit_on_sample`). Extra
    keyword arguments go to the reducer (e.g. ``n_neighbors``). Returns the ``(n, 2)``
    coordinates of the (last) mapped column.
    """
    opened = open_store(store)
    reducer = make_reducer(method, seed=seed, **params)
    if max_fit is not None:
        check_positive_int(max_fit, param="max_fit", func="project", minimum=3)
    columns = opened.vector_columns if column == "all" else [column or opened.default_vector]
    xy = np.empty((0, 2), dtype=np.float32)
    n = len(opened.frame)
    for name in columns:
        started = time.perf_counter()
        sampled = None
        if max_fit is not None and n > max_fit:
            # the vectors are read part by part, twice: the sample to fit, then the other rows to place
            logger.info("%s: fitting %s on %d of %d rows and placing the rest by their nearest neighbours",
                        name, method, max_fit, n)
            xy, sampled = fit_on_parts(reducer, n, partial(opened.iter_vectors, name), max_fit=max_fit,
                                       seed=seed)
        else:
            vectors = opened.vectors_of(name)
            xy = reducer.fit_transform(vectors)
        release_freed_memory()  # what the fit's temporaries left in the C allocator's heaps
        seconds = time.perf_counter() - started
        logger.info("%s map of %s (%d rows) in %.1f s", method, name, n, seconds)
        meta = {
            "method": method,
            "params": reducer.get_params(),
            "column": name,
            "n_rows": len(xy),
            "fit_rows": len(xy) if sampled is None else len(sampled),
            "seconds": round(seconds, 3),
            "store": {k: opened.meta.get(k) for k in ("schema_version", "model", "extraction", "dataset")},
        }
        write_projection(opened.path, name, opened.frame["id"].tolist(), xy, metadata=meta)
    return xy
