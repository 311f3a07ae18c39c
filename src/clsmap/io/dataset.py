"""Labeled texts in memory: :class:`LabeledTexts` and :func:`read_dataset`, the reader of the local
backend (the Ray backend reads the same files with the same functions, one task per file)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from .._validation import check_choice
from .columns import Block, Columns, check_not_empty, check_unique_ids, choose_columns, normalize_block
from .readers import read_file
from .sources import FORMATS, Format, open_source

__all__ = ["LabeledTexts", "read_dataset"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabeledTexts:
    """Texts with stable ids and optional labels, in input order.

    ``table`` is the reader's Arrow table (``row``, ``id``, ``text``, ``label``, ``split``; the columns
    of :func:`clsmap.store.schema.input_table`); ``ids``, ``texts``, ``labels`` and ``splits`` are its
    columns as lists (``labels`` is ``None`` when the data has no label column, ``splits`` when no
    row names a split). Labels are kept as strings;
    ``labels_are_integers`` says whether every label was an integer (then it may be read as a class
    index of the model).
    """

    table: Any
    source: str
    fingerprint: str
    text_column: str
    label_column: str | None
    id_column: str | None
    labels_are_integers: bool = False

    def __len__(self) -> int:
        return self.table.num_rows

    @cached_property
    def ids(self) -> list[str]:
        return self.table.column("id").to_pylist()

    @cached_property
    def texts(self) -> list[str]:
        return self.table.column("text").to_pylist()

    @cached_property
    def labels(self) -> list[str] | None:
        return None if self.label_column is None else self.table.column("label").to_pylist()

    @cached_property
    def splits(self) -> list[str | None] | None:
        column = self.table.column("split")
        return None if column.null_count == len(column) else column.to_pylist()

    def with_splits(self, by_id: Mapping[str, str], *, other: str | None = None, tag: str = "") -> LabeledTexts:
        """The same rows, each in the split ``by_id`` gives its id (``other`` for an id it lacks),
        fingerprinted as a derived dataset (``tag`` names where the splits came from)."""
        import pyarrow as pa

        splits = [by_id.get(i, other) for i in self.ids]
        digest = hashlib.sha256(self.fingerprint.encode())
        digest.update(json.dumps([tag, splits]).encode())
        table = self.table.set_column(self.table.schema.get_field_index("split"), "split",
                                      pa.array(splits, type=pa.string()))
        return LabeledTexts(table=table, source=self.source, fingerprint=digest.hexdigest(),
                            text_column=self.text_column, label_column=self.label_column,
                            id_column=self.id_column, labels_are_integers=self.labels_are_integers)

    @property
    def classes(self) -> list[str]:
        """Distinct labels, sorted (numerically when they are integers)."""
        if self.label_column is None:
            return []
        distinct = set(self.table.column("label").unique().to_pylist())
        if self.labels_are_integers:
            return sorted(distinct, key=int)
        return sorted(distinct)

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabeledTexts:
        """The rows at ``indices`` (in that order, numbered again from 0), fingerprinted as a derived dataset."""
        import pyarrow as pa

        idx = np.asarray(list(indices), dtype=np.int64)
        digest = hashlib.sha256(self.fingerprint.encode())
        digest.update(idx.tobytes())
        table = self.table.take(pa.array(idx))
        table = table.set_column(0, "row", pa.array(np.arange(len(idx), dtype=np.int64)))
        return LabeledTexts(table=table, source=self.source, fingerprint=digest.hexdigest(),
                            text_column=self.text_column, label_column=self.label_column,
                            id_column=self.id_column, labels_are_integers=self.labels_are_integers)


Data: TypeAlias = str | Path | pd.DataFrame


def read_dataset(
    data: Data | LabeledTexts | Sequence[str | Path] | Mapping[str, Data],
    *,
    text_column: str | None = None,
    label_column: str | None | Literal[False] = None,
    id_column: str | None | Literal[False] = None,
    split_column: str | None = None,
    format: Format = "auto",
    encoding: str | None = None,
) -> LabeledTexts:
    """Read labeled texts.

    Parameters
    ----------
    data
        A CSV/TSV/JSONL/Parquet file, a folder of such files (read in sorted order as one input),
        a folder saved by ``datasets.Dataset.save_to_disk``, a URI that ``pyarrow`` opens
        (``s3://...``), a pandas DataFrame, or a :class:`LabeledTexts` (returned as is). Several
        inputs in a list (``[train.csv, test.csv]``) are read as one, each row in the split named
        after its input's file (``train``, ``test``); a dict names the splits itself
        (``{"train": frame, "held-out": "test.csv"}``).
    text_column, label_column, id_column
        Column names. When not given, the text and label columns are found among
        :data:`~clsmap.io.columns.TEXT_COLUMN_NAMES` and :data:`~clsmap.io.columns.LABEL_COLUMN_NAMES`,
        and an ``id`` column is kept if there is one (otherwise ids are the row positions ``"0"``,
        ``"1"``, ...). ``label_column=False`` ignores labels even when a label column exists, and
        ``id_column=False`` numbers the rows even when an id column exists.
    split_column
        A column naming each row's split (``train``, ``test``, ...); not with several inputs.
    format
        One of ``auto`` (by file suffix), ``csv``, ``tsv``, ``jsonl``, ``parquet``, ``datasets``.
    encoding
        Text encoding of CSV/TSV/JSONL files; default UTF-8 (a BOM is skipped, UTF-16 with a
        BOM is recognised).
    """
    check_choice(format, FORMATS, param="format", func="read_dataset")
    if isinstance(data, LabeledTexts):
        return data
    if isinstance(data, (list, tuple, Mapping)) and len(data) > 1 and split_column is not None:
        raise ClsmapError("give either several inputs (one split each) or --split-column, not both")
    inputs = _named_inputs(data)
    frames: list[tuple[str, pd.DataFrame, str | None]] = []  # (file name, rows, split)
    names, prints = [], []
    for split, item in inputs:
        if isinstance(item, pd.DataFrame):
            name = "<DataFrame>" if split is None else f"<DataFrame {split}>"
            frames.append((name, item, split))
            prints.append(_hash_frame(item))
        else:
            source = open_source(item, format=format, encoding=encoding)
            name = source.name
            frames += [(source.display(file), read_file(source, file), split) for file in source.files]
            prints.append(source.fingerprint())
        names.append(name)
    name = names[0] if len(names) == 1 else " + ".join(names)
    fingerprint = prints[0] if len(prints) == 1 else hashlib.sha256(
        json.dumps([[split, p] for (split, _), p in zip(inputs, prints, strict=True)]).encode()).hexdigest()
    columns = choose_columns(_union(frame.columns for _, frame, _ in frames), source=name, text_column=text_column,
                             label_column=label_column, id_column=id_column, split_column=split_column)
    check_not_empty([file for file, _, _ in frames], [len(frame) for _, frame, _ in frames], source=name)
    blocks, offset = [], 0
    for file_name, frame, split in frames:
        if len(frame):
            blocks.append(normalize_block(frame, columns, name=file_name, offset=offset, split=split))
            offset += len(frame)
    return from_blocks(blocks, columns, source=name, fingerprint=fingerprint)


def _named_inputs(data: Any) -> list[tuple[str | None, Any]]:
    """``(split, input)`` pairs: one unnamed input, or several named after their files (or by a dict)."""
    pairs: list[tuple[str | None, Any]]
    if isinstance(data, Mapping):
        pairs = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, (list, tuple)):
        if len(data) == 1:
            return [(None, data[0])]
        pairs = [(_split_name(item), item) for item in data]
    else:
        return [(None, data)]
    if not pairs:
        raise ClsmapError("no input given: pass a data file (or several, one per split)")
    seen: dict[str | None, Any] = {}
    for split, item in pairs:
        if split in seen:
            raise ClsmapError(f"two inputs name the split {split!r} ({seen[split]} and {item}); "
                              "rename a file, or pass a dict of split names")
        seen[split] = item
    return pairs


def _split_name(item: Any) -> str:
    if isinstance(item, pd.DataFrame):
        raise ClsmapError("several DataFrames need split names: pass a dict {'train': frame, 'test': frame}")
    last = PurePosixPath(str(item).split("?")[0].rstrip("/")).name
    return last.split(".")[0] or last


def _union(column_lists: Any) -> list[str]:
    """Every column name in order of first appearance."""
    return list(dict.fromkeys(str(c) for columns in column_lists for c in columns))


def from_blocks(blocks: Sequence[Block], columns: Columns, *, source: str, fingerprint: str) -> LabeledTexts:
    """The checked blocks of one input as :class:`LabeledTexts` (ids unique across the blocks)."""
    import pyarrow as pa

    if columns.id is not None:
        check_unique_ids(blocks, columns.id, lambda block, i: block.table.column("id")[i].as_py())
    if columns.label is None:
        logger.info("%s: no label column; the map will be coloured by prediction", source)
    table = pa.concat_tables([b.table for b in blocks]) if len(blocks) > 1 else blocks[0].table
    return LabeledTexts(
        table=table.combine_chunks(), source=source, fingerprint=fingerprint, text_column=columns.text,
        label_column=columns.label, id_column=columns.id,
        labels_are_integers=columns.label is not None and all(b.labels_are_integers for b in blocks),
    )


def _hash_frame(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()
