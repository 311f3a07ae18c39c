"""Has the classifier learned anything? Two checks on its predictions, worded once for every output.

``clsmap train`` runs them on the validation split after training; the map, the report and the
static figures run them on a store's predictions (:mod:`clsmap.render.model`), so the same sentence
says the same thing in the log, in ``clsmap_train.json`` and on the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["prediction_warnings", "single_class", "MIN_UNLABELED_ROWS"]

#: without labels, one predicted class is suspicious only over this many rows (a handful of texts may
#: all belong to one class)
MIN_UNLABELED_ROWS = 100

_ADVICE = "it has not learned to classify (train it longer, or with another learning rate)"


def _clean(values: Sequence[object] | pd.Series | np.ndarray | None, n: int) -> pd.Series:
    if values is None:
        return pd.Series([pd.NA] * n, dtype="string")
    return pd.Series(np.asarray(values, dtype=object), dtype="string").reset_index(drop=True)


def single_class(preds: Sequence[object] | pd.Series | np.ndarray,
                 labels: Sequence[object] | pd.Series | np.ndarray | None = None) -> str | None:
    """The one class predicted for every row, when that says the model failed; else ``None``.

    It says so when the labels hold two or more classes, or, without labels, over at least
    :data:`MIN_UNLABELED_ROWS` rows.
    """
    pred = _clean(preds, 0).dropna()
    if len(pred) < 2 or pred.nunique() != 1:
        return None
    label = _clean(labels, len(preds)).dropna()
    if label.nunique() >= 2 or (label.empty and len(pred) >= MIN_UNLABELED_ROWS):
        return str(pred.iloc[0])
    return None


def prediction_warnings(preds: Sequence[object] | pd.Series | np.ndarray,
                        labels: Sequence[object] | pd.Series | np.ndarray | None = None,
                        *, what: str = "rows") -> list[str]:
    """One sentence per failure found in ``preds`` (class names, one per row; missing ones ignored):

    - the model predicts a single class (see :func:`single_class`);
    - its accuracy on the rows with a label is no better than always answering the labels'
      majority class (needs labels of two or more classes).

    ``what`` names the rows in the sentences ("validation texts", "rows of this map").
    """
    warnings = []
    n = len(preds)
    only = single_class(preds, labels)
    if only is not None:
        warnings.append(f"the model predicts one class, {only!r}, for all {n:,} {what}: {_ADVICE}")
    pred, label = _clean(preds, n), _clean(labels, n)
    both = pred.notna() & label.notna()
    if labels is not None and both.any() and label[both].nunique() >= 2:
        accuracy = float((pred[both] == label[both]).mean())
        shares = label[both].value_counts(normalize=True).sort_index().sort_values(ascending=False, kind="stable")
        majority, rate = str(shares.index[0]), float(shares.iloc[0])
        if accuracy <= rate + 1e-12:
            warnings.append(f"the model's accuracy on the {what}, {accuracy:.1%}, is no better than always "
                            f"answering the majority class {majority!r} ({rate:.1%}): {_ADVICE}")
    return warnings
