"""Snapshots of the [CLS] space while a classifier trains: the dynamics store.

``clsmap train --map-every N|epoch`` fixes a probe set for the run (the validation split, plus up to
``--map-train-rows`` training rows, so that train and held-out can be told apart; and, from Python,
``map_held_out`` texts kept out of the training input, as split ``test``) and, before the
first step and at every ``N`` steps (or at the end of every epoch), runs it through the model in eval
mode with the extraction's own code (:func:`clsmap.extraction.runner.extract_chunk`: tokenization,
length-sorted batches under a token budget, padding, pooling, the store's rows), in the run's dtype.
So a snapshot's vectors are those a separate ``clsmap extract`` of the checkpoint at that step gives.

Each snapshot is one part of a normal store in ``OUT/dynamics`` (the store's one schema, with the
columns ``snapshot``, ``step``, ``epoch`` and ``split``; :func:`clsmap.store.schema.snapshot_table`);
``clsmap.open_store`` reads it. ``--keep-checkpoints`` also saves the weights at every snapshot in
``OUT/checkpoints/step-NNNNNN``.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._errors import ClsmapError
from ..extraction.driver import make_manifest, summarize
from ..extraction.models import LoadedModel, config_hash
from ..extraction.runner import Options, extract_chunk, prepare
from ..io.dataset import LabeledTexts
from ..store.layout import ANALYSIS, CHECKPOINTS, DYNAMICS
from ..store.schema import snapshot_table
from ..store.writer import StoreWriter

__all__ = ["MapEvery", "SnapshotRecorder", "snapshot_steps", "probe_rows"]

logger = logging.getLogger(__name__)


MapEvery = int | Literal["epoch"]


def snapshot_steps(map_every: MapEvery, *, steps_per_epoch: int, epochs: int) -> list[int]:
    """The optimisation steps after which a snapshot is taken: 0 (before training), every
    ``map_every`` steps (or every ``steps_per_epoch`` for ``"epoch"``), and the last step."""
    if map_every == "epoch":
        every = steps_per_epoch
    elif isinstance(map_every, bool) or not isinstance(map_every, int) or map_every < 1:
        raise ValueError(f"The 'map_every' parameter of train must be a number of steps >= 1 or 'epoch'. "
                         f"Got {map_every!r} instead.")
    else:
        every = map_every
    total = steps_per_epoch * epochs
    steps = [0, *range(every, total + 1, every)]
    if steps[-1] != total:
        steps.append(total)
    return steps


def probe_rows(train_idx: np.ndarray, val_idx: np.ndarray, max_train_rows: int, *,
               seed: int) -> tuple[np.ndarray, list[str]]:
    """The probe set: every validation row and up to ``max_train_rows`` training rows (a random
    sample), in input order, with the split of each."""
    rng = np.random.default_rng(seed)
    chosen = train_idx if len(train_idx) <= max_train_rows else rng.choice(train_idx, max_train_rows, replace=False)
    rows = np.concatenate([np.asarray(val_idx), np.asarray(chosen)]).astype(np.int64)
    split = np.array(["validation"] * len(val_idx) + ["train"] * len(chosen), dtype=object)
    order = np.argsort(rows, kind="stable")
    return rows[order], split[order].tolist()


class SnapshotRecorder:
    """Takes the snapshots of one training run into ``OUT/dynamics`` (see the module's text).

    ``net`` and ``tokenizer`` are those being trained; ``texts`` the whole labeled input, ``rows``
    and ``splits`` the probe set (:func:`probe_rows`), ``steps`` when to take a snapshot
    (:func:`snapshot_steps`). :meth:`record` takes one; :meth:`finish` completes the store;
    :meth:`close` releases it (also on error). ``seconds`` is the time spent recording.
    """

    def __init__(self, net: Any, tokenizer: Any, texts: LabeledTexts, rows: np.ndarray, splits: list[str], *,
                 out: Path, classes: list[str], steps: list[int], steps_per_epoch: int, map_every: MapEvery,
                 max_length: int, dtype: str, base_model: str, keep_checkpoints: bool = False,
                 held_out: LabeledTexts | None = None, batch_tokens: int = 4096) -> None:
        self.net, self.tokenizer = net, tokenizer
        self.out = Path(out)
        self.steps, self.steps_per_epoch = list(steps), steps_per_epoch
        self.splits = list(splits)
        self.keep_checkpoints = keep_checkpoints
        self.seconds = 0.0
        self._done: list[int] = []
        self._validation_pred: tuple[int, np.ndarray] | None = None
        probe = texts.subset(rows)
        if held_out is not None:
            probe = _with_held_out(probe, held_out, classes)
            self.splits += ["test"] * len(held_out)
        self._inputs = probe.table
        loaded = LoadedModel(model=net, tokenizer=tokenizer, name_or_path=str(self.out),
                             config_hash=config_hash(net.config), classes=list(classes), named_classes=True)
        self._runner = prepare(loaded, Options(layer=-1, pooling="cls", max_length=max_length,
                                               batch_tokens=batch_tokens, dtype=dtype),
                               classes=list(classes), label_lookup={name: i for i, name in enumerate(classes)},
                               live=True)
        self._encoded = self._runner.tokenize(probe.texts)
        manifest = make_manifest(loaded, summarize(probe), self._runner.target, list(classes),
                                 max_length=self._runner.max_length, dtype=self._runner.dtype,
                                 device=self._runner.device)
        manifest.n_rows = len(probe) * len(self.steps)
        manifest.part_rows = len(probe)
        manifest.dataset = {**manifest.dataset, "sha256": texts.fingerprint, "probe_sha256": probe.fingerprint}
        manifest.dynamics = {
            "base_model": base_model,
            "map_every": map_every,
            "steps_per_epoch": steps_per_epoch,
            "probe": {name: self.splits.count(name) for name in ("validation", "test", "train")},
            "snapshots": [{"snapshot": k, "step": s, "epoch": round(s / steps_per_epoch, 6)}
                          for k, s in enumerate(self.steps)],
            "checkpoints": CHECKPOINTS if keep_checkpoints else None,
        }
        # a new run: what an earlier run recorded here (its analysis, its checkpoints) goes
        shutil.rmtree(self.out / DYNAMICS / ANALYSIS, ignore_errors=True)
        shutil.rmtree(self.out / CHECKPOINTS, ignore_errors=True)
        self._writer = StoreWriter(self.out / DYNAMICS, manifest, overwrite=True)

    @property
    def path(self) -> Path:
        return self.out / DYNAMICS

    def due(self, step: int) -> bool:
        return step in self.steps and step not in self._done

    def record(self, step: int) -> None:
        """Take the snapshot of ``step``: the probe set in eval mode, written as its own part."""
        started = time.perf_counter()
        k = self.steps.index(step)
        was_training = self.net.training
        self.net.eval()
        try:
            part = extract_chunk(self._runner, self._inputs, encoded=self._encoded)
        finally:
            self.net.train(was_training)
        epoch = step / self.steps_per_epoch
        validation = np.array([split == "validation" for split in self.splits])
        self._validation_pred = (step, part.column("pred_id").to_numpy(zero_copy_only=False)[validation])
        self._writer.write_part(k, snapshot_table(part, snapshot=k, step=step, epoch=epoch, splits=self.splits))
        if self.keep_checkpoints:
            folder = self.out / CHECKPOINTS / f"step-{step:06d}"
            self.net.save_pretrained(folder)
            self.tokenizer.save_pretrained(folder)
        self._done.append(step)
        self.seconds += time.perf_counter() - started
        logger.debug("snapshot %d (step %d, epoch %.2f) in %.1f s", k, step, epoch, time.perf_counter() - started)

    def validation_predictions(self, step: int) -> np.ndarray | None:
        """The predicted class of every validation row (in input order) at ``step``, when a snapshot was
        taken then (the training loop then needs no pass of its own over the validation split)."""
        if self._validation_pred is None or self._validation_pred[0] != step:
            return None
        return self._validation_pred[1].astype(np.int64)

    def finish(self) -> dict[str, Any]:
        """Complete the store; what the train record says about it."""
        self._writer.finish()
        logger.info("recorded %d snapshots of %d texts in %s (%.1f s)", len(self._done),
                    self._writer.manifest.part_rows, self.path, self.seconds)
        return {"path": str(self.path), "snapshots": len(self._done), "seconds": round(self.seconds, 2),
                "checkpoints": str(self.out / CHECKPOINTS) if self.keep_checkpoints else None}

    def close(self) -> None:
        self._writer.close()


def _with_held_out(probe: LabeledTexts, held_out: LabeledTexts, classes: list[str]) -> LabeledTexts:
    """The probe set followed by texts held out of the training input (``map_held_out``, split ``test``)."""
    import hashlib

    import pyarrow as pa

    if held_out.labels is None:
        raise ClsmapError(f"{held_out.source}: map_held_out needs labels")
    unknown = sorted(set(held_out.labels) - set(classes))
    if unknown:
        raise ClsmapError(f"{held_out.source}: map_held_out has labels that are not classes of the training data: "
                          f"{', '.join(unknown[:5])}")
    shared = set(held_out.ids) & set(probe.ids)
    if shared:
        raise ClsmapError(f"{held_out.source}: map_held_out shares ids with the training data "
                          f"(e.g. {sorted(shared)[0]!r}); held-out texts need ids of their own")
    table = pa.concat_tables([probe.table, held_out.table.select(probe.table.column_names).cast(probe.table.schema)])
    table = table.set_column(0, "row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    digest = hashlib.sha256((probe.fingerprint + held_out.fingerprint).encode()).hexdigest()
    return LabeledTexts(table=table, source=probe.source, fingerprint=digest, text_column=probe.text_column,
                        label_column=probe.label_column, id_column=probe.id_column,
                        labels_are_integers=probe.labels_are_integers)
