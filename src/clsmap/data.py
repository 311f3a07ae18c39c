"""Stage 1, data in: read labeled texts from CSV, TSV, JSONL, Parquet or a ``datasets`` folder.

Everything a user can get wrong here (a missing column, an empty text, a missing label, a
file that is not UTF-8) raises :class:`~clsmap.ClsmapError` with the file, row and column.
Rows are numbered from 1, counting data rows (the header is not a row).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._errors import ClsmapError, require
from ._validation import check_choice

__all__ = ["LabeledTexts", "read_dataset", "TEXT_COLUMN_NAMES", "LABEL_COLUMN_NAMES"]

logger = logging.getLogger(__name__)

#: Column names taken as the text column when none is given (first match, case-insensitive).
TEXT_COLUMN_NAMES = (
    "text", "texts", "sentence", "sentences", "document", "content", "review", "utterance",
    "body", "comment", "message", "question", "input", "tweet",
)
#: Column names taken as the label column when none is given.
LABEL_COLUMN_NAMES = ("label", "labels", "target", "class", "category", "intent", "sentiment", "y")
ID_COLUMN_NAMES = ("id", "idx", "guid", "uid")

Format = Literal["auto", "csv", "tsv", "jsonl", "parquet", "datasets"]
FORMATS = ("auto", "csv", "tsv", "jsonl", "parquet", "datasets")
_SUFFIXES = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet",
}


@dataclass(frozen=True)
class LabeledTexts:
    """Texts with stable ids and optional labels, in input order.

    ``labels`` is ``None`` when the data has no label column. Labels are kept as strings;
    ``labels_are_integers`` says whether every label was an integer (then it may be read as
    a class index of the model).
    """

    ids: list[str]
    texts: list[str]
    labels: list[str] | None
    source: str
    fingerprint: str
    text_column: str
    label_column: str | None
    id_column: str | None
    labels_are_integers: bool = False

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def classes(self) -> list[str]:
        """Distinct labels, sorted (numerically when they are integers)."""
        if self.labels is None:
            return []
        distinct = set(self.labels)
        if self.labels_are_integers:
            return sorted(distinct, key=int)
        return sorted(distinct)

    def subset(self, indices: Sequence[int]) -> LabeledTexts:
        """The rows at ``indices`` (in that order), fingerprinted as a derived dataset."""
        idx = list(indices)
        digest = hashlib.sha256(self.fingerprint.encode())
        digest.update(np.asarray(idx, dtype=np.int64).tobytes())
        return LabeledTexts(
            ids=[self.ids[i] for i in idx],
            texts=[self.texts[i] for i in idx],
            labels=None if self.labels is None else [self.labels[i] for i in idx],
            source=self.source,
            fingerprint=digest.hexdigest(),
            text_column=self.text_column,
            label_column=self.label_column,
            id_column=self.id_column,
            labels_are_integers=self.labels_are_integers,
        )


def read_dataset(
    data: str | Path | pd.DataFrame | LabeledTexts,
    *,
    text_column: str | None = None,
    label_column: str | None | Literal[False] = None,
    id_column: str | None | Literal[False] = None,
    format: Format = "auto",
    encoding: str | None = None,
) -> LabeledTexts:
    """Read labeled texts.

    Parameters
    ----------
    data
        A CSV/TSV/JSONL/Parquet file, a folder saved by ``datasets.Dataset.save_to_disk``,
        a pandas DataFrame, or a :class:`LabeledTexts` (returned as is).
    text_column, label_column, id_column
        Column names. When not given, the text and label columns are found among
        :data:`TEXT_COLUMN_NAMES` and :data:`LABEL_COLUMN_NAMES`, and an ``id`` column is kept
        if there is one (otherwise ids are the row positions ``"0"``, ``"1"``, ...).
        ``label_column=False`` ignores labels even when a label column exists, and
        ``id_column=False`` numbers the rows even when an id column exists.
    format
        One of ``auto`` (by file suffix), ``csv``, ``tsv``, ``jsonl``, ``parquet``, ``datasets``.
    encoding
        Text encoding of CSV/TSV/JSONL files; default UTF-8 (a BOM is skipped, UTF-16 with a
        BOM is recognised).
    """
    check_choice(format, FORMATS, param="format", func="read_dataset")
    if isinstance(data, LabeledTexts):
        return data
    if isinstance(data, pd.DataFrame):
        frame, source = data, "<DataFrame>"
        fingerprint = _hash_frame(frame)
    else:
        path = Path(data)
        source = str(path)
        if not path.exists():
            raise ClsmapError(f"{path}: no such file or folder")
        fmt = _detect_format(path) if format == "auto" else format
        frame = _read_frame(path, fmt, encoding)
        fingerprint = _hash_path(path)
    return _from_frame(
        frame,
        source=source,
        fingerprint=fingerprint,
        text_column=text_column,
        label_column=label_column,
        id_column=id_column,
    )


# --------------------------------------------------------------------------- reading files


def _detect_format(path: Path) -> str:
    if path.is_dir():
        return "datasets"
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ClsmapError(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}; name it .csv, .tsv, "
            ".jsonl or .parquet, or pass --format"
        )
    return fmt


def _sniff_encoding(path: Path, encoding: str | None) -> str:
    if encoding:
        return encoding
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return "utf-8-sig"


def _decode_error(path: Path, exc: UnicodeDecodeError, encoding: str) -> ClsmapError:
    # the reader's exception counts from the start of its current chunk: find the first bad byte
    # in the whole file (the BOM counted as bytes, not skipped)
    raw = path.read_bytes()
    start = exc.start
    try:
        raw.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeDecodeError as whole:
        start = whole.start
    line = raw[:start].count(b"\n") + 1
    return ClsmapError(
        f"{path}: line {line} is not valid {encoding} text (byte {start}); save the file as "
        "UTF-8 or pass its encoding with --encoding (e.g. latin-1, cp949)"
    )


def _read_frame(path: Path, fmt: str, encoding: str | None) -> pd.DataFrame:
    if fmt in ("csv", "tsv"):
        enc = _sniff_encoding(path, encoding)
        try:
            frame = pd.read_csv(
                path,
                sep="\t" if fmt == "tsv" else ",",
                dtype=str,
                keep_default_na=False,
                encoding=enc,
            )
        except UnicodeDecodeError as exc:
            raise _decode_error(path, exc, enc) from None
        except pd.errors.EmptyDataError:
            raise ClsmapError(f"{path}: the file is empty; it needs a header row and data rows") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise ClsmapError(f"{path}: not a readable {fmt.upper()} file: {_one_line(exc)}") from None
        _check_header(path, enc, "\t" if fmt == "tsv" else ",")
        return frame
    if fmt == "jsonl":
        return _read_jsonl(path, _sniff_encoding(path, encoding))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
            table.validate(full=True)  # e.g. invalid UTF-8 in a string column of a damaged file
            return table.to_pandas()
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise ClsmapError(f"{path}: not a readable Parquet file: {_one_line(exc)}") from None
    if fmt == "datasets":
        datasets = require("datasets", extra="datasets", purpose=f"reading the folder {path}")
        try:
            loaded = datasets.load_from_disk(str(path))
        except FileNotFoundError:
            raise ClsmapError(
                f"{path}: a folder, but not one saved by datasets' save_to_disk; pass a data file"
            ) from None
        if isinstance(loaded, datasets.DatasetDict):
            raise ClsmapError(
                f"{path}: holds the splits {', '.join(loaded)}; pass one split's folder, "
                f"e.g. {path / next(iter(loaded))}"
            )
        return loaded.to_pandas()
    raise AssertionError(fmt)


def _check_header(path: Path, encoding: str, sep: str) -> None:
    """pandas renames a repeated column ``x`` to ``x.1``; a repeated name is an error instead."""
    import csv

    with open(path, encoding=encoding, newline="") as fh:
        header = next(csv.reader(fh, delimiter=sep), [])
    seen: set[str] = set()
    repeated = sorted({name for name in header if name in seen or seen.add(name)})
    if repeated:
        raise ClsmapError(
            f"{path}: the column name(s) {', '.join(map(repr, repeated))} appear more than once in the header; "
            "rename them"
        )


def _read_jsonl(path: Path, encoding: str) -> pd.DataFrame:
    records = []
    try:
        with open(path, encoding=encoding) as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ClsmapError(f"{path}: line {lineno} is not valid JSON: {exc.msg}") from None
                if not isinstance(record, dict):
                    raise ClsmapError(
                        f"{path}: line {lineno} is a JSON {type(record).__name__}, not an object "
                        'like {"text": ..., "label": ...}'
                    )
                records.append(record)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, exc, encoding) from None
    if not records:
        raise ClsmapError(f"{path}: the file is empty; it needs one JSON object per line")
    return pd.DataFrame.from_records(records)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


# --------------------------------------------------------------------------- columns


def _pick_column(
    frame: pd.DataFrame, given: str | None, candidates: Sequence[str], *, what: str, flag: str, source: str
) -> str | None:
    columns = [str(c) for c in frame.columns]
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


def _from_frame(
    frame: pd.DataFrame,
    *,
    source: str,
    fingerprint: str,
    text_column: str | None,
    label_column: str | None | Literal[False],
    id_column: str | None | Literal[False],
) -> LabeledTexts:
    if frame.columns.duplicated().any():
        dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ClsmapError(f"{source}: the column name(s) {', '.join(map(repr, dup))} appear more than once")
    if len(frame) == 0:
        raise ClsmapError(f"{source}: has a header but no data rows")
    tcol = _pick_column(frame, text_column, TEXT_COLUMN_NAMES, what="text", flag="--text-column", source=source)
    if tcol is None:
        raise ClsmapError(
            f"{source}: no text column found among {', '.join(map(repr, map(str, frame.columns)))}; "
            "name it with --text-column"
        )
    lcol = None
    if label_column is not False:
        lcol = _pick_column(
            frame, label_column, LABEL_COLUMN_NAMES, what="label", flag="--label-column", source=source
        )
        if lcol == tcol:
            raise ClsmapError(f"{source}: the text and label columns are both {tcol!r}")
    icol = None
    if id_column is not False:
        icol = _pick_column(frame, id_column, ID_COLUMN_NAMES, what="id", flag="--id-column", source=source)

    texts = _texts(frame[tcol], source=source, column=tcol)
    labels, are_ints = (None, False) if lcol is None else _labels(frame[lcol], source=source, column=lcol)
    ids = _ids(frame[icol], source=source, column=icol) if icol else [str(i) for i in range(len(frame))]
    if lcol is None:
        logger.info("%s: no label column; the map will be coloured by prediction", source)
    return LabeledTexts(
        ids=ids,
        texts=texts,
        labels=labels,
        source=source,
        fingerprint=fingerprint,
        text_column=tcol,
        label_column=lcol,
        id_column=icol,
        labels_are_integers=are_ints,
    )


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _texts(series: pd.Series, *, source: str, column: str, first_row: int = 1) -> list[str]:
    texts = []
    for row, value in enumerate(series.tolist(), first_row):
        if _is_missing(value):
            raise ClsmapError(
                f"{source}: row {row} has an empty text in column {column!r}; fill it or drop the row"
            )
        if not isinstance(value, str):
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
                value = str(value)
            else:
                raise ClsmapError(
                    f"{source}: row {row} of column {column!r} is a {type(value).__name__}, not a text"
                )
        texts.append(value)
    return texts


def _labels(series: pd.Series, *, source: str, column: str, first_row: int = 1) -> tuple[list[str], bool]:
    labels: list[str] = []
    are_ints = True
    for row, value in enumerate(series.tolist(), first_row):
        if _is_missing(value):
            raise ClsmapError(
                f"{source}: row {row} has no label in column {column!r}; fill it, drop the row, "
                "or pass --no-labels to map without labels"
            )
        if isinstance(value, (bool, np.bool_)):
            value = str(value).lower()
        elif isinstance(value, (float, np.floating)):
            if not float(value).is_integer():
                raise ClsmapError(
                    f"{source}: row {row} has the label {value!r} in column {column!r}; labels must be "
                    "class names or integer class indices"
                )
            value = int(value)
        elif not isinstance(value, (str, int, np.integer)):
            raise ClsmapError(
                f"{source}: row {row} of column {column!r} is a {type(value).__name__}, not a label"
            )
        text = str(value).strip()
        if are_ints and not _is_int(text):
            are_ints = False
        labels.append(text)
    if are_ints:
        labels = [str(int(x)) for x in labels]
    return labels, are_ints


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _ids(series: pd.Series, *, source: str, column: str, first_row: int = 1) -> list[str]:
    ids = []
    seen: dict[str, int] = {}
    for row, value in enumerate(series.tolist(), first_row):
        if _is_missing(value):
            raise ClsmapError(f"{source}: row {row} has no id in column {column!r}")
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        key = str(value)
        if key in seen:
            raise ClsmapError(
                f"{source}: the id {key!r} in column {column!r} appears in rows {seen[key]} and {row}; "
                "ids must be unique (or pass --no-ids to number the rows)"
            )
        seen[key] = row
        ids.append(key)
    return ids


# --------------------------------------------------------------------------- fingerprints


def _hash_path(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _hash_frame(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()
