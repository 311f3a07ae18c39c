"""From raw columns to the reader's rows: which columns hold the text, label and id, and their checks.

:func:`choose_columns` picks the columns once per input; :func:`normalize_block` turns the raw rows
of one file (or of a DataFrame) into the :func:`~clsmap.store.schema.input_table` of the store
(``row``, ``id``, ``text``, ``label``, ``split``), with every check that a user can fail (an empty text, a
missing label, a repeated id) raising :class:`~clsmap.ClsmapError` with the file, row and column.
Rows are numbered from 1 within their file, counting data rows (the header is not a row).
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from ..store.schema import input_table

__all__ = ["TEXT_COLUMN_NAMES", "LABEL_COLUMN_NAMES", "ID_COLUMN_NAMES", "Columns", "Block", "choose_columns",
           "normalize_block", "check_unique_ids", "check_not_empty"]

logger = logging.getLogger(__name__)

#: Column names taken as the text column when none is given (first match, case-insensitive).
TEXT_COLUMN_NAMES = (
    "text", "texts", "sentence", "sentences", "document", "content", "review", "utterance",
    "body", "comment", "message", "question", "input", "tweet",
)
#: Column names taken as the label column when none is given.
LABEL_COLUMN_NAMES = ("label", "labels", "target", "class", "category", "intent", "sentiment", "y")
ID_COLUMN_NAMES = ("id", "idx", "guid", "uid")


@dataclass(frozen=True)
class Columns:
    """The columns chosen for the text, the label (``None``: no labels), the id (``None``: row numbers)
    and the split (``None``: the rows name no split)."""

    text: str
    label: str | None
    id: str | None
    split: str | None = None


@dataclass
class Block:
    """One file's rows, checked: the input table, and what the whole input needs to know of them."""

    table: Any  # pyarrow Table: row, id, text, label
    name: str  # the file, as errors name it
    offset: int  # input position of its first row
    labels: set[str] | None
    labels_are_integers: bool
    id_hash: np.ndarray | None  # hashes of the ids (a given id column), for the check across files

    @property
    def n_rows(self) -> int:
        return self.table.num_rows


def _pick(columns: Sequence[str], given: str | None, candidates: Sequence[str], *, what: str, flag: str,
          source: str) -> str | None:
    if given is not None:
        if given in columns:
            return given
        near = difflib.get_close_matches(given, columns, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
        raise ClsmapError(
            f"{source}: no {what} column {given!r}; the columns are {', '.join(map(repr, columns))}{hint}"
        )
    lowered = {c.lower(): c for c in columns}
    found = [lowered[name] for name in candidates if name in lowered]
    if len(found) > 1:
        raise ClsmapError(
            f"{source}: several columns could be the {what} column ({', '.join(map(repr, found))}); "
            f"choose one with {flag}"
        )
    return found[0] if found else None


def choose_columns(
    columns: Sequence[Any], *, source: str, text_column: str | None = None,
    label_column: str | None | Literal[False] = None, id_column: str | None | Literal[False] = None,
    split_column: str | None = None,
) -> Columns:
    """The text, label and id columns among ``columns``: the given names, or the usual ones found
    among :data:`TEXT_COLUMN_NAMES`, :data:`LABEL_COLUMN_NAMES` and :data:`ID_COLUMN_NAMES`.
    ``False`` leaves out the labels (or the ids) even when such a column exists. The split column is
    only the one given (a column named ``split`` is not taken unasked)."""
    names = [str(c) for c in columns]
    if len(set(names)) < len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise ClsmapError(f"{source}: the column name(s) {', '.join(map(repr, dup))} appear more than once")
    text = _pick(names, text_column, TEXT_COLUMN_NAMES, what="text", flag="--text-column", source=source)
    if text is None:
        raise ClsmapError(f"{source}: no text column found among {', '.join(map(repr, names))}; "
                          "name it with --text-column")
    label = None
    if label_column is not False:
        label = _pick(names, label_column, LABEL_COLUMN_NAMES, what="label", flag="--label-column", source=source)
        if label == text:
            raise ClsmapError(f"{source}: the text and label columns are both {text!r}")
    ident = None
    if id_column is not False:
        ident = _pick(names, id_column, ID_COLUMN_NAMES, what="id", flag="--id-column", source=source)
    split = None
    if split_column is not None:
        split = _pick(names, split_column, (), what="split", flag="--split-column", source=source)
        if split in (text, label):
            raise ClsmapError(f"{source}: --split-column {split!r} is also the text or label column")
    return Columns(text=text, label=label, id=ident, split=split)


def normalize_block(frame: pd.DataFrame, columns: Columns, *, name: str, offset: int,
                    split: str | None = None) -> Block:
    """Check the raw rows of one file and give them input positions from ``offset``. Every row
    belongs to the split ``split`` when it is given, else to the one its split column names."""
    n = len(frame)
    present = {str(c): c for c in frame.columns}
    for column in (c for c in (columns.text, columns.label, columns.id, columns.split) if c is not None):
        if column not in present:
            raise ClsmapError(f"{name}: has no column {column!r} (the columns are "
                              f"{', '.join(map(repr, present))})")
    texts = _texts(frame[present[columns.text]], name=name, column=columns.text)
    labels, are_ints = (None, False)
    if columns.label is not None:
        labels, are_ints = _labels(frame[present[columns.label]], name=name, column=columns.label)
    id_hash = None
    if columns.id is not None:
        ids = _ids(frame[present[columns.id]], name=name, column=columns.id)
        id_hash = pd.util.hash_array(np.asarray(ids, dtype=object))
    else:
        ids = [str(i) for i in range(offset, offset + n)]
    splits: list[str] | str | None = split
    if split is None and columns.split is not None:
        splits = _splits(frame[present[columns.split]], name=name, column=columns.split)
    table = input_table(np.arange(offset, offset + n, dtype=np.int64), ids, texts, labels, splits)
    return Block(table=table, name=name, offset=offset, labels=None if labels is None else set(labels),
                 labels_are_integers=are_ints, id_hash=id_hash)


def check_not_empty(names: Sequence[str], rows: Sequence[int], *, source: str) -> None:
    """Fail when the input has no data rows (a lone file with a header only says so)."""
    if len(names) == 1 and rows[0] == 0:
        raise ClsmapError(f"{names[0]}: has a header but no data rows")
    if sum(rows) == 0:
        raise ClsmapError(f"{source}: has no data rows")


def check_unique_ids(blocks: Sequence[Block], column: str, id_at: Callable[[Block, int], str]) -> None:
    """Fail when an id appears in two files (each file's own ids are checked as it is read), naming the
    first repeat in input order.

    ``id_at(block, i)`` gives the id of row ``i`` of ``block``: the Ray backend fetches it from the
    cluster, only for the few rows whose hashes collide.
    """
    hashed = [b for b in blocks if b.id_hash is not None]
    if len(hashed) < 2:
        return
    hashes = [b.id_hash for b in blocks if b.id_hash is not None]
    every = np.concatenate(hashes)
    owner = np.concatenate([np.full(len(h), k) for k, h in enumerate(hashes)])
    local = np.concatenate([np.arange(len(h)) for h in hashes])
    order = np.argsort(every, kind="stable")  # equal hashes side by side, in input order
    repeats = []
    for i in np.flatnonzero(every[order][1:] == every[order][:-1]):
        first, second = int(order[i]), int(order[i + 1])
        (ka, ia), (kb, ib) = (int(owner[first]), int(local[first])), (int(owner[second]), int(local[second]))
        if ka != kb and id_at(hashed[ka], ia) == id_at(hashed[kb], ib):
            repeats.append((second, ka, ia, kb, ib))
    if repeats:
        _, ka, ia, kb, ib = min(repeats)
        raise ClsmapError(
            f"the id {id_at(hashed[ka], ia)!r} in column {column!r} appears in {hashed[ka].name} row {ia + 1} and "
            f"{hashed[kb].name} row {ib + 1}; ids must be unique (or pass --no-ids to number the rows)"
        )


# --------------------------------------------------------------------------- values


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _texts(series: pd.Series, *, name: str, column: str) -> list[str]:
    texts = []
    for row, value in enumerate(series.tolist(), 1):
        if _is_missing(value):
            raise ClsmapError(f"{name}: row {row} has an empty text in column {column!r}; fill it or drop the row")
        if not isinstance(value, str):
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
                value = str(value)
            else:
                raise ClsmapError(f"{name}: row {row} of column {column!r} is a {type(value).__name__}, not a text")
        texts.append(value)
    return texts


def _labels(series: pd.Series, *, name: str, column: str) -> tuple[list[str], bool]:
    labels: list[str] = []
    are_ints = True
    for row, value in enumerate(series.tolist(), 1):
        if _is_missing(value):
            raise ClsmapError(
                f"{name}: row {row} has no label in column {column!r}; fill it, drop the row, "
                "or pass --no-labels to map without labels"
            )
        if isinstance(value, (bool, np.bool_)):
            value = str(value).lower()
        elif isinstance(value, (float, np.floating)):
            if not float(value).is_integer():
                raise ClsmapError(
                    f"{name}: row {row} has the label {value!r} in column {column!r}; labels must be "
                    "class names or integer class indices"
                )
            value = int(value)
        elif not isinstance(value, (str, int, np.integer)):
            raise ClsmapError(f"{name}: row {row} of column {column!r} is a {type(value).__name__}, not a label")
        text = str(value).strip()
        if are_ints and not _is_int(text):
            are_ints = False
        labels.append(text)
    if are_ints:
        labels = [str(int(x)) for x in labels]
    return labels, are_ints


def _splits(series: pd.Series, *, name: str, column: str) -> list[str]:
    splits = []
    for row, value in enumerate(series.tolist(), 1):
        if _is_missing(value):
            raise ClsmapError(f"{name}: row {row} names no split in column {column!r}; fill it or drop the row")
        splits.append(str(value).strip())
    return splits


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _ids(series: pd.Series, *, name: str, column: str) -> list[str]:
    ids = []
    seen: dict[str, int] = {}
    for row, value in enumerate(series.tolist(), 1):
        if _is_missing(value):
            raise ClsmapError(f"{name}: row {row} has no id in column {column!r}")
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        key = str(value)
        if key in seen:
            raise ClsmapError(
                f"{name}: the id {key!r} in column {column!r} appears in rows {seen[key]} and {row}; "
                "ids must be unique (or pass --no-ids to number the rows)"
            )
        seen[key] = row
        ids.append(key)
    return ids
