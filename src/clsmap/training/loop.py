"""Fine-tune a sequence classifier, so that there is a classifier to map.

A plain PyTorch loop: stratified train/validation split, AdamW with a linear schedule and
warm-up, length-bucketed batches with dynamic padding, bf16 autocast where the hardware runs
it natively. The result is a normal Hugging Face folder (``save_pretrained``) that
``clsmap extract`` and transformers load, plus ``clsmap_train.json`` with the split, the
parameters and the validation accuracy of every epoch.

Before training, the same split gives two baselines (:mod:`.baselines`): the majority class and a
bag-of-words model. Every epoch's log line puts the validation accuracy beside them; the weights of
the best epoch (by validation accuracy) are the ones saved. A model that predicts one class, or does
no better than the majority class, gets a warning (:mod:`.checks`) in the log and in the record.

With ``map_every``, snapshots of a fixed probe set's [CLS] vectors and logits are recorded during
training into a dynamics store, ``OUT/dynamics`` (:mod:`.dynamics`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ClsmapError
from .._validation import check_positive_int
from .._version import __version__
from ..extraction.models import DType, autocast_for, check_local_folder, pad_batch, resolve_device, resolve_dtype
from ..io.dataset import LabeledTexts, read_dataset
from ..io.splits import TRAIN_RECORD
from ..store.files import write_json_atomic
from .baselines import bag_of_words_baseline, majority_baseline
from .checks import prediction_warnings
from .dynamics import MapEvery, SnapshotRecorder, probe_rows, snapshot_steps

__all__ = ["train", "TrainResult", "TRAIN_RECORD", "split_indices"]

logger = logging.getLogger(__name__)

#: training rows in the snapshots' probe set by default (and at most a quarter of the training rows)
DEFAULT_MAP_TRAIN_ROWS = 1000


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


def split_indices(labels: list[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/validation split of row indices (plain random when a class is too rare)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    if fraction <= 0:
        return idx, idx[:0]
    counts = np.unique(labels, return_counts=True)[1]
    stratify = labels if counts.min() >= 2 and round(fraction * len(labels)) >= len(counts) else None
    train_idx, val_idx = train_test_split(idx, test_size=fraction, random_state=seed, stratify=stratify)
    return np.sort(train_idx), np.sort(val_idx)


def _bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: shuffle, sort within windows of 50 batches, shuffle batches."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def train(
    model: str | Path,
    data: str | Path | LabeledTexts | Any,
    out: str | Path,
    *,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    max_length: int = 128,
    validation: float = 0.1,
    seed: int = 0,
    device: str = "auto",
    dtype: DType = "auto",
    text_column: str | None = None,
    label_column: str | None = None,
    overwrite: bool = False,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    progress: bool | None = None,
    map_every: MapEvery | None = None,
    map_train_rows: int | None = None,
    keep_checkpoints: bool = False,
    map_held_out: str | Path | LabeledTexts | Any | None = None,
) -> TrainResult:
    """Fine-tune ``model`` (a base or classifier checkpoint) on labeled ``data``; save to ``out``.

    ``validation`` is the held-out fraction (stratified by label). Returns a
    :class:`TrainResult`; the folder ``out`` holds the model, its tokenizer and
    ``clsmap_train.json``.

    ``map_every`` (a number of steps, or ``"epoch"``) records snapshots of the [CLS] space into the
    dynamics store ``out/dynamics``: the validation rows and up to ``map_train_rows`` training rows
    (default: 1,000, and at most a quarter of the training rows, which keeps the cost near a fifth of
    the training time),
    before training and after every ``map_every`` steps (:mod:`clsmap.training.dynamics`);
    ``keep_checkpoints`` also saves the weights of every snapshot in ``out/checkpoints``;
    ``map_held_out`` (labeled texts not in ``data``, e.g. a test set) adds them to every snapshot as
    held-out rows of split ``test``.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    check_positive_int(epochs, param="epochs", func="train")
    check_positive_int(batch_size, param="batch_size", func="train")
    check_positive_int(max_length, param="max_length", func="train", minimum=2)
    if not 0 <= validation < 1:
        raise ValueError(f"The 'validation' parameter of train must be in [0, 1). Got {validation!r} instead.")
    if map_train_rows is not None:
        check_positive_int(map_train_rows, param="map_train_rows", func="train", minimum=0)
    if map_every is not None:
        snapshot_steps(map_every, steps_per_epoch=1, epochs=1)  # checks the value before anything runs
    elif keep_checkpoints or map_held_out is not None:
        raise ValueError("The 'keep_checkpoints' and 'map_held_out' parameters of train apply to the snapshots; "
                         "give map_every (--map-every N|epoch) too.")
    texts = read_dataset(data, text_column=text_column, label_column=label_column)
    if texts.labels is None:
        raise ClsmapError(f"{texts.source}: training needs a label column; name it with --label-column")
    classes = texts.classes
    if len(classes) < 2:
        raise ClsmapError(f"{texts.source}: training needs at least two classes, found {classes}")
    out = Path(out)
    if (out / "config.json").exists() and not overwrite:
        raise ClsmapError(f"{out} already holds a model; pass --overwrite to replace it")

    run_device = resolve_device(device)
    run_dtype = resolve_dtype(dtype, run_device.split(":")[0], func="train")
    torch.manual_seed(seed)
    label2id = {name: i for i, name in enumerate(classes)}
    if Path(str(model)).expanduser().exists():
        check_local_folder(Path(str(model)).expanduser(), allow_pickle=allow_pickle)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model), trust_remote_code=trust_remote_code)
        net = _load_for_training(AutoModelForSequenceClassification, str(model), classes, label2id,
                                 trust_remote_code, allow_pickle=allow_pickle)
    except OSError as exc:
        raise ClsmapError(f"model {str(model)!r}: could not be loaded ({str(exc).splitlines()[0]})") from None
    net.to(run_device)

    y = np.array([label2id[label] for label in texts.labels], dtype=np.int64)
    train_idx, val_idx = split_indices(texts.labels, validation, seed)
    encoded = tokenizer(texts.texts, truncation=True, max_length=max_length, padding=False)
    input_ids: list[list[int]] = encoded["input_ids"]
    lengths = np.array([len(x) for x in input_ids])
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def batch_inputs(rows: np.ndarray) -> dict[str, Any]:
        return pad_batch(encoded, rows, pad_id, run_device)

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {"params": [p for n, p in net.named_parameters() if not n.endswith(no_decay)], "weight_decay": weight_decay},
        {"params": [p for n, p in net.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=learning_rate)
    steps = epochs * math.ceil(len(train_idx) / batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * steps), steps)
    autocast = autocast_for(run_device, run_dtype)
    show = progress if progress is not None else logger.isEnabledFor(logging.INFO)
    rng = np.random.default_rng(seed)
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    logger.info("fine-tuning %s on %d texts (%d held out), %d classes, %s, %s",
                model, len(train_idx), len(val_idx), len(classes), run_device, run_dtype)
    baselines = _baselines(texts.texts, y, train_idx, val_idx, classes, seed=seed)
    best = _Best()
    recorder = None
    if map_every is not None:
        if map_train_rows is None:
            map_train_rows = min(DEFAULT_MAP_TRAIN_ROWS, len(train_idx) // 4)
        probe, splits = probe_rows(train_idx, val_idx, map_train_rows, seed=seed)
        if not len(probe):
            raise ValueError("map_every needs a probe set: give validation above 0 or map_train_rows above 0")
        steps_per_epoch = math.ceil(len(train_idx) / batch_size)
        recorder = SnapshotRecorder(
            net, tokenizer, texts, probe, splits, out=out, classes=classes, max_length=max_length, dtype=run_dtype,
            steps=snapshot_steps(map_every, steps_per_epoch=steps_per_epoch, epochs=epochs),
            steps_per_epoch=steps_per_epoch, map_every=map_every, base_model=str(model),
            keep_checkpoints=keep_checkpoints, held_out=None if map_held_out is None else read_dataset(
                map_held_out, text_column=text_column, label_column=label_column),
        )
    step = 0
    try:
        if recorder is not None:
            recorder.record(0)
        for epoch in range(1, epochs + 1):
            net.train()
            batches = _bucketed_batches(lengths[train_idx], batch_size, rng)
            losses = []
            with tqdm(batches, desc=f"train epoch {epoch}/{epochs}", unit="batch", disable=not show,
                      dynamic_ncols=True) as bar:
                for batch in bar:
                    rows = train_idx[batch]
                    with autocast:
                        out_ = net(**batch_inputs(rows), labels=torch.as_tensor(y[rows], device=run_device))
                    out_.loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    losses.append(out_.loss.detach().item())
                    bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
                    step += 1
                    if recorder is not None and recorder.due(step):
                        recorder.record(step)
            record: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses))}
            if len(val_idx):
                pred = recorder.validation_predictions(step) if recorder is not None else None
                if pred is None:
                    pred = _predict(net, val_idx, lengths, batch_inputs, autocast, batch_size * 2)
                record["val_accuracy"] = float(np.mean(pred == y[val_idx]))
                record["val_classes_predicted"] = int(len(np.unique(pred)))
                best.offer(epoch, record["val_accuracy"], pred, net)
            history.append(record)
            logger.info("%s", _epoch_line(record, epochs, baselines))
        dynamics = recorder.finish() if recorder is not None else None
    finally:
        if recorder is not None:
            recorder.close()

    warnings: list[str] = []
    if best.epoch is not None:
        if best.epoch != epochs:
            net.load_state_dict(best.state)
            logger.info("keeping the weights of epoch %d of %d (validation accuracy %.4f)",
                        best.epoch, epochs, best.accuracy)
        warnings = prediction_warnings([classes[i] for i in best.pred], [classes[i] for i in y[val_idx]],
                                       what="validation texts")
        for warning in warnings:
            logger.warning("%s", warning)
    else:
        logger.info("no validation split: nothing tells whether the model learned (give --validation above 0)")
    out.mkdir(parents=True, exist_ok=True)
    net.save_pretrained(out)
    tokenizer.save_pretrained(out)
    result = TrainResult(
        path=out,
        classes=classes,
        val_accuracy=best.accuracy if best.epoch is not None else None,
        history=history,
        train_ids=[texts.ids[i] for i in train_idx],
        val_ids=[texts.ids[i] for i in val_idx],
        seconds=round(time.perf_counter() - started, 2),
        params={
            "base_model": str(model), "epochs": epochs, "batch_size": batch_size,
            "learning_rate": learning_rate, "weight_decay": weight_decay, "warmup_ratio": warmup_ratio,
            "max_length": max_length, "validation": validation, "seed": seed, "dtype": run_dtype,
            "dataset_sha256": texts.fingerprint, "clsmap_version": __version__,
            **({"map_every": map_every, "map_train_rows": map_train_rows} if map_every is not None else {}),
        },
        best_epoch=best.epoch if best.epoch is not None else epochs,
        baselines=baselines,
        warnings=warnings,
        dynamics=dynamics,
    )
    write_json_atomic(out / TRAIN_RECORD, result.to_json(), indent=2)
    logger.info("saved the fine-tuned model to %s", out)
    return result


def _load_for_training(loader: Any, source: str, classes: list[str], label2id: dict[str, int],
                       trust_remote_code: bool, *, allow_pickle: bool = False) -> Any:
    """Load with a (new) head for ``classes``; transformers' load-report table becomes one log line."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        net = loader.from_pretrained(
            source, num_labels=len(classes), id2label=dict(enumerate(classes)), label2id=label2id,
            ignore_mismatched_sizes=True, trust_remote_code=trust_remote_code,
            use_safetensors=None if allow_pickle else True,
        )
    finally:
        hf_logging.set_verbosity(previous)
    logger.info("classification head for %d classes initialised on top of %s", len(classes), source)
    return net


class _Best:
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


def _baselines(texts: list[str], y: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray, classes: list[str],
               *, seed: int) -> dict[str, dict[str, Any]]:
    """The majority class and the bag-of-words model on this split (none without a validation split)."""
    if not len(val_idx):
        return {}
    baselines = {
        "majority": majority_baseline(y[train_idx], y[val_idx], classes),
        "bag_of_words": bag_of_words_baseline([texts[i] for i in train_idx], y[train_idx],
                                              [texts[i] for i in val_idx], y[val_idx], seed=seed),
    }
    bow = baselines["bag_of_words"]
    if bow["val_accuracy"] is not None:
        logger.info("baselines on the validation split: majority class %r %.4f, bag of words %.4f (%.1f s)",
                    baselines["majority"]["class"], baselines["majority"]["val_accuracy"], bow["val_accuracy"],
                    bow["seconds"])
    return baselines


def _epoch_line(record: dict[str, Any], epochs: int, baselines: dict[str, dict[str, Any]]) -> str:
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


def _predict(net: Any, rows: np.ndarray, lengths: np.ndarray, batch_inputs: Any, autocast: Any,
             batch_size: int) -> np.ndarray:
    """The predicted class index of each of ``rows``, in the order of ``rows``."""
    import torch

    net.eval()
    order = np.argsort(lengths[rows], kind="stable")
    pred = np.empty(len(rows), dtype=np.int64)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            with autocast:
                logits = net(**batch_inputs(rows[batch])).logits
            pred[batch] = logits.argmax(-1).cpu().numpy()
    return pred
