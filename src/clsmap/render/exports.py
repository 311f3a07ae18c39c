"""A store's rows in the files other tools open: Embedding Atlas, TensorBoard's Embedding Projector,
or one flat Parquet file for pandas, DuckDB and Polars.

Every target is written part by part from :meth:`~clsmap.store.Store.iter_batches` (at most 8,192 rows
at a time, gathered into row groups of at most 65,536 rows or 64 MB), so a million rows export in
bounded memory. Each file is written to a temporary name and renamed when complete.

============  ==================================================================================
target        what is written
============  ==================================================================================
``parquet``   one file: ``id``, ``text``, ``label``, ``split``, ``pred``, ``confidence``, ``correct``, ``x``,
              ``y`` (the 2-D map; null without one), ``vector`` (``fixed_size_list<float32, d>``);
              the store's manifest in the file's key-value metadata under ``clsmap``
``atlas``     one file for ``embedding-atlas FILE --text text --x x --y y``: ``id``, ``text``,
              ``label``, ``split``, ``prediction``, ``correctness`` (``correct`` / ``misclassified``),
              ``confidence``, ``x``, ``y``; needs a 2-D map
``projector`` a folder: ``vectors.tsv`` (one row of tab-separated floats per text, each the
              shortest decimal that reads back as the same float32), ``metadata.tsv`` (a header,
              then ``id``, ``text``, ``label``, ``split``, ``pred``, ``correct``, ``confidence``), and
              ``projector_config.pbtxt``. The Projector's TSV has no quoting, so in metadata
              fields a backslash is written ``\\\\``, a tab ``\\t``, a newline ``\\n`` and a carriage
              return ``\\r``; nothing else changes (Korean and every other text stays as it is)
============  ==================================================================================
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

from .._errors import ClsmapError
from .._validation import check_choice
from ..store.files import write_atomic, write_text_atomic
from ..store.reader import Store, open_store
from ..store.schema import META_KEY

__all__ = ["EXPORT_TARGETS", "export", "projector_escape"]

logger = logging.getLogger(__name__)

Target = Literal["parquet", "atlas", "projector"]
EXPORT_TARGETS = ("parquet", "atlas", "projector")
#: rows and bytes of one Parquet row group
ROW_GROUP_ROWS = 65_536
ROW_GROUP_BYTES = 64 << 20
#: above this many rows the Projector in a browser becomes slow (it says so itself); the files are written all the same
PROJECTOR_COMFORT = 100_000
METADATA_COLUMNS = ("id", "text", "label", "split", "pred", "correct", "confidence")


def export(store: Store | str | Path, out: str | Path, *, to: Target = "parquet", column: str | None = None) -> Path:
    """Write the rows of ``store`` for another tool; return the file (``parquet``, ``atlas``) or folder
    (``projector``) written. ``column``: the vector column and its 2-D map (default: the store's default).
    See the module's documentation for what each target holds."""
    check_choice(to, EXPORT_TARGETS, param="to", func="export")
    started = time.perf_counter()
    store = open_store(store)
    column = column or store.default_vector
    if column not in store.vector_columns:
        raise ClsmapError(f"store {store.path} has no vector column {column!r}; it has "
                          f"{', '.join(store.vector_columns)}")
    out = Path(out)
    has_map = store.projection_path(column).exists()
    if to == "atlas" and not has_map:
        raise ClsmapError(f"store {store.path} has no 2-D map of {column!r}, which Embedding Atlas needs; "
                          f"run: clsmap project {store.path}")
    if to == "projector":
        path = _write_projector(store, out, column)
    else:
        if out.is_dir():
            raise ClsmapError(f"{out} is a folder; give a file name such as {out / (to + '.parquet')}")
        batches = store.iter_batches(vectors=to == "parquet", column=column)
        meta = {"manifest": json.loads(store.manifest.file_metadata()), "export": to, "column": column,
                "projection": store.projection_meta(column) if has_map else None}
        path = write_atomic(out, lambda fh: _write_parquet(fh, _atlas(batches) if to == "atlas" else batches, meta))
    logger.info("export %s: %s (%s rows, %.1f MB, %.1f s)", to, path, f"{len(store):,}", _size(path) / 1e6,
                time.perf_counter() - started)
    return path


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size


# --------------------------------------------------------------------------- Parquet (flat and atlas)


def _atlas(batches: Iterator[Any]) -> Iterator[Any]:
    """The flat rows renamed and recoded for Embedding Atlas's legend and search."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for table in batches:
        correct = table.column("correct")
        correctness = pc.if_else(correct, pa.scalar("correct"), pa.scalar("misclassified"))
        yield pa.table({
            "id": table.column("id"), "text": table.column("text"), "label": table.column("label"),
            "split": table.column("split"), "prediction": table.column("pred"), "correctness": correctness,
            "confidence": table.column("confidence"), "x": table.column("x"), "y": table.column("y"),
        })


def _write_parquet(fh: BinaryIO, batches: Iterator[Any], meta: dict[str, Any]) -> None:
    """Row groups of at most :data:`ROW_GROUP_ROWS` rows or :data:`ROW_GROUP_BYTES`, written as they fill."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: Any = None  # a pyarrow.parquet.ParquetWriter, opened with the first batch's schema
    pending: list[Any] = []  # the tables of the next row group
    rows, size = 0, 0

    def flush() -> None:
        nonlocal pending, rows, size
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
        pending, rows, size = [], 0, 0

    try:
        for table in batches:
            if writer is None:
                schema = table.schema.with_metadata({META_KEY: json.dumps(meta, sort_keys=True).encode()})
                writer = pq.ParquetWriter(fh, schema, compression="zstd")
            table = table.cast(writer.schema)
            if rows and (rows + table.num_rows > ROW_GROUP_ROWS or size + table.nbytes > ROW_GROUP_BYTES):
                flush()
            pending.append(table)
            rows += table.num_rows
            size += table.nbytes
        if writer is None:
            raise ClsmapError("the store has no rows to export")
        flush()
    finally:
        if writer is not None:
            writer.close()


# --------------------------------------------------------------------------- TensorBoard Projector


def projector_escape(values: Any) -> Any:
    """A pyarrow string array escaped for the Projector's TSV: ``\\`` -> ``\\\\``, then tab, newline and
    carriage return -> ``\\t``, ``\\n``, ``\\r``; nulls become empty fields."""
    import pyarrow.compute as pc

    values = values.fill_null("")
    for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        values = pc.replace_substring(values, raw, escaped)
    return values


def _tsv_lines(columns: list[Any]) -> bytes:
    """Each row's fields joined by tabs, rows ended by newlines, as UTF-8."""
    import pyarrow.compute as pc

    lines = pc.binary_join_element_wise(*columns, "\t") if len(columns) > 1 else columns[0]
    return ("\n".join(lines.to_pylist()) + "\n").encode("utf-8") if len(lines) else b""


def _vector_lines(vectors: Any) -> bytes:
    """One line of tab-separated floats per row: Arrow's shortest round-trip decimal of each float32."""
    import pyarrow as pa
    import pyarrow.compute as pc

    vectors = vectors.combine_chunks() if isinstance(vectors, pa.ChunkedArray) else vectors
    width = vectors.type.list_size
    text = pc.cast(vectors.flatten(), pa.string())
    offsets = pa.array(range(0, len(text) + 1, width), type=pa.int32())
    return _tsv_lines([pc.binary_join(pa.ListArray.from_arrays(offsets, text), "\t")])


def _metadata_lines(table: Any, *, header: bool) -> bytes:
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = [projector_escape(pc.cast(table.column(name), pa.string())) for name in METADATA_COLUMNS]
    body = _tsv_lines(fields)
    return ("\t".join(METADATA_COLUMNS) + "\n").encode() + body if header else body


def _write_projector(store: Store, folder: Path, column: str) -> Path:
    if folder.exists() and not folder.is_dir():
        raise ClsmapError(f"{folder} is a file; the projector export writes a folder (vectors.tsv, metadata.tsv)")
    if len(store) > PROJECTOR_COMFORT:
        logger.warning("%s rows: TensorBoard's Projector becomes slow past about %s points in a browser; "
                       "the files are written all the same", f"{len(store):,}", f"{PROJECTOR_COMFORT:,}")
    width = [0]

    def vectors(fh: BinaryIO) -> None:
        for table in store.iter_batches(vectors=True, column=column):
            width[0] = table.column("vector").type.list_size
            fh.write(_vector_lines(table.column("vector")))

    def metadata(fh: BinaryIO) -> None:
        for k, table in enumerate(store.iter_batches(column=column)):
            fh.write(_metadata_lines(table, header=k == 0))

    write_atomic(folder / "vectors.tsv", vectors)
    write_atomic(folder / "metadata.tsv", metadata)
    name = f"clsmap {store.meta.get('model', {}).get('name_or_path') or ''} {column}".replace("  ", " ")
    config = (f'embeddings {{\n  tensor_name: {_pbtxt_string(name)}\n  tensor_path: "vectors.tsv"\n'
              f'  metadata_path: "metadata.tsv"\n  tensor_shape: {len(store)}\n  tensor_shape: {width[0]}\n}}\n')
    write_text_atomic(folder / "projector_config.pbtxt", config)
    return folder


def _pbtxt_string(value: str) -> str:
    """A protobuf text-format string literal (double quotes; backslash, quote and control characters escaped)."""
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c >= " " else f"\\{ord(c):03o}" for c in out) + '"'
