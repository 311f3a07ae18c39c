"""The epochs of a training run: shuffled batches of similar length, the optimisation steps, the
snapshots due on the way, and each epoch's validation accuracy, with the best epoch's weights kept.

The training batches are drawn at random every epoch (shuffled, then sorted by length within windows
of 50 batches, so that a batch pads little); the validation split is predicted in eval mode with the
extraction's own batches and forward passes (:func:`clsmap.extraction.batches.predict_classes`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._blocks import blocks
from ..extraction.batches import pad_id_of, predict_classes
from .dynamics import SnapshotRecorder
from .options import TrainOptions
from .setup import Trainee, TrainingSet, make_optimizer

__all__ = ["BestEpoch", "Epochs", "run_epochs", "bucketed_batches", "epoch_line"]

logger = logging.getLogger(__name__)


class BestEpoch:
    """The best epoch so far by validation accuracy (the first of equals), with a copy of its weights
    on the CPU and its validation predictions."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.accuracy = -1.0
        self.pred = np.zeros(0, dtype=np.int64)
        self.state: dict[str, Any] = {}

    def offer(self, epoch: int, accuracy: float, pred: np.ndarray, net: Any) -> None:
        if accuracy > self.accuracy:
            self.epoch, self.accuracy, self.pred = epoch, accuracy, pred
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}


@dataclass
class Epochs:
    """What the epochs did: one record per epoch (``epoch``, ``train_loss``, and with a validation split
    ``val_accuracy`` and ``val_classes_predicted``) and the best epoch."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best: BestEpoch = field(default_factory=BestEpoch)


def bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: shuffle, sort within windows of 50 batches, shuffle batches."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches: list[np.ndarray] = []
    for part in blocks(len(order), window):
        chunk = order[part]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[rows] for rows in blocks(len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def run_epochs(trainee: Trainee, data: TrainingSet, options: TrainOptions, *, baselines: dict[str, dict[str, Any]],
               recorder: SnapshotRecorder | None) -> Epochs:
    """Train for ``options.epochs``, taking the snapshots that are due (the first before any step);
    log each epoch beside the ``baselines``."""
    steps_per_epoch = data.steps_per_epoch(options.batch_size)
    optimizer, scheduler = make_optimizer(trainee.net, options, steps=options.epochs * steps_per_epoch)
    rng = np.random.default_rng(options.seed)
    done = Epochs()
    step = 0
    if recorder is not None:
        recorder.record(0)
    for epoch in range(1, options.epochs + 1):
        losses = _train_epoch(trainee, data, options, optimizer, scheduler, rng, epoch=epoch, first_step=step,
                              recorder=recorder)
        step += len(losses)
        record: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses))}
        if len(data.val_idx):
            pred = _validation_predictions(trainee, data, options, recorder, step=step)
            record["val_accuracy"] = float(np.mean(pred == data.y[data.val_idx]))
            record["val_classes_predicted"] = int(len(np.unique(pred)))
            done.best.offer(epoch, record["val_accuracy"], pred, trainee.net)
        done.history.append(record)
        logger.info("%s", epoch_line(record, options.epochs, baselines))
    return done


def _train_epoch(trainee: Trainee, data: TrainingSet, options: TrainOptions, optimizer: Any, scheduler: Any,
                 rng: np.random.Generator, *, epoch: int, first_step: int,
                 recorder: SnapshotRecorder | None) -> list[float]:
    """One pass over the training rows; the loss of every step."""
    import torch
    from tqdm.auto import tqdm

    net = trainee.net
    net.train()
    show = options.progress if options.progress is not None else logger.isEnabledFor(logging.INFO)
    batches = bucketed_batches(data.lengths[data.train_idx], options.batch_size, rng)
    losses: list[float] = []
    step = first_step
    with tqdm(batches, desc=f"train epoch {epoch}/{options.epochs}", unit="batch", disable=not show,
              dynamic_ncols=True) as bar:
        for batch in bar:
            rows = data.train_idx[batch]
            with trainee.autocast():
                out = net(**trainee.inputs(data.encoded, rows), labels=torch.as_tensor(data.y[rows],
                                                                                       device=trainee.device))
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(out.loss.detach().item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            step += 1
            if recorder is not None and recorder.due(step):
                recorder.record(step)
    return losses


def _validation_predictions(trainee: Trainee, data: TrainingSet, options: TrainOptions,
                            recorder: SnapshotRecorder | None, *, step: int) -> np.ndarray:
    """The predicted class of every validation row: the snapshot's, when one was taken at ``step``,
    else a pass in eval mode under a token budget of two training batches."""
    pred = recorder.validation_predictions(step) if recorder is not None else None
    if pred is not None:
        return pred
    return predict_classes(trainee.net, data.encoded, data.val_idx, pad_id=pad_id_of(trainee.tokenizer),
                           device=trainee.device, token_budget=2 * options.batch_size * options.max_length,
                           autocast=trainee.autocast())


def epoch_line(record: dict[str, Any], epochs: int, baselines: dict[str, dict[str, Any]]) -> str:
    """``epoch 2/3: train loss 0.4123, validation accuracy 0.8100 (majority class 0.5000, bag of words 0.7900)``"""
    line = f"epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f}"
    if "val_accuracy" in record:
        line += f", validation accuracy {record['val_accuracy']:.4f}"
        beside = [f"{name} {b['val_accuracy']:.4f}" for name, b in
                  (("majority class", baselines.get("majority")), ("bag of words", baselines.get("bag_of_words")))
                  if b and b.get("val_accuracy") is not None]
        if beside:
            line += f" ({', '.join(beside)})"
        if record.get("val_classes_predicted") == 1:
            line += "; predicts one class"
    return line
