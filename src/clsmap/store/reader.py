"""Opening a store: the manifest, a DataFrame of the rows, their vectors and their 2-D maps.

Where each file lives is :mod:`clsmap.store.layout`'s. Each part file is written to a temporary name
and renamed when complete, so a part either exists whole or not at all: an interrupted extraction
resumes at the first missing part and no row is lost or duplicated. Every Parquet file carries the
manifest in its key-value metadata, so a file moved out of its folder still says what made it. The
columns are those of :mod:`clsmap.store.schema`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from .files import read_file_meta
from .layout import MANIFEST, SCHEMA_VERSION, VECTORS, neighbours_file, projection_file
from .schema import SCALAR_COLUMNS, SNAPSHOT_COLUMNS, Manifest, vectors_to_numpy
from .vectors import Vectors, as_vectors

__all__ = ["FLAT_COLUMNS", "Store", "open_store", "read_manifest"]

#: rows per batch of :meth:`Store.iter_vectors`
READ_ROWS = 8192

#: the columns of :meth:`Store.to_arrow`, :meth:`Store.to_pandas` and :meth:`Store.iter_batches`, in order
#: (then ``vector`` when the vectors are asked for)
FLAT_COLUMNS = ("id", "text", "label", "split", "pred", "confidence", "correct", "x", "y")


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of the store in ``folder``, or ``None`` when there is none."""
    record = _read_record(Path(folder))
    return None if record is None else Manifest.from_dict(record)


def _read_record(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClsmapError(f"{path}: damaged store manifest ({exc}); re-run with --overwrite") from None
    if not isinstance(record, dict):
        raise ClsmapError(f"{path}: not a clsmap store manifest (not a JSON object)")
    _check_version(record, path)
    try:
        Manifest.from_dict(record)
    except ClsmapError as exc:
        raise ClsmapError(f"{path}: {exc}") from None
    return record


def _check_version(record: dict[str, Any], where: Path) -> None:
    version = str(record.get("schema_version", ""))
    major = version.split(".")[0]
    if not major.isdigit():
        raise ClsmapError(f"{where}: not a clsmap store manifest (no schema_version)")
    if int(major) > int(SCHEMA_VERSION.split(".")[0]):
        raise ClsmapError(
            f"{where}: store schema {version} is newer than this clsmap understands ({SCHEMA_VERSION}); "
            "upgrade clsmap"
        )


@dataclass
class Store:
    """An opened store: metadata, a DataFrame of the rows, and their vectors.

    ``meta`` is the manifest as a dict (``manifest`` the same as a
    :class:`~clsmap.store.schema.Manifest`). ``frame`` holds every column but the vectors, in input
    order (in a dynamics store, snapshot after snapshot, with the snapshot columns). ``vectors`` is
    the default vector column (the last layer, or the only one) as a float32 array of shape (n, d);
    :meth:`vectors_of` reads another column. ``projection`` is the 2-D map of
    the default column (a DataFrame with ``x`` and ``y`` aligned with ``frame``), or ``None``. The
    frame and the vectors are read from disk when first used, so opening a large store costs nothing.
    """

    path: Path
    meta: dict[str, Any]

    @property
    def manifest(self) -> Manifest:
        return Manifest.from_dict(self.meta)

    @property
    def frame(self) -> pd.DataFrame:
        if "_frame" not in self.__dict__:
            self.__dict__["_frame"] = _read_frame(self.path)
        return self.__dict__["_frame"]

    def __len__(self) -> int:
        if "_frame" not in self.__dict__ and self.meta.get("complete"):
            return int(self.meta["n_rows"])
        return len(self.frame)

    def __repr__(self) -> str:
        return f"<clsmap Store {str(self.path)!r}: {len(self)} rows, vectors {self.vector_columns}>"

    def _repr_html_(self) -> str:
        """Jupyter shows a store as a short summary; ``clsmap.show(store)`` draws its interactive map."""
        model = (self.meta.get("model") or {}).get("name_or_path")
        rows = [("rows", f"{len(self):,}"), ("model", model), ("classes", len(self.classes or []) or None),
                ("accuracy", None if self.accuracy is None else f"{self.accuracy:.1%}"),
                ("vectors", ", ".join(self.vector_columns)),
                ("2-D maps", ", ".join(self.projected_columns()) or "none yet (clsmap.project(store))")]
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in rows if v is not None)
        return (f"<div><b>clsmap store</b> <code>{html.escape(str(self.path))}</code><table>{body}</table>"
                "<small>clsmap.show(store) draws the interactive map</small></div>")

    @property
    def dynamics(self) -> dict[str, Any] | None:
        """What a dynamics store records about its training run and snapshots; ``None`` elsewhere."""
        return self.meta.get("dynamics")

    @property
    def vector_columns(self) -> list[str]:
        return list(self.meta["vector_columns"])

    @property
    def default_vector(self) -> str:
        return str(self.meta["default_vector"])

    @property
    def classes(self) -> list[str] | None:
        return self.meta.get("classes")

    @property
    def has_labels(self) -> bool:
        return bool(self.frame["label"].notna().any())

    @property
    def splits(self) -> list[str]:
        """The names of the splits the rows belong to (``train`` first, then in order of first
        appearance); empty when the store has none (see :func:`clsmap.read_dataset`)."""
        names = [str(s) for s in pd.unique(self.frame["split"].dropna())]
        return sorted(names, key=lambda s: s != "train")

    @property
    def has_predictions(self) -> bool:
        return bool(self.frame["pred"].notna().any())

    @property
    def accuracy(self) -> float | None:
        correct = self.frame["correct"].dropna()
        return float(correct.astype(bool).mean()) if len(correct) else None

    @property
    def vectors(self) -> np.ndarray:
        return self.vectors_of(self.default_vector)

    def vectors_of(self, column: str) -> np.ndarray:
        """The vectors of ``column`` as a float32 array (n, d), in input order (read part by part into
        one array: the store's vectors are held once, not once more as Arrow tables)."""
        cache = self.__dict__.setdefault("_vector_cache", {})
        if column not in cache:
            cache[column] = self.vector_parts(column).array()
        return cache[column]

    def _vector_column(self, column: str | None) -> str:
        """``column``, or the default vector column for ``None``; an error names the store's columns."""
        column = column or self.default_vector
        if column not in self.vector_columns:
            raise ClsmapError(
                f"store {self.path} has no vector column {column!r}; it has {', '.join(self.vector_columns)}"
            )
        return column

    def iter_vectors(self, column: str | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The vectors of ``column`` (default: :attr:`default_vector`) in batches of at most
        :data:`READ_ROWS` rows, in the order of the parts: ``(positions, vectors)``, the rows' positions in
        :attr:`frame` (int64) and their float32 (r, d) vectors. Memory: one batch, whatever the size of
        the store or of its parts (a pass over 1M 384-d rows in 65,536-row parts: 170 MB at most, against
        570 MB a part at a time, and 5 s against 9); Arrow's pool gives back what it held after each part."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        column = self._vector_column(column)
        order = self.frame["row"].to_numpy()
        for path in part_files(self.path):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=READ_ROWS, columns=["row", column]):
                yield np.searchsorted(order, batch.column("row").to_numpy()), vectors_to_numpy(batch.column(column))
            pa.default_memory_pool().release_unused()

    def vector_parts(self, column: str | None = None) -> Vectors:
        """The vectors of ``column`` (default: :attr:`default_vector`) as :class:`~clsmap.store.vectors.Vectors`:
        read part by part whenever asked (:meth:`iter_vectors`), never held whole (or the array of
        :meth:`vectors_of` when it was read already)."""
        import pyarrow.parquet as pq

        column = self._vector_column(column)
        cached = self.__dict__.get("_vector_cache", {}).get(column)
        if cached is not None:
            return as_vectors(cached)
        files = part_files(self.path)
        dim = pq.read_schema(files[0]).field(column).type.list_size if files else 0
        return Vectors(len(self.frame), dim, lambda: self.iter_vectors(column))

    def projection_path(self, column: str | None = None) -> Path:
        return self.path / projection_file(column or self.default_vector)

    def projected_columns(self) -> list[str]:
        """The vector columns that have a 2-D map."""
        return [c for c in self.vector_columns if self.projection_path(c).exists()]

    def projection_of(self, column: str | None = None) -> pd.DataFrame | None:
        """The stored 2-D map of ``column`` (default column if ``None``), aligned with ``frame``."""
        import pyarrow.parquet as pq

        path = self.projection_path(column)
        if not path.exists():
            return None
        proj = pq.read_table(path).to_pandas()
        if len(proj) != len(self.frame) or not np.array_equal(proj["id"].to_numpy(), self.frame["id"].to_numpy()):
            raise ClsmapError(f"{path} does not match the store's rows; run clsmap project again")
        return proj

    @property
    def projection(self) -> pd.DataFrame | None:
        return self.projection_of(None)

    def projection_meta(self, column: str | None = None) -> dict[str, Any] | None:
        path = self.projection_path(column)
        return read_file_meta(path) if path.exists() else None

    def neighbours_of(self, column: str | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """The stored k-NN graph of ``column`` (default column if ``None``; written by ``clsmap analyze``):
        ``(indices, similarity)``, (n, k) int32 row positions and float32 cosine similarities, nearest
        first, aligned with ``frame``; ``None`` when there is none."""
        import pyarrow.parquet as pq

        path = self.path / neighbours_file(column or self.default_vector)
        if not path.exists():
            return None
        table = pq.read_table(path)
        n = len(self.frame)
        ids = table.column("id").to_numpy(zero_copy_only=False)
        if len(ids) != n or not np.array_equal(ids, self.frame["id"].to_numpy()):
            raise ClsmapError(f"{path} does not match the store's rows; run clsmap analyze again")
        lists = table.column("neighbours").combine_chunks()
        indices = lists.flatten().to_numpy(zero_copy_only=False).astype(np.int32).reshape(n, lists.type.list_size)
        similarity = vectors_to_numpy(table.column("similarity"))
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise ClsmapError(f"{path} names rows outside the store; run clsmap analyze again")
        return indices, similarity

    # ------------------------------------------------------------------ the rows, for other tools

    def iter_batches(self, *, vectors: bool = False, column: str | None = None) -> Iterator[Any]:
        """The rows as pyarrow tables, one per part of the store (at most 8,192 rows), in input order.

        Columns: :data:`FLAT_COLUMNS` (``x`` and ``y`` from the 2-D map of ``column``, the default
        vector column when ``None``; null where the store has no map of it), then with ``vectors``
        the vectors of ``column`` as ``vector`` (``fixed_size_list<float32, d>``). One part is read
        at a time, so memory stays bounded by a part whatever the size of the store.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        column = self._vector_column(column)
        proj_path = self.projection_path(column)
        proj = _read_columns(proj_path, ["id", "x", "y"]) if proj_path.exists() else None
        import pyarrow.parquet as pq

        parts = part_files(self.path)
        # a store of schema 1.0 has no split column (every part of a store has the same columns)
        present = set(pq.read_schema(parts[0]).names) if parts else set()
        wanted = [c for c in ["row", *FLAT_COLUMNS[:7]] + ([column] if vectors else []) if c in present]
        for part in parts:
            table = _read_columns(part, wanted)
            rows = table.column("row").to_numpy()
            if len(rows) and np.any(np.diff(rows) < 0):
                table = table.take(pa.array(np.argsort(rows, kind="stable")))
                rows = table.column("row").to_numpy()
            if proj is None:
                x = y = pa.nulls(table.num_rows, type=pa.float32())
            else:
                if len(rows) and (rows.min() < 0 or rows.max() >= proj.num_rows):
                    raise ClsmapError(f"{proj_path} does not match the store's rows; run clsmap project again")
                at = pa.array(rows)
                same = pc.all(pc.equal(proj.column("id").take(at), table.column("id"))).as_py()
                if table.num_rows and not same:
                    raise ClsmapError(f"{proj_path} does not match the store's rows; run clsmap project again")
                x, y = proj.column("x").take(at), proj.column("y").take(at)
            arrays = [table.column(name) if name in table.column_names else pa.nulls(table.num_rows, type=pa.string())
                      for name in FLAT_COLUMNS[:7]] + [x, y]
            names = list(FLAT_COLUMNS)
            if vectors:
                arrays.append(table.column(column))
                names.append("vector")
            yield pa.table(arrays, names=names)

    def to_arrow(self, *, vectors: bool = False, column: str | None = None) -> Any:
        """All rows as one pyarrow Table; the columns of :meth:`iter_batches`."""
        import pyarrow as pa

        tables = list(self.iter_batches(vectors=vectors, column=column))
        if tables:
            return pa.concat_tables(tables)
        types = [pa.string()] * 5 + [pa.float32(), pa.bool_(), pa.float32(), pa.float32()]
        names = list(FLAT_COLUMNS) + (["vector"] if vectors else [])
        return pa.table([pa.array([], type=t) for t in types + [pa.list_(pa.float32())] * vectors], names=names)

    def to_pandas(self, *, vectors: bool = False, column: str | None = None) -> pd.DataFrame:
        """All rows as a DataFrame: ``id``, ``text``, ``label``, ``pred``, ``confidence``, ``correct``, and
        ``x``, ``y`` of the 2-D map of ``column`` (NaN without one); with ``vectors``, a ``vector`` column
        holding each row's vector as a float32 array."""
        return self.to_arrow(vectors=vectors, column=column).to_pandas()


def _read_columns(path: Path, columns: list[str]) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns)


def part_files(folder: Path) -> list[Path]:
    return sorted((folder / VECTORS).glob("part-*.parquet"))


def _read_parts(folder: Path, *, columns: list[str] | None = None) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(p, columns=columns) for p in part_files(folder)]
    return pa.concat_tables(tables) if tables else None


def open_store(path: str | Path | Store, *, allow_partial: bool = False) -> Store:
    """Open a store folder written by :func:`clsmap.extract`.

    Raises :class:`ClsmapError` for a folder that is not a store, a store from a newer clsmap,
    or an incomplete store (unless ``allow_partial``, which returns the rows written so far).
    """
    if isinstance(path, Store):
        return path
    folder = Path(path)
    record = _read_record(folder) if folder.is_dir() else None
    if record is None:
        raise ClsmapError(f"{folder}: not a clsmap store (no {MANIFEST}); make one with clsmap extract")
    manifest = Manifest.from_dict(record)
    if not manifest.complete and not allow_partial:
        raise ClsmapError(
            f"{folder}: the extraction is incomplete ({len(part_files(folder))} of {manifest.n_parts} parts); "
            "run the same extract command again to resume it"
        )
    return Store(path=folder, meta=record)


def _read_frame(folder: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    scalar_columns = list(SCALAR_COLUMNS)
    parts = part_files(folder)
    # a store of schema 1.0 has no split column: its rows belong to no split; a dynamics store has the
    # snapshot columns too
    present = set(pq.read_schema(parts[0]).names) if parts else set(scalar_columns)
    scalar_columns += [c for c in SNAPSHOT_COLUMNS if c in present]
    table = _read_parts(folder, columns=[c for c in scalar_columns if c in present])
    frame = pd.DataFrame(columns=scalar_columns) if table is None else table.to_pandas()
    for missing in (c for c in scalar_columns if c not in frame.columns):
        frame.insert(scalar_columns.index(missing), missing, pd.Series([None] * len(frame), dtype=object))
    if len(frame) and not frame["row"].is_monotonic_increasing:
        frame = frame.sort_values("row", kind="stable")
    return frame.reset_index(drop=True)
