"""Fine-tune a sequence classifier, so that there is a classifier to map.

A plain PyTorch loop: stratified train/validation split, AdamW with a linear schedule and
warm-up, length-bucketed batches with dynamic padding, bf16 autocast where the hardware runs
it natively. The result is a normal Hugging Face folder (``save_pretrained``) that
``clsmap extract`` and transformers load, plus ``clsmap_train.json`` with the split, the
parameters and the validation accuracy of every epoch.

:func:`train` is a sequence of steps: read the labeled texts and load the model with a new head
(:mod:`.setup`), measure the baselines, train the epochs (:mod:`.epochs`), keep the best epoch's
weights, save the model and its record.

Before training, the same split gives two baselines (:mod:`.baselines`): the majority class and a
bag-of-words model. Every epoch's log line puts the validation accuracy beside them; the weights of
the best epoch (by validation accuracy) are the ones saved. A model that predicts one class, or does
no better than the majority class, gets a warning (:mod:`.checks`) in the log and in the record.

With ``map_every``, snapshots of a fixed probe set's [CLS] vectors and logits are recorded during
training into a dynamics store, ``OUT/dynamics`` (:mod:`.dynamics`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..io.dataset import LabeledTexts, read_dataset
from ..io.splits import TRAIN_RECORD
from ..store.files import write_json_atomic
from .baselines import split_baselines
from .checks import prediction_warnings
from .dynamics import SnapshotRecorder, probe_rows, snapshot_steps
from .epochs import Epochs, run_epochs
from .options import DEFAULT_MAP_TRAIN_ROWS, TrainOptions, train_options
from .setup import Trainee, TrainingSet, encode, load_trainee, read_training_texts

__all__ = ["train", "TrainResult"]

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What :func:`train` did: where the model is, how well it does, which rows it held out.

    ``val_accuracy`` is that of the saved model, the weights of epoch ``best_epoch`` (the best on the
    validation split; the last epoch without one). ``baselines``: ``majority`` and ``bag_of_words``,
    each with its ``val_accuracy`` on the same split. ``warnings``: what went wrong, one sentence each
    (the model predicts one class; it does no better than the majority class).
    """

    path: Path
    classes: list[str]
    val_accuracy: float | None
    history: list[dict[str, float]]
    train_ids: list[str] = field(repr=False)
    val_ids: list[str] = field(repr=False)
    seconds: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    best_epoch: int | None = None
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: with ``map_every``: ``path`` of the dynamics store, ``snapshots``, ``seconds`` spent recording
    dynamics: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["path"] = str(self.path)
        return record


def train(
    model: str | Path,
    data: str | Path | LabeledTexts | Any,
    out: str | Path,
    *,
    options: TrainOptions | None = None,
    **kwargs: Any,
) -> TrainResult:
    """Fine-tune ``model`` (a base or classifier checkpoint) on labeled ``data``; save to ``out``.

    The options are those of :class:`~clsmap.training.TrainOptions`, given as ``options``, as
    keywords (``epochs=2``, ``validation=0.2``, ``map_every="epoch"``, ...), or both (the keywords
    win); any other keyword is an error that names it. ``validation`` is the held-out fraction
    (stratified by label). Returns a :class:`TrainResult`; the folder ``out`` holds the model, its
    tokenizer and ``clsmap_train.json``.

    ``map_every`` (a number of steps, or ``"epoch"``) records snapshots of the [CLS] space into the
    dynamics store ``out/dynamics`` (:mod:`clsmap.training.dynamics`); ``keep_checkpoints`` also
    saves the weights of every snapshot in ``out/checkpoints``; ``map_held_out`` (labeled texts not
    in ``data``) adds them to every snapshot as held-out rows of split ``test``.
    """
    options = train_options(options, kwargs)
    out = Path(out)
    texts = read_training_texts(data, out, options)
    trainee = load_trainee(model, texts.classes, options)
    prepared = encode(texts, trainee.tokenizer, options)
    started = time.perf_counter()
    logger.info("fine-tuning %s on %d texts (%d held out), %d classes, %s, %s", model, len(prepared.train_idx),
                len(prepared.val_idx), len(prepared.classes), trainee.device, trainee.dtype)
    baselines = split_baselines(texts.texts, prepared.y, prepared.train_idx, prepared.val_idx, prepared.classes,
                                seed=options.seed)
    recorder, map_train_rows = _recorder(str(model), trainee, prepared, out, options)
    try:
        epochs = run_epochs(trainee, prepared, options, baselines=baselines, recorder=recorder)
        dynamics = recorder.finish() if recorder is not None else None
    finally:
        if recorder is not None:
            recorder.close()
    warnings = _keep_best(trainee, prepared, epochs, options)
    out.mkdir(parents=True, exist_ok=True)
    trainee.net.save_pretrained(out)
    trainee.tokenizer.save_pretrained(out)
    best = epochs.best
    result = TrainResult(
        path=out,
        classes=prepared.classes,
        val_accuracy=best.accuracy if best.epoch is not None else None,
        history=epochs.history,
        train_ids=[texts.ids[i] for i in prepared.train_idx],
        val_ids=[texts.ids[i] for i in prepared.val_idx],
        seconds=round(time.perf_counter() - started, 2),
        params=_params(str(model), trainee, texts, options, map_train_rows),
        best_epoch=best.epoch if best.epoch is not None else options.epochs,
        baselines=baselines,
        warnings=warnings,
        dynamics=dynamics,
    )
    write_json_atomic(out / TRAIN_RECORD, result.to_json(), indent=2)
    logger.info("saved the fine-tuned model to %s", out)
    return result


def _recorder(base_model: str, trainee: Trainee, data: TrainingSet, out: Path,
              options: TrainOptions) -> tuple[SnapshotRecorder | None, int | None]:
    """With ``map_every``: the recorder of the snapshots, and the training rows of its probe set."""
    if options.map_every is None:
        return None, options.map_train_rows
    map_train_rows = options.map_train_rows
    if map_train_rows is None:
        map_train_rows = min(DEFAULT_MAP_TRAIN_ROWS, len(data.train_idx) // 4)
    probe, splits = probe_rows(data.train_idx, data.val_idx, map_train_rows, seed=options.seed)
    if not len(probe):
        raise ValueError("map_every needs a probe set: give validation above 0 or map_train_rows above 0")
    steps_per_epoch = data.steps_per_epoch(options.batch_size)
    held_out = None if options.map_held_out is None else read_dataset(
        options.map_held_out, text_column=options.text_column, label_column=options.label_column)
    recorder = SnapshotRecorder(
        trainee.net, trainee.tokenizer, data.texts, probe, splits, out=out, classes=data.classes,
        max_length=options.max_length, dtype=trainee.dtype,
        steps=snapshot_steps(options.map_every, steps_per_epoch=steps_per_epoch, epochs=options.epochs),
        steps_per_epoch=steps_per_epoch, map_every=options.map_every, base_model=base_model,
        keep_checkpoints=options.keep_checkpoints, held_out=held_out,
    )
    return recorder, map_train_rows


def _keep_best(trainee: Trainee, data: TrainingSet, epochs: Epochs, options: TrainOptions) -> list[str]:
    """Put the best epoch's weights back in the model; the warnings its validation predictions earn."""
    best = epochs.best
    if best.epoch is None:
        logger.info("no validation split: nothing tells whether the model learned (give --validation above 0)")
        return []
    if best.epoch != options.epochs:
        trainee.net.load_state_dict(best.state)
        logger.info("keeping the weights of epoch %d of %d (validation accuracy %.4f)",
                    best.epoch, options.epochs, best.accuracy)
    classes = data.classes
    warnings = prediction_warnings([classes[i] for i in best.pred], [classes[i] for i in data.y[data.val_idx]],
                                   what="validation texts")
    for warning in warnings:
        logger.warning("%s", warning)
    return warnings


def _params(base_model: str, trainee: Trainee, texts: LabeledTexts, options: TrainOptions,
            map_train_rows: int | None) -> dict[str, Any]:
    """The parameters of the run, as the record keeps them."""
    o = options
    return {
        "base_model": base_model, "epochs": o.epochs, "batch_size": o.batch_size,
        "learning_rate": o.learning_rate, "weight_decay": o.weight_decay, "warmup_ratio": o.warmup_ratio,
        "max_length": o.max_length, "validation": o.validation, "seed": o.seed, "dtype": trainee.dtype,
        "dataset_sha256": texts.fingerprint, "clsmap_version": __version__,
        **({"map_every": o.map_every, "map_train_rows": map_train_rows} if o.map_every is not None else {}),
    }
