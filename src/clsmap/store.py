"""Stage 3, the store: a folder of Parquet files that any Parquet reader opens.

Layout of a store folder::

    OUT/
      clsmap.json                    manifest: schema version, producer, model, extraction
                                     settings, dataset fingerprint, progress
      vectors/part-000000.parquet    rows [0, part_rows) in input order
      vectors/part-000001.parquet    rows [part_rows, 2 * part_rows) ...
      projections/<column>.parquet   2-D map of one vector column: id, x, y (+ parameters)

Each part file is written to a temporary name and renamed when complete, so a part either
exists whole or not at all: an interrupted extraction resumes at the first missing part and
no row is lost or duplicated. Every Parquet file carries the manifest in its key-value
metadata under ``b"clsmap"``, so a file moved out of its folder still says what made it.

Columns of ``vectors/``: ``row`` (int64, input position), ``id`` (string), ``text`` (string),
``label`` (string, null without labels), ``pred`` (string), ``pred_id`` (int32),
``confidence`` (float32, top softmax probability), ``correct`` (bool, null where there is no
label or no prediction), ``prob`` and ``logits`` (list<float32>, one entry per class; null for
an encoder without a classification head), and the vectors: ``vector`` (fixed_size_list<float32>)
for one layer or module, or ``layer_0`` ... ``layer_L`` for ``layer="all"``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import ClsmapError

__all__ = ["SCHEMA_VERSION", "Store", "StoreWriter", "open_store"]

logger = logging.getLogger(__name__)

#: Version of the store layout; readers refuse a store with a newer major version.
SCHEMA_VERSION = "1.0"
MANIFEST = "clsmap.json"
VECTORS = "vectors"
PROJECTIONS = "projections"
_META_KEY = b"clsmap"
#: held (flock) by the one process writing a store; says who that is
LOCK = ".clsmap.lock"

#: Manifest keys that must match for a re-run to resume an existing store.
RESUME_KEYS = ("model", "extraction", "dataset", "part_rows", "n_rows")


def _part_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


def _write_atomic_bytes(path: Path, payload: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_table_atomic(table: Any, path: Path, *, metadata: dict[str, Any]) -> None:
    """Write a pyarrow table to ``path`` through a temporary file, with clsmap metadata."""
    import pyarrow.parquet as pq

    schema_meta = dict(table.schema.metadata or {})
    schema_meta[_META_KEY] = json.dumps(metadata, sort_keys=True).encode()
    table = table.replace_schema_metadata(schema_meta)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClsmapError(f"{path}: damaged store manifest ({exc}); re-run with --overwrite") from None
    _check_version(manifest, path)
    return manifest


def _check_version(manifest: dict[str, Any], where: Path) -> None:
    version = str(manifest.get("schema_version", ""))
    major = version.split(".")[0]
    if not major.isdigit():
        raise ClsmapError(f"{where}: not a clsmap store manifest (no schema_version)")
    if int(major) > int(SCHEMA_VERSION.split(".")[0]):
        raise ClsmapError(
            f"{where}: store schema {version} is newer than this clsmap understands ({SCHEMA_VERSION}); "
            "upgrade clsmap"
        )


#: lock files this process holds, by resolved folder
_HELD: dict[str, Any] = {}


def _writing_error(path: Path, exc: OSError) -> ClsmapError:
    """The one-line error for a write that the file system refused."""
    reason = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return ClsmapError(
        f"cannot write {path}: {reason}. What was written before is kept and readable; free space or "
        "choose a writable output folder, then run the same command again to resume"
    )


def acquire_lock(folder: Path) -> Any:
    """Take the store's write lock (``flock`` on ``folder/.clsmap.lock``), or fail naming the holder.

    The lock dies with its process, so a run killed with SIGKILL never leaves a stale lock. A
    later writer in the same process takes over this process's lock on the folder.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    key = str(folder.resolve())
    earlier = _HELD.pop(key, None)
    if earlier is not None:
        earlier.close()
    path = folder / LOCK
    try:
        fh = open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise _writing_error(path, exc) from None
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip() or "a process that did not say who it is"
        fh.close()
        try:
            info = json.loads(holder)
            holder = (f"pid {info.get('pid')} on {info.get('host')}, since {info.get('since')}: "
                      f"{info.get('command')}")
        except (ValueError, AttributeError):
            pass
        raise ClsmapError(
            f"{folder} is being written by another clsmap run ({holder}); wait for it to finish or stop it, "
            "or write to another folder"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": _now(),
                         "command": " ".join(sys.argv)[:500]}))
    fh.flush()
    _HELD[key] = fh
    return fh


def release_lock(folder: Path) -> None:
    fh = _HELD.pop(str(folder.resolve()), None)
    if fh is not None:
        fh.seek(0)
        fh.truncate()
        fh.close()


class StoreWriter:
    """Writes the parts of a store, resuming a compatible earlier run.

    ``manifest`` describes the run; if ``folder`` already holds a store whose
    :data:`RESUME_KEYS` differ, :class:`ClsmapError` is raised unless ``overwrite``. The writer
    holds the folder's lock (:func:`acquire_lock`) until :meth:`finish` or :meth:`close`.
    """

    def __init__(self, folder: str | Path, manifest: dict[str, Any], *, overwrite: bool = False) -> None:
        self.folder = Path(folder)
        self.manifest = dict(manifest)
        self.manifest["schema_version"] = SCHEMA_VERSION
        if self.folder.exists() and not self.folder.is_dir():
            raise ClsmapError(f"output {self.folder} is a file; pass a folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _writing_error(self.folder, exc) from None
        acquire_lock(self.folder)
        try:
            self._open(overwrite)
        except BaseException:
            release_lock(self.folder)
            raise

    def _open(self, overwrite: bool) -> None:
        if overwrite:
            self._clear()
        existing = _read_manifest(self.folder) if self.folder.exists() else None
        if existing is not None:
            differing = [k for k in RESUME_KEYS if existing.get(k) != self.manifest.get(k)]
            if differing:
                detail = "; ".join(_describe_difference(k, existing.get(k), self.manifest.get(k)) for k in differing)
                raise ClsmapError(
                    f"{self.folder} holds a store made with other settings ({detail}); "
                    "pass --overwrite to replace it, or choose another output folder"
                )
        try:
            (self.folder / VECTORS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _writing_error(self.folder / VECTORS, exc) from None
        for stray in (self.folder / VECTORS).glob("*.tmp"):
            stray.unlink()
        self.manifest["created"] = existing.get("created", _now()) if existing else _now()
        self.manifest["complete"] = False
        self._write_manifest()

    def _clear(self) -> None:
        for name in (VECTORS, PROJECTIONS):
            shutil.rmtree(self.folder / name, ignore_errors=True)
        (self.folder / MANIFEST).unlink(missing_ok=True)

    def _write_manifest(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(self.manifest, indent=2, sort_keys=True).encode()
        try:
            _write_atomic_bytes(self.folder / MANIFEST, payload)
        except OSError as exc:
            raise _writing_error(self.folder / MANIFEST, exc) from None

    @property
    def part_rows(self) -> int:
        return int(self.manifest["part_rows"])

    def done_parts(self) -> set[int]:
        """Indices of the parts already written completely."""
        import pyarrow.parquet as pq

        done = set()
        for path in sorted((self.folder / VECTORS).glob("part-*.parquet")):
            index = int(path.stem.split("-")[1])
            try:
                rows = pq.read_metadata(path).num_rows
            except Exception:  # a damaged part (written by hand, or disk trouble) is redone
                logger.warning("%s is damaged; it will be extracted again", path)
                path.unlink()
                continue
            if rows == self.expected_rows(index):
                done.add(index)
        return done

    def expected_rows(self, index: int) -> int:
        n = int(self.manifest["n_rows"])
        return max(0, min(self.part_rows, n - index * self.part_rows))

    def write_part(self, index: int, table: Any) -> None:
        if table.num_rows != self.expected_rows(index):
            raise AssertionError(f"part {index}: {table.num_rows} rows, expected {self.expected_rows(index)}")
        path = self.folder / VECTORS / _part_name(index)
        try:
            write_table_atomic(table, path, metadata=self._file_meta())
        except OSError as exc:
            path.with_name(path.name + ".tmp").unlink(missing_ok=True)
            raise _writing_error(path, exc) from None

    def _file_meta(self) -> dict[str, Any]:
        return {k: v for k, v in self.manifest.items() if k != "complete"}

    def finish(self) -> None:
        self.manifest["complete"] = True
        self.manifest["finished"] = _now()
        try:
            self._write_manifest()
        finally:
            self.close()

    def close(self) -> None:
        """Release the folder's lock (also done by :meth:`finish`)."""
        release_lock(self.folder)


def _describe_difference(key: str, old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        return ", ".join(f"{key}.{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys[:3])
    return f"{key}: {old!r} -> {new!r}"


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Store:
    """An opened store: metadata, a DataFrame of the rows, and their vectors.

    ``frame`` holds every column but the vectors, in input order. ``vectors`` is the default
    vector column (the last layer, or the only one) as a float32 array of shape (n, d);
    :meth:`vectors_of` reads another column. ``projection`` is the 2-D map of the default
    column (a DataFrame with ``x`` and ``y`` aligned with ``frame``), or ``None``. The frame and
    the vectors are read from disk when first used, so opening a large store costs nothing.
    """

    path: Path
    meta: dict[str, Any]

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
        """Jupyter shows an opened store as its interactive map (or a one-line summary without a projection)."""
        from .viewer import store_html

        return store_html(self)

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
        """The vectors of ``column`` as a float32 array (n, d), in input order."""
        if column not in self.vector_columns:
            raise ClsmapError(
                f"store {self.path} has no vector column {column!r}; it has {', '.join(self.vector_columns)}"
            )
        cache = self.__dict__.setdefault("_vector_cache", {})
        if column not in cache:
            table = _read_parts(self.path, columns=["row", column])
            vectors = _fixed_list_to_numpy(table.column(column))
            rows = table.column("row").to_numpy()
            if len(rows) and np.any(np.diff(rows) < 0):
                vectors = vectors[np.argsort(rows, kind="stable")]
            cache[column] = vectors
        return cache[column]

    def projection_of(self, column: str | None = None) -> pd.DataFrame | None:
        """The stored 2-D map of ``column`` (default column if ``None``), aligned with ``frame``."""
        import pyarrow.parquet as pq

        column = column or self.default_vector
        path = self.path / PROJECTIONS / f"{column}.parquet"
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
        path = self.path / PROJECTIONS / f"{column or self.default_vector}.parquet"
        return read_file_meta(path) if path.exists() else None


def read_file_meta(path: Path) -> dict[str, Any]:
    """The clsmap metadata in a Parquet file's key-value metadata."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    if _META_KEY not in meta:
        raise ClsmapError(f"{path}: a Parquet file without clsmap metadata")
    return json.loads(meta[_META_KEY])


def _part_files(folder: Path) -> list[Path]:
    return sorted((folder / VECTORS).glob("part-*.parquet"))


def _read_parts(folder: Path, *, columns: list[str] | None = None) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(p, columns=columns) for p in _part_files(folder)]
    return pa.concat_tables(tables) if tables else None


def _fixed_list_to_numpy(column: Any) -> np.ndarray:
    import pyarrow as pa

    chunked = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = chunked.type.list_size
    return chunked.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, width)


def open_store(path: str | Path, *, allow_partial: bool = False) -> Store:
    """Open a store folder written by :func:`clsmap.extract`.

    Raises :class:`ClsmapError` for a folder that is not a store, a store from a newer clsmap,
    or an incomplete store (unless ``allow_partial``, which returns the rows written so far).
    """
    if isinstance(path, Store):
        return path
    folder = Path(path)
    manifest = _read_manifest(folder) if folder.is_dir() else None
    if manifest is None:
        raise ClsmapError(f"{folder}: not a clsmap store (no {MANIFEST}); make one with clsmap extract")
    if not manifest.get("complete") and not allow_partial:
        done = len(_part_files(folder))
        total = -(-int(manifest["n_rows"]) // int(manifest["part_rows"]))
        raise ClsmapError(
            f"{folder}: the extraction is incomplete ({done} of {total} parts); run the same "
            "extract command again to resume it"
        )
    return Store(path=folder, meta=manifest)


def _read_frame(folder: Path) -> pd.DataFrame:
    scalar_columns = list(_SCALAR_COLUMNS)
    table = _read_parts(folder, columns=scalar_columns)
    if table is None:
        frame = pd.DataFrame(columns=scalar_columns)
    else:
        frame = table.to_pandas()
    if len(frame) and not frame["row"].is_monotonic_increasing:
        frame = frame.sort_values("row", kind="stable")
    return frame.reset_index(drop=True)


_SCALAR_COLUMNS = ("row", "id", "text", "label", "pred", "pred_id", "confidence", "correct", "prob", "logits")
