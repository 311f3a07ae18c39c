"""Fine-tune a sequence classifier, so that there is a classifier to map, and say when it failed.

``loop`` is the training loop (:func:`train`); ``baselines`` what a model must beat on the same
split (the majority class, a bag-of-words model); ``checks`` the warnings for a model that has not
learned, worded once for the log, the train record, the map and the report.
"""

from .checks import prediction_warnings
from .loop import TRAIN_RECORD, TrainResult, split_indices, train

__all__ = ["train", "TrainResult", "TRAIN_RECORD", "split_indices", "prediction_warnings"]
