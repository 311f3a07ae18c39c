"""The Ray backend of :func:`clsmap.extract`: the same extraction and store, on a Ray cluster.

How a run goes:

1. The input is read with Ray Data (CSV/TSV/JSONL/Parquet; a local path, a folder of files, or any
   ``pyarrow`` filesystem URI such as ``s3://bucket/data.parquet``) with the order of the files and
   of the rows in them kept. Each block is then checked and normalised by a Ray task, with the same
   rules (and error messages, with the row numbers of the whole input) as the local reader, and
   numbered: every row gets its input position ``row`` and keeps its ``id``.
2. The driver loads the model once on its CPU to describe it (the manifest) and to check the
   options, and opens the store like the local backend does: a compatible unfinished store is
   resumed, and the rows of the parts already on disk are not sent to the workers.
3. ``map_batches`` runs :class:`_ExtractActor` in an actor pool: each actor loads the model once and
   turns batches of rows into store rows with :func:`clsmap.extraction.extract_chunk`, the function
   the local backend calls. An actor that dies is restarted and its batch retried by Ray.
4. The driver receives the rows in whatever order the actors finish, groups them by part (rows
   ``[k * part_rows, (k + 1) * part_rows)``), drops any row it already holds (a retried batch can
   deliver rows twice), and writes each part when all its rows are there, through the store's
   atomic writer. So the store holds every row exactly once, in the layout of the local backend,
   and :func:`clsmap.open_store` returns the rows in input order.

The vectors travel from the actors to the driver, which writes the store on its own disk: the
driver's network link bounds the throughput of very large runs (see the README).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ._errors import ClsmapError, require
from ._validation import check_choice, check_positive_int
from .data import _SUFFIXES, FORMATS, LabeledTexts, read_dataset
from .extraction import QUANTIZE, _class_names, _label_lookup, _manifest, _prepare, extract_chunk
from .models import DEVICES, LoadedModel, load_model, resolve_dtype
from .store import Store, StoreWriter, open_store

__all__ = ["extract_ray"]

logger = logging.getLogger(__name__)

#: how often a dead actor is restarted, and a batch it held retried
RETRIES = 3
#: rows sent to an actor at a time: small enough to spread a part over several actors, large
#: enough for the length-sorted batching inside it to pad little
BATCH_ROWS = 512
#: rows per block when the input is already in memory (a DataFrame, LabeledTexts, a datasets folder)
_BLOCK_ROWS = 8192
_RAY_FORMATS = ("csv", "tsv", "jsonl", "parquet")


@dataclass(frozen=True)
class _DataInfo:
    """What the manifest and the label handling need to know about the whole input."""

    source: str
    fingerprint: str
    text_column: str
    label_column: str | None
    id_column: str | None
    labels_are_integers: bool
    labels: set[str] | None
    n_rows: int

    def __len__(self) -> int:
        return self.n_rows


@dataclass(frozen=True)
class _Block:
    ref: Any  # ObjectRef of a pyarrow Table with columns row, id, text, label
    offset: int
    rows: int


def extract_ray(
    model: str | Path | LoadedModel,
    data: str | Path | LabeledTexts | Any,
    out: str | Path,
    *,
    layer: int | str | None = None,
    module: str | None = None,
    pooling: str = "cls",
    max_length: int | None = None,
    batch_tokens: int = 4096,
    device: str = "auto",
    dtype: str = "auto",
    quantize: str = "none",
    text_column: str | None = None,
    label_column: str | None | bool = None,
    id_column: str | None | bool = None,
    format: str = "auto",
    encoding: str | None = None,
    overwrite: bool = False,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    progress: bool | None = None,
    ray_address: str | None = None,
    num_workers: int | None = None,
    gpus_per_worker: float = 0,
    cpus_per_worker: float = 1,
    ray_num_cpus: int | None = None,
    batch_rows: int = BATCH_ROWS,
    _fail: tuple[int, str, str] | None = None,
) -> Store:
    """:func:`clsmap.extract` with ``backend="ray"``; see there for the options.

    ``id_column``, ``format`` and ``encoding`` are those of :func:`clsmap.read_dataset`.
    ``_fail=(row, marker, how)`` is a test hook: the actor that gets the batch holding ``row`` ends
    its process (``how="exit"``, only while the file ``marker`` does not exist; it creates it) or
    raises (``how="raise"``, every time).
    """
    ray = require("ray", extra="ray", purpose="extract with backend='ray'")
    require("ray.data", extra="ray", purpose="extract with backend='ray'", package="ray[data]")
    check_choice(format, FORMATS, param="format", func="extract")
    check_positive_int(batch_rows, param="batch_rows", func="extract")
    if num_workers is not None:
        check_positive_int(num_workers, param="num_workers", func="extract")
    if ray_num_cpus is not None:
        check_positive_int(ray_num_cpus, param="ray_num_cpus", func="extract")
    for name, value in (("gpus_per_worker", gpus_per_worker), ("cpus_per_worker", cpus_per_worker)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"The {name!r} parameter of extract must be a number >= 0. Got {value!r} instead.")
    if cpus_per_worker == 0 and gpus_per_worker == 0:
        raise ValueError("extract: a Ray worker needs cpus_per_worker > 0 or gpus_per_worker > 0")
    check_choice(device.split(":")[0], DEVICES, param="device", func="extract")
    worker_device = ("cuda" if gpus_per_worker else "cpu") if device == "auto" else device
    if worker_device.startswith("cuda") and not gpus_per_worker:
        raise ClsmapError(f"--device {device} with --backend ray needs --gpus-per-worker (e.g. 1)")
    worker_dtype = _worker_dtype(dtype, worker_device)
    check_choice(quantize, QUANTIZE, param="quantize", func="extract")
    if quantize == "int8" and not worker_device.startswith("cpu"):
        raise ClsmapError(f"--quantize int8 runs on the CPU only; the workers run on {worker_device}")

    started = _connect(ray, ray_address, ray_num_cpus, verbose=logger.isEnabledFor(logging.DEBUG))
    from ray.data import DataContext

    context = DataContext.get_current()
    saved = {"enable_progress_bars": context.enable_progress_bars,
             "print_on_execution_start": getattr(context, "print_on_execution_start", None)}
    preserve_order = context.execution_options.preserve_order
    context.enable_progress_bars = False  # clsmap's own bar counts the rows written
    context.print_on_execution_start = False
    writer: StoreWriter | None = None
    try:
        blocks, info = _read_blocks(
            ray, data, text_column=text_column, label_column=label_column, id_column=id_column,
            format=format, encoding=encoding, context=context,
        )
        loaded = model if isinstance(model, LoadedModel) else load_model(
            model, device="cpu", trust_remote_code=trust_remote_code, allow_pickle=allow_pickle
        )
        model_path = loaded.name_or_path
        classes = _class_names(loaded, info)
        lookup = _label_lookup(classes, info.labels, info.labels_are_integers, info.source)
        options = dict(layer=layer, module=module, pooling=pooling, max_length=max_length, batch_tokens=batch_tokens)
        # on the driver, only to check the options and describe the run; the actors run it
        runner = _prepare(loaded, **options, dtype="float32", classes=classes, label_lookup=lookup)
        manifest = _manifest(loaded, info, runner.target, classes, max_length=runner.max_length,
                             dtype=worker_dtype, device=worker_device, quantize=quantize)
        options["quantize"] = quantize
        del runner, loaded
        writer = StoreWriter(out, manifest, overwrite=overwrite)
        part_rows = writer.part_rows
        n_parts = -(-info.n_rows // part_rows)
        done = writer.done_parts()
        todo = [k for k in range(n_parts) if k not in done]
        if done and not todo:
            logger.info("%s is already complete", out)
        elif done:
            logger.info("resuming %s: %d of %d parts already written", out, len(done), n_parts)
        if todo:
            workers = num_workers or _default_workers(ray, cpus_per_worker, gpus_per_worker)
            pending = _without_done(ray, blocks, done, part_rows)
            logger.info(
                "extracting %d rows on Ray with %d worker(s) (%s CPU, %s GPU each)",
                sum(b.rows for b in pending), workers, cpus_per_worker, gpus_per_worker,
            )
            import ray.data as ray_data

            context.execution_options.preserve_order = False
            dataset = ray_data.from_arrow_refs([b.ref for b in pending])
            results = _map(dataset, ray_data.ActorPoolStrategy(size=workers), dict(
                fn_constructor_kwargs=dict(
                    model=model_path, device=worker_device, dtype=worker_dtype, options=options,
                    classes=classes, label_lookup=lookup, trust_remote_code=trust_remote_code,
                    allow_pickle=allow_pickle,
                    threads=max(1, int(cpus_per_worker)), fail=_fail,
                ),
                batch_size=batch_rows,
                batch_format="pyarrow",
                num_cpus=cpus_per_worker,
                num_gpus=gpus_per_worker or None,
            ))
            show = progress if progress is not None else logger.isEnabledFor(logging.INFO)
            _collect(results, writer, todo, show=show, initial=sum(writer.expected_rows(k) for k in done))
        writer.finish()
    except BaseException as exc:
        if writer is not None:
            writer.close()  # the parts written so far stay; the same command resumes
        user = _user_error(exc) if isinstance(exc, Exception) else None
        if user is not None and user is not exc:
            raise user from None
        raise
    finally:
        context.execution_options.preserve_order = preserve_order
        for name, value in saved.items():
            setattr(context, name, value)
        if started:
            ray.shutdown()
    logger.info("wrote %d rows to %s", info.n_rows, out)
    return open_store(out)


# --------------------------------------------------------------------------- cluster


def _connect(ray: Any, address: str | None, num_cpus: int | None, *, verbose: bool) -> bool:
    """Join ``address`` (or ``RAY_ADDRESS``), or start a local instance; True if this call started Ray."""
    if ray.is_initialized():
        if address:
            logger.warning("Ray is already initialised in this process; --ray-address %s is not used", address)
        return False
    quiet = dict(include_dashboard=False, log_to_driver=verbose,
                 logging_level=logging.INFO if verbose else logging.WARNING,
                 configure_logging=True)
    if address or os.environ.get("RAY_ADDRESS"):
        if num_cpus is not None:
            raise ClsmapError("--ray-num-cpus sizes a local Ray instance; it cannot be used with --ray-address")
        try:
            ray.init(address=address or None, **quiet)
        except ConnectionError as exc:
            raise ClsmapError(f"--ray-address {address or os.environ['RAY_ADDRESS']}: cannot join the Ray "
                              f"cluster ({exc}); is it running (ray status)?") from None
        logger.info("joined the Ray cluster at %s", address or os.environ["RAY_ADDRESS"])
    else:
        ray.init(num_cpus=num_cpus, **quiet)
        logger.info("started a local Ray instance (%s CPUs)", int(ray.cluster_resources().get("CPU", 0)))
    return True


def _default_workers(ray: Any, cpus_per_worker: float, gpus_per_worker: float) -> int:
    resources = ray.cluster_resources()
    if gpus_per_worker:
        return max(1, int(resources.get("GPU", 0) // gpus_per_worker))
    return max(1, int(resources.get("CPU", 1) // cpus_per_worker))


def _worker_dtype(dtype: str, device: str) -> str:
    """The dtype the actors will run, decided on the driver (it is part of the manifest)."""
    kind = device.split(":")[0]
    if dtype == "auto" and kind == "cuda":
        return "bfloat16"  # every GPU Ray clusters run BERT-family models on does bf16 autocast
    return resolve_dtype(dtype, kind)  # type: ignore[arg-type]


def _user_error(exc: BaseException) -> ClsmapError | None:
    """The :class:`ClsmapError` behind an exception that Ray wrapped (a task's or an actor's)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        cause = getattr(current, "cause", None)
        if isinstance(cause, ClsmapError):
            return cause
        if isinstance(current, ClsmapError) and not hasattr(current, "cause"):
            return current  # raised as such (Ray's wrappers of a task's error carry it as .cause)
        stack.extend([cause if isinstance(cause, BaseException) else None, current.__cause__, current.__context__])
    return None


# --------------------------------------------------------------------------- reading


def _read_blocks(
    ray: Any, data: Any, *, text_column: Any, label_column: Any, id_column: Any, format: str,
    encoding: str | None, context: Any,
) -> tuple[list[_Block], _DataInfo]:
    """The input as numbered, checked blocks in input order, and what is known of the whole."""
    if isinstance(data, (str, Path)):
        source = str(data)
        uri = "://" in source
        if not uri and not Path(source).exists():
            raise ClsmapError(f"{source}: no such file or folder")
        fmt = format if format != "auto" else _detect(source)
        if fmt in _RAY_FORMATS:
            return _read_files(ray, source, fmt, text_column=text_column, label_column=label_column,
                               id_column=id_column, encoding=encoding, context=context)
    # a DataFrame, LabeledTexts or a datasets folder: read here, then handed to Ray in blocks
    texts = read_dataset(data, text_column=text_column, label_column=label_column,
                         id_column=id_column, format=format, encoding=encoding)
    import pyarrow as pa

    blocks = []
    for lo in range(0, len(texts), _BLOCK_ROWS):
        hi = min(len(texts), lo + _BLOCK_ROWS)
        table = pa.table({
            "row": pa.array(np.arange(lo, hi, dtype=np.int64)),
            "id": pa.array(texts.ids[lo:hi], type=pa.string()),
            "text": pa.array(texts.texts[lo:hi], type=pa.string()),
            "label": pa.array(texts.labels[lo:hi] if texts.labels is not None else [None] * (hi - lo),
                              type=pa.string()),
        })
        blocks.append(_Block(ray.put(table), lo, hi - lo))
    info = _DataInfo(
        source=texts.source, fingerprint=texts.fingerprint, text_column=texts.text_column,
        label_column=texts.label_column, id_column=texts.id_column,
        labels_are_integers=texts.labels_are_integers,
        labels=None if texts.labels is None else set(texts.labels), n_rows=len(texts),
    )
    return blocks, info


def _detect(source: str) -> str:
    if "://" not in source and Path(source).is_dir():
        fs, path = _filesystem(source)
        files = _files(fs, path)
        suffix = PurePosixPath(files[0]).suffix.lower() if files else ""
        fmt = _SUFFIXES.get(suffix)
        if fmt is None or (Path(source) / "dataset_info.json").exists():
            return "datasets"
        return fmt
    suffix = PurePosixPath(source.split("?")[0]).suffix.lower()
    fmt = _SUFFIXES.get(suffix)
    if fmt is None:
        raise ClsmapError(
            f"{source}: cannot tell the format from the suffix {suffix!r}; name it .csv, .tsv, .jsonl or "
            ".parquet, or pass --format"
        )
    return fmt


def _filesystem(source: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    if "://" in source:
        try:
            return pafs.FileSystem.from_uri(source)
        except Exception as exc:  # pyarrow raises several types for unknown schemes and bad URIs
            raise ClsmapError(f"{source}: cannot open this URI with pyarrow ({exc})") from None
    return pafs.LocalFileSystem(), str(Path(source).resolve())


def _files(fs: Any, path: str) -> list[str]:
    """``path`` itself, or the data files under the folder ``path`` in sorted order (hidden files skipped)."""
    import pyarrow.fs as pafs

    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise ClsmapError(f"{path}: no such file or folder")
    if info.type == pafs.FileType.File:
        return [path]
    found = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    files = sorted(f.path for f in found if f.type == pafs.FileType.File
                   and not any(part.startswith((".", "_")) for part in PurePosixPath(f.path[len(path):]).parts))
    if not files:
        raise ClsmapError(f"{path}: an empty folder")
    return files


def _fingerprint(fs: Any, root: str, files: list[str]) -> str:
    """sha256 of the content (with the relative names for a folder), as the local reader computes it."""
    digest = hashlib.sha256()
    for file in files:
        if file != root:
            digest.update(str(PurePosixPath(file).relative_to(root)).encode())
        with fs.open_input_stream(file) as stream:
            for block in iter(lambda s=stream: s.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _csv_header(fs: Any, file: str, delimiter: str, encoding: str) -> list[str]:
    import csv
    import io

    with fs.open_input_stream(file) as stream:
        head = stream.read(1 << 16)
    text = head.decode(encoding, errors="replace")
    first = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    if not first:
        raise ClsmapError(f"{file}: the file is empty; it needs a header row and data rows")
    return first


def _read_files(
    ray: Any, source: str, fmt: str, *, text_column: Any, label_column: Any, id_column: Any,
    encoding: str | None, context: Any,
) -> tuple[list[_Block], _DataInfo]:
    import pandas as pd
    import pyarrow as pa
    import ray.data as ray_data

    from .data import ID_COLUMN_NAMES, LABEL_COLUMN_NAMES, TEXT_COLUMN_NAMES, _pick_column

    fs, root = _filesystem(source)
    files = _files(fs, root)
    fingerprint = _fingerprint(fs, root, files)
    context.execution_options.preserve_order = True  # blocks come back in file and row order
    header: list[str] | None = None
    if fmt in ("csv", "tsv"):
        import pyarrow.csv as pacsv

        delimiter = "\t" if fmt == "tsv" else ","
        enc = encoding or "utf8"
        header = _csv_header(fs, files[0], delimiter, "utf-8-sig" if enc == "utf8" else enc)
        header = [h.lstrip("\ufeff") for h in header]
        if len(set(header)) < len(header):
            dup = sorted({h for h in header if header.count(h) > 1})
            raise ClsmapError(f"{source}: the column name(s) {', '.join(map(repr, dup))} appear more than once")
        dataset = ray_data.read_csv(
            files, filesystem=fs,
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            read_options=pacsv.ReadOptions(encoding=enc),
            # every column as text, and an empty field as an empty text (as the local reader does)
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    elif fmt == "jsonl":
        dataset = ray_data.read_json(files, filesystem=fs, lines=True)
    else:
        dataset = ray_data.read_parquet(files, filesystem=fs)
    raw: list[tuple[Any, int]] = []
    try:
        for bundle in dataset.iter_internal_ref_bundles():
            for ref, meta in zip(bundle.block_refs, bundle.metadata, strict=True):
                if meta.num_rows:
                    raw.append((ref, int(meta.num_rows)))
    except Exception as exc:
        if _user_error(exc) is not None:
            raise
        raise ClsmapError(f"{source}: not a readable {fmt.upper()} input: {_first_line(exc)}") from None
    if not raw:
        raise ClsmapError(f"{source}: has no data rows")
    columns = header if header is not None else list(ray.get(_columns_of.remote(raw[0][0])))
    shape = pd.DataFrame(columns=columns)
    tcol = _pick_column(shape, text_column, TEXT_COLUMN_NAMES, what="text", flag="--text-column", source=source)
    if tcol is None:
        raise ClsmapError(f"{source}: no text column found among {', '.join(map(repr, columns))}; "
                          "name it with --text-column")
    lcol = None
    if label_column is not False:
        lcol = _pick_column(shape, label_column, LABEL_COLUMN_NAMES, what="label", flag="--label-column",
                            source=source)
        if lcol == tcol:
            raise ClsmapError(f"{source}: the text and label columns are both {tcol!r}")
    icol = None
    if id_column is not False:
        icol = _pick_column(shape, id_column, ID_COLUMN_NAMES, what="id", flag="--id-column", source=source)

    normalize = _normalize_block.options(num_returns=2)
    blocks, stat_refs = [], []
    offset = 0
    for ref, rows in raw:
        table_ref, stats_ref = normalize.remote(ref, offset, (tcol, lcol, icol), source)
        blocks.append(_Block(table_ref, offset, rows))
        stat_refs.append(stats_ref)
        offset += rows
    stats = ray.get(stat_refs)  # raises the first block's ClsmapError (row numbers of the whole input)
    if icol is not None:
        _check_unique_ids(ray, blocks, [s["id_hash"] for s in stats], source, icol)
    labels = None
    are_ints = False
    if lcol is not None:
        labels = set().union(*(s["labels"] for s in stats))
        are_ints = all(s["labels_are_integers"] for s in stats)
    info = _DataInfo(source=source, fingerprint=fingerprint, text_column=tcol, label_column=lcol, id_column=icol,
                     labels_are_integers=are_ints, labels=labels, n_rows=offset)
    if lcol is None:
        logger.info("%s: no label column; the map will be coloured by prediction", source)
    return blocks, info


def _check_unique_ids(ray: Any, blocks: list[_Block], hashes: list[np.ndarray], source: str, column: str) -> None:
    every = np.concatenate(hashes)
    order = np.argsort(every, kind="stable")
    same = np.flatnonzero(every[order][1:] == every[order][:-1])
    for i in same:  # equal hashes: compare the ids themselves
        first, second = sorted((int(order[i]), int(order[i + 1])))
        a, b = _id_at(ray, blocks, first), _id_at(ray, blocks, second)
        if a == b:
            raise ClsmapError(
                f"{source}: the id {a!r} in column {column!r} appears in rows {first + 1} and {second + 1}; "
                "ids must be unique (or pass --no-ids to number the rows)"
            )


def _id_at(ray: Any, blocks: list[_Block], row: int) -> str:
    block = next(b for b in blocks if b.offset <= row < b.offset + b.rows)
    return str(ray.get(block.ref).column("id")[row - block.offset].as_py())


def _without_done(ray: Any, blocks: list[_Block], done: set[int], part_rows: int) -> list[_Block]:
    """The blocks less the rows of parts already written (resume)."""
    if not done:
        return blocks
    kept = []
    for block in blocks:
        rows = np.arange(block.offset, block.offset + block.rows)
        keep = ~np.isin(rows // part_rows, list(done))
        if keep.all():
            kept.append(block)
        elif keep.any():
            kept.append(_Block(_take.remote(block.ref, np.flatnonzero(keep)), block.offset, int(keep.sum())))
    return kept


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


# --------------------------------------------------------------------------- tasks and actors
# (made remote on first use, so that importing this module does not import ray)


class _Remote:
    """A function made a Ray task the first time it is used."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self._task = None

    def _get(self) -> Any:
        if self._task is None:
            import ray

            self._task = ray.remote(num_cpus=1, max_retries=RETRIES)(self.fn)
        return self._task

    def remote(self, *args: Any) -> Any:
        return self._get().remote(*args)

    def options(self, **kwargs: Any) -> Any:
        return self._get().options(**kwargs)


def _normalize_block_fn(block: Any, offset: int, columns: tuple, source: str) -> tuple[Any, dict[str, Any]]:
    """Check and normalise one input block like the local reader does; number its rows from ``offset``."""
    import pandas as pd
    import pyarrow as pa

    from .data import _ids, _labels, _texts

    tcol, lcol, icol = columns
    n = block.num_rows
    for column in (c for c in columns if c is not None):
        if column not in block.column_names:
            raise ClsmapError(f"{source}: rows {offset + 1}-{offset + n} have no column {column!r}")
    first = offset + 1
    texts = _texts(block.column(tcol).to_pandas(), source=source, column=tcol, first_row=first)
    labels, are_ints = (None, False)
    if lcol is not None:
        labels, are_ints = _labels(block.column(lcol).to_pandas(), source=source, column=lcol, first_row=first)
    if icol is not None:
        ids = _ids(block.column(icol).to_pandas(), source=source, column=icol, first_row=first)
        id_hash = pd.util.hash_array(np.asarray(ids, dtype=object))
    else:
        ids, id_hash = [str(i) for i in range(offset, offset + n)], None
    table = pa.table({
        "row": pa.array(np.arange(offset, offset + n, dtype=np.int64)),
        "id": pa.array(ids, type=pa.string()),
        "text": pa.array(texts, type=pa.string()),
        "label": pa.array(labels if labels is not None else [None] * n, type=pa.string()),
    })
    stats = {"labels": None if labels is None else set(labels), "labels_are_integers": are_ints, "id_hash": id_hash}
    return table, stats


def _take_fn(table: Any, indices: np.ndarray) -> Any:
    return table.take(indices)


def _columns_of_fn(table: Any) -> list[str]:
    return list(table.column_names)


_normalize_block = _Remote(_normalize_block_fn)
_take = _Remote(_take_fn)
_columns_of = _Remote(_columns_of_fn)


class _ExtractActor:
    """One model replica: loads the model once, then turns batches of rows into store rows."""

    def __init__(
        self, *, model: str, device: str, dtype: str, options: dict[str, Any], classes: list[str] | None,
        label_lookup: dict[str, int] | None, trust_remote_code: bool, threads: int, allow_pickle: bool = False,
        fail: tuple[int, str, str] | None,
    ) -> None:
        import torch

        if device == "cpu":
            torch.set_num_threads(threads)
        loaded = load_model(model, device=device, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle)
        self.runner = _prepare(loaded, **options, dtype=dtype, classes=classes, label_lookup=label_lookup)
        self.fail = fail

    def __call__(self, batch: Any) -> Any:
        rows = batch.column("row").to_numpy()
        if self.fail is not None and self.fail[0] in rows:
            self._inject_failure()
        labels = batch.column("label")
        return extract_chunk(
            self.runner, rows, batch.column("id").to_pylist(), batch.column("text").to_pylist(),
            None if labels.null_count == len(labels) else labels.to_pylist(),
        )

    def _inject_failure(self) -> None:
        _, marker, how = self.fail
        if how == "raise":
            raise RuntimeError("injected failure (test hook)")
        if not os.path.exists(marker):
            Path(marker).touch()
            os._exit(1)  # the actor's process dies, as on an out-of-memory kill


def _map(dataset: Any, compute: Any, kwargs: dict[str, Any]) -> Any:
    """``map_batches`` through the actor pool, with a finite number of restarts and retries.

    Ray Data restarts a dead actor and retries its batch forever by default, so a batch that kills
    its process every time (out of memory) would never end the run; clsmap allows :data:`RETRIES`.
    Ray marks these options as deprecated (with no named replacement yet): if a later Ray refuses
    them, its default applies.
    """
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
            return dataset.map_batches(_ExtractActor, compute=compute, max_restarts=RETRIES,
                                       max_task_retries=RETRIES, **kwargs)
    except TypeError:
        logger.debug("this Ray does not take max_restarts/max_task_retries in map_batches; using its defaults")
        return dataset.map_batches(_ExtractActor, compute=compute, **kwargs)


# --------------------------------------------------------------------------- writing


def _collect(results: Any, writer: StoreWriter, todo: list[int], *, show: bool, initial: int) -> None:
    """Write each part of ``todo`` once all its rows have arrived, keeping each row once."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from tqdm.auto import tqdm

    part_rows = writer.part_rows
    remaining = set(todo)
    pieces: dict[int, list[Any]] = {}
    seen: dict[int, np.ndarray] = {}
    total = int(writer.manifest["n_rows"])
    with tqdm(total=total, initial=initial, unit="text", desc="extract (ray)", disable=not show,
              dynamic_ncols=True) as bar:
        for batch in results.iter_batches(batch_format="pyarrow", batch_size=None):
            rows = batch.column("row").to_numpy()
            parts = rows // part_rows
            for k in np.unique(parts):
                k = int(k)
                if k not in remaining:
                    continue  # a retried batch delivered rows of a part already written
                piece = batch if len(parts) and (parts == k).all() else batch.filter(pa.array(parts == k))
                mask = seen.setdefault(k, np.zeros(writer.expected_rows(k), dtype=bool))
                local = piece.column("row").to_numpy() - k * part_rows
                fresh = int((~mask[local]).sum())
                mask[local] = True
                pieces.setdefault(k, []).append(piece)
                bar.update(fresh)
                if mask.all():
                    table = pa.concat_tables(pieces.pop(k))
                    order = pc.sort_indices(table, sort_keys=[("row", "ascending")]).to_numpy()
                    sorted_rows = table.column("row").to_numpy()[order]
                    first = np.concatenate([[True], sorted_rows[1:] != sorted_rows[:-1]])
                    writer.write_part(k, table.take(order[first]))
                    remaining.discard(k)
                    del seen[k]
    if remaining:
        raise ClsmapError(
            f"the Ray run ended with {len(remaining)} part(s) incomplete (first: {min(remaining)}); "
            "run the same command again to resume"
        )
