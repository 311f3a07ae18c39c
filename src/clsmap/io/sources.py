"""Where the texts come from: a file, a folder of files, a ``datasets`` folder, or a URI.

:func:`open_source` finds the format and the data files (through a ``pyarrow`` file system, so that
``s3://``, ``gs://`` and ``hdfs://`` URIs work where pyarrow does); :meth:`Source.fingerprint` hashes
the content. The local and the Ray backend both start here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from .._errors import ClsmapError
from .._validation import check_choice

__all__ = ["FORMATS", "Format", "SUFFIXES", "Source", "open_source"]

Format = Literal["auto", "csv", "tsv", "jsonl", "parquet", "datasets"]
FORMATS = ("auto", "csv", "tsv", "jsonl", "parquet", "datasets")
SUFFIXES = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet",
}


@dataclass(frozen=True)
class Source:
    """A readable input: its name as given, its format, and its data files in reading order.

    ``files`` are paths in ``filesystem`` (a ``pyarrow.fs.FileSystem``); a single file is a source
    of one file. A ``datasets`` folder is one "file": the folder. ``encoding`` applies to CSV, TSV and
    JSONL files.
    """

    name: str
    format: str
    files: tuple[str, ...]
    root: str
    filesystem: Any
    encoding: str | None = None

    @property
    def is_folder(self) -> bool:
        return self.format != "datasets" and (len(self.files) != 1 or self.files[0] != self.root)

    def display(self, file: str) -> str:
        """How errors name ``file``: the name the user gave, plus the file's place in a folder."""
        if file == self.root:
            return self.name
        return f"{self.name.rstrip('/')}/{PurePosixPath(file).relative_to(self.root)}"

    def open(self, file: str) -> Any:
        """A binary stream of ``file``."""
        return self.filesystem.open_input_stream(file)

    def fingerprint(self) -> str:
        """sha256 of the content (with the relative names of the files of a folder)."""
        digest = hashlib.sha256()
        for file in self._hashed_files():
            if file != self.root:
                digest.update(str(PurePosixPath(file).relative_to(self.root)).encode())
            with self.open(file) as stream:
                for block in iter(partial(stream.read, 1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()

    def _hashed_files(self) -> list[str]:
        if self.format != "datasets":
            return list(self.files)
        import pyarrow.fs as pafs

        found = self.filesystem.get_file_info(pafs.FileSelector(self.root, recursive=True))
        return sorted(f.path for f in found if f.type == pafs.FileType.File)


def _filesystem(source: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    if "://" in source:
        try:
            return pafs.FileSystem.from_uri(source)
        except Exception as exc:  # pyarrow raises several types for unknown schemes and bad URIs
            raise ClsmapError(f"{source}: cannot open this URI with pyarrow ({exc})") from None
    return pafs.LocalFileSystem(), Path(source).expanduser().resolve().as_posix()


def _data_files(fs: Any, root: str, name: str) -> list[str]:
    """The files under the folder ``root`` in sorted order (hidden files and ``_``-files skipped)."""
    import pyarrow.fs as pafs

    found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    files = sorted(f.path for f in found if f.type == pafs.FileType.File
                   and not any(part.startswith((".", "_")) for part in PurePosixPath(f.path).relative_to(root).parts))
    if not files:
        raise ClsmapError(f"{name}: an empty folder")
    return files


def _suffix_format(name: str, suffix: str) -> str:
    fmt = SUFFIXES.get(suffix.lower())
    if fmt is None:
        raise ClsmapError(
            f"{name}: cannot tell the format from the suffix {suffix!r}; name it .csv, .tsv, .jsonl or "
            ".parquet, or pass --format"
        )
    return fmt


def open_source(data: str | Path, *, format: Format = "auto", encoding: str | None = None) -> Source:
    """The :class:`Source` at ``data`` (a path or a URI).

    A folder is a ``datasets`` folder when it holds ``dataset_info.json`` or ``state.json`` (or its
    files are not data files); otherwise it is a folder of data files of one format, read in sorted
    order as one input.
    """
    import pyarrow.fs as pafs

    check_choice(format, FORMATS, param="format", func="read_dataset")
    name = str(data)
    fs, root = _filesystem(name)
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise ClsmapError(f"{name}: no such file or folder")
    if info.type == pafs.FileType.File:
        fmt = _suffix_format(name, PurePosixPath(name.split("?")[0]).suffix) if format == "auto" else format
        if fmt == "datasets":
            raise ClsmapError(f"{name}: a file, but --format datasets reads a folder saved by save_to_disk")
        return Source(name=name, format=fmt, files=(root,), root=root, filesystem=fs, encoding=encoding)
    is_datasets = any(fs.get_file_info(f"{root}/{marker}").type == pafs.FileType.File
                      for marker in ("dataset_info.json", "state.json", "dataset_dict.json"))
    if format == "datasets" or (format == "auto" and is_datasets):
        return Source(name=name, format="datasets", files=(root,), root=root, filesystem=fs, encoding=encoding)
    files = _data_files(fs, root, name)
    if format == "auto":
        suffixes = sorted({PurePosixPath(f).suffix.lower() for f in files})
        odd = [s or "(none)" for s in suffixes if s not in SUFFIXES]
        if odd:
            raise ClsmapError(
                f"{name}: a folder with files that are not CSV, TSV, JSONL or Parquet (suffix {', '.join(odd)}); "
                "pass a folder of data files of one format, or a folder saved by datasets' save_to_disk"
            )
        formats = {SUFFIXES[s] for s in suffixes}
        if len(formats) > 1:
            raise ClsmapError(f"{name}: a folder with files of several formats ({', '.join(sorted(formats))}); "
                              "put one format in a folder")
        format = formats.pop()  # type: ignore[assignment]
    return Source(name=name, format=format, files=tuple(files), root=root, filesystem=fs, encoding=encoding)
