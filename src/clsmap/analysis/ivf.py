"""An inverted file for cosine k-NN in torch (:class:`CellIndex`), and the exact search it is measured
against (:func:`exact_neighbours`): the machinery of :func:`clsmap.analysis.knn.approximate_knn_graph`.

Both read their vectors part by part (:class:`~clsmap.store.vectors.Vectors`: a store's column or an
array): the index keeps its own copy of the rows (sorted by cell; in bfloat16, each row's residual from its
cell's centre), from which it takes its queries and its float32 re-ranking, so a store's vectors are never
held whole."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._blocks import PRODUCT_ROWS, ROWS, blocks
from .._memory import release_freed_memory
from ..store.vectors import Vectors, as_vectors

__all__ = ["CellIndex", "exact_neighbours", "inverse_norms"]

#: rows per block of the products of rows with every cell's centre (the rows' cells: each row's product with
#: each centre is held, one block at a time)
ASSIGN_ROWS = 8_192


def inverse_norms(X: np.ndarray | Vectors) -> np.ndarray:
    """1 / the length of each row (float32; rows of length 0 count as 1e-12), read part by part."""
    X = as_vectors(X, "inverse_norms")
    inv_norm = np.empty(len(X), dtype=np.float32)
    for positions, part in X.blocks(ROWS):
        inv_norm[positions] = 1.0 / np.maximum(np.sqrt(np.einsum("ij,ij->i", part, part)), 1e-12)
    return inv_norm


def _unit(part: np.ndarray, inv_norm: np.ndarray, *, owned: bool = False) -> Any:
    """The rows ``part`` scaled by ``inv_norm`` (theirs) to unit length, as a float32 torch tensor: a copy,
    or ``part`` itself scaled in place when ``owned`` (a copy made for the purpose)."""
    import torch

    part = part.astype(np.float32, copy=not owned)
    part *= inv_norm[:, None]
    return torch.from_numpy(part)


class _Buffers:
    """Scratch tensors reused from one block of queries to the next (grown 25 % beyond the largest need so
    far): the C allocator's heaps keep what varied temporaries of tens of MB leave behind."""

    def __init__(self) -> None:
        self.flat: dict[str, Any] = {}  # torch tensors

    def get(self, name: str, shape: tuple[int, int], dtype: Any = None) -> Any:
        import torch

        dtype = dtype or torch.float32
        size = shape[0] * shape[1]
        held = self.flat.get(name)
        if held is None or held.numel() < size:
            held = self.flat[name] = torch.empty(int(size * 1.25) + 1, dtype=dtype)
        return held[:size].view(shape)


def _merge(best_v: Any, best_i: Any, v: Any, i: Any, k1: int) -> tuple[Any, Any]:
    """The ``k1`` largest of two candidate lists per row (values, indices)."""
    import torch

    values, at = torch.cat([best_v, v], 1).topk(k1, dim=1)
    return values, torch.cat([best_i, i], 1).gather(1, at)


def exact_neighbours(X: np.ndarray | Vectors, inv_norm: np.ndarray, rows: np.ndarray,
                     k1: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k1`` most cosine-similar rows of ``X`` to each of ``rows`` (float32 products of blocks of
    :data:`~clsmap._blocks.PRODUCT_ROWS` queries with blocks of rows, in one pass over ``X``: its rows are
    read and scaled to unit length one block at a time, never held whole): ``(similarity, indices)``, most
    similar first."""
    import torch

    X = as_vectors(X, "exact_neighbours")
    rows = np.asarray(rows, dtype=np.int64)
    Q = _unit(X.rows(rows), inv_norm[rows], owned=True)
    spans = list(blocks(len(rows), PRODUCT_ROWS))
    best = [(torch.full((span.stop - span.start, k1), -np.inf),
             torch.zeros((span.stop - span.start, k1), dtype=torch.int64)) for span in spans]
    for positions, part in X.blocks():
        unit, at = _unit(part, inv_norm[positions]), torch.from_numpy(positions)
        for b, span in enumerate(spans):
            S = Q[span] @ unit.T
            v, i = S.topk(min(k1, S.shape[1]), dim=1)
            best[b] = _merge(*best[b], v, at[i], k1)
    sims = np.concatenate([v.numpy() for v, _ in best]) if best else np.empty((0, k1), dtype=np.float32)
    found = np.concatenate([i.numpy() for _, i in best]) if best else np.empty((0, k1), dtype=np.int64)
    return sims, found


class CellIndex:
    """An inverted file over the rows of ``X`` (cosine): the rows in spherical k-means cells (fitted on a
    sample), and the queries of each cell compared with the rows of every cell among the ``nprobe``
    nearest to any of them.

    ``dtype`` is that of the cells, the stored rows and the scan: bfloat16 where the CPU multiplies it
    natively (six times float32's speed on AMX), else float32. In bfloat16 the index keeps each row's
    residual from its cell's centre (see :meth:`_stored`), and a scan keeps each query's :data:`RERANK`
    best candidates, ranked again in float32 products with the rows as the index holds them (centre plus
    residual: within ~1e-5 of the exact cosine); a float32 scan is final. The queries come from the index
    too, so ``X`` (an array or :class:`~clsmap.store.vectors.Vectors`) is read part by part, three times to
    build the index and once per :meth:`sample_search`, and never held whole.
    Memory: a copy of ``X`` sorted by cell, in ``dtype`` (while the graph is built)."""

    QUERY_BLOCK = 256
    #: blocks of queries between two returns of freed memory to the system (``release_freed_memory``)
    TRIM_EVERY = 512
    #: candidates per query a bfloat16 scan keeps for the float32 ranking (16 kept 97 % of the float32
    #: neighbours of 20,000 rows of 1M synthetic ones, 32 kept 99.99 %)
    RERANK = 32
    #: a block's queries and the rows it gathers are padded to a multiple of these (see :meth:`search`)
    PAD_QUERIES = 64
    PAD_ROWS = 2_048

    def __init__(self, X: np.ndarray | Vectors, inv_norm: np.ndarray, *, nlist: int, seed: int, dtype: Any) -> None:
        import torch

        X = as_vectors(X, "CellIndex")
        n = len(X)
        self.X, self.inv_norm = X, inv_norm
        rng = np.random.default_rng(seed)
        train = np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))
        T = _unit(X.rows(train), inv_norm[train], owned=True)
        centres = self._kmeans(T, nlist, rng, dtype)
        del T
        self.centres, self.nlist, self.dtype = centres, nlist, dtype  # centres in float32
        self.home = np.empty(n, dtype=np.int64)
        for positions, part in X.blocks(ASSIGN_ROWS):
            unit = _unit(part, inv_norm[positions]).to(dtype)
            self.home[positions] = self._nearest_cell(unit, centres).numpy()
        self.order = np.argsort(self.home, kind="stable")  # the rows, cell by cell
        self.counts = np.bincount(self.home, minlength=nlist)
        self.starts = np.cumsum(self.counts) - self.counts
        # the unit rows in that order: a cell's rows are one slice (gathering rows at random is slower than
        # the products themselves)
        self.sorted = torch.empty((n, X.dim), dtype=dtype)
        self.position = np.empty(n, dtype=np.int64)  # row -> its place in ``sorted``
        self.position[self.order] = np.arange(n)
        for positions, part in X.blocks(ROWS):
            unit = _unit(part, inv_norm[positions])
            self.sorted[torch.from_numpy(self.position[positions])] = self._stored(unit, self.home[positions])

    def _rows(self, rows: np.ndarray) -> Any:
        """The unit ``rows`` as the index holds them, in float32: the rows themselves (a float32 index), or
        their cell's centre plus their bfloat16 residual (within ~1e-5 of the exact cosines)."""
        import torch

        held = self.sorted[torch.from_numpy(self.position[rows])].float()
        if self.keep:
            held += self.centres[torch.from_numpy(self.home[rows])]
        return held

    def _stored(self, unit: Any, home: np.ndarray) -> Any:
        """What the index keeps of unit rows: the rows themselves (float32), or in bfloat16 their residuals
        from their cell's centre, ``x - c``, so that a product ``q . x = q . c + q . (x - c)`` is exact but
        for the small second term: the rounding of bfloat16 is relative to a row's distance from its
        centre, not to its length (clustered vectors, whose cosines differ in the third decimal, stay
        apart)."""
        import torch

        if self.dtype == torch.float32:
            return unit
        return (unit - self.centres[torch.from_numpy(home)]).to(self.dtype)

    @property
    def keep(self) -> int:
        """How many candidates a query keeps from the scan: :data:`RERANK` for a bfloat16 scan, else 0 (the
        scan's own ``k1`` are final)."""
        import torch

        return self.RERANK if self.dtype == torch.bfloat16 else 0

    def _rerank(self, Q: Any, values: Any, candidates: np.ndarray, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k1`` best of each query's ``candidates`` (indices into ``X``; ``values`` their scan scores,
        -inf where there was none) by float32 products of the queries ``Q`` with the rows as the index holds
        them (:meth:`_rows`): ``(similarity, indices)``, -inf and -1 where fewer than ``k1``."""
        import torch

        missing = ~torch.isfinite(values.float())
        flat = np.where(missing.numpy(), 0, candidates).ravel()
        rows = self._rows(flat).view(len(Q), candidates.shape[1], -1)
        scores = torch.einsum("qd,qmd->qm", Q, rows)
        scores.masked_fill_(missing, -np.inf)
        v, at = scores.topk(min(k1, scores.shape[1]), dim=1)
        v = v.numpy()
        return v, np.where(np.isfinite(v), np.take_along_axis(candidates, at.numpy(), 1), -1)

    @classmethod
    def _kmeans(cls, T: Any, cells: int, rng: np.random.Generator, dtype: Any, iterations: int = 6) -> Any:
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
    def _nearest_cell(rows: Any, centres: Any) -> Any:
        """The cell of each row (in blocks of :data:`ASSIGN_ROWS` rows)."""
        import torch

        centres = centres.to(rows.dtype).T
        return torch.cat([(rows[span] @ centres).float().argmax(dim=1) for span in blocks(len(rows), ASSIGN_ROWS)])

    def sample_search(self, rows: np.ndarray, k1: int, levels: list[int]
                      ) -> tuple[tuple[np.ndarray, np.ndarray], dict[int, tuple[np.ndarray, np.ndarray]]]:
        """For a few ``rows``: their exact ``k1`` most similar rows, and for each ``nprobe`` in ``levels``
        what :meth:`search` finds for them (the most similar among the rows of their own ``nprobe`` nearest
        cells, scanned and re-ranked as it does), in one pass over ``X`` (``{nprobe: (similarity,
        indices)}``), without gathering the rows of each row's cells (for a few rows in as many cells,
        that would read most of ``X`` per row)."""
        import torch

        keep = self.keep or k1
        rows = np.asarray(rows, dtype=np.int64)
        Q = _unit(self.X.rows(rows), self.inv_norm[rows], owned=True)  # exact, for the exact neighbours
        held = self._rows(rows)  # what the search's queries are
        Qs = held.to(self.dtype)
        near = held @ self.centres.T  # each query's product with each centre
        ranked = near.argsort(dim=1, descending=True)
        rank = torch.empty(ranked.shape, dtype=torch.int32)  # each query's rank of each cell
        rank.scatter_(1, ranked, torch.arange(self.nlist, dtype=torch.int32).expand(len(rows), -1).contiguous())
        del ranked
        best = {key: (torch.full((len(rows), k1 if key is None else keep), -np.inf),
                      torch.full((len(rows), k1 if key is None else keep), -1, dtype=torch.int64))
                for key in [None, *levels]}
        for positions, part in self.X.blocks(PRODUCT_ROWS):  # each block's products, masked per level: ~50 MB
            unit, at = _unit(part, self.inv_norm[positions]), torch.from_numpy(positions)
            S = Q @ unit.T
            home = torch.from_numpy(self.home[positions])
            scanned = S if self.dtype == torch.float32 else (  # a float32 index holds the exact unit rows
                (Qs @ self._stored(unit, self.home[positions]).T).float() + near[:, home])
            cell_rank = rank[:, home]
            for key, (values, indices) in best.items():
                scores = S if key is None else scanned.masked_fill(cell_rank >= key, -np.inf)
                width = values.shape[1]
                v, i = scores.topk(min(width, len(positions)), dim=1)
                best[key] = _merge(values, indices, v, at[i], width)
        release_freed_memory()
        exact_v, exact_i = best.pop(None)
        found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for nprobe in levels:
            values, indices = best[nprobe]
            if self.keep:
                found[nprobe] = self._rerank(held, values, indices.numpy(), k1)
            else:
                v = values.numpy()
                found[nprobe] = (v, np.where(np.isfinite(v), indices.numpy(), -1))
        return (exact_v.numpy(), exact_i.numpy()), found

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
        starts = [span.start for a, b in zip(first, [*first[1:], len(rows)], strict=True)
                  for span in blocks(b, self.QUERY_BLOCK, start=a)]
        centres = self.centres.T
        keep = self.keep or k1
        buffers = _Buffers()
        for number, (lo, hi) in enumerate(zip(starts, [*starts[1:], len(rows)], strict=True)):
            if number % self.TRIM_EVERY == self.TRIM_EVERY - 1:
                release_freed_memory()
            out = by_cell[lo:hi]
            block = rows[out]  # queries of one cell
            Q = self._rows(block)
            Qs = Q.to(self.dtype)
            # each query scans its nprobe nearest cells: the rows of all of them are gathered once, and
            # each query's products with the rows of cells it does not scan are masked
            near = torch.mm(Q, centres, out=buffers.get("near", (len(block), self.nlist)))
            probes = near.topk(min(nprobe, self.nlist), dim=1).indices
            cells = np.unique(probes.numpy())
            members = np.concatenate([self.order[self.starts[s]:self.starts[s] + self.counts[s]] for s in cells])
            # the products' shapes rounded up to a few sizes: oneDNN keeps a primitive per bfloat16 product
            # shape (the padded rows and columns hold stale values and are never read)
            padded_b, padded_r = _round_up(len(block), self.PAD_QUERIES), _round_up(len(members), self.PAD_ROWS)
            M = buffers.get("rows", (padded_r, self.sorted.shape[1]), self.dtype)
            torch.cat([self.sorted[self.starts[s]:self.starts[s] + self.counts[s]] for s in cells],
                      out=M[:len(members)])
            # each query's product with the centre of each gathered row's cell (bfloat16 residuals), and -inf
            # for the rows of cells it does not scan
            scans = torch.zeros((len(block), self.nlist), dtype=torch.bool)
            scans.scatter_(1, probes, True)
            cells_t = torch.from_numpy(cells)
            base = near[:, cells_t] if self.keep else torch.zeros((len(block), len(cells)))
            base.masked_fill_(~scans[:, cells_t], -np.inf)
            column_cell = torch.repeat_interleave(torch.arange(len(cells)), torch.from_numpy(self.counts[cells]))
            S = torch.index_select(base, 1, column_cell, out=buffers.get("scores", (len(block), len(members))))
            if self.keep:
                Qp = buffers.get("queries", (padded_b, self.sorted.shape[1]), self.dtype)
                Qp[:len(block)] = Qs
                S += torch.mm(Qp, M.T, out=buffers.get("scan", (padded_b, padded_r), self.dtype))[
                    :len(block), :len(members)]
            else:
                S.addmm_(Qs, M[:len(members)].T)
            take = min(len(members), keep)
            v, at = S.topk(take, dim=1)
            candidates = members[at.numpy()]
            if self.keep:
                sims[out, :min(take, k1)], found[out, :min(take, k1)] = self._rerank(Q, v, candidates, k1)
            else:
                v = v.numpy()
                sims[out, :take], found[out, :take] = v, np.where(np.isfinite(v), candidates, -1)
        return sims, found


def _round_up(n: int, multiple: int) -> int:
    """The least multiple of ``multiple`` that is at least ``n``."""
    return -(-n // multiple) * multiple
