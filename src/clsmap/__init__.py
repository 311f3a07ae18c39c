"""clsmap: map the [CLS] vector space of a text classifier.

The pipeline, one module a stage::

    data -> models/hooks/extraction -> store -> reducers -> plotting -> analysis -> report
                                        ^
                                     training (fine-tune a classifier to map)
"""

from ._errors import ClsmapError, MissingExtraError
from ._version import __version__
from .analysis import analyze
from .data import LabeledTexts, read_dataset
from .extraction import extract
from .hooks import capture
from .models import load_model
from .plotting import plot
from .reducers import project
from .report import report
from .store import Store, open_store
from .training import train
from .viewer import show, write_map

__all__ = [
    "ClsmapError",
    "LabeledTexts",
    "MissingExtraError",
    "Store",
    "__version__",
    "analyze",
    "capture",
    "extract",
    "load_model",
    "open_store",
    "plot",
    "project",
    "read_dataset",
    "report",
    "show",
    "train",
    "write_map",
]
