"""The driver's side of a Ray run: rows arrive in any order, parts are written once, in input order."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import ClsmapError
from ...store.writer import StoreWriter

__all__ = ["collect_parts"]


def collect_parts(results: Any, writer: StoreWriter, todo: list[int], *, bar: Any) -> None:
    """Write each part of ``todo`` once all its rows have arrived, keeping each row once (a retried
    batch can deliver rows twice)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    part_rows = writer.part_rows
    remaining = set(todo)
    pieces: dict[int, list[Any]] = {}
    seen: dict[int, np.ndarray] = {}
    for batch in results.iter_batches(batch_format="pyarrow", batch_size=None):
        rows = batch.column("row").to_numpy()
        parts = rows // part_rows
        for k in np.unique(parts):
            k = int(k)
            if k not in remaining:
                continue  # a retried batch delivered rows of a part already written
            piece = batch if len(parts) and (parts == k).all() else batch.filter(pa.array(parts == k))
            mask = seen.setdefault(k, np.zeros(writer.expected_rows(k), dtype=bool))
            local = piece.column("row").to_numpy() - k * part_rows
            fresh = int((~mask[local]).sum())
            mask[local] = True
            pieces.setdefault(k, []).append(piece)
            if bar is not None:
                bar.update(fresh)
            if mask.all():
                table = pa.concat_tables(pieces.pop(k))
                order = pc.sort_indices(table, sort_keys=[("row", "ascending")]).to_numpy()
                sorted_rows = table.column("row").to_numpy()[order]
                first = np.concatenate([[True], sorted_rows[1:] != sorted_rows[:-1]])
                writer.write_part(k, table.take(order[first]))
                remaining.discard(k)
                del seen[k]
    if remaining:
        raise ClsmapError(
            f"the Ray run ended with {len(remaining)} part(s) incomplete (first: {min(remaining)}); "
            "run the same command again to resume"
        )
