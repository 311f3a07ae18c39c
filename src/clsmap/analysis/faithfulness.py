"""How faithful a 2-D map is to the vector space it maps (pure functions over arrays):
:func:`trustworthiness` (are a point's neighbours on the map its neighbours in the space?) and
:func:`knn_preservation` (are its neighbours in the space kept on the map?).

Memory stays O(n * k) but for trustworthiness's blocks of products: it ranks a sample of rows against
all of them in one pass over the vectors, read part by part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._blocks import PRODUCT_ROWS, blocks
from ..store.vectors import Vectors, as_vectors
from .knn import Backend, Metric, knn_indices, shared_neighbour_counts

__all__ = ["trustworthiness", "knn_preservation", "shared_neighbours"]


def trustworthiness(
    X: np.ndarray | Vectors,
    Y: np.ndarray,
    *,
    k: int = 10,
    metric: Metric = "cosine",
    sample: int | None = 2000,
    seed: int = 0,
    chunk: int = 4096,
) -> float:
    """Trustworthiness of the map ``Y`` (n, 2) of the vectors ``X`` (Venna & Kaski 2001).

    ``1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in N_k^Y(i)} max(0, r_X(i, j) - k)``: a map's
    neighbours that are far apart in the original space are penalised by their original rank.
    Equal to :func:`sklearn.manifold.trustworthiness` when every row is used. The ranks need a
    point's distances to all others, so above ``sample`` rows the sum runs over a random sample
    of rows (each still ranked against all ``n`` rows) and is rescaled; ``sample=None`` uses every row.

    The ranks are counted in float32 torch products of blocks of up to
    :data:`~clsmap._blocks.PRODUCT_ROWS` sampled rows with ``chunk`` rows of ``X`` at a time (memory
    O(PRODUCT_ROWS * chunk)), in one pass over ``X`` (an array or :class:`~clsmap.store.vectors.Vectors`,
    read part by part, never held whole).
    """
    X = as_vectors(X, "trustworthiness")
    Y = as_vectors(Y, "trustworthiness").array()
    n = len(X)
    if len(Y) != n:
        raise ValueError(f"trustworthiness: {n} vectors but {len(Y)} map points")
    if k >= n / 2:
        raise ValueError(f"trustworthiness: k ({k}) should be less than n / 2 ({n / 2})")
    rows = np.arange(n)
    if sample is not None and n > sample:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
    map_neighbours = knn_indices(Y, k=k, metric="euclidean", backend="sklearn", query=rows)
    cosine = metric == "cosine"
    Q, queries = _rank_queries(X, rows, map_neighbours, k=k, cosine=cosine)
    _count_nearer(X, Q, queries, k=k, chunk=chunk, cosine=cosine)
    penalty = sum(_rank_excess(query.thresholds, query.nearer, k) for query in queries)
    return float(1.0 - penalty * 2.0 / (len(rows) * k * (2.0 * n - 3.0 * k - 1.0)))


def _scored(part: np.ndarray, *, cosine: bool) -> tuple[Any, Any | None]:
    """Rows as :func:`trustworthiness` compares them: a score that grows as a row gets nearer is ``Q . row`` for
    unit rows (cosine), or ``Q . row - |row|^2 / 2`` (euclidean: the query's own ``|q|^2 / 2`` is the same for
    every row it is compared with). Returns the rows (unit for cosine) and the offsets (None for cosine), as
    torch tensors."""
    import torch

    squares = np.einsum("ij,ij->i", part, part)
    if cosine:
        return torch.from_numpy(part / np.maximum(np.sqrt(squares), 1e-12)[:, None]), None
    return torch.from_numpy(part), torch.from_numpy(0.5 * squares)


@dataclass
class _RankQueries:
    """A block of :func:`trustworthiness`'s queries: their positions among all queries (``at``), the sorted
    scores of each query's map neighbours (``thresholds``, (q, k)), per query how many rows exceed exactly
    0 ... k of those thresholds (``nearer``, (q, k + 1), counted by :func:`_count_nearer`), and the rows left
    out of that count (``skip``: the query itself and its map neighbours, (q, k + 1))."""

    at: slice
    thresholds: Any
    nearer: Any
    skip: np.ndarray


def _rank_queries(X: Vectors, rows: np.ndarray, map_neighbours: np.ndarray, *, k: int,
                  cosine: bool) -> tuple[Any, list[_RankQueries]]:
    """The queries ``rows`` as compared (:func:`_scored`) and their blocks of
    :data:`~clsmap._blocks.PRODUCT_ROWS`: per query, the score of each map neighbour (the thresholds,
    sorted). The map neighbours are left out of the counting and ranked among themselves from these scores,
    so that no product is compared with itself. One read of ``X`` for the queries and their map neighbours."""
    import torch

    read = X.rows(np.concatenate([rows, map_neighbours.ravel()]))
    Q, _ = _scored(read[:len(rows)], cosine=cosine)
    theirs_rows, theirs_offset = _scored(read[len(rows):], cosine=cosine)
    theirs_rows = theirs_rows.view(len(rows), k, -1)
    del read
    queries = []
    for at in blocks(len(rows), PRODUCT_ROWS):
        near = torch.einsum("qd,qkd->qk", Q[at], theirs_rows[at])
        if theirs_offset is not None:
            near = near - theirs_offset.view(len(rows), k)[at]
        thresholds, _ = near.sort(dim=1)
        skip = np.concatenate([rows[at][:, None], map_neighbours[at]], axis=1)  # itself, its map neighbours
        queries.append(_RankQueries(at, thresholds, torch.zeros((len(skip), k + 1), dtype=torch.int64), skip))
    return Q, queries


def _count_nearer(X: Vectors, Q: Any, queries: list[_RankQueries], *, k: int, chunk: int, cosine: bool) -> None:
    """One pass over ``X``, ``chunk`` rows at a time: adds to each query's ``nearer`` how many of the rows
    (but those it skips) exceed exactly 0 ... k of its thresholds."""
    import torch

    for positions, part in X.blocks(chunk):
        R, offset = _scored(part, cosine=cosine)
        sorter = np.argsort(positions, kind="stable")
        for query in queries:
            S = Q[query.at] @ R.T
            if offset is not None:
                S -= offset
            # the row itself and its map neighbours, where this block holds them
            at = np.minimum(np.searchsorted(positions, query.skip, sorter=sorter), len(positions) - 1)
            held = positions[sorter[at]] == query.skip
            row, column = np.nonzero(held)
            S[torch.from_numpy(row), torch.from_numpy(sorter[at[row, column]])] = -torch.inf
            # how many thresholds each score exceeds (strictly), then a histogram per query; most rows are
            # below a query's lowest threshold and are counted nowhere
            above_lowest, column = (S > query.thresholds[:, :1]).nonzero(as_tuple=True)
            above = torch.searchsorted(query.thresholds[above_lowest], S[above_lowest, column][:, None],
                                       right=False)[:, 0]
            query.nearer += torch.bincount(above_lowest * (k + 1) + above,
                                           minlength=len(query.skip) * (k + 1)).view(-1, k + 1)


def _rank_excess(thresholds: Any, nearer: Any, k: int) -> int:
    """The sum over a block of queries of ``max(0, r_X(i, j) - k)`` for their map neighbours ``j``."""
    # the map neighbours strictly nearer than each threshold
    nearer_neighbours = (thresholds[:, None, :] > thresholds[:, :, None]).sum(dim=2)
    # rows strictly nearer than the m-th threshold: those exceeding more than m thresholds
    ranks = 1 + nearer.flip(1).cumsum(1).flip(1)[:, 1:] + nearer_neighbours
    excess = ranks - k
    return int(excess[excess > 0].sum())


def knn_preservation(
    X: np.ndarray, Y: np.ndarray, *, k: int = 10, metric: Metric = "cosine", backend: Backend = "auto"
) -> float:
    """Mean share of each point's ``k`` nearest neighbours in ``X`` that are also among its ``k``
    nearest in the map ``Y`` (1.0: the map keeps every neighbourhood). O(n * k) memory."""
    X = as_vectors(X, "knn_preservation").array()
    Y = as_vectors(Y, "knn_preservation").array()
    if len(X) != len(Y):
        raise ValueError(f"knn_preservation: {len(X)} vectors but {len(Y)} map points")
    return shared_neighbours(knn_indices(X, k=k, metric=metric, backend=backend),
                             knn_indices(Y, k=k, metric="euclidean", backend=backend))


def shared_neighbours(a: np.ndarray, b: np.ndarray) -> float:
    """The mean share of each row's neighbours in ``a`` (n, k; distinct per row) that are also among its
    neighbours in ``b`` (n, k): :func:`~clsmap.analysis.knn.shared_neighbour_counts` over all of ``a``."""
    return int(shared_neighbour_counts(a, b).sum()) / max(a.size, 1)
