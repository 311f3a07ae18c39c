"""Reading one data file of a :class:`~clsmap.io.sources.Source` into a DataFrame of its raw columns.

Both backends read through :func:`read_file` (the Ray backend in one task per file), so a file
reads the same, and fails with the same one-line :class:`~clsmap.ClsmapError`, wherever it is read.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

import pandas as pd

from .._errors import ClsmapError, require
from .sources import Source

__all__ = ["read_file", "one_line"]


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def read_file(source: Source, file: str) -> pd.DataFrame:
    """The rows of ``file`` (one of ``source.files``) with their columns as read: CSV/TSV fields as
    strings (an empty field is an empty string), JSON values as they are, Parquet and ``datasets``
    columns in their own types."""
    name = source.display(file)
    fmt = source.format
    if fmt in ("csv", "tsv"):
        return _read_csv(source, file, name, "\t" if fmt == "tsv" else ",")
    if fmt == "jsonl":
        return _read_jsonl(source, file, name)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(file, filesystem=source.filesystem)
            table.validate(full=True)  # e.g. invalid UTF-8 in a string column of a damaged file
            return table.to_pandas()
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise ClsmapError(f"{name}: not a readable Parquet file: {one_line(exc)}") from None
    if fmt == "datasets":
        return _read_datasets(source, file, name)
    raise AssertionError(fmt)


def _head(source: Source, file: str, size: int) -> bytes:
    with source.open(file) as stream:
        return stream.read(size)


def _raw(source: Source, file: str) -> bytes:
    with source.open(file) as stream:
        return stream.read()


def _encoding(raw: bytes, given: str | None) -> str:
    if given:
        return given
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return "utf-8-sig"


def _decode_error(name: str, raw: bytes, exc: UnicodeDecodeError, encoding: str) -> ClsmapError:
    """The error for a file that is not ``encoding`` text; ``raw`` is the whole file (read again only
    now, to find the line: a reader's exception counts from the start of its current chunk)."""
    start = exc.start
    try:
        raw.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeDecodeError as whole:
        start = whole.start
    line = raw[:start].count(b"\n") + 1
    return ClsmapError(
        f"{name}: line {line} is not valid {encoding} text (byte {start}); save the file as "
        "UTF-8 or pass its encoding with --encoding (e.g. latin-1, cp949)"
    )


def _read_csv(source: Source, file: str, name: str, sep: str) -> pd.DataFrame:
    head = _head(source, file, 1 << 16)
    enc = _encoding(head, source.encoding)
    try:
        with source.open(file) as stream:
            frame = pd.read_csv(stream, sep=sep, dtype=str, keep_default_na=False, encoding=enc)
    except UnicodeDecodeError as exc:
        raise _decode_error(name, _raw(source, file), exc, enc) from None
    except LookupError:
        raise ClsmapError(f"{name}: unknown encoding {enc!r}; pass a Python codec name with --encoding") from None
    except pd.errors.EmptyDataError:
        raise ClsmapError(f"{name}: the file is empty; it needs a header row and data rows") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise ClsmapError(f"{name}: not a readable {source.format.upper()} file: {one_line(exc)}") from None
    # pandas renames a repeated column ``x`` to ``x.1``; a repeated name is an error instead
    header = next(csv.reader(io.StringIO(head.decode(enc, errors="replace"), newline=""), delimiter=sep), [])
    repeated = sorted(h for h, count in Counter(header).items() if count > 1)
    if repeated:
        raise ClsmapError(
            f"{name}: the column name(s) {', '.join(map(repr, repeated))} appear more than once in the header; "
            "rename them"
        )
    return frame


def _read_jsonl(source: Source, file: str, name: str) -> pd.DataFrame:
    enc = _encoding(_head(source, file, 4), source.encoding)
    records = []
    try:
        with source.open(file) as stream, io.TextIOWrapper(stream, encoding=enc) as lines:
            for lineno, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ClsmapError(f"{name}: line {lineno} is not valid JSON: {exc.msg}") from None
                if not isinstance(record, dict):
                    raise ClsmapError(
                        f"{name}: line {lineno} is a JSON {type(record).__name__}, not an object "
                        'like {"text": ..., "label": ...}'
                    )
                records.append(record)
    except UnicodeDecodeError as exc:
        raise _decode_error(name, _raw(source, file), exc, enc) from None
    except LookupError:
        raise ClsmapError(f"{name}: unknown encoding {enc!r}; pass a Python codec name with --encoding") from None
    if not records:
        raise ClsmapError(f"{name}: the file is empty; it needs one JSON object per line")
    return pd.DataFrame.from_records(records)


def _read_datasets(source: Source, file: str, name: str) -> pd.DataFrame:
    datasets: Any = require("datasets", extra="datasets", purpose=f"reading the folder {name}")
    try:
        loaded = datasets.load_from_disk(file)
    except FileNotFoundError:
        raise ClsmapError(
            f"{name}: a folder, but not one saved by datasets' save_to_disk; pass a data file"
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        first = next(iter(loaded))
        raise ClsmapError(
            f"{name}: holds the splits {', '.join(loaded)}; pass one split's folder, e.g. {name.rstrip('/')}/{first}"
        )
    return loaded.to_pandas()
