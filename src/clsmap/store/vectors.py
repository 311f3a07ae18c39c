"""A column of vectors read part by part: what the analysis works on, so that a large store's vectors are
never held whole (:class:`Vectors`; :meth:`clsmap.store.Store.vector_parts` gives one for a store's column,
:func:`as_vectors` one for an array already in memory)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .._blocks import PART_ROWS
from .._blocks import blocks as row_blocks

__all__ = ["Vectors", "as_vectors"]


class Vectors:
    """``n`` float32 vectors of ``dim`` values, read in parts: ``parts()`` yields ``(positions, vectors)``
    (int64 row positions and their float32 (r, d) vectors; e.g. :meth:`clsmap.store.Store.iter_vectors`)
    and may be called any number of times, each call one pass over the rows. ``array``: the rows
    in memory when they are there already (then nothing is read twice).

    Memory: one part at a time, or what a method returns."""

    def __init__(self, n: int, dim: int, parts: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]], *,
                 array: np.ndarray | None = None) -> None:
        self.n, self.dim, self._parts, self._array = int(n), int(dim), parts, array

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self.dim

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        where = "in memory" if self._array is not None else "read part by part"
        return f"<clsmap Vectors {self.n} x {self.dim}, {where}>"

    def blocks(self, rows: int = PART_ROWS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One pass over every row: ``(positions, vectors)`` of at most ``rows`` rows at a time (float32)."""
        for positions, part in self._parts():
            part = np.asarray(part, dtype=np.float32)
            for block in row_blocks(len(positions), rows):
                yield np.asarray(positions[block], dtype=np.int64), part[block]

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """The vectors of ``positions`` (any order, repeats allowed) as a new float32 (m, d) array, read
        in one pass."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._array is not None:
            return np.asarray(self._array[positions], dtype=np.float32)
        wanted, where = np.unique(positions, return_inverse=True)
        unique = np.empty((len(wanted), self.dim), dtype=np.float32)
        found = 0
        for at, part in self._parts():
            inside = np.isin(at, wanted)
            if inside.any():
                unique[np.searchsorted(wanted, at[inside])] = part[inside]
                found += int(inside.sum())
        if found != len(wanted):
            raise ValueError(f"Vectors.rows: {len(wanted) - found} of the rows asked for are not among the {self.n}")
        if len(wanted) == len(positions) and (np.diff(positions) > 0).all():
            return unique  # asked in order, without repeats
        return np.take(unique, where.reshape(-1), axis=0)

    def array(self) -> np.ndarray:
        """Every row in memory, float32 (n, d): the array itself when it is there, else read in one pass."""
        if self._array is not None:
            return np.asarray(self._array, dtype=np.float32)
        out = np.empty((self.n, self.dim), dtype=np.float32)
        for positions, part in self._parts():
            out[positions] = part
        return out


def as_vectors(X: np.ndarray | Vectors, func: str = "clsmap") -> Vectors:
    """``X`` as :class:`Vectors`: itself, or a 2-D array (parts of :data:`~clsmap._blocks.PART_ROWS` rows,
    views)."""
    if isinstance(X, Vectors):
        return X
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{func}: expected a 2-D array of vectors, got shape {X.shape}")
    if X.dtype != np.float32:
        X = X.astype(np.float32)

    def parts() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for block in row_blocks(len(X), PART_ROWS):
            yield np.arange(block.start, block.stop), X[block]

    return Vectors(len(X), X.shape[1], parts, array=X)
