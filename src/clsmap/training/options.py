"""The options of a training run, :class:`TrainOptions`: each also a keyword of :func:`clsmap.train`."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .._validation import check_positive_int, reject_unknown
from ..extraction.models import DType
from ..io.dataset import LabeledTexts
from .dynamics import MapEvery, snapshot_steps

__all__ = ["TrainOptions", "DEFAULT_MAP_TRAIN_ROWS", "train_options"]

#: training rows in the snapshots' probe set by default (and at most a quarter of the training rows)
DEFAULT_MAP_TRAIN_ROWS = 1000


@dataclass(frozen=True)
class TrainOptions:
    """The options of :func:`clsmap.train`, each also a keyword of it
    (``train(model, data, out, epochs=2)`` is ``train(model, data, out, options=TrainOptions(epochs=2))``).

    Parameters
    ----------
    epochs
        Passes over the training rows.
    batch_size
        Texts per optimisation step.
    learning_rate, weight_decay, warmup_ratio
        AdamW's peak learning rate and weight decay (none on biases and layer norms), and the share of
        the steps over which the learning rate warms up before it falls linearly to 0.
    max_length
        Truncate texts to this many tokens.
    validation
        The held-out fraction, in [0, 1) (stratified by label); 0 holds out nothing.
    seed
        Random seed of the split, the head and the batches.
    device, dtype
        Where and in which precision the model trains (as for :func:`clsmap.extract`).
    text_column, label_column
        How to read ``data``: those of :func:`clsmap.read_dataset`.
    overwrite
        Replace a model already in ``out``.
    trust_remote_code, allow_pickle
        As for :func:`clsmap.load_model`.
    progress
        Show a progress bar; default when logging is at INFO or lower.
    map_every
        A number of steps, or ``"epoch"``: record snapshots of the [CLS] space into the dynamics store
        ``out/dynamics``: the validation rows and up to ``map_train_rows`` training rows (default:
        1,000, and at most a quarter of the training rows, which keeps the cost near a fifth of the
        training time), before training and after every ``map_every`` steps
        (:mod:`clsmap.training.dynamics`).
    map_train_rows
        Training rows in the snapshots' probe set, besides the validation rows.
    keep_checkpoints
        Also save the weights of every snapshot in ``out/checkpoints``.
    map_held_out
        Labeled texts not in ``data`` (e.g. a test set), added to every snapshot as held-out rows of
        split ``test``.
    """

    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 128
    validation: float = 0.1
    seed: int = 0
    device: str = "auto"
    dtype: DType = "auto"
    text_column: str | None = None
    label_column: str | None = None
    overwrite: bool = False
    trust_remote_code: bool = False
    allow_pickle: bool = False
    progress: bool | None = None
    map_every: MapEvery | None = None
    map_train_rows: int | None = None
    keep_checkpoints: bool = False
    map_held_out: str | Path | LabeledTexts | Any | None = None

    def check(self) -> None:
        """A bad number or a snapshot option without ``map_every`` fails here, before anything runs."""
        check_positive_int(self.epochs, param="epochs", func="train")
        check_positive_int(self.batch_size, param="batch_size", func="train")
        check_positive_int(self.max_length, param="max_length", func="train", minimum=2)
        if not 0 <= self.validation < 1:
            raise ValueError(f"The 'validation' parameter of train must be in [0, 1). Got {self.validation!r} "
                             "instead.")
        if self.map_train_rows is not None:
            check_positive_int(self.map_train_rows, param="map_train_rows", func="train", minimum=0)
        if self.map_every is not None:
            snapshot_steps(self.map_every, steps_per_epoch=1, epochs=1)  # checks the value
        elif self.keep_checkpoints or self.map_held_out is not None:
            raise ValueError("The 'keep_checkpoints' and 'map_held_out' parameters of train apply to the snapshots; "
                             "give map_every (--map-every N|epoch) too.")


def train_options(options: TrainOptions | None, overrides: dict[str, Any]) -> TrainOptions:
    """``options`` (default :class:`TrainOptions`'s defaults) with the keywords of :func:`clsmap.train`
    over it, checked; a keyword that is not an option is an error that names it."""
    reject_unknown(overrides, func="train", allowed={f.name for f in fields(TrainOptions)})
    options = replace(options or TrainOptions(), **overrides)
    options.check()
    return options
