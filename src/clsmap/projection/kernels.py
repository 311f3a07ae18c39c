"""PaCMAP's serial kernels on every core.

PaCMAP 0.9 computes its gradient (``pacmap.pacmap.pacmap_grad``, two thirds of a fit at 100k
rows) in one serial loop over the pairs, although the kernel is compiled ``parallel=True``; only its
Adam step runs on every core. :func:`pacmap_grad` computes the same sums with the pairs cut into
:data:`CHUNKS` fixed slices, each summed on its own core into its own buffer, and the buffers added
in a fixed order: the gradient, and so the map, is the same on any number of cores. The sums are
grouped differently from PaCMAP's serial loop, so a map differs from stock PaCMAP's by float
rounding, not in kind. The mid-near pairs, weighted zero in PaCMAP's last phase, are skipped there.

:func:`sample_mn_pairs` is PaCMAP's seeded mid-near pair sampling (``sample_MN_pair_deterministic``,
serial in PaCMAP) with its loop over the rows on every core: each pair reseeds the generator from the
seed, the row and the pair, so the pairs are PaCMAP's own, bit for bit.

:func:`parallel_kernels` swaps both into PaCMAP for the length of a fit. numba compiles them at their
first call (cached on disk); the module is imported by a PaCMAP fit, not with the package.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np
import pacmap
from pacmap import pacmap as core

__all__ = ["CHUNKS", "SWAPS_IN", "pacmap_grad", "sample_mn_pairs", "parallel_kernels"]

logger = logging.getLogger(__name__)

#: slices of each pair array, summed in parallel; fixed so that the result does not depend on the cores
CHUNKS = 16
#: the PaCMAP releases whose kernels these replace (their signatures and loops read and tested)
SWAPS_IN = ("0.9.",)

_swap = threading.Lock()


#: the three kinds of pairs: PaCMAP's near (neighbour), mid-near and further pairs
_NEAR, _MID, _FAR = 0, 1, 2


@numba.njit(nogil=True, cache=True)
def _add_pairs(g: np.ndarray, Y: np.ndarray, pairs: np.ndarray, lo: int, hi: int, weight: np.float32,
               kind: int) -> np.float32:
    """Add the gradient of the pairs ``lo:hi`` of one kind to ``g``; return their loss (PaCMAP's terms)."""
    dim = Y.shape[1]
    y_ij = np.empty(dim, dtype=np.float32)
    loss = np.float32(0.0)
    for t in range(lo, hi):
        i = pairs[t, 0]
        j = pairs[t, 1]
        d_ij = np.float32(1.0)
        for d in range(dim):
            y_ij[d] = Y[i, d] - Y[j, d]
            d_ij += y_ij[d] ** 2
        if kind == _NEAR:  # attracted
            loss += weight * (d_ij / (10.0 + d_ij))
            w = weight * (20.0 / (10.0 + d_ij) ** 2)
        elif kind == _MID:  # attracted, gently
            loss += weight * d_ij / (10000.0 + d_ij)
            w = weight * 20000.0 / (10000.0 + d_ij) ** 2
        else:  # repelled
            loss += weight * 1.0 / (1.0 + d_ij)
            w = -(weight * 2.0 / (1.0 + d_ij) ** 2)
        for d in range(dim):
            g[i, d] += w * y_ij[d]
            g[j, d] -= w * y_ij[d]
    return loss


@numba.njit(parallel=True, nogil=True, cache=True)
def _grad(Y: np.ndarray, pair_neighbors: np.ndarray, pair_MN: np.ndarray, pair_FP: np.ndarray, w_neighbors: np.float32,
          w_MN: np.float32, w_FP: np.float32, chunks: int) -> np.ndarray:
    n, dim = Y.shape
    parts = np.zeros((chunks, n, dim), dtype=np.float32)
    losses = np.zeros((chunks, 3), dtype=np.float32)
    n_nb, n_mn, n_fp = pair_neighbors.shape[0], pair_MN.shape[0], pair_FP.shape[0]
    if w_MN == 0:
        n_mn = 0
    for c in numba.prange(chunks):
        g = parts[c]
        losses[c, 0] = _add_pairs(g, Y, pair_neighbors, n_nb * c // chunks, n_nb * (c + 1) // chunks, w_neighbors,
                                  _NEAR)
        losses[c, 1] = _add_pairs(g, Y, pair_MN, n_mn * c // chunks, n_mn * (c + 1) // chunks, w_MN, _MID)
        losses[c, 2] = _add_pairs(g, Y, pair_FP, n_fp * c // chunks, n_fp * (c + 1) // chunks, w_FP, _FAR)
    grad = np.zeros((n + 1, dim), dtype=np.float32)
    for i in numba.prange(n):
        for d in range(dim):
            s = np.float32(0.0)
            for c in range(chunks):
                s += parts[c, i, d]
            grad[i, d] = s
    loss = np.float32(0.0)
    for c in range(chunks):  # in order: numba would split an array's sum among the threads
        loss += losses[c, 0] + losses[c, 1] + losses[c, 2]
    grad[n, 0] = loss
    return grad


@numba.njit(parallel=True, nogil=True, cache=True)
def _mn_pairs(X: np.ndarray, n_MN: np.int32, random_state: np.int32, option: np.int32) -> np.ndarray:
    n = X.shape[0]
    pair_MN = np.empty((n * n_MN, 2), dtype=np.int32)
    for i in numba.prange(n):
        for j in range(n_MN):
            np.random.seed(random_state + i * n_MN + j)
            sampled = core.sample_FP(np.int32(6), np.int32(n), pair_MN[i * n_MN:i * n_MN + j, 1], np.int32(i))
            dist_list = np.empty(6, dtype=np.float32)
            for t in range(6):
                dist_list[t] = core.calculate_dist(X[i], X[sampled[t]], option)
            nearest = np.argmin(dist_list)
            picked, best = 0, np.inf
            for t in range(6):  # the second nearest of the six
                if t != nearest and dist_list[t] < best:
                    picked, best = sampled[t], dist_list[t]
            pair_MN[i * n_MN + j, 0] = i
            pair_MN[i * n_MN + j, 1] = picked
    return pair_MN


def pacmap_grad(Y: np.ndarray, pair_neighbors: np.ndarray, pair_MN: np.ndarray, pair_FP: np.ndarray,
                w_neighbors: float, w_MN: float, w_FP: float) -> np.ndarray:
    """PaCMAP's gradient of ``Y`` (n, dim) over its three kinds of pairs, as ``pacmap_grad`` returns it:
    ``(n + 1, dim)`` float32, the loss in the last row's first column."""
    return _grad(Y, pair_neighbors, pair_MN, pair_FP, np.float32(w_neighbors), np.float32(w_MN), np.float32(w_FP),
                 CHUNKS)


def sample_mn_pairs(X: np.ndarray, n_MN: int, random_state: int, option: int = 0) -> np.ndarray:
    """PaCMAP's seeded mid-near pairs of ``X`` (``(n * n_MN, 2)`` int32), on every core."""
    return _mn_pairs(X, np.int32(n_MN), np.int32(random_state), np.int32(option))


#: PaCMAP's kernel -> the one that replaces it
_REPLACES = {"pacmap_grad": pacmap_grad, "sample_MN_pair_deterministic": sample_mn_pairs}


@contextmanager
def parallel_kernels() -> Iterator[None]:
    """For the length of the ``with`` block, PaCMAP computes its gradient with :func:`pacmap_grad` and
    samples its seeded mid-near pairs with :func:`sample_mn_pairs`.

    Fits in other threads wait for the block to end (the kernels are PaCMAP's module globals). Other
    PaCMAP releases than those :data:`SWAPS_IN` names keep their own kernels (slower; the maps equal up
    to float rounding)."""
    version = getattr(pacmap, "__version__", "")
    if not version.startswith(SWAPS_IN):
        logger.debug("PaCMAP %s keeps its own kernels (clsmap's run in PaCMAP %s)", version, ", ".join(SWAPS_IN))
        yield
        return
    with _swap:
        stock = {name: getattr(core, name) for name in _REPLACES if callable(getattr(core, name, None))}
        try:
            for name in stock:
                setattr(core, name, _REPLACES[name])
            yield
        finally:
            for name, kernel in stock.items():
                setattr(core, name, kernel)
