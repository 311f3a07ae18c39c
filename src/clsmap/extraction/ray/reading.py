"""The input of a Ray run as numbered, checked blocks in the object store, read with :mod:`clsmap.io`.

A file input (a file, a folder of files, a URI) is read on the cluster, one task per file, with
the reader of the local backend: same formats, same errors, same row numbers. Other inputs (a
DataFrame, :class:`~clsmap.io.LabeledTexts`, a ``datasets`` folder) are read on the driver and handed
to Ray in blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._blocks import blocks as row_blocks
from ...io.columns import Block, check_not_empty, check_unique_ids, choose_columns
from ...io.dataset import read_dataset
from ...io.sources import open_source
from ..driver import InputSummary, summarize
from .tasks import normalize_task, read_task, slice_task, take_task

__all__ = ["RayBlock", "read_blocks", "split_blocks", "without_done"]

#: rows per block when the input is already in memory
BLOCK_ROWS = 8192


@dataclass(frozen=True)
class RayBlock:
    ref: Any  # ObjectRef of a pyarrow Table with columns row, id, text, label, split
    offset: int
    rows: int


def read_blocks(ray: Any, data: Any, read_options: dict[str, Any]) -> tuple[list[RayBlock], InputSummary]:
    """The input as numbered, checked blocks in input order, and what is known of the whole."""
    if isinstance(data, (str, Path)):
        source = open_source(data, format=read_options.get("format", "auto"),
                             encoding=read_options.get("encoding"))
        if source.format != "datasets":
            return _read_files(ray, source, read_options)
    texts = read_dataset(data, **read_options)
    blocks = []
    for rows in row_blocks(len(texts), BLOCK_ROWS):
        table = texts.table.slice(rows.start, BLOCK_ROWS)
        blocks.append(RayBlock(ray.put(table), rows.start, table.num_rows))
    return blocks, summarize(texts)


def _read_files(ray: Any, source: Any, read_options: dict[str, Any]) -> tuple[list[RayBlock], InputSummary]:
    frames = [read_task.options(num_returns=3).remote(source, file) for file in source.files]
    described = list(zip(ray.get([c for _, c, _ in frames]), ray.get([r for _, _, r in frames]), strict=True))
    names = [source.display(file) for file in source.files]
    check_not_empty(names, [rows for _, rows in described], source=source.name)
    columns = choose_columns(list(dict.fromkeys(c for cols, _ in described for c in cols)), source=source.name,
                             text_column=read_options.get("text_column"),
                             label_column=read_options.get("label_column"),
                             id_column=read_options.get("id_column"),
                             split_column=read_options.get("split_column"))
    normalize = normalize_task.options(num_returns=2)
    refs, stat_refs, offset = [], [], 0
    for (frame, _, _), (_, rows), name in zip(frames, described, names, strict=True):
        table_ref, stats_ref = normalize.remote(frame, columns, name, offset)
        refs.append((table_ref, offset, rows, name))
        stat_refs.append(stats_ref)
        offset += rows
    stats = ray.get(stat_refs)  # raises the first file's ClsmapError
    checked = [Block(table=ref, name=name, offset=lo, labels=s["labels"], labels_are_integers=s["labels_are_integers"],
                     id_hash=s["id_hash"]) for (ref, lo, _, name), s in zip(refs, stats, strict=True)]
    if columns.id is not None:
        check_unique_ids(checked, columns.id, lambda block, i: str(ray.get(block.table).column("id")[i].as_py()))
    labels = None
    if columns.label is not None:
        labels = set().union(*(s["labels"] for s in stats))
    summary = InputSummary(
        source=source.name, fingerprint=source.fingerprint(), text_column=columns.text, label_column=columns.label,
        id_column=columns.id, labels_are_integers=columns.label is not None and all(
            s["labels_are_integers"] for s in stats), labels=labels, n_rows=offset)
    return [RayBlock(ref, lo, rows) for ref, lo, rows, _ in refs if rows], summary


def without_done(blocks: list[RayBlock], done: set[int], part_rows: int) -> list[RayBlock]:
    """The blocks less the rows of parts already written (resume)."""
    if not done:
        return blocks
    kept = []
    for block in blocks:
        rows = np.arange(block.offset, block.offset + block.rows)
        keep = ~np.isin(rows // part_rows, list(done))
        if keep.all():
            kept.append(block)
        elif keep.any():
            kept.append(RayBlock(take_task.remote(block.ref, np.flatnonzero(keep)), block.offset, int(keep.sum())))
    return kept


def split_blocks(blocks: list[RayBlock], rows: int) -> list[RayBlock]:
    """The same rows in blocks of at most ``rows`` rows."""
    out = []
    for block in blocks:
        if block.rows <= rows:
            out.append(block)
            continue
        for part in row_blocks(block.rows, rows):
            size = part.stop - part.start
            out.append(RayBlock(slice_task.remote(block.ref, part.start, size), block.offset + part.start, size))
    return out
