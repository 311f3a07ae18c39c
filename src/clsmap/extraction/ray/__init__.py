"""The Ray backend of :func:`clsmap.extract`: the same extraction and store, on a Ray cluster.

How a run goes:

1. The input is read on the cluster with :mod:`clsmap.io`, one task per file (a local path, a folder
   of files, or any ``pyarrow`` filesystem URI such as ``s3://bucket/data.parquet``): the same
   formats, checks, error messages and row numbers as the local backend. Every row gets its input
   position ``row`` and keeps its ``id``.
2. The driver loads the model once on its CPU to describe it (the manifest) and to check the
   options, and opens the store like the local backend does: a compatible unfinished store is
   resumed, and the rows of the parts already on disk are not sent to the workers.
3. ``map_batches`` runs :class:`~.tasks.ExtractActor` in an actor pool: each actor loads the model
   once and turns batches of rows into store rows with :func:`clsmap.extraction.runner.extract_chunk`,
   the function the local backend calls. An actor that dies is restarted and its batch retried.
4. The driver receives the rows in whatever order the actors finish, groups them by part, drops any
   row it already holds (a retried batch can deliver rows twice), and writes each part when all its
   rows are there, through the store's atomic writer (:func:`~.collect.collect_parts`). So the store holds
   every row exactly once, in the layout of the local backend.

The vectors travel from the actors to the driver, which writes the store on its own disk: the
driver's network link bounds the throughput of very large runs (see the README).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from ..._errors import ClsmapError, require
from ..._validation import check_positive_int
from ..driver import class_names, label_lookup, make_manifest, open_writer, progress_bar
from ..models import LoadedModel, load_model
from ..runner import Options, prepare
from .cluster import connect, default_workers, quiet_data_context, user_error, worker_dtype
from .collect import collect_parts
from .reading import read_blocks, split_blocks, without_done
from .tasks import map_actors

__all__ = ["RayBackend"]

logger = logging.getLogger(__name__)

#: rows sent to an actor at a time: small enough to spread a part over several actors, large
#: enough for the length-sorted batching inside it to pad little
BATCH_ROWS = 512


def _check_resource(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"The {name!r} parameter of extract must be a number >= 0. Got {value!r} instead.")


class RayBackend:
    """Runs the model in a pool of Ray actors (``pip install 'clsmap[ray]'``).

    ``ray_address``: the cluster to join (``auto``, ``ray://host:10001``, ...); without it (and without
    ``RAY_ADDRESS``) a local Ray instance is started and stopped afterwards, with ``ray_num_cpus`` CPUs
    (default: all). ``num_workers``: model replicas (default: as many as the cluster's CPUs, or GPUs
    with ``gpus_per_worker``, allow). ``gpus_per_worker``, ``cpus_per_worker``: resources of each actor
    (fractions allowed). ``batch_rows``: rows sent to an actor at a time.
    """

    name: ClassVar[str] = "ray"

    def __init__(self, *, ray_address: str | None = None, num_workers: int | None = None,
                 gpus_per_worker: float = 0, cpus_per_worker: float = 1, ray_num_cpus: int | None = None,
                 batch_rows: int = BATCH_ROWS) -> None:
        self.ray_address = ray_address
        self.num_workers = num_workers
        self.gpus_per_worker = gpus_per_worker
        self.cpus_per_worker = cpus_per_worker
        self.ray_num_cpus = ray_num_cpus
        self.batch_rows = batch_rows

    def _validate(self) -> None:
        check_positive_int(self.batch_rows, param="batch_rows", func="extract")
        if self.num_workers is not None:
            check_positive_int(self.num_workers, param="num_workers", func="extract")
        if self.ray_num_cpus is not None:
            check_positive_int(self.ray_num_cpus, param="ray_num_cpus", func="extract")
        _check_resource("gpus_per_worker", self.gpus_per_worker)
        _check_resource("cpus_per_worker", self.cpus_per_worker)
        if self.cpus_per_worker == 0 and self.gpus_per_worker == 0:
            raise ValueError("extract: a Ray worker needs cpus_per_worker > 0 or gpus_per_worker > 0")

    def run(self, model: str | Path | LoadedModel, data: Any, out: str | Path, *, options: Options,
            device: str, read_options: dict[str, Any], overwrite: bool, trust_remote_code: bool,
            allow_pickle: bool, progress: bool | None) -> None:
        ray = require("ray", extra="ray", purpose="extract with backend='ray'")
        require("ray.data", extra="ray", purpose="extract with backend='ray'", package="ray[data]")
        self._validate()
        device = ("cuda" if self.gpus_per_worker else "cpu") if device == "auto" else device
        if device.startswith("cuda") and not self.gpus_per_worker:
            raise ClsmapError(f"--device {device} with --backend ray needs --gpus-per-worker (e.g. 1)")
        if options.quantize == "int8" and not device.startswith("cpu"):
            raise ClsmapError(f"--quantize int8 runs on the CPU only; the workers run on {device}")
        worker_options = Options(**{**vars(options), "dtype": worker_dtype(options.dtype, device)})

        started = connect(ray, self.ray_address, self.ray_num_cpus, verbose=logger.isEnabledFor(logging.DEBUG))
        writer = None
        try:
            with quiet_data_context():
                blocks, summary = read_blocks(ray, data, read_options)
                loaded = model if isinstance(model, LoadedModel) else load_model(
                    model, device="cpu", trust_remote_code=trust_remote_code, allow_pickle=allow_pickle
                )
                classes = class_names(loaded, summary)
                lookup = label_lookup(classes, summary)
                # on the driver, only to check the options and describe the run; the actors run it
                runner = prepare(loaded, Options(**{**vars(options), "dtype": "float32"}), classes=classes,
                                 label_lookup=lookup)
                manifest = make_manifest(loaded, summary, runner.target, classes, max_length=runner.max_length,
                                         dtype=worker_options.dtype, device=device, quantize=options.quantize)
                model_path = loaded.name_or_path
                del runner, loaded
                writer, todo = open_writer(out, manifest, overwrite=overwrite)
                if todo:
                    self._extract(ray, blocks, writer, todo, model=model_path, device=device, options=worker_options,
                                  classes=classes, lookup=lookup, trust_remote_code=trust_remote_code,
                                  allow_pickle=allow_pickle, progress=progress)
            writer.finish()
        except BaseException as exc:
            user = user_error(exc) if isinstance(exc, Exception) else None
            if user is not None and user is not exc:
                raise user from None
            raise
        finally:
            if writer is not None:
                writer.close()  # the parts written so far stay; the same command resumes
            if started:
                ray.shutdown()

    def _extract(self, ray: Any, blocks: list[Any], writer: Any, todo: list[int], *, model: str, device: str,
                 options: Options, classes: list[str] | None, lookup: dict[str, int] | None,
                 trust_remote_code: bool, allow_pickle: bool, progress: bool | None) -> None:
        import ray.data as ray_data

        done = set(range(writer.manifest.n_parts)) - set(todo)
        workers = self.num_workers or default_workers(ray, self.cpus_per_worker, self.gpus_per_worker)
        pending = without_done(blocks, done, writer.part_rows)
        logger.info("extracting %d rows on Ray with %d worker(s) (%s CPU, %s GPU each)",
                    sum(b.rows for b in pending), workers, self.cpus_per_worker, self.gpus_per_worker)
        # a file is one block: cut the blocks so that every actor gets work
        rows = sum(b.rows for b in pending)
        pending = split_blocks(pending, max(self.batch_rows, -(-rows // (4 * workers))))
        dataset = ray_data.from_arrow_refs([b.ref for b in pending])
        results = map_actors(dataset, ray_data.ActorPoolStrategy(size=workers), dict(
            fn_constructor_kwargs=dict(
                model=model, device=device, options=options, classes=classes, label_lookup=lookup,
                trust_remote_code=trust_remote_code, allow_pickle=allow_pickle,
                threads=max(1, int(self.cpus_per_worker)),
            ),
            batch_size=self.batch_rows,
            batch_format="pyarrow",
            num_cpus=self.cpus_per_worker,
            num_gpus=self.gpus_per_worker or None,
        ))
        with progress_bar(writer, todo, progress=progress, desc="extract (ray)") as bar:
            collect_parts(results, writer, todo, bar=bar)
