"""Which split a row belongs to, as a ``clsmap train`` output folder records it.

``clsmap train`` writes ``clsmap_train.json`` beside the model, with the ids of its training and
validation rows. Mapping the same data with that model, each row whose id is in the record goes in
its split (``train`` or ``validation``), so the map shows training and held-out texts apart.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from .._errors import ClsmapError

__all__ = ["TRAIN_RECORD", "train_splits", "with_train_splits"]

logger = logging.getLogger(__name__)

#: the record ``clsmap train`` writes in the model folder
TRAIN_RECORD = "clsmap_train.json"


def train_splits(model: Any) -> dict[str, str] | None:
    """``{id: "train" | "validation"}`` from the record in the model folder ``model``, or ``None``
    when ``model`` is not a folder with a record (a Hub id, a loaded model, another trainer's folder)."""
    try:
        path = Path(str(model)).expanduser() / TRAIN_RECORD
        if not path.is_file():
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClsmapError(f"{model}/{TRAIN_RECORD}: not readable ({exc}); remove it or train again") from None
    if not isinstance(record, dict):
        return None
    by_id: dict[str, str] = {}
    for split, key in (("train", "train_ids"), ("validation", "val_ids")):
        by_id.update({str(i): split for i in record.get(key) or []})
    return by_id or None


def with_train_splits(texts: Any, model: Any) -> Any:
    """``texts`` (:class:`~clsmap.io.LabeledTexts`) with the splits of ``model``'s training record, when
    it has one, the texts name no split of their own, and some of their ids are in it (rows not in
    the record go in ``other``); otherwise ``texts`` unchanged."""
    if texts.splits is not None:
        return texts
    by_id = train_splits(model)
    if by_id is None:
        return texts
    known = sum(1 for i in texts.ids if i in by_id)
    if known == 0:
        logger.info("%s: none of the ids of %s are in its training record; no splits", model, texts.source)
        return texts
    logger.info("%s: %d of %d rows are in its training record (train / validation splits)", model, known,
                len(texts))
    return texts.with_splits(by_id, other="other", tag=f"{TRAIN_RECORD} of {model}")
