"""Reading labeled texts (stage 1 of the pipeline): one reader for both extraction backends.

- :mod:`~clsmap.io.sources`: what ``data`` is (a file, a folder of files, a ``datasets`` folder, a
  URI), its format, its data files and its fingerprint;
- :mod:`~clsmap.io.readers`: one file's raw columns;
- :mod:`~clsmap.io.columns`: the text/label/id columns and the checks, into the store's input table;
- :mod:`~clsmap.io.dataset`: :func:`read_dataset` and :class:`LabeledTexts`;
- :mod:`~clsmap.io.splits`: the train/validation splits a ``clsmap train`` folder records.
"""

from .columns import ID_COLUMN_NAMES, LABEL_COLUMN_NAMES, TEXT_COLUMN_NAMES, Columns, choose_columns
from .dataset import LabeledTexts, read_dataset
from .sources import FORMATS, Source, open_source
from .splits import TRAIN_RECORD, train_splits, with_train_splits

__all__ = [
    "FORMATS",
    "ID_COLUMN_NAMES",
    "LABEL_COLUMN_NAMES",
    "TEXT_COLUMN_NAMES",
    "TRAIN_RECORD",
    "Columns",
    "LabeledTexts",
    "Source",
    "choose_columns",
    "open_source",
    "read_dataset",
    "train_splits",
    "with_train_splits",
]
