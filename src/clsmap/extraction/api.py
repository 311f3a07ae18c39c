""":func:`extract`: a vector, logits and prediction for every text, into a store, on a chosen backend."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from .._validation import check_choice, check_positive_int
from ..io.dataset import LabeledTexts, read_dataset
from ..io.sources import FORMATS
from ..io.splits import train_splits, with_train_splits
from ..store.reader import Store, open_store
from .backends import BACKENDS, make_backend
from .models import DEVICES, DType, LoadedModel
from .runner import POOLINGS, QUANTIZE, Options, Pooling, Quantize

__all__ = ["extract"]

logger = logging.getLogger(__name__)

Backend = Literal["local", "ray"]


def extract(
    model: str | Path | LoadedModel,
    data: str | Path | LabeledTexts | Any,
    out: str | Path,
    *,
    layer: int | Literal["all"] | None = None,
    module: str | None = None,
    pooling: Pooling = "cls",
    max_length: int | None = None,
    batch_tokens: int = 4096,
    device: str = "auto",
    dtype: DType = "auto",
    quantize: Quantize = "none",
    text_column: str | None = None,
    label_column: str | None | Literal[False] = None,
    id_column: str | None | Literal[False] = None,
    split_column: str | None = None,
    format: str = "auto",
    encoding: str | None = None,
    overwrite: bool = False,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    progress: bool | None = None,
    backend: Backend = "local",
    **backend_options: Any,
) -> Store:
    """Extract a vector, logits and prediction for every text, into the store folder ``out``.

    Parameters
    ----------
    model
        A local Hugging Face model folder, a Hub id, or a :class:`~clsmap.extraction.models.LoadedModel`.
    data
        A data file (CSV, TSV, JSONL, Parquet), a folder of such files, a ``datasets`` folder, a
        URI that ``pyarrow`` opens, a DataFrame, or :class:`~clsmap.io.LabeledTexts`; several inputs
        (a list, one split each, or a dict of split names) as :func:`clsmap.read_dataset` takes them.
        When ``model`` is a folder written by :func:`clsmap.train` and the texts name no split, the
        rows it trained on go in the split ``train``, those it held out in ``validation``.
    out
        The store folder. A compatible unfinished store there is resumed.
    layer
        Hidden-state index (default -1, the last layer; 0 is the embeddings) or ``"all"`` for
        every layer in one pass (columns ``layer_0`` ... ``layer_L``).
    module
        Instead of a layer, the dotted path of a submodule whose output is captured by a
        forward hook, e.g. ``electra.encoder.layer[-1].output.LayerNorm``.
    pooling
        ``cls`` (first token), ``mean`` or ``max`` over the real tokens, or ``pooler`` (BERT's
        pooler output).
    max_length
        Truncation length in tokens; default the model's limit, at most 512. Batches are padded
        only to their longest text.
    batch_tokens
        Token budget of one batch (rows x padded length).
    dtype
        ``float32`` (exact), ``bfloat16`` (a bf16 copy of the weights; vectors within 0.999 cosine
        of float32), ``float16`` (autocast), or ``auto``: bfloat16 where the hardware runs it
        natively (CUDA, CPUs with AMX/AVX512-BF16), float32 elsewhere.
    quantize
        ``int8`` runs the linear layers as dynamic int8 (CPU only; faster on most CPUs, vectors
        within about 1 % cosine of float32). Default ``none``.
    text_column, label_column, id_column, split_column, format, encoding
        How to read ``data``: those of :func:`clsmap.read_dataset`.
    overwrite
        Replace a store made with other settings instead of refusing.
    trust_remote_code, allow_pickle
        Let the model run its repository's Python code; accept pickle weights
        (``pytorch_model.bin``), which can run code when loaded. Both off by default.
    progress
        Show a progress bar; default when logging is at INFO or lower.
    backend
        ``local`` runs the model in this process; ``ray`` reads the data and runs the model in a pool
        of Ray actors (``pip install 'clsmap[ray]'``), writing the same store.
    **backend_options
        Options of the backend; for ``ray`` those of :class:`~clsmap.extraction.ray.RayBackend`:
        ``ray_address``, ``num_workers``, ``gpus_per_worker``, ``cpus_per_worker``, ``ray_num_cpus``,
        ``batch_rows``.

    Returns
    -------
    Store
        The finished store, as :func:`clsmap.open_store` returns it.
    """
    check_choice(pooling, POOLINGS, param="pooling", func="extract")
    check_choice(backend, BACKENDS, param="backend", func="extract")
    check_positive_int(batch_tokens, param="batch_tokens", func="extract", minimum=8)
    check_choice(quantize, QUANTIZE, param="quantize", func="extract")
    check_choice(format, FORMATS, param="format", func="extract")
    check_choice(device.split(":")[0], DEVICES, param="device", func="extract")
    if max_length is not None:
        check_positive_int(max_length, param="max_length", func="extract", minimum=2)
    runner = make_backend(backend, **backend_options)
    options = Options(layer=layer, module=module, pooling=pooling, max_length=max_length, batch_tokens=batch_tokens,
                      dtype=dtype, quantize=quantize)
    read_options = dict(text_column=text_column, label_column=label_column, id_column=id_column,
                        split_column=split_column, format=format, encoding=encoding)
    if backend == "local" and not isinstance(model, LoadedModel) and train_splits(model) is not None:
        data = with_train_splits(read_dataset(data, **read_options), model)
    runner.run(model, data, out, options=options, device=device, read_options=read_options, overwrite=overwrite,
               trust_remote_code=trust_remote_code, allow_pickle=allow_pickle, progress=progress)
    store = open_store(out)
    logger.info("wrote %d rows to %s", len(store), out)
    return store
