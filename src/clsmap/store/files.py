"""Writing files so that they exist whole or not at all, and one clear error when the disk refuses.

Every file clsmap writes (store parts, the manifest, projections, analysis and region files, maps,
reports) goes through :func:`write_atomic`: a temporary file beside the target, flushed and fsynced,
then renamed over it. An interrupted write leaves the old file (or none), never half of one.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from .._errors import ClsmapError
from .schema import META_KEY

logger = logging.getLogger(__name__)

__all__ = ["write_atomic", "write_text_atomic", "write_json_atomic", "write_parquet_atomic", "writing_error",
           "read_file_meta"]


def writing_error(path: Path, exc: OSError) -> ClsmapError:
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


def write_atomic(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path``, fsync it and rename it to ``path``.

    A refused write (full disk, read-only folder, no permission) raises :class:`ClsmapError` naming
    ``path``; the temporary file is removed and whatever ``path`` held before is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise writing_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    payload = text.encode("utf-8")
    return write_atomic(path, lambda fh: fh.write(payload))


def write_json_atomic(path: str | Path, obj: Any, *, indent: int | None = 1, sort_keys: bool = False) -> Path:
    return write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=sort_keys))


def write_parquet_atomic(table: Any, path: str | Path, *, metadata: bytes | dict[str, Any]) -> Path:
    """Write a pyarrow table as zstd Parquet with clsmap's metadata under :data:`~.schema.META_KEY`."""
    import pyarrow.parquet as pq

    if isinstance(metadata, dict):
        metadata = json.dumps(metadata, sort_keys=True).encode()
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[META_KEY] = metadata
    table = table.replace_schema_metadata(schema_meta)
    return write_atomic(path, lambda fh: pq.write_table(table, fh, compression="zstd"))


def read_json_object(path: Path, *, without: str) -> dict[str, Any] | None:
    """The JSON object in ``path``; ``None`` when there is no such file, or (with a warning naming the
    file, the reason and ``without``: what is made without it) when it cannot be read or is not an object."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        logger.warning("%s is unreadable (%s); %s", path, exc, without)
        return None
    if not isinstance(data, dict):
        logger.warning("%s is not a JSON object; %s", path, without)
        return None
    return data


def read_file_meta(path: str | Path) -> dict[str, Any]:
    """The clsmap metadata in a Parquet file's key-value metadata."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    if META_KEY not in meta:
        raise ClsmapError(f"{path}: a Parquet file without clsmap metadata")
    return json.loads(meta[META_KEY])
