"""Mapping more rows than a reducer can fit: fit on a sample, place the rest among their neighbours."""

from __future__ import annotations

import numpy as np

from .reducers import Reducer

__all__ = ["MAX_FIT", "fit_on_sample"]

#: above this many rows, :func:`project` fits on a sample and places the other rows (see :func:`fit_on_sample`)
MAX_FIT = 100_000


def _nearest(sample: np.ndarray, X: np.ndarray, rows: np.ndarray, k: int, *,
             seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Squared L2 distances and indices of the ``k`` nearest ``sample`` rows of each row ``X[rows]``
    (taken in chunks, so that the queries are never copied whole).

    faiss IVF (nlist up to 1024, nprobe 16) when faiss is installed (it comes with PaCMAP),
    else scikit-learn's exact search.
    """
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is None:
        from sklearn.neighbors import NearestNeighbors

        search = NearestNeighbors(n_neighbors=k).fit(sample)
        distances = np.empty((len(rows), k), dtype=np.float32)
        index = np.empty((len(rows), k), dtype=np.int64)
        for lo in range(0, len(rows), 65536):
            found = search.kneighbors(X[rows[lo:lo + 65536]])
            distances[lo:lo + 65536], index[lo:lo + 65536] = found[0] ** 2, found[1]
        return distances, index
    d = sample.shape[1]
    nlist = int(min(1024, max(1, len(sample) // 64)))
    quantizer = faiss.IndexFlatL2(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_L2)
    ivf.cp.seed = 0 if seed is None else int(seed)
    ivf.train(np.ascontiguousarray(sample))
    ivf.add(np.ascontiguousarray(sample))
    ivf.nprobe = min(16, nlist)
    distances = np.empty((len(rows), k), dtype=np.float32)
    index = np.empty((len(rows), k), dtype=np.int64)
    for lo in range(0, len(rows), 65536):
        chunk = np.ascontiguousarray(X[rows[lo:lo + 65536]])
        distances[lo:lo + len(chunk)], index[lo:lo + len(chunk)] = ivf.search(chunk, k)
    return distances, index


def fit_on_sample(reducer: Reducer, X: np.ndarray, *, max_fit: int = MAX_FIT, k: int = 10,
                  seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Map ``X`` by fitting ``reducer`` on a random sample of ``max_fit`` rows and placing the rest.

    Each row outside the sample goes to the inverse-distance-weighted mean of the 2-D positions
    of its ``k`` nearest sampled rows (in the original space). This is how a million vectors
    are mapped in minutes and bounded memory: the expensive non-linear fit sees ``max_fit``
    rows. Returns the ``(n, 2)`` map and the sampled row indices.
    """
    X = np.asarray(X, dtype=np.float32)
    n = len(X)
    rng = np.random.default_rng(seed)
    sampled = np.sort(rng.choice(n, size=min(max_fit, n), replace=False))
    xy = np.empty((n, 2), dtype=np.float32)
    xy[sampled] = reducer.fit_transform(X[sampled])
    rest = np.setdiff1d(np.arange(n), sampled, assume_unique=True)
    if len(rest):
        k = min(k, len(sampled))
        distances, index = _nearest(X[sampled], X, rest, k, seed=seed)
        missing = index < 0  # IVF may find fewer than k neighbours in its probed lists
        weights = 1.0 / (np.sqrt(np.maximum(distances, 0)) + 1e-6)
        weights[missing] = 0
        index[missing] = 0
        positions = xy[sampled][index]  # (r, k, 2)
        total = weights.sum(axis=1, keepdims=True)
        lonely = total[:, 0] == 0
        total[lonely] = 1
        xy[rest] = (positions * weights[..., None]).sum(axis=1) / total
        if lonely.any():
            xy[rest[lonely]] = xy[sampled].mean(axis=0)
    return xy, sampled
