"""What a fine-tuned model must beat, measured on the same train/validation split before training.

- ``majority``: always answer the training split's most frequent class;
- ``bag_of_words``: TF-IDF of words (1–2-grams) and of characters within words (2–4-grams, which
  also suit Korean, whose words carry their endings) under a logistic regression (scikit-learn's
  ``SGDClassifier(loss="log_loss")``, one-vs-rest, 10 passes: lbfgs took 30–140 s on 25k glosses for
  the same accuracy, SGD 3–25 s). Fit on at most :data:`MAX_FIT_ROWS` training rows, so that it stays
  a small part of any run.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

__all__ = ["majority_baseline", "bag_of_words_baseline", "split_baselines", "MAX_FIT_ROWS"]

logger = logging.getLogger(__name__)

#: the bag-of-words baseline learns from at most this many training rows (a random sample beyond)
MAX_FIT_ROWS = 20_000


def majority_baseline(y_train: np.ndarray, y_val: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Accuracy on ``y_val`` of always answering the most frequent class of ``y_train``."""
    majority = int(np.bincount(y_train, minlength=len(classes)).argmax())
    return {"class": classes[majority], "val_accuracy": float(np.mean(y_val == majority))}


def bag_of_words_baseline(train_texts: list[str], y_train: np.ndarray, val_texts: list[str], y_val: np.ndarray,
                          *, seed: int = 0) -> dict[str, Any]:
    """Validation accuracy of TF-IDF (word + char_wb n-grams) + logistic regression, and its cost."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline, make_union

    started = time.perf_counter()
    rows = np.arange(len(train_texts))
    if len(rows) > MAX_FIT_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=MAX_FIT_ROWS, replace=False))
    if len(np.unique(y_train[rows])) < 2:
        return {"val_accuracy": None, "note": "the training split holds one class"}
    min_df = 2 if len(rows) >= 1000 else 1
    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=min_df, max_features=200_000, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=min_df, max_features=200_000, sublinear_tf=True),
    )
    classifier = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=10, tol=None, random_state=seed, n_jobs=-1)
    pipeline = make_pipeline(features, classifier)
    try:
        pipeline.fit([train_texts[i] for i in rows], y_train[rows])
    except ValueError as exc:  # e.g. texts without a single word or character n-gram
        logger.info("bag-of-words baseline skipped: %s", exc)
        return {"val_accuracy": None, "note": str(exc).splitlines()[0]}
    accuracy = float(np.mean(pipeline.predict(val_texts) == y_val))
    return {"val_accuracy": accuracy, "fit_rows": int(len(rows)), "seconds": round(time.perf_counter() - started, 2),
            "method": "TF-IDF (word 1-2-grams + char_wb 2-4-grams) + logistic regression (SGD)"}


def split_baselines(texts: list[str], y: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray,
                    classes: list[str], *, seed: int) -> dict[str, dict[str, Any]]:
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
