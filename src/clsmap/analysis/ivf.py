"""An inverted file for cosine k-NN in torch (:class:`CellIndex`), and the exact search it is measured
against (:func:`exact_neighbours`): the machinery of :func:`clsmap.analysis.knn.approximate_knn_graph`."""

from __future__ import annotations

import numpy as np

__all__ = ["CellIndex", "exact_neighbours", "inverse_norms"]


def inverse_norms(X: np.ndarray) -> np.ndarray:
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


def exact_neighbours(X: np.ndarray, inv_norm: np.ndarray, rows: np.ndarray, k1: int) -> tuple[np.ndarray, np.ndarray]:
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


class CellIndex:
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
        self.position = np.empty(n, dtype=np.int64)  # row -> its place in ``sorted``
        self.position[self.order] = np.arange(n)
        for lo in range(0, n, 65536):
            hi = min(n, lo + 65536)
            self.sorted[torch.from_numpy(self.position[lo:hi])] = _unit(X, inv_norm, lo, hi)

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
        centres = self.centres.T
        for lo, hi in zip(starts, [*starts[1:], len(rows)], strict=True):
            out = by_cell[lo:hi]
            block = rows[out]  # queries of one cell
            Q = self.sorted[torch.from_numpy(self.position[block])]
            # each query scans its nprobe nearest cells: the rows of all of them are gathered once, and
            # each query's products with the rows of cells it does not scan are masked
            probes = (Q @ centres).topk(min(nprobe, self.nlist), dim=1).indices
            cells = np.unique(probes.numpy())
            members = np.concatenate([self.order[self.starts[s]:self.starts[s] + self.counts[s]] for s in cells])
            M = torch.cat([self.sorted[self.starts[s]:self.starts[s] + self.counts[s]] for s in cells])
            scans = torch.zeros((len(block), self.nlist), dtype=torch.bool)
            scans.scatter_(1, probes, True)
            S = Q @ M.T
            S.masked_fill_(~scans[:, torch.from_numpy(self.home[members])], -np.inf)
            take = min(len(members), k1)
            v, at = S.topk(take, dim=1)
            v, at = v.numpy(), at.numpy()
            sims[out, :take], found[out, :take] = v, np.where(np.isfinite(v), members[at], -1)
        return sims, found
