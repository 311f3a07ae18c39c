"""Nearest neighbours in the vector space (and in a map), in O(n * k) memory: scikit-learn, faiss's exact
flat index, or from :data:`APPROX_FROM` rows an approximate inverted file in torch
(:mod:`~clsmap.analysis.ivf`) whose recall@k against exact neighbours is measured on a sample and raised to
:data:`TARGET_RECALL`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from .._blocks import ROWS, blocks
from .._memory import release_freed_memory
from .._validation import check_choice
from ..store.vectors import Vectors, as_vectors
from .ivf import CellIndex, exact_neighbours, inverse_norms

__all__ = ["APPROX_FROM", "BACKENDS", "FAISS_FROM", "TARGET_RECALL", "approximate_knn_graph", "knn_backend",
           "knn_graph", "knn_indices", "shared_neighbour_counts"]

logger = logging.getLogger(__name__)

Metric = Literal["cosine", "euclidean"]
Backend = Literal["auto", "sklearn", "faiss", "approximate"]
BACKENDS = ("auto", "sklearn", "faiss", "approximate")
#: above this many rows, ``backend="auto"`` uses faiss (exact, faster on CPUs) when it is installed
FAISS_FROM = 50_000
#: from this many rows, ``backend="auto"`` searches an approximate inverted file (an exact search costs
#: n^2 d: about 40 s at 100k 384-d rows on 2 cores, an hour at 1M) whose recall is measured
APPROX_FROM = 100_000
#: the recall@k that the approximate search must reach on its sample of exact searches
TARGET_RECALL = 0.95
#: the approximate search scans at most this share of its cells (or 16) per query: beyond it, an exact
#: search in BLAS blocks is not slower, so up to :data:`EXACT_UP_TO` rows the search becomes exact instead
MAX_SCAN = 1 / 8
#: below this many rows, an approximate index that cannot reach the target recall gives way to an
#: exact search (about 40 s at 100k 384-d rows on 2 cores, 4x that here); above, its recall is kept
#: and a warning says it is below the target
EXACT_UP_TO = 200_000


def _prepare(X: np.ndarray, metric: str) -> np.ndarray:
    """Rows scaled to unit length for cosine (then Euclidean order = cosine order)."""
    check_choice(metric, ("cosine", "euclidean"), param="metric", func="knn_indices")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.maximum(norms, 1e-12)
    return X


def knn_backend(n: int, d: int, backend: Backend = "auto") -> Literal["sklearn", "faiss", "approximate"]:
    """The search ``backend="auto"`` picks for ``n`` rows of ``d`` dimensions: scikit-learn below
    :data:`FAISS_FROM` rows (and for maps: scikit-learn's k-d tree wins in few dimensions), faiss's exact
    flat index up to :data:`APPROX_FROM` rows (scikit-learn without faiss), then
    :func:`approximate_knn_graph` (torch)."""
    check_choice(backend, BACKENDS, param="backend", func="knn_indices")
    if backend != "auto":
        return backend
    if n < FAISS_FROM or d <= 16:
        return "sklearn"
    if n >= APPROX_FROM:
        return "approximate"
    try:
        import faiss  # noqa: F401
    except ImportError:
        logger.info("faiss is not installed: exact k-NN of %d rows with scikit-learn (pip install 'clsmap[faiss]' "
                    "for a faster one)", n)
        return "sklearn"
    return "faiss"


def knn_graph(
    X: np.ndarray | Vectors, *, k: int = 10, metric: Metric = "cosine", backend: Backend = "auto",
    query: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest other rows, nearest first: ``(indices, similarity)``, both (n, k).

    ``similarity`` is the cosine similarity for ``metric="cosine"``, the negated Euclidean distance
    for ``"euclidean"`` (larger is nearer either way; float32). O(n * k) memory. ``query`` (row
    indices) restricts the rows asked about; their neighbours are still found among all rows.
    ``backend``: see :func:`knn_backend` (``"approximate"``: :func:`approximate_knn_graph`, whose
    measured recall is logged). ``X``: an array, or :class:`~clsmap.store.vectors.Vectors` (read part by
    part by the approximate search; the exact ones read it whole).
    """
    X = as_vectors(X, "knn_indices")
    backend = knn_backend(len(X), X.dim, backend)
    if backend == "approximate" and metric == "cosine":
        if query is None:
            indices, similarity, _ = approximate_knn_graph(X, k=k, metric=metric)
            return indices, similarity
        rows = np.asarray(query)
        inv_norm = inverse_norms(X)
        return _drop_self(*exact_neighbours(X, inv_norm, rows, min(k, len(X) - 1) + 1), rows, min(k, len(X) - 1))
    X = _prepare(X.array(), metric)
    n = len(X)
    if n < 2:
        raise ValueError("knn_indices needs at least two points")
    k = min(k, n - 1)
    rows = np.arange(n) if query is None else np.asarray(query)
    if backend == "faiss":
        squared, found = _exact_search(X, rows, k + 1)
        return _without_self(found, squared, rows, k, metric)
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=k + 1).fit(X)
    indices, similarity = np.empty((len(rows), k), dtype=np.int64), np.empty((len(rows), k), dtype=np.float32)
    for block in blocks(len(rows), ROWS):  # a block of queries at a time: at 1M, 0.4 GB of temporaries less
        at = rows[block]
        distance, found = index.kneighbors(X[at], return_distance=True)
        indices[block], similarity[block] = _without_self(
            np.asarray(found, dtype=np.int64), distance ** 2, at, k, metric)
    return indices, similarity


def _faiss() -> Any:
    from .._errors import require

    return require("faiss", extra="faiss", purpose="k-NN with faiss", package="faiss-cpu")


def _exact_search(X: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """faiss's exact search of the ``k`` nearest rows of ``X`` to the rows ``rows`` (squared L2 distances,
    positions as int64)."""
    index = _faiss().IndexFlatL2(X.shape[1])
    index.add(X)
    squared, found = index.search(X[rows], k)
    return squared, np.asarray(found, dtype=np.int64)


def _without_self(found: np.ndarray, squared: np.ndarray, rows: np.ndarray, k: int,
                  metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``k + 1`` results of each row without the row itself (or without the last entry when it is
    absent: exact duplicates can tie with the point), as ``(indices, similarity)``."""
    self_pos = found == rows[:, None]
    keep = ~self_pos & (np.cumsum(~self_pos, axis=1, dtype=np.int16) <= k)
    squared = np.maximum(np.asarray(squared, dtype=np.float64)[keep].reshape(len(rows), k), 0.0)
    # unit rows: |a - b|^2 = 2 - 2 cos(a, b)
    similarity = 1.0 - squared / 2.0 if metric == "cosine" else -np.sqrt(squared)
    return found[keep].reshape(len(rows), k), similarity.astype(np.float32)


def _search_dtype() -> Any:
    """The dtype of the k-means that makes the cells: bfloat16 where the CPU multiplies it natively (AMX,
    AVX512-BF16), else float32."""
    import torch

    from ..extraction.models import cpu_has_native_bf16

    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


def approximate_knn_graph(
    X: np.ndarray | Vectors, *, k: int = 10, metric: Metric = "cosine", seed: int = 0,
    target_recall: float = TARGET_RECALL, sample: int = 1000,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`knn_graph` from an inverted-file index, with its recall measured: the rows in ``~4 sqrt(n)``
    spherical k-means cells, each query compared in torch matrix products with the rows of the ``nprobe``
    cells nearest to it (:class:`~clsmap.analysis.ivf.CellIndex`): where the CPU multiplies bfloat16
    natively, a bfloat16 scan of the rows' residuals from their cells' centres whose best candidates are
    ranked again in float32, else float32 products. Cosine only.

    The recall@k against an exact search is measured on ``sample`` random rows; while it is below
    ``target_recall``, the search scans twice as many cells, up to :data:`MAX_SCAN` of them. Falling short
    there, up to :data:`EXACT_UP_TO` rows the search is exact instead (``recall`` 1.0 and
    ``approximate_recall`` what the index reached); above, the index's results are kept with a warning.
    Returns ``(indices, similarity, info)``, ``info`` holding ``backend``, ``recall`` (on the sample),
    ``recall_sample``, ``nlist`` and ``nprobe``. Memory: the index holds the rows once (sorted by cell; in
    bfloat16 where it scans in bfloat16) while it searches; ``X`` (an array or
    :class:`~clsmap.store.vectors.Vectors`) is read part by part, never held whole.
    Deterministic for a ``seed`` (the k-means sample and initialisation).
    """
    check_choice(metric, ("cosine",), param="metric", func="approximate_knn_graph")
    X = as_vectors(X, "approximate_knn_graph")
    n = len(X)
    if n < 2:
        raise ValueError("knn_indices needs at least two points")
    k = min(k, n - 1)
    inv_norm = inverse_norms(X)
    rng = np.random.default_rng(seed)
    nlist = int(max(1, min(4 * np.sqrt(n), n // 40)))
    most = min(nlist, max(16, int(nlist * MAX_SCAN)))
    dtype = _search_dtype()
    index = CellIndex(X, inv_norm, nlist=nlist, seed=seed, dtype=dtype)
    # the exact neighbours of a sample of rows, and what the search finds for them scanning more and more
    # cells, to measure the recall against
    probe_rows = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    levels = sorted({min(most, 8 * 2 ** i) for i in range(int(np.ceil(np.log2(max(1, most / 8)))) + 1)})

    def complete(rows: np.ndarray, sims: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        short = np.flatnonzero((found < 0).any(axis=1))  # the cells held fewer than k + 1 rows: search all
        if len(short):
            sims[short], found[short] = exact_neighbours(X, inv_norm, rows[short], k + 1)
        return _drop_self(sims, found, rows, k)

    recall, nprobe = _measured_scan(index, probe_rows, levels, k, target_recall, complete)
    scan = "bfloat16 scan, float32 ranking" if index.keep else "float32"
    info = {"backend": f"inverted file, torch {scan} (approximate)", "recall": round(recall, 4),
            "recall_sample": int(len(probe_rows)), "nlist": index.nlist, "nprobe": int(nprobe)}
    if recall < target_recall and n <= EXACT_UP_TO:
        # vectors without structure (nearly equidistant neighbours): no small part of the cells holds them
        logger.info("the approximate k-NN of %d rows reaches recall@%d %.3f scanning %d of %d cells (target %.2f): "
                    "an exact search instead", n, k, recall, nprobe, nlist, target_recall)
        del index
        rows = np.arange(n)
        indices, similarity = _drop_self(*exact_neighbours(X, inv_norm, rows, k + 1), rows, k)
        return indices, similarity, {**info, "backend": "torch float32 (exact: the approximate index fell short)",
                                     "recall": 1.0, "approximate_recall": info["recall"]}
    rows = np.arange(n)
    sims, found = index.search(rows, k + 1, nprobe)
    del index  # its copy of the rows, before the results are completed and trimmed
    release_freed_memory()
    indices, similarity = complete(rows, sims, found)
    if recall < target_recall:
        logger.warning("approximate k-NN of %d rows: recall@%d %.3f on %d rows, below the target %.2f even "
                       "scanning %d of %d cells; the measures that use it are approximate too", n, k, recall,
                       len(probe_rows), target_recall, nprobe, nlist)
    else:
        logger.info("approximate k-NN of %d rows: recall@%d %.3f on %d rows (%d of %d cells scanned)", n, k, recall,
                    len(probe_rows), nprobe, nlist)
    return indices, similarity, info


def _measured_scan(index: CellIndex, probe_rows: np.ndarray, levels: list[int], k: int, target_recall: float,
                   complete: Callable[..., tuple[np.ndarray, np.ndarray]]) -> tuple[float, int]:
    """The recall@k of the search of ``index`` for the sample ``probe_rows`` scanning each ``nprobe`` of
    ``levels`` in turn (results completed by ``complete``), until one reaches ``target_recall``: that
    recall and that ``nprobe`` (the last level's when none does). The first three levels suffice for most
    vectors: they are measured in one pass over the vectors, the others in a second one when needed."""
    exact, recall = None, -1.0
    for group in (levels[:3], levels[3:]):
        if not group or recall >= target_recall:
            break
        truth, scanned = index.sample_search(probe_rows, k + 1, group)
        if exact is None:
            exact = _drop_self(*truth, probe_rows, k)[0]
        for nprobe in group:
            got = complete(probe_rows, *scanned[nprobe])[0]
            recall = float(np.mean(shared_neighbour_counts(got, exact)) / k)
            if recall >= target_recall:
                break
    return recall, nprobe


def _drop_self(sims: np.ndarray, found: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_without_self` for cosine similarities: ``(indices, similarity)``."""
    return _without_self(found, 2.0 - 2.0 * sims.astype(np.float64), rows, k, "cosine")


def knn_indices(
    X: np.ndarray | Vectors, *, k: int = 10, metric: Metric = "cosine", backend: Backend = "auto",
    query: np.ndarray | None = None,
) -> np.ndarray:
    """Indices (n, k) of each row's ``k`` nearest other rows, nearest first (:func:`knn_graph`
    without the similarities)."""
    return knn_graph(X, k=k, metric=metric, backend=backend, query=query)[0]


def shared_neighbour_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, how many of its neighbours in ``a`` (n, k; distinct per row) are also among its neighbours
    in ``b`` (n, k'): ``|N_a ∩ N_b|`` (int64, n), compared :data:`~clsmap._blocks.ROWS` rows at a time
    (memory O(ROWS * k * k')). The one overlap of two neighbour lists: k-NN preservation, how far a
    neighbourhood changed between two spaces or two snapshots, and the recall of an approximate search."""
    if len(a) != len(b):
        raise ValueError(f"shared_neighbour_counts: {len(a)} rows in a but {len(b)} in b")
    counts = np.empty(len(a), dtype=np.int64)
    for block in blocks(len(a), ROWS):
        counts[block] = (a[block, :, None] == b[block, None, :]).any(axis=2).sum(axis=1)
    return counts
