"""Passes over many rows go a block of rows at a time: the block sizes, named once, and the one iterator.

:data:`ROWS` suits a pass that keeps a few numbers per row (k-NN queries, label votes, scores);
:data:`PRODUCT_ROWS` a pass that holds a dense product of each row with many others;
:data:`FLOAT64_ROWS` a pass that copies rows to float64; :data:`PART_ROWS` a column of vectors read part by part.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["ROWS", "PRODUCT_ROWS", "FLOAT64_ROWS", "PART_ROWS", "blocks"]

#: rows per block of a pass that keeps a few numbers per row: at 1M rows, 16 blocks
ROWS = 65_536
#: rows per block of a pass that holds each row's products with many other rows
PRODUCT_ROWS = 2_048
#: rows per block of a pass that copies rows to float64
FLOAT64_ROWS = 16_384
#: rows per block of a column of vectors read part by part (:meth:`clsmap.store.vectors.Vectors.blocks`, and the
#: parts of an array in memory)
PART_ROWS = 16_384


def blocks(n: int, size: int = ROWS, *, start: int = 0) -> Iterator[slice]:
    """The slices ``[lo, lo + size)`` that cover ``range(start, n)`` in order (the last one shorter)."""
    if size < 1:
        raise ValueError(f"blocks: size must be at least 1, got {size}")
    for lo in range(start, n, size):
        yield slice(lo, min(n, lo + size))
