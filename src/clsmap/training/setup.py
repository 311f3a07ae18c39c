"""What a training run sets up before its first step: the labeled texts and their split, the model with
a new head for the classes, the tokenized texts, the optimiser and its schedule."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ClsmapError
from ..extraction.batches import pad_batch, pad_id_of
from ..extraction.models import autocast_for, check_local_folder, resolve_device, resolve_dtype
from ..io.dataset import LabeledTexts, read_dataset
from .options import TrainOptions

__all__ = ["Trainee", "TrainingSet", "read_training_texts", "load_trainee", "encode", "make_optimizer",
           "split_indices"]

logger = logging.getLogger(__name__)


@dataclass
class Trainee:
    """The model being trained, its tokenizer, and where and in which precision it runs."""

    net: Any
    tokenizer: Any
    device: str
    dtype: str

    def autocast(self) -> Any:
        """A ``torch.autocast`` context for the run's dtype, or a no-op for float32."""
        return autocast_for(self.device, self.dtype)

    def inputs(self, encoded: Any, rows: np.ndarray) -> dict[str, Any]:
        """The ``rows`` of the tokenized texts, padded, on the device."""
        return pad_batch(encoded, rows, pad_id_of(self.tokenizer), self.device)


@dataclass
class TrainingSet:
    """The labeled texts as the loop uses them: class codes, the split, the tokenized texts."""

    texts: LabeledTexts
    classes: list[str]
    #: the class code of every text
    y: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    #: the tokenizer's output, unpadded
    encoded: Any
    #: tokens of every text
    lengths: np.ndarray

    def steps_per_epoch(self, batch_size: int) -> int:
        return math.ceil(len(self.train_idx) / batch_size)


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


def read_training_texts(data: Any, out: Path, options: TrainOptions) -> LabeledTexts:
    """The labeled texts (two classes at least); a model already in ``out`` needs ``overwrite``."""
    texts = read_dataset(data, text_column=options.text_column, label_column=options.label_column)
    if texts.labels is None:
        raise ClsmapError(f"{texts.source}: training needs a label column; name it with --label-column")
    if len(texts.classes) < 2:
        raise ClsmapError(f"{texts.source}: training needs at least two classes, found {texts.classes}")
    if (out / "config.json").exists() and not options.overwrite:
        raise ClsmapError(f"{out} already holds a model; pass --overwrite to replace it")
    return texts


def load_trainee(model: str | Path, classes: list[str], options: TrainOptions) -> Trainee:
    """The model with a new head for ``classes`` (its weights drawn from ``options.seed``), on the device."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    device = resolve_device(options.device)
    dtype = resolve_dtype(options.dtype, device.split(":")[0], func="train")
    torch.manual_seed(options.seed)
    if Path(str(model)).expanduser().exists():
        check_local_folder(Path(str(model)).expanduser(), allow_pickle=options.allow_pickle)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model), trust_remote_code=options.trust_remote_code)
        net = _with_head(AutoModelForSequenceClassification, str(model), classes,
                         trust_remote_code=options.trust_remote_code, allow_pickle=options.allow_pickle)
    except OSError as exc:
        raise ClsmapError(f"model {str(model)!r}: could not be loaded ({str(exc).splitlines()[0]})") from None
    net.to(device)
    return Trainee(net=net, tokenizer=tokenizer, device=device, dtype=dtype)


def _with_head(loader: Any, source: str, classes: list[str], *, trust_remote_code: bool, allow_pickle: bool) -> Any:
    """Load with a (new) head for ``classes``; transformers' load-report table becomes one log line."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        net = loader.from_pretrained(
            source, num_labels=len(classes), id2label=dict(enumerate(classes)),
            label2id={name: i for i, name in enumerate(classes)}, ignore_mismatched_sizes=True,
            trust_remote_code=trust_remote_code, use_safetensors=None if allow_pickle else True,
        )
    finally:
        hf_logging.set_verbosity(previous)
    logger.info("classification head for %d classes initialised on top of %s", len(classes), source)
    return net


def encode(texts: LabeledTexts, tokenizer: Any, options: TrainOptions) -> TrainingSet:
    """Class codes, the stratified split (:func:`split_indices`) and the texts tokenized without padding."""
    labels = texts.labels
    assert labels is not None, "read_training_texts takes labeled texts only"
    classes = texts.classes
    label2id = {name: i for i, name in enumerate(classes)}
    y = np.array([label2id[label] for label in labels], dtype=np.int64)
    train_idx, val_idx = split_indices(labels, options.validation, options.seed)
    encoded = tokenizer(texts.texts, truncation=True, max_length=options.max_length, padding=False)
    lengths = np.array([len(x) for x in encoded["input_ids"]])
    return TrainingSet(texts=texts, classes=classes, y=y, train_idx=train_idx, val_idx=val_idx, encoded=encoded,
                       lengths=lengths)


def make_optimizer(net: Any, options: TrainOptions, *, steps: int) -> tuple[Any, Any]:
    """AdamW (no weight decay on biases and layer norms) and its linear schedule with warm-up."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {"params": [p for n, p in net.named_parameters() if not n.endswith(no_decay)],
         "weight_decay": options.weight_decay},
        {"params": [p for n, p in net.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=options.learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(options.warmup_ratio * steps), steps)
    return optimizer, scheduler
