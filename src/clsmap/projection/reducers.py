"""The reducers: vectors to 2-D behind one small estimator interface, and their registry.

Every reducer stores its parameters in ``__init__`` and nothing else, validates in
``fit_transform``, keeps fitted state in attributes ending in ``_``, and returns an
``(n, 2)`` float32 array. :data:`REDUCERS` maps a method name to its class.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, ClassVar, Literal

import numpy as np

from .._errors import ClsmapError, require
from .._validation import check_choice, reject_unknown

__all__ = ["Reducer", "PaCMAP", "LocalMAP", "UMAP", "TSNE", "PCA", "REDUCERS", "Method", "make_reducer", "is_constant"]

logger = logging.getLogger(__name__)

Method = Literal["pacmap", "localmap", "umap", "tsne", "pca"]


def is_constant(X: np.ndarray, *, rtol: float = 1e-5) -> bool:
    """Whether every row of ``X`` is the same vector, up to ``rtol`` of its largest value (float
    rounding). Layer 0's [CLS] of a BERT is one: the embedding of the [CLS] token at position 0,
    whatever the text."""
    X = np.asarray(X)
    if len(X) == 0:
        return True
    scale = float(np.abs(X).max())
    return bool(np.isfinite(scale) and float((X.max(axis=0) - X.min(axis=0)).max()) <= rtol * max(scale, 1e-30))


class Reducer:
    """Base class: subclasses set :attr:`name` and implement :meth:`_fit_transform`."""

    name: ClassVar[str] = ""

    def __init__(self, *, seed: int | None = 0) -> None:
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """The parameters (an array parameter, such as an initial layout, as its shape)."""
        return {k: (list(v.shape) if isinstance(v, np.ndarray) else v)
                for k, v in vars(self).items() if not k.endswith("_")}

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ClsmapError(f"{self.name}: expected a 2-D array of vectors, got shape {X.shape}")
        if len(X) < 3:
            raise ClsmapError(f"{self.name}: needs at least 3 vectors to make a map, got {len(X)}")
        if not np.isfinite(X).all():
            bad = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
            raise ClsmapError(f"{self.name}: vector of row {bad} has NaN or infinite values")
        if is_constant(X):
            logger.info("%s: every vector is the same; the map is one point", self.name)
            self.embedding_ = np.zeros((len(X), 2), dtype=np.float32)
            return self.embedding_
        self.embedding_ = np.asarray(self._fit_transform(X), dtype=np.float32)
        return self.embedding_

    def _fit_transform(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def default_neighbors(n: int) -> int:
    """PaCMAP's ``n_neighbors`` for ``n`` rows: 10 up to 10,000 rows, then 15 more per tenfold (as PaCMAP's
    own rule of thumb)."""
    return 10 if n <= 10_000 else int(round(10 + 15 * (np.log10(n) - 4)))


class PaCMAP(Reducer):
    """PaCMAP (Wang et al. 2021), the seed's choice: local and global structure together."""

    name = "pacmap"

    def __init__(self, *, n_neighbors: int | None = None, mn_ratio: float = 0.5, fp_ratio: float = 2.0,
                 init: np.ndarray | None = None, seed: int | None = 0) -> None:
        super().__init__(seed=seed)
        self.n_neighbors = n_neighbors
        self.mn_ratio = mn_ratio
        self.fp_ratio = fp_ratio
        #: an (n, 2) layout to refine (e.g. the map of the previous training snapshot) instead of starting
        #: from PCA: only PaCMAP's last phase runs (neighbours and far pairs; no mid-near phase), so the
        #: layout keeps its global arrangement and points move where their neighbourhoods changed
        self.init = init

    def _fit_transform(self, X: np.ndarray) -> np.ndarray:
        import pacmap

        n = len(X)
        neighbors = self.n_neighbors if self.n_neighbors is not None else default_neighbors(n)
        neighbors = max(1, min(neighbors, n - 2))
        # PaCMAP's own PCA pre-step needs more than 100 dimensions and rows; below that it
        # works on the raw vectors
        reducer = self._estimator(pacmap)(
            n_components=2, n_neighbors=neighbors, MN_ratio=self.mn_ratio, FP_ratio=self.fp_ratio,
            random_state=self.seed, apply_pca=X.shape[1] > 100 and n > 100,
            num_iters=(100, 100, 250) if self.init is None else (0, 0, 250),
        )
        if self.seed is not None:
            _exact_neighbour_pairs(reducer)
        init: Any = "pca"
        if self.init is not None:
            init = np.asarray(self.init, dtype=np.float32)
            if init.shape != (n, 2):
                raise ClsmapError(f"pacmap: init must be an ({n}, 2) array, got shape {init.shape}")
        from .kernels import parallel_kernels

        try:
            with parallel_kernels():
                return reducer.fit_transform(X, init=init)
        finally:
            _restore_faiss_threads()


    def _estimator(self, pacmap: Any) -> Any:
        return pacmap.PaCMAP


class LocalMAP(PaCMAP):
    """LocalMAP (Wang et al. 2025, in PaCMAP since 0.8): PaCMAP whose last phase also pushes apart nearby
    points that are far in the original space, sharpening the boundaries between close clusters."""

    name = "localmap"

    def _estimator(self, pacmap: Any) -> Any:
        return pacmap.LocalMAP


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


REDUCERS: dict[str, type[Reducer]] = {cls.name: cls for cls in (PaCMAP, LocalMAP, UMAP, TSNE, PCA)}


def _exact_neighbour_pairs(reducer: Any) -> None:
    """Give a seeded ``pacmap.PaCMAP`` its nearest-neighbour pairs from an exact faiss search on every core.

    Seeded, PaCMAP searches faiss's HNSW index on one thread (its build is not deterministic on
    several); an exact flat search is deterministic and parallel. The pairs are chosen as PaCMAP's
    ``generate_pair`` chooses them, from the same preprocessed (PCA) rows: the ``n_neighbors + 50``
    nearest, distances scaled by each side's mean distance to its 4th-6th neighbours, the
    ``n_neighbors`` nearest by that scale. PaCMAP then samples the mid-near and far pairs with its seed.
    Without faiss, PaCMAP's own search runs.
    """
    try:
        import faiss
    except ImportError:
        return
    from pacmap import pacmap as core

    stock = reducer.sample_pairs

    def sample_pairs(X: np.ndarray, save_tree: bool) -> None:
        X = np.ascontiguousarray(X, dtype=np.float32)
        n, k = len(X), int(reducer.n_neighbors)
        extra = min(k + 50, n - 1)
        if extra < 6:  # too few rows for the scale (4th-6th neighbours): PaCMAP's own search
            stock(X, save_tree)
            return
        _restore_faiss_threads()
        index = faiss.IndexFlatL2(X.shape[1])
        index.add(X)
        squared, found = index.search(X, extra + 1)
        nbrs = np.ascontiguousarray(found[:, 1:], dtype=np.int32)
        distance = np.sqrt(np.maximum(squared[:, 1:], 0)).astype(np.float32)
        sig = np.maximum(distance[:, 3:6].mean(axis=1), 1e-10).astype(np.float32)
        scaled = core.scale_dist(distance, sig, nbrs)
        reducer.pair_neighbors = core.sample_neighbors_pair(X, scaled, nbrs, k)
        stock(X, save_tree)

    reducer.sample_pairs = sample_pairs


def _restore_faiss_threads() -> None:
    """PaCMAP with a seed sets faiss to one thread for the whole process; give the threads back."""
    try:
        import faiss
    except ImportError:
        return
    import os

    faiss.omp_set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


def make_reducer(method: Method = "pacmap", **params: Any) -> Reducer:
    """The reducer called ``method`` with ``params``; unknown names are an error."""
    check_choice(method, REDUCERS, param="method", func="project")
    cls = REDUCERS[method]
    allowed = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    reject_unknown(params, func=f"project(method={method!r})", allowed=allowed)
    return cls(**params)
