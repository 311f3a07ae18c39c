"""Batches of tokenized texts and the model's forward passes over them, written once for extraction and
training: the length-sorted plan under a token budget, the padding of a batch, and the passes in
inference mode (with the class each row is predicted, for a training run's validation split).

Texts are tokenized without padding, sorted by length and grouped into batches under a token budget,
so each batch is padded only to its own longest text (not to 512).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np

__all__ = ["plan_batches", "pad_batch", "pad_id_of", "forward_batches", "predict_classes"]


def plan_batches(lengths: Sequence[int], *, token_budget: int, max_batch_size: int = 512) -> list[np.ndarray]:
    """Group row indices into batches of similar length.

    Rows are sorted by length, longest first, and cut into batches whose padded size
    (rows x longest row) stays within ``token_budget``; a row longer than the budget gets a
    batch of its own. Every index appears in exactly one batch.
    """
    row_lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-row_lengths, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    n = len(order)
    while start < n:
        longest = max(int(row_lengths[order[start]]), 1)
        size = max(1, min(max_batch_size, token_budget // longest, n - start))
        batches.append(order[start:start + size])
        start += size
    return batches


def pad_batch(encoded: Any, rows: Any, pad_id: int, device: str) -> dict[str, Any]:
    """Right-pad the ``rows`` of an unpadded tokenizer output into tensors on ``device``:
    ``input_ids`` (with ``pad_id``), ``attention_mask`` and ``token_type_ids`` when the
    tokenizer makes them (padded with 0)."""
    import torch

    batch_ids = [encoded["input_ids"][r] for r in rows]
    lengths = np.fromiter(map(len, batch_ids), dtype=np.int64, count=len(batch_ids))
    real = np.arange(max(int(lengths.max()), 1)) < lengths[:, None]  # (rows, longest): the real tokens

    def padded(sequences: list[list[int]], fill: int) -> Any:
        out = np.full(real.shape, fill, dtype=np.int64)
        out[real] = np.fromiter(itertools.chain.from_iterable(sequences), dtype=np.int64, count=int(lengths.sum()))
        return torch.from_numpy(out)

    inputs = {"input_ids": padded(batch_ids, pad_id), "attention_mask": torch.from_numpy(real.astype(np.int64))}
    if "token_type_ids" in encoded:
        inputs["token_type_ids"] = padded([encoded["token_type_ids"][r] for r in rows], 0)
    return {k: v.to(device, non_blocking=True) for k, v in inputs.items()}


def pad_id_of(tokenizer: Any) -> int:
    """The id that pads ``input_ids`` (0 for a tokenizer without a pad token)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def forward_batches(net: Any, encoded: Any, *, pad_id: int, device: str, token_budget: int,
                    rows: np.ndarray | None = None, autocast: Any = None,
                    **forward: Any) -> Iterator[tuple[np.ndarray, dict[str, Any], Any]]:
    """Run ``net`` over the tokenized texts ``encoded`` (all of them, or those of ``rows``) in
    length-sorted batches under ``token_budget`` (:func:`plan_batches`), each in inference mode and
    under ``autocast`` (a context, or ``None``); ``forward`` goes to every call of ``net``.

    Yields, batch after batch, the positions of the batch's texts (in ``rows`` when given, else in
    ``encoded``), the padded inputs and the model's output.
    """
    import torch

    lengths = [len(x) for x in encoded["input_ids"]]
    if rows is not None:
        lengths = [lengths[r] for r in rows]
    for batch in plan_batches(lengths, token_budget=token_budget):
        inputs = pad_batch(encoded, batch if rows is None else rows[batch], pad_id, device)
        with torch.inference_mode(), autocast if autocast is not None else nullcontext():
            out = net(**inputs, **forward)
        yield batch, inputs, out


def predict_classes(net: Any, encoded: Any, rows: np.ndarray, *, pad_id: int, device: str, token_budget: int,
                    autocast: Any = None) -> np.ndarray:
    """The class index that ``net`` (a classifier, run in eval mode) predicts for each of ``rows`` of the
    tokenized texts ``encoded``, in the order of ``rows``. ``net`` is left in the mode it was in."""
    was_training = net.training
    net.eval()
    pred = np.empty(len(rows), dtype=np.int64)
    try:
        for batch, _, out in forward_batches(net, encoded, pad_id=pad_id, device=device, token_budget=token_budget,
                                             rows=np.asarray(rows), autocast=autocast):
            pred[batch] = out.logits.argmax(-1).cpu().numpy()
    finally:
        net.train(was_training)
    return pred
