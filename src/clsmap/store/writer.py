"""Writing a store part by part, resuming a compatible earlier run."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from .._errors import ClsmapError
from .files import write_json_atomic, write_parquet_atomic, writing_error
from .lock import acquire_lock, now, release_lock
from .reader import read_manifest
from .layout import MANIFEST, NEIGHBOURS, PROJECTIONS, VECTORS, neighbours_file, part_name, projection_file
from .schema import RESUME_KEYS, Manifest, neighbour_table, projection_table

__all__ = ["StoreWriter", "write_projection", "write_neighbours"]

logger = logging.getLogger(__name__)


class StoreWriter:
    """Writes the parts of a store, resuming a compatible earlier run.

    ``manifest`` describes the run (a :class:`~clsmap.store.schema.Manifest`, or its dict form); if
    ``folder`` already holds a store whose :data:`~clsmap.store.schema.RESUME_KEYS` differ,
    :class:`ClsmapError` is raised unless ``overwrite``. The writer holds the folder's lock
    (:func:`~clsmap.store.lock.acquire_lock`) until :meth:`finish` or :meth:`close`.
    """

    def __init__(self, folder: str | Path, manifest: Manifest | dict[str, Any], *, overwrite: bool = False) -> None:
        self.folder = Path(folder)
        if isinstance(manifest, dict):
            manifest = Manifest.from_dict(manifest)
        self.manifest = manifest
        if self.folder.exists() and not self.folder.is_dir():
            raise ClsmapError(f"output {self.folder} is a file; pass a folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise writing_error(self.folder, exc) from None
        acquire_lock(self.folder)
        try:
            self._open(overwrite)
        except BaseException:
            release_lock(self.folder)
            raise

    def _open(self, overwrite: bool) -> None:
        if overwrite:
            for name in (VECTORS, PROJECTIONS, NEIGHBOURS):
                shutil.rmtree(self.folder / name, ignore_errors=True)
            (self.folder / MANIFEST).unlink(missing_ok=True)
        existing = read_manifest(self.folder)
        if existing is not None:
            old, new = existing.resume_key(), self.manifest.resume_key()
            differing = [k for k in RESUME_KEYS if old.get(k) != new.get(k)]
            if differing:
                detail = "; ".join(_describe_difference(k, old.get(k), new.get(k)) for k in differing)
                raise ClsmapError(
                    f"{self.folder} holds a store made with other settings ({detail}); "
                    "pass --overwrite to replace it, or choose another output folder"
                )
        try:
            (self.folder / VECTORS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise writing_error(self.folder / VECTORS, exc) from None
        for stray in (self.folder / VECTORS).glob("*.tmp"):
            stray.unlink()
        self.manifest.created = existing.created if existing and existing.created else now()
        self.manifest.complete = False
        self._write_manifest()

    def _write_manifest(self) -> None:
        write_json_atomic(self.folder / MANIFEST, self.manifest.to_dict(), indent=2, sort_keys=True)

    @property
    def part_rows(self) -> int:
        return self.manifest.part_rows

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
        return self.manifest.expected_rows(index)

    def write_part(self, index: int, table: Any) -> None:
        if table.num_rows != self.expected_rows(index):
            raise AssertionError(f"part {index}: {table.num_rows} rows, expected {self.expected_rows(index)}")
        write_parquet_atomic(table, self.folder / VECTORS / part_name(index), metadata=self.manifest.file_metadata())

    def finish(self) -> None:
        self.manifest.complete = True
        self.manifest.finished = now()
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


def write_projection(folder: str | Path, column: str, ids: Any, xy: Any, *, metadata: dict[str, Any]) -> Path:
    """Save the 2-D map ``xy`` (n, 2) of the vector column ``column`` as ``projections/<column>.parquet``."""
    path = Path(folder) / projection_file(column)
    return write_parquet_atomic(projection_table(ids, xy), path, metadata=metadata)


def write_neighbours(folder: str | Path, column: str, ids: Any, indices: Any, similarity: Any, *,
                     metadata: dict[str, Any]) -> Path:
    """Save the k-NN graph of the vector column ``column`` (``indices`` and ``similarity``, both (n, k),
    nearest first) as ``neighbours/<column>.parquet``."""
    path = Path(folder) / neighbours_file(column)
    return write_parquet_atomic(neighbour_table(ids, indices, similarity), path, metadata=metadata)
