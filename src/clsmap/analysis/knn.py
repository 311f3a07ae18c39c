"""Nearest neighbours in the vector space (and in a map), in O(n * k) memory: scikit-learn, faiss's exact
flat index, or from :data:`APPROX_FROM` rows an approximate inverted file in torch (no copy of the
vectors) whose recall@k against exact neighbours is measured on a sample and raised to
:data:`TARGET_RECALL`."""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from .._validation import check_choice

__all__ = ["APPROX_FROM", "BACKENDS", "FAISS_FROM", "TARGET_RECALL", "approximate_knn_graph", "knn_backend",
           "knn_graph", "knn_indices"]

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
    X: np.ndarray, *, k: int = 10, metric: Metric = "cosine", backend: Backend = "auto", query: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest other rows, nearest first: ``(indices, similarity)``, both (n, k).

    ``similarity`` is the cosine similarity for ``metric="cosine"``, the negated Euclidean distance
    for ``"euclidean"`` (larger is nearer either way; float32). O(n * k) memory. ``query`` (row
    indices) restricts the rows asked about; their neighbours are still found among all rows.
    ``backend``: see :func:`knn_backend` (``"approximate"``: :func:`approximate_knn_graph`, whose
    measured recall is logged).
    """
    backend = knn_backend(len(X), np.shape(X)[1], backend)
    if backend == "approximate" and metric == "cosine":
        if query is None:
            indices, similarity, _ = approximate_knn_graph(X, k=k, metric=metric)
            return indices, similarity
        rows = np.asarray(query)
        inv_norm = _inverse_norms(X)
        return _drop_self(*_exact_neighbours(X, inv_norm, rows, min(k, len(X) - 1) + 1), rows, min(k, len(X) - 1))
    X = _prepare(np.asarray(X), metric)
    n = len(X)
    if n < 2:
        raise ValueError("knn_indices needs at least two points")
    k = min(k, n - 1)
    rows = np.arange(n) if query is None else np.asarray(query)
    if backend == "faiss":
        squared, found = _exact_search(X, rows, k + 1)
    else:
        from sklearn.neighbors import NearestNeighbors

        index = NearestNeighbors(n_neighbors=k + 1).fit(X)
        distance, found = index.kneighbors(X[rows], return_distance=True)
        squared = distance ** 2
    return _without_self(np.asarray(found, dtype=np.int64), squared, rows, k, metric)


def _faiss():
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
    keep = ~self_pos & (np.cumsum(~self_pos, axis=1) <= k)
    squared = np.maximum(np.asarray(squared, dtype=np.float64)[keep].reshape(len(rows), k), 0.0)
    # unit rows: |a - b|^2 = 2 - 2 cos(a, b)
    similarity = 1.0 - squared / 2.0 if metric == "cosine" else -np.sqrt(squared)
    return found[keep].reshape(len(rows), k), similarity.astype(np.float32)


def _inverse_norms(X: np.ndarray) -> np.ndarray:
    """1 / the length of each row (float32; rows of length 0 count as 1e-12), read part by part."""
    inv_norm = np.empty(len(X), dtype=np.float32)
    for lo in range(0, len(X), 65536):
        part = np.asarray(X[lo:lo + 65536], dtype=np.float32)
        inv_norm[lo:lo + 65536] = 1.0 / np.maximum(np.sqrt(np.einsum("ij,ij->i", part, part)), 1e-12)
    return inv_norm


def _unit(X: np.ndarray, inv_norm: np.ndarray, lo: int, hi: int):
    """Rows ``lo:hi`` of ``X`` scaled to unit length, as a float32 torch tensor (a copy of those rows only)."""
    import torch

    return torch.from_numpy(np.asarray(X[lo:hi], dtype=np.float32) * inv_norm[lo:hi, None])


def _merge(best_v, best_i, v, i, k1: int):
    """The ``k1`` largest of two candidate lists per row (values, indices)."""
    import torch

    values, at = torch.cat([best_v, v], 1).topk(k1, dim=1)
    return values, torch.cat([best_i, i], 1).gather(1, at)


def _exact_neighbours(X: np.ndarray, inv_norm: np.ndarray, rows: np.ndarray, k1: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k1`` most cosine-similar rows of ``X`` to each of ``rows`` (float32 products in blocks of
    queries and rows: the rows are scaled to unit length one block at a time, never copied whole):
    ``(similarity, indices)``, most similar first."""
    import torch

    n = len(X)
    sims = np.empty((len(rows), k1), dtype=np.float32)
    found = np.empty((len(rows), k1), dtype=np.int64)
    for qa in range(0, len(rows), 2048):
        picked = rows[qa:qa + 2048]
        Q = torch.from_numpy(np.asarray(X[picked], dtype=np.float32) * inv_norm[picked, None])
        best_v = torch.full((len(picked), k1), -np.inf)
        best_i = torch.zeros((len(picked), k1), dtype=torch.int64)
        for lo in range(0, n, 16384):
            S = Q @ _unit(X, inv_norm, lo, min(n, lo + 16384)).T
            v, i = S.topk(min(k1, S.shape[1]), dim=1)
            best_v, best_i = _merge(best_v, best_i, v, i + lo, k1)
        sims[qa:qa + 2048], found[qa:qa + 2048] = best_v.numpy(), best_i.numpy()
    return sims, found


class _CellIndex:
    """An inverted file over the rows of ``X`` (cosine): the rows in spherical k-means cells (fitted on a
    sample, in ``dtype``: bfloat16 where the CPU multiplies it natively), and the queries of each cell
    compared, in float32 matrix products, with the rows of every cell among the ``nprobe`` nearest to any
    of them. Memory: a copy of ``X`` as unit rows sorted by cell (while the graph is built)."""

    QUERY_BLOCK = 256

    def __init__(self, X: np.ndarray, inv_norm: np.ndarray, *, nlist: int, seed: int, dtype) -> None:
        import torch

        n = len(X)
        self.X, self.inv_norm = X, inv_norm
        rng = np.random.default_rng(seed)
        train = np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))
        T = torch.from_numpy(np.asarray(X[train], dtype=np.float32) * inv_norm[train, None])
        centres = self._kmeans(T, nlist, rng, dtype)
        del T
        self.home = np.empty(n, dtype=np.int64)
        for lo in range(0, n, 8192):
            hi = min(n, lo + 8192)
            self.home[lo:hi] = self._nearest_cell(_unit(X, inv_norm, lo, hi).to(dtype), centres).numpy()
        self.centres, self.nlist = centres, nlist
        self.order = np.argsort(self.home, kind="stable")  # the rows, cell by cell
        self.counts = np.bincount(self.home, minlength=nlist)
        self.starts = np.cumsum(self.counts) - self.counts
        # the unit rows in that order: a cell's rows are one slice (gathering rows at random is slower than
        # the products themselves)
        self.sorted = torch.empty((n, X.shape[1]), dtype=torch.float32)
        position = np.empty(n, dtype=np.int64)
        position[self.order] = np.arange(n)
        for lo in range(0, n, 65536):
            hi = min(n, lo + 65536)
            self.sorted[torch.from_numpy(position[lo:hi])] = _unit(X, inv_norm, lo, hi)

    @classmethod
    def _kmeans(cls, T, cells: int, rng: np.random.Generator, dtype, iterations: int = 6):
        """The ``cells`` centres of a spherical k-means of the unit rows ``T`` (float32), started from
        random rows. The cells need not be fine: the recall is measured and the scan widened."""
        import torch

        centres = T[torch.from_numpy(np.sort(rng.choice(len(T), size=cells, replace=False)))].clone()
        Tc = T.to(dtype)
        for _ in range(iterations):
            cell = cls._nearest_cell(Tc, centres)
            sums = torch.zeros((cells, T.shape[1])).index_add_(0, cell, T)
            filled = torch.bincount(cell, minlength=cells) > 0
            centres[filled] = sums[filled] / sums[filled].norm(dim=1, keepdim=True).clamp(min=1e-12)
        return centres

    @staticmethod
    def _nearest_cell(rows, centres):
        """The cell of each row (in blocks of 8,192 rows)."""
        import torch

        centres = centres.to(rows.dtype).T
        return torch.cat([(rows[lo:lo + 8192] @ centres).float().argmax(dim=1) for lo in range(0, len(rows), 8192)])

    def _gather(self, name: str, picked: np.ndarray, multiple: int, buffers: dict):
        """The unit rows ``picked`` of ``X`` in the reused buffer ``name``, padded with zero rows to a
        multiple of ``multiple`` (oneDNN builds and caches a kernel per shape of product: a shape per cell
        would cost a compilation and memory each)."""
        import torch

        size = -(-len(picked) // multiple) * multiple
        if name not in buffers or len(buffers[name]) < size:
            buffers[name] = np.zeros((max(size, 2 * len(buffers.get(name, ()))), self.X.shape[1]), dtype=np.float32)
        out = buffers[name][:size]
        np.take(self.X, picked, axis=0, out=out[:len(picked)])
        out[:len(picked)] *= self.inv_norm[picked, None]
        out[len(picked):] = 0
        return torch.from_numpy(out)

    def sample_search(self, rows: np.ndarray, k1: int, levels: list[int]) -> tuple[tuple, dict]:
        """For a few ``rows``: their exact ``k1`` most similar rows, and for each ``nprobe`` in ``levels``
        the most similar among the rows of their own ``nprobe`` nearest cells, in one pass over ``X``
        (``{nprobe: (similarity, indices)}``): what :meth:`search` finds, without gathering the rows of
        each row's cells (for a few rows in as many cells, that would read most of ``X`` per row)."""
        import torch

        n = len(self.X)
        Q = torch.from_numpy(np.asarray(self.X[rows], dtype=np.float32) * self.inv_norm[rows, None])
        ranked = (Q @ self.centres.T).argsort(dim=1, descending=True)
        rank = torch.empty_like(ranked)
        rank.scatter_(1, ranked, torch.arange(self.nlist).expand(len(rows), -1).contiguous())
        best = {key: (torch.full((len(rows), k1), -np.inf), torch.full((len(rows), k1), -1, dtype=torch.int64))
                for key in [None, *levels]}
        for lo in range(0, n, 16384):
            hi = min(n, lo + 16384)
            S = Q @ _unit(self.X, self.inv_norm, lo, hi).T
            cell_rank = rank[:, torch.from_numpy(self.home[lo:hi])]
            for key, (values, indices) in best.items():
                scores = S if key is None else S.masked_fill(cell_rank >= key, -np.inf)
                v, i = scores.topk(min(k1, hi - lo), dim=1)
                best[key] = _merge(values, indices, v, i + lo, k1)
        found = {key: (values.numpy(), np.where(np.isfinite(values.numpy()), indices.numpy(), -1))
                 for key, (values, indices) in best.items()}
        return found.pop(None), found

    def search(self, rows: np.ndarray, k1: int, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k1`` most similar rows to each of ``rows`` among the rows of its ``nprobe`` nearest cells:
        ``(similarity, indices)``, most similar first; -inf and -1 where those cells held fewer than ``k1``
        rows. The queries go cell by cell, in blocks of at most :data:`QUERY_BLOCK` rows: each block gathers
        the rows of the cells its queries scan (queries of the same cell scan about the same cells)."""
        import torch

        sims = np.full((len(rows), k1), -np.inf, dtype=np.float32)
        found = np.full((len(rows), k1), -1, dtype=np.int64)
        rows = np.asarray(rows, dtype=np.int64)
        by_cell = np.argsort(self.home[rows], kind="stable")  # positions in ``rows``, cell by cell
        _, first = np.unique(self.home[rows][by_cell], return_index=True)
        starts = [lo for a, b in zip(first, [*first[1:], len(rows)], strict=True)
                  for lo in range(a, b, self.QUERY_BLOCK)]
        buffers: dict = {}
        centres = self.centres.T
        for lo, hi in zip(starts, [*starts[1:], len(rows)], strict=True):
            out = by_cell[lo:hi]
            block = rows[out]  # queries of one cell
            Q = self._gather("Q", block, 64, buffers)
            # each query scans its nprobe nearest cells: the rows of all of them are gathered once, and
            # each query's products with the rows of cells it does not scan are masked
            probes = (Q[:len(block)] @ centres).topk(min(nprobe, self.nlist), dim=1).indices
            cells = np.unique(probes.numpy())
            members = np.concatenate([self.order[self.starts[s]:self.starts[s] + self.counts[s]] for s in cells])
            M = torch.cat([self.sorted[self.starts[s]:self.starts[s] + self.counts[s]] for s in cells])
            scans = torch.zeros((len(block), self.nlist), dtype=torch.bool)
            scans.scatter_(1, probes, True)
            S = (Q @ M.T)[:len(block)]
            S.masked_fill_(~scans[:, torch.from_numpy(self.home[members])], -np.inf)
            take = min(len(members), k1)
            v, at = S.topk(take, dim=1)
            v, at = v.numpy(), at.numpy()
            sims[out, :take], found[out, :take] = v, np.where(np.isfinite(v), members[at], -1)
        return sims, found


def _search_dtype():
    """bfloat16 where the CPU multiplies it natively (AMX, AVX512-BF16), else float32."""
    import torch

    from ..extraction.models import cpu_has_native_bf16

    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


def approximate_knn_graph(
    X: np.ndarray, *, k: int = 10, metric: Metric = "cosine", seed: int = 0, target_recall: float = TARGET_RECALL,
    sample: int = 1000,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`knn_graph` from an inverted-file index, with its recall measured: the rows in ``~4 sqrt(n)``
    spherical k-means cells, each query compared with the rows of the ``nprobe`` cells nearest its own
    (torch matrix products, in bfloat16 with a float32 re-ranking where the CPU multiplies bfloat16
    natively; :class:`_CellIndex`). Cosine only.

    The recall@k against an exact search is measured on ``sample`` random rows; while it is below
    ``target_recall``, the search scans twice as many cells, up to :data:`MAX_SCAN` of them. Falling short
    there, up to :data:`EXACT_UP_TO` rows the search is exact instead (``recall`` 1.0 and
    ``approximate_recall`` what the index reached); above, the index's results are kept with a warning.
    Returns ``(indices, similarity, info)``, ``info`` holding ``backend``, ``recall`` (on the sample),
    ``recall_sample``, ``nlist`` and ``nprobe``. Memory: ``X`` is read, never copied whole; the index holds
    the rows once more in bfloat16 (float32 without native bfloat16).
    Deterministic for a ``seed`` (the k-means sample and initialisation).
    """
    check_choice(metric, ("cosine",), param="metric", func="approximate_knn_graph")
    n, d = np.shape(X)
    if n < 2:
        raise ValueError("knn_indices needs at least two points")
    k = min(k, n - 1)
    inv_norm = _inverse_norms(X)
    rng = np.random.default_rng(seed)
    nlist = int(max(1, min(4 * np.sqrt(n), n // 40)))
    most = min(nlist, max(16, int(nlist * MAX_SCAN)))
    dtype = _search_dtype()
    index = _CellIndex(X, inv_norm, nlist=nlist, seed=seed, dtype=dtype)
    # the exact neighbours of a sample of rows, and what the search finds for them scanning more and more
    # cells, to measure the recall against
    probe_rows = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    levels = sorted({min(most, 8 * 2 ** i) for i in range(int(np.ceil(np.log2(max(1, most / 8)))) + 1)})

    def complete(rows: np.ndarray, sims: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        short = np.flatnonzero((found < 0).any(axis=1))  # the cells held fewer than k + 1 rows: search all
        if len(short):
            sims[short], found[short] = _exact_neighbours(X, inv_norm, rows[short], k + 1)
        return _drop_self(sims, found, rows, k)

    exact, recall = None, -1.0
    for group in (levels[:3], levels[3:]):  # the first three levels suffice for most vectors: one pass each
        if not group or recall >= target_recall:
            break
        truth, scanned = index.sample_search(probe_rows, k + 1, group)
        if exact is None:
            exact = _drop_self(*truth, probe_rows, k)[0]
        for nprobe in group:
            got = complete(probe_rows, *scanned[nprobe])[0]
            recall = float(np.mean([np.intersect1d(a, b).size for a, b in zip(got, exact, strict=True)]) / k)
            if recall >= target_recall:
                break
    info = {"backend": "inverted file, torch float32 (approximate)", "recall": round(recall, 4),
            "recall_sample": int(len(probe_rows)), "nlist": index.nlist, "nprobe": int(nprobe)}
    if recall < target_recall and n <= EXACT_UP_TO:
        # vectors without structure (nearly equidistant neighbours): no small part of the cells holds them
        logger.info("the approximate k-NN of %d rows reaches recall@%d %.3f scanning %d of %d cells (target %.2f): "
                    "an exact search instead", n, k, recall, nprobe, nlist, target_recall)
        del index
        rows = np.arange(n)
        indices, similarity = _drop_self(*_exact_neighbours(X, inv_norm, rows, k + 1), rows, k)
        return indices, similarity, {**info, "backend": "torch float32 (exact: the approximate index fell short)",
                                     "recall": 1.0, "approximate_recall": info["recall"]}
    rows = np.arange(n)
    indices, similarity = complete(rows, *index.search(rows, k + 1, nprobe))
    if recall < target_recall:
        logger.warning("approximate k-NN of %d rows: recall@%d %.3f on %d rows, below the target %.2f even "
                       "scanning %d of %d cells; the measures that use it are approximate too", n, k, recall,
                       len(probe_rows), target_recall, nprobe, nlist)
    else:
        logger.info("approximate k-NN of %d rows: recall@%d %.3f on %d rows (%d of %d cells scanned)", n, k, recall,
                    len(probe_rows), nprobe, nlist)
    return indices, similarity, info


def _drop_self(sims: np.ndarray, found: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_without_self` for cosine similarities: ``(indices, similarity)``."""
    return _without_self(found, 2.0 - 2.0 * sims.astype(np.float64), rows, k, "cosine")


def knn_indices(
    X: np.ndarray, *, k: int = 10, metric: Metric = "cosine", backend: Backend = "auto", query: np.ndarray | None = None
) -> np.ndarray:
    """Indices (n, k) of each row's ``k`` nearest other rows, nearest first (:func:`knn_graph`
    without the similarities)."""
    return knn_graph(X, k=k, metric=metric, backend=backend, query=query)[0]
