"""Fine-tune a sequence classifier, so that there is a classifier to map, and say when it failed.

``loop`` is :func:`train`, a sequence of steps over its :class:`TrainOptions` (``options``): ``setup``
reads the texts, splits them and loads the model with a new head; ``epochs`` trains, validating with
the extraction's own batches; ``baselines`` is what a model must beat on the same split (the majority
class, a bag-of-words model); ``checks`` the warnings for a model that has not learned, worded once for
the log, the train record, the map and the report; ``dynamics`` the snapshots of the [CLS] space
during training.
"""

from .loop import TrainResult, train
from .options import TrainOptions
from .setup import split_indices

__all__ = ["train", "TrainOptions", "TrainResult", "split_indices"]
