"""The work Ray runs away from the driver: reading and checking input files (tasks, with the
functions of :mod:`clsmap.io`), and extracting batches of rows (an actor per model replica, with
:func:`clsmap.extraction.runner.extract_chunk`, the function the local backend calls).

The functions are made Ray tasks on first use, so that importing this module does not import ray.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from ...io.columns import Columns, normalize_block
from ...io.readers import read_file
from ...io.sources import Source
from ..models import load_model
from ..runner import Options, extract_chunk, prepare

__all__ = ["RETRIES", "ExtractActor", "read_task", "normalize_task", "take_task", "slice_task", "map_actors"]

logger = logging.getLogger(__name__)

#: how often a dead actor is restarted, and a task or a batch it held retried
RETRIES = 3


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


def _read(source: Source, file: str) -> tuple[Any, list[str], int]:
    """One file's raw rows, its column names and its row count."""
    frame = read_file(source, file)
    return frame, [str(c) for c in frame.columns], len(frame)


def _normalize(frame: Any, columns: Columns, name: str, offset: int) -> tuple[Any, dict[str, Any]]:
    """One file's rows checked and numbered (the table stays in the object store; the driver gets
    what it needs to know of the whole input)."""
    block = normalize_block(frame, columns, name=name, offset=offset)
    return block.table, {"labels": block.labels, "labels_are_integers": block.labels_are_integers,
                         "id_hash": block.id_hash, "n_rows": block.n_rows}


def _take(table: Any, indices: np.ndarray) -> Any:
    return table.take(indices)


def _slice(table: Any, offset: int, length: int) -> Any:
    return table.slice(offset, length)


read_task = _Remote(_read)
normalize_task = _Remote(_normalize)
take_task = _Remote(_take)
slice_task = _Remote(_slice)


class ExtractActor:
    """One model replica: loads the model once, then turns batches of rows into store rows."""

    def __init__(
        self, *, model: str, device: str, options: Options, classes: list[str] | None,
        label_lookup: dict[str, int] | None, trust_remote_code: bool, threads: int, allow_pickle: bool = False,
    ) -> None:
        import torch

        if device == "cpu":
            torch.set_num_threads(threads)
        loaded = load_model(model, device=device, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle)
        self.runner = prepare(loaded, options, classes=classes, label_lookup=label_lookup)

    def __call__(self, batch: Any) -> Any:
        return extract_chunk(self.runner, batch)


def map_actors(dataset: Any, compute: Any, kwargs: dict[str, Any]) -> Any:
    """``map_batches`` through the actor pool, with a finite number of restarts and retries.

    Ray Data restarts a dead actor and retries its batch forever by default, so a batch that kills
    its process every time (out of memory) would never end the run; clsmap allows :data:`RETRIES`.
    Ray marks these options as deprecated (with no named replacement yet): if a later Ray refuses
    them, its default applies.
    """
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
            return dataset.map_batches(ExtractActor, compute=compute, max_restarts=RETRIES,
                                       max_task_retries=RETRIES, **kwargs)
    except TypeError:
        logger.debug("this Ray does not take max_restarts/max_task_retries in map_batches; using its defaults")
        return dataset.map_batches(ExtractActor, compute=compute, **kwargs)
