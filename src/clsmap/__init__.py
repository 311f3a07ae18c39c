"""clsmap: map the [CLS] vector space of a text classifier.

The package tree is the pipeline; each stage imports only the stages below it (an import contract
in ``make test`` keeps it so)::

    io (read texts) -> extraction (vectors, logits) -> store (Parquet) -> projection (2-D)
        -> analysis (metrics, regions, label issues) -> render (figures, map, report)

``store`` holds the one schema every stage reads and writes; ``training`` fine-tunes a classifier
to map; ``demo`` and ``cli`` sit on top. This module is the public API.
"""

from ._errors import ClsmapError, MissingExtraError
from ._version import __version__
from .analysis import Analysis, Comparison, analyze, compare
from .extraction import ExtractOptions, LoadedModel, capture, extract, load_model
from .io import LabeledTexts, read_dataset
from .projection import Reducer, project
from .render import MapView, RenderModel, export, plot, report, show, write_compare, write_map
from .store import Store, open_store
from .training import TrainOptions, TrainResult, train

__all__ = [
    "Analysis",
    "ClsmapError",
    "Comparison",
    "ExtractOptions",
    "LabeledTexts",
    "LoadedModel",
    "MapView",
    "MissingExtraError",
    "Reducer",
    "RenderModel",
    "Store",
    "TrainOptions",
    "TrainResult",
    "__version__",
    "analyze",
    "capture",
    "compare",
    "export",
    "extract",
    "load_model",
    "open_store",
    "plot",
    "project",
    "read_dataset",
    "report",
    "show",
    "train",
    "write_compare",
    "write_map",
]
