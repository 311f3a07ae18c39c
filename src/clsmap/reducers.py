"""Stage 4, projection: reduce vectors to 2-D, behind one small estimator interface.

Every reducer stores its parameters in ``__init__`` and nothing else, validates in
``fit_transform``, keeps fitted state in attributes ending in ``_``, and returns an
``(n, 2)`` float32 array. :data:`REDUCERS` maps a method name to its class;
:func:`project` runs one on a store and saves the map next to the vectors.
"""

from __future__ import annotations

import inspect
import logging
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from ._errors import ClsmapError, require
from ._validation import check_choice, check_positive_int, reject_unknown
from .store import PROJECTIONS, Store, open_store, write_table_atomic

__all__ = ["Reducer", "PaCMAP", "UMAP", "TSNE", "PCA", "REDUCERS", "make_reducer", "fit_on_sample", "project"]

logger = logging.getLogger(__name__)

Method = Literal["pacmap", "umap", "tsne", "pca"]


class Reducer:
    """Base class: subclasses set :attr:`name` and implement :meth:`_fit_transform`."""

    name: ClassVar[str] = ""

    def __init__(self, *, seed: int | None = 0) -> None:
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ClsmapError(f"{self.name}: expected a 2-D array of vectors, got shape {X.shape}")
        if len(X) < 3:
            raise ClsmapError(f"{self.name}: needs at least 3 vectors to make a map, got {len(X)}")
        if not np.isfinite(X).all():
            bad = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
            raise ClsmapError(f"{self.name}: vector of row {bad} has NaN or infinite values")
        self.embedding_ = np.asarray(self._fit_transform(X), dtype=np.float32)
        return self.embedding_

    def _fit_transform(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class PaCMAP(Reducer):
    """PaCMAP (Wang et al. 2021), the seed's choice: local and global structure together."""

    name = "pacmap"

    def __init__(self, *, n_neighbors: int | None = None, mn_ratio: float = 0.5, fp_ratio: float = 2.0,
                 seed: int | None = 0) -> None:
        super().__init__(seed=seed)
        self.n_neighbors = n_neighbors
        self.mn_ratio = mn_ratio
        self.fp_ratio = fp_ratio

    def _fit_transform(self, X: np.ndarray) -> np.ndarray:
        import pacmap

        n = len(X)
        neighbors = self.n_neighbors
        if neighbors is None:
            neighbors = 10 if n <= 10_000 else int(round(10 + 15 * (np.log10(n) - 4)))
        neighbors = max(1, min(neighbors, n - 2))
        # PaCMAP's own PCA pre-step needs more than 100 dimensions and rows; below that it
        # works on the raw vectors
        reducer = pacmap.PaCMAP(
            n_components=2, n_neighbors=neighbors, MN_ratio=self.mn_ratio, FP_ratio=self.fp_ratio,
            random_state=self.seed, apply_pca=X.shape[1] > 100 and n > 100,
        )
        try:
            return reducer.fit_transform(X, init="pca")
        finally:
            _restore_faiss_threads()


class UMAP(Reducer):
    """UMAP (McInnes et al. 2018), from ``umap-learn``; extra ``clsmap[umap]``."""

    name = "umap"

    def __init__(self, *, n_neighbors: int = 15, min_dist: float = 0.1, metric: str = "cosine",
                 seed: int | None = 0) -> None:
        super().__init__(seed=seed)
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric

    def _fit_transform(self, X: np.ndarray) -> np.ndarray:
        umap = require("umap", extra="umap", purpose="--method umap", package="umap-learn")
        reducer = umap.UMAP(n_components=2, n_neighbors=min(self.n_neighbors, len(X) - 1),
                            min_dist=self.min_dist, metric=self.metric, random_state=self.seed)
        return reducer.fit_transform(X)


class TSNE(Reducer):
    """t-SNE from openTSNE (FFT-accelerated); extra ``clsmap[tsne]``."""

    name = "tsne"

    def __init__(self, *, perplexity: float = 30.0, metric: str = "cosine", seed: int | None = 0) -> None:
        super().__init__(seed=seed)
        self.perplexity = perplexity
        self.metric = metric

    def _fit_transform(self, X: np.ndarray) -> np.ndarray:
        opentsne = require("openTSNE", extra="tsne", purpose="--method tsne", package="openTSNE")
        perplexity = min(self.perplexity, max(1.0, (len(X) - 1) / 3))
        tsne = opentsne.TSNE(n_components=2, perplexity=perplexity, metric=self.metric,
                             random_state=self.seed, n_jobs=-1, verbose=False)
        return np.asarray(tsne.fit(X))


class PCA(Reducer):
    """The first two principal components: linear, fast, faithful to global distances."""

    name = "pca"

    def _fit_transform(self, X: np.ndarray) -> np.ndarray:
        from sklearn.decomposition import PCA as SkPCA

        return SkPCA(n_components=2, random_state=self.seed).fit_transform(X)


REDUCERS: dict[str, type[Reducer]] = {cls.name: cls for cls in (PaCMAP, UMAP, TSNE, PCA)}
#: above this many rows, :func:`project` fits on a sample and places the other rows (see :func:`fit_on_sample`)
MAX_FIT = 100_000


def _restore_faiss_threads() -> None:
    """PaCMAP with a seed sets faiss to one thread for the whole process; give the threads back."""
    try:
        import faiss
    except ImportError:
        return
    import os

    faiss.omp_set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


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


def make_reducer(method: Method = "pacmap", **params: Any) -> Reducer:
    """The reducer called ``method`` with ``params``; unknown names are an error."""
    check_choice(method, REDUCERS, param="method", func="project")
    cls = REDUCERS[method]
    allowed = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    reject_unknown(params, func=f"project(method={method!r})", allowed=allowed)
    return cls(**params)


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
    import pyarrow as pa

    opened = open_store(store)
    reducer = make_reducer(method, seed=seed, **params)
    if max_fit is not None:
        check_positive_int(max_fit, param="max_fit", func="project", minimum=3)
    columns = opened.vector_columns if column == "all" else [column or opened.default_vector]
    xy = np.empty((0, 2), dtype=np.float32)
    for name in columns:
        vectors = opened.vectors_of(name)
        started = time.perf_counter()
        sampled = None
        if max_fit is not None and len(vectors) > max_fit:
            logger.info("%s: fitting %s on %d of %d rows and placing the rest by their nearest neighbours",
                        name, method, max_fit, len(vectors))
            xy, sampled = fit_on_sample(reducer, vectors, max_fit=max_fit, seed=seed)
        else:
            xy = reducer.fit_transform(vectors)
        seconds = time.perf_counter() - started
        logger.info("%s map of %s (%d x %d) in %.1f s", method, name, *vectors.shape, seconds)
        table = pa.table({
            "id": pa.array(opened.frame["id"].tolist(), type=pa.string()),
            "x": pa.array(xy[:, 0], type=pa.float32()),
            "y": pa.array(xy[:, 1], type=pa.float32()),
        })
        folder = opened.path / PROJECTIONS
        folder.mkdir(exist_ok=True)
        meta = {
            "method": method,
            "params": reducer.get_params(),
            "column": name,
            "n_rows": len(xy),
            "fit_rows": len(xy) if sampled is None else len(sampled),
            "seconds": round(seconds, 3),
            "store": {k: opened.meta.get(k) for k in ("schema_version", "model", "extraction", "dataset")},
        }
        write_table_atomic(table, folder / f"{name}.parquet", metadata=meta)
    return xy
