""":func:`extract`: a vector, logits and prediction for every text, into a store, on a chosen backend;
its options in one :class:`ExtractOptions`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from .._validation import check_choice, check_positive_int, reject_unknown
from ..io.dataset import LabeledTexts, read_dataset
from ..io.sources import FORMATS
from ..io.splits import train_splits, with_train_splits
from ..store.reader import Store, open_store
from .backends import BACKENDS, backend_option_names, make_backend
from .models import DEVICES, DType, LoadedModel
from .runner import POOLINGS, QUANTIZE, Options, Pooling, Quantize

__all__ = ["extract", "ExtractOptions"]

logger = logging.getLogger(__name__)

Backend = Literal["local", "ray"]


@dataclass(frozen=True)
class ExtractOptions:
    """The options of :func:`extract`, each also a keyword of it
    (``extract(model, data, out, layer="all")`` is ``extract(model, data, out, options=ExtractOptions(layer="all"))``).

    Parameters
    ----------
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
    device
        ``auto`` (CUDA, then Apple MPS, then the CPU), ``cpu``, ``cuda``, ``cuda:1`` or ``mps``.
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
    backend_options
        Options of the backend; for ``ray`` those of :class:`~clsmap.extraction.ray.RayBackend`:
        ``ray_address``, ``num_workers``, ``gpus_per_worker``, ``cpus_per_worker``, ``ray_num_cpus``,
        ``batch_rows``. As keywords of :func:`extract` they are given one by one
        (``extract(..., backend="ray", num_workers=8)``).
    """

    layer: int | Literal["all"] | None = None
    module: str | None = None
    pooling: Pooling = "cls"
    max_length: int | None = None
    batch_tokens: int = 4096
    device: str = "auto"
    dtype: DType = "auto"
    quantize: Quantize = "none"
    text_column: str | None = None
    label_column: str | None | Literal[False] = None
    id_column: str | None | Literal[False] = None
    split_column: str | None = None
    format: str = "auto"
    encoding: str | None = None
    overwrite: bool = False
    trust_remote_code: bool = False
    allow_pickle: bool = False
    progress: bool | None = None
    backend: Backend = "local"
    backend_options: Mapping[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """A bad choice or number fails here, before anything is read or loaded."""
        check_choice(self.pooling, POOLINGS, param="pooling", func="extract")
        check_choice(self.backend, BACKENDS, param="backend", func="extract")
        check_positive_int(self.batch_tokens, param="batch_tokens", func="extract", minimum=8)
        check_choice(self.quantize, QUANTIZE, param="quantize", func="extract")
        check_choice(self.format, FORMATS, param="format", func="extract")
        check_choice(self.device.split(":")[0], DEVICES, param="device", func="extract")
        if self.max_length is not None:
            check_positive_int(self.max_length, param="max_length", func="extract", minimum=2)

    @property
    def read_options(self) -> dict[str, Any]:
        """The keywords of :func:`clsmap.read_dataset`."""
        return dict(text_column=self.text_column, label_column=self.label_column, id_column=self.id_column,
                    split_column=self.split_column, format=self.format, encoding=self.encoding)

    @property
    def runner_options(self) -> Options:
        """What to take from the model and how to run it, the same on every backend."""
        return Options(layer=self.layer, module=self.module, pooling=self.pooling, max_length=self.max_length,
                       batch_tokens=self.batch_tokens, dtype=self.dtype, quantize=self.quantize)


def extract(
    model: str | Path | LoadedModel,
    data: str | Path | LabeledTexts | Any,
    out: str | Path,
    *,
    options: ExtractOptions | None = None,
    **kwargs: Any,
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
    options
        The options (:class:`ExtractOptions`); default its defaults.
    **kwargs
        Any option of :class:`ExtractOptions` as a keyword (``layer="all"``, ``pooling="mean"``,
        ``dtype="float32"``, ...), over those of ``options``, and the options of the backend one by one
        (``ray_address``, ``num_workers``, ...). Any other keyword is an error that names it.

    Returns
    -------
    Store
        The finished store, as :func:`clsmap.open_store` returns it.
    """
    options = _options(options, kwargs)
    options.check()
    runner = make_backend(options.backend, **options.backend_options)
    if options.backend == "local" and not isinstance(model, LoadedModel) and train_splits(model) is not None:
        data = with_train_splits(read_dataset(data, **options.read_options), model)
    runner.run(model, data, out, options=options.runner_options, device=options.device,
               read_options=options.read_options, overwrite=options.overwrite,
               trust_remote_code=options.trust_remote_code, allow_pickle=options.allow_pickle,
               progress=options.progress)
    store = open_store(out)
    logger.info("wrote %d rows to %s", len(store), out)
    return store


def _options(options: ExtractOptions | None, kwargs: dict[str, Any]) -> ExtractOptions:
    """``options`` with the keywords of :func:`extract` over it: those of :class:`ExtractOptions` by
    name, the backends' one by one into ``backend_options``; any other keyword is an error."""
    own = {f.name for f in fields(ExtractOptions)}
    reject_unknown(kwargs, func="extract", allowed=own | backend_option_names())
    options = replace(options or ExtractOptions(), **{k: v for k, v in kwargs.items() if k in own})
    by_backend = {k: v for k, v in kwargs.items() if k not in own}
    if by_backend:
        options = replace(options, backend_options={**options.backend_options, **by_backend})
    return options
