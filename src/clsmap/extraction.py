"""Stage 2c, extraction: run the model over the texts and stream vectors and predictions to a store.

What the seed's loop got wrong and this gets right:

* texts are tokenized without padding, sorted by length and grouped into batches under a
  token budget, so each batch is padded only to its own longest text (not to 512);
* the vectors of each batch are pooled on the device and copied to the host at once, and each
  part of the store is written as soon as it is complete: memory is bounded by a part, not by
  the dataset, and nothing is concatenated over and over;
* a forward hook, when one is used, is removed when the run ends, even on error;
* an interrupted run resumes at the first part that is not on disk.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._version import __version__
from ._errors import ClsmapError
from ._fastpath import cls_only_last_layer, quantize_int8
from ._validation import check_choice, check_positive_int
from .data import LabeledTexts, read_dataset
from .hooks import capture, resolve_module
from .models import DType, LoadedModel, autocast_for, load_model, pad_batch, resolve_dtype
from .store import Store, StoreWriter, open_store

__all__ = ["extract", "extract_chunk", "plan_batches", "pool", "POOLINGS", "BACKENDS"]

logger = logging.getLogger(__name__)

Pooling = Literal["cls", "mean", "max", "pooler"]
POOLINGS = ("cls", "mean", "max", "pooler")
Backend = Literal["local", "ray"]
BACKENDS = ("local", "ray")
Quantize = Literal["none", "int8"]
QUANTIZE = ("none", "int8")
#: upper bound on the memory of one part's vectors; parts are also at most 8,192 rows
_PART_BYTES = 64 << 20


# --------------------------------------------------------------------------- pure helpers


def plan_batches(lengths: Sequence[int], *, token_budget: int, max_batch_size: int = 512) -> list[np.ndarray]:
    """Group row indices into batches of similar length.

    Rows are sorted by length, longest first, and cut into batches whose padded size
    (rows x longest row) stays within ``token_budget``; a row longer than the budget gets a
    batch of its own. Every index appears in exactly one batch.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    n = len(order)
    while start < n:
        longest = max(int(lengths[order[start]]), 1)
        size = max(1, min(max_batch_size, token_budget // longest, n - start))
        batches.append(order[start:start + size])
        start += size
    return batches


def pool(hidden: Any, mask: Any, how: Pooling) -> Any:
    """Pool token vectors ``hidden`` (b, t, h) into (b, h), ignoring positions where ``mask`` is 0.

    ``cls`` takes the first token; ``mean`` averages the real tokens; ``max`` takes the
    element-wise maximum over the real tokens. A 2-D input is returned as is.
    """
    import torch

    if hidden.dim() == 2:
        return hidden
    if how == "cls":
        return hidden[:, 0]
    keep = mask.to(torch.bool).unsqueeze(-1)
    if how == "mean":
        summed = hidden.masked_fill(~keep, 0).sum(dim=1)
        return summed / keep.sum(dim=1).clamp(min=1).to(hidden.dtype)
    if how == "max":
        return hidden.masked_fill(~keep, float("-inf")).max(dim=1).values
    raise ValueError(f"pool() does not compute {how!r} from token vectors")


# --------------------------------------------------------------------------- what to take


@dataclass(frozen=True)
class _Target:
    """Which tensors one forward pass yields and which store columns they fill."""

    columns: list[str]
    layers: list[int] | None  # hidden-state indices, or None for a module hook
    module: str | None
    pooling: str
    description: dict[str, Any]


def _num_hidden_states(model: Any) -> int:
    config = model.config
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layers", None)
    if layers is None:
        raise ClsmapError(f"{type(model).__name__}: its config does not say how many layers it has; use --module")
    return int(layers) + 1


def _resolve_target(model: Any, *, layer: int | str | None, module: str | None, pooling: str) -> _Target:
    if module is not None:
        if layer is not None:
            raise ClsmapError("pass either --layer or --module, not both")
        return _Target(["vector"], None, module, pooling, {"module": module, "layer": None, "pooling": pooling})
    count = _num_hidden_states(model)
    span = f"{count} hidden states: 0 is the embeddings, 1-{count - 1} the layers; negative indices count from the end"
    if layer is None:
        layer = -1
    if isinstance(layer, str):
        if layer == "all":
            layers = list(range(count))
            return _Target([f"layer_{i}" for i in layers], layers, None, pooling,
                           {"module": None, "layer": "all", "pooling": pooling})
        try:
            layer = int(layer)
        except ValueError:
            raise ClsmapError(f"--layer {layer!r}: give an integer index or 'all' ({span})") from None
    if not -count <= layer < count:
        raise ClsmapError(f"--layer {layer} is out of range: the model has {span}")
    index = layer % count
    return _Target(["vector"], [index], None, pooling, {"module": None, "layer": index, "pooling": pooling})


def _find_pooler(model: Any) -> str:
    base = getattr(model, "base_model", model)
    if getattr(base, "pooler", None) is not None:
        prefix = getattr(model, "base_model_prefix", "")
        return f"{prefix}.pooler" if base is not model and prefix else "pooler"
    raise ClsmapError(
        f"--pooling pooler: {type(model).__name__} has no pooler layer (BERT has one; ELECTRA, RoBERTa "
        "classifiers and DistilBERT do not); use --pooling cls"
    )


# --------------------------------------------------------------------------- labels vs classes


def _class_names(loaded: LoadedModel, data: LabeledTexts) -> list[str] | None:
    if loaded.classes is None:
        return None
    if not loaded.named_classes and data.labels_are_integers:
        return [str(i) for i in range(len(loaded.classes))]
    return list(loaded.classes)


def _label_lookup(
    classes: list[str] | None, distinct: set[str] | None, labels_are_integers: bool, source: str,
) -> dict[str, int] | None:
    """Class index of each distinct label (labels missing from the result are not classes of the model).

    ``distinct`` is the set of labels of the whole dataset (``None`` without labels): integer labels
    are read as class indices only when they are not all class names.
    """
    if classes is None or distinct is None:
        return None
    lookup = {name: i for i, name in enumerate(classes)}
    if labels_are_integers and not distinct <= set(lookup):
        lookup = {str(i): i for i in range(len(classes))}
    unknown = sorted(distinct - set(lookup))
    if unknown:
        logger.warning(
            "%s: %d label(s) are not classes of the model (%s; the model has %s): 'correct' is left "
            "empty for their rows",
            source, len(unknown), ", ".join(unknown[:5]), ", ".join(classes[:8]),
        )
    return lookup


# --------------------------------------------------------------------------- the run


def _manifest(
    loaded: LoadedModel, texts: LabeledTexts, target: _Target, classes: list[str] | None, *,
    max_length: int, dtype: str, device: str, quantize: str = "none",
) -> dict[str, Any]:
    """What the store records about the run; the part size keeps one part's vectors under 64 MB."""
    config = loaded.model.config
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    part_rows = int(min(8192, max(256, _PART_BYTES // (max(hidden, 1) * len(target.columns) * 4))))
    return {
        "clsmap_version": __version__,
        "model": {
            "name_or_path": loaded.name_or_path,
            "config_hash": loaded.config_hash,
            "architecture": type(loaded.model).__name__,
            "model_type": getattr(config, "model_type", None),
            "hidden_size": hidden or None,
        },
        "extraction": {**target.description, "max_length": max_length, "dtype": dtype,
                       **({"quantize": quantize} if quantize != "none" else {})},
        "dataset": {
            "source": texts.source,
            "sha256": texts.fingerprint,
            "text_column": texts.text_column,
            "label_column": texts.label_column,
            "id_column": texts.id_column,
        },
        "n_rows": len(texts),
        "part_rows": part_rows,
        "classes": classes,
        "vector_columns": target.columns,
        "default_vector": target.columns[-1],
        "device": device,
    }


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
    label_column: str | None = None,
    overwrite: bool = False,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    progress: bool | None = None,
    backend: Backend = "local",
    ray_address: str | None = None,
    num_workers: int | None = None,
    gpus_per_worker: float = 0,
    cpus_per_worker: float = 1,
    ray_num_cpus: int | None = None,
) -> Store:
    """Extract a vector, logits and prediction for every text, into the store folder ``out``.

    Parameters
    ----------
    model
        A local Hugging Face model folder, a Hub id, or a :class:`~clsmap.models.LoadedModel`.
    data
        A data file (CSV, TSV, JSONL, Parquet), a ``datasets`` folder, a DataFrame, or
        :class:`~clsmap.data.LabeledTexts`.
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
        ``float32`` (exact), ``bfloat16``/``float16`` autocast, or ``auto``: bfloat16 where the
        hardware runs it natively (CUDA, CPUs with AMX/AVX512-BF16), float32 elsewhere.
    quantize
        ``int8`` runs the linear layers as dynamic int8 (CPU only; faster on most CPUs, vectors
        within about 1 % cosine of float32). Default ``none``.
    overwrite
        Replace a store made with other settings instead of refusing.
    trust_remote_code, allow_pickle
        Let the model run its repository's Python code; accept pickle weights
        (``pytorch_model.bin``), which can run code when loaded. Both off by default.
    progress
        Show a progress bar; default when logging is at INFO or lower.
    backend
        ``local`` runs the model in this process; ``ray`` reads the data with Ray Data and runs the
        model in a pool of Ray actors (``pip install 'clsmap[ray]'``), writing the same store.
    ray_address
        With ``backend="ray"``: the cluster to join (``auto``, ``ray://host:10001``, ...). Without it
        (and without ``RAY_ADDRESS`` set) a local Ray instance is started and stopped afterwards.
    num_workers
        With ``backend="ray"``: model replicas (actors); default as many as the cluster's CPUs (or
        GPUs, with ``gpus_per_worker``) allow.
    gpus_per_worker, cpus_per_worker
        With ``backend="ray"``: resources of each actor (fractions allowed).
    ray_num_cpus
        With ``backend="ray"`` and no cluster: CPUs of the local Ray instance (default: all).

    Returns
    -------
    Store
        The finished store, as :func:`clsmap.open_store` returns it.
    """
    check_choice(pooling, POOLINGS, param="pooling", func="extract")
    check_choice(backend, BACKENDS, param="backend", func="extract")
    check_positive_int(batch_tokens, param="batch_tokens", func="extract", minimum=8)
    check_choice(quantize, QUANTIZE, param="quantize", func="extract")
    if max_length is not None:
        check_positive_int(max_length, param="max_length", func="extract", minimum=2)
    if backend == "ray":
        from ._ray import extract_ray

        return extract_ray(
            model, data, out, layer=layer, module=module, pooling=pooling, max_length=max_length,
            batch_tokens=batch_tokens, device=device, dtype=dtype, quantize=quantize, text_column=text_column,
            label_column=label_column, overwrite=overwrite, trust_remote_code=trust_remote_code,
            allow_pickle=allow_pickle,
            progress=progress, ray_address=ray_address, num_workers=num_workers,
            gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker, ray_num_cpus=ray_num_cpus,
        )
    ray_only = {"ray_address": ray_address is not None, "num_workers": num_workers is not None,
                "ray_num_cpus": ray_num_cpus is not None, "gpus_per_worker": gpus_per_worker != 0,
                "cpus_per_worker": cpus_per_worker != 1}
    given = [name for name, changed in ray_only.items() if changed]
    if given:
        raise ValueError(f"extract: {', '.join(given)} only apply with backend='ray'")
    texts = read_dataset(data, text_column=text_column, label_column=label_column)
    _give_back_freed_memory()  # what the file reader used beyond the texts themselves
    loaded = model if isinstance(model, LoadedModel) else load_model(
        model, device=device, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle
    )
    classes = _class_names(loaded, texts)
    lookup = _label_lookup(classes, None if texts.labels is None else set(texts.labels),
                           texts.labels_are_integers, texts.source)
    runner = _prepare(loaded, layer=layer, module=module, pooling=pooling, max_length=max_length,
                      batch_tokens=batch_tokens, dtype=dtype, quantize=quantize, classes=classes,
                      label_lookup=lookup)

    manifest = _manifest(loaded, texts, runner.target, classes, max_length=runner.max_length,
                         dtype=runner.dtype, device=runner.device, quantize=quantize)
    writer = StoreWriter(out, manifest, overwrite=overwrite)
    part_rows = writer.part_rows
    done = writer.done_parts()
    todo = [k for k in range(math.ceil(len(texts) / part_rows)) if k not in done]
    if done and not todo:
        logger.info("%s is already complete", out)
    elif done:
        logger.info("resuming %s: %d of %d parts already written", out, len(done), len(done) + len(todo))

    show = progress if progress is not None else logger.isEnabledFor(logging.INFO)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(texts), initial=sum(writer.expected_rows(k) for k in done),
               unit="text", desc="extract", disable=not show, dynamic_ncols=True)

    def span(k: int) -> tuple[int, int]:
        return k * part_rows, min(len(texts), (k + 1) * part_rows)

    # tokenization of the next part overlaps the forward passes of this one
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as pool_exec:
        session = stack.enter_context(runner.session())
        stack.callback(bar.close)
        upcoming = pool_exec.submit(runner.tokenize, texts.texts[slice(*span(todo[0]))]) if todo else None
        for position, k in enumerate(todo):
            encoded = upcoming.result()
            if position + 1 < len(todo):
                upcoming = pool_exec.submit(runner.tokenize, texts.texts[slice(*span(todo[position + 1]))])
            lo, hi = span(k)
            table = extract_chunk(
                runner, np.arange(lo, hi, dtype=np.int64), texts.ids[lo:hi], texts.texts[lo:hi],
                None if texts.labels is None else texts.labels[lo:hi],
                encoded=encoded, session=session, bar=bar,
            )
            writer.write_part(k, table)
            del table, encoded
            _give_back_freed_memory()
    writer.finish()
    logger.info("wrote %d rows to %s", len(texts), out)
    return open_store(out)


# --------------------------------------------------------------------------- the per-chunk work


@dataclass
class _Runner:
    """What turning a chunk of texts into store rows needs; made once per process that runs the
    model (the local run, or each Ray actor) by :func:`_prepare`."""

    net: Any
    tokenizer: Any
    target: _Target
    hook_path: str | None
    max_length: int
    batch_tokens: int
    device: str
    dtype: str
    classes: list[str] | None
    label_lookup: dict[str, int] | None

    def tokenize(self, texts: Sequence[str]) -> Any:
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_length, padding=False)

    @contextmanager
    def session(self) -> Iterator[_Session]:
        """The model set up for a run of chunks: the forward hook (if any) held, and the last layer
        computed for the [CLS] row only where nothing reads the other rows (see :mod:`clsmap._fastpath`)."""
        with ExitStack() as stack:
            hooked = stack.enter_context(capture(self.net, self.hook_path)) if self.hook_path else None
            stack.enter_context(
                cls_only_last_layer(self.net, wanted=_only_first_row_of_last_layer(self.net, self.target))
            )
            yield _Session(hooked)


@dataclass
class _Session:
    hooked: Any  # the capture of the hooked module, or None


def _prepare(
    loaded: LoadedModel, *, layer: int | str | None, module: str | None, pooling: str, max_length: int | None,
    batch_tokens: int, dtype: str, quantize: str = "none", classes: list[str] | None,
    label_lookup: dict[str, int] | None,
) -> _Runner:
    """Resolve what to take from the model (layer, hook, pooling, truncation, dtype); fails on a wrong
    option before anything is written."""
    net, tokenizer = loaded.model, loaded.tokenizer
    run_device = str(next(net.parameters()).device)
    run_dtype = resolve_dtype(dtype, run_device.split(":")[0])
    if quantize == "int8":
        if not run_device.startswith("cpu"):
            raise ClsmapError(f"--quantize int8 runs on the CPU only; the model is on {run_device}")
        net = quantize_int8(net)
    target = _resolve_target(net, layer=layer, module=module, pooling=pooling)
    hook_path = target.module
    if pooling == "pooler":
        if target.module is not None or target.layers != [_num_hidden_states(net) - 1]:
            raise ClsmapError(
                "--pooling pooler takes BERT's pooler output; it cannot be combined with --layer/--module"
            )
        hook_path = _find_pooler(net)
    if hook_path:
        resolve_module(net, hook_path)  # a wrong path fails here, before anything is written
    return _Runner(
        net=net, tokenizer=tokenizer, target=target, hook_path=hook_path,
        max_length=_max_length(net, tokenizer, max_length), batch_tokens=batch_tokens,
        device=run_device, dtype=run_dtype, classes=classes, label_lookup=label_lookup,
    )


def extract_chunk(
    runner: _Runner, rows: np.ndarray, ids: Sequence[str], texts: Sequence[str], labels: Sequence[str] | None,
    *, encoded: Any = None, session: _Session | None = None, bar: Any = None,
) -> Any:
    """The work both backends do on a chunk of rows: tokenize, plan length-sorted batches, run the
    forward passes, pool, and build the store's Arrow table (rows in the order given).

    ``rows`` are the input positions of the chunk, ``ids``/``texts``/``labels`` its values. The local
    backend passes ``encoded`` (tokenized ahead in a thread) and the :meth:`_Runner.session` it holds
    for the whole run; a Ray actor passes neither.
    """
    if session is None:
        with runner.session() as session_here:
            return extract_chunk(runner, rows, ids, texts, labels, encoded=encoded, session=session_here, bar=bar)
    if encoded is None:
        encoded = runner.tokenize(texts)
    outputs = _run_part(
        runner.net, encoded, runner.target, session.hooked, runner.tokenizer, batch_tokens=runner.batch_tokens,
        device=runner.device, autocast=autocast_for(runner.device, runner.dtype), bar=bar,
    )
    label_index = None
    if runner.label_lookup is not None and labels is not None:
        label_index = np.array([runner.label_lookup.get(label, -1) for label in labels], dtype=np.int64)
    return _part_table(rows, ids, texts, labels, outputs, runner.target, runner.classes, label_index)


def _give_back_freed_memory() -> None:
    """Return freed heap to the system between parts (glibc keeps it otherwise, and the
    fragmentation of a long run with a tokenizer thread beside the model grows with N)."""
    import ctypes
    import ctypes.util

    global _LIBC
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else False
        except OSError:
            _LIBC = False
    if _LIBC and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


_LIBC: Any = None


def _only_first_row_of_last_layer(net: Any, target: _Target) -> bool:
    """Whether nothing reads the last layer's output beyond the [CLS] row (see :mod:`clsmap._fastpath`)."""
    if target.module is not None or target.layers is None:
        return False  # a hooked module may read any position
    last = _num_hidden_states(net) - 1
    return target.pooling in ("cls", "pooler") or last not in target.layers


def _max_length(net: Any, tokenizer: Any, requested: int | None) -> int:
    limits = [512]
    positions = getattr(net.config, "max_position_embeddings", None)
    if positions:
        # RoBERTa-style models reserve two positions for the padding offset
        offset = 2 if getattr(net.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert") else 0
        limits.append(int(positions) - offset)
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if tok_limit and tok_limit < 1_000_000:
        limits.append(int(tok_limit))
    ceiling = min(limits[1:]) if len(limits) > 1 else 512
    if requested is None:
        return min(limits)
    if requested > ceiling:
        raise ClsmapError(f"--max-length {requested} exceeds the model's limit of {ceiling} tokens")
    return requested


def _run_part(
    net: Any, encoded: Any, target: _Target, hooked: Any, tokenizer: Any, *,
    batch_tokens: int, device: str, autocast: Any, bar: Any,
) -> dict[str, np.ndarray | None]:
    import torch

    input_ids: list[list[int]] = encoded["input_ids"]
    n = len(input_ids)
    vectors = {c: None for c in target.columns}
    logits_out: np.ndarray | None = None
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    want_hidden = target.layers is not None and target.pooling != "pooler"
    for batch in plan_batches([len(x) for x in input_ids], token_budget=batch_tokens):
        inputs = pad_batch(encoded, batch, pad_id, device)
        with torch.inference_mode(), autocast:
            out = net(**inputs, output_hidden_states=want_hidden, return_dict=True)
        mask = inputs["attention_mask"]
        if hooked is not None:
            if hooked.output is None:
                raise ClsmapError(f"--module {target.module!r} did not run during the forward pass")
            pooled = [pool(hooked.output, mask, target.pooling)]
        else:
            states = out.hidden_states
            pooled = [pool(states[i], mask, target.pooling) for i in target.layers]
        for column, tensor in zip(target.columns, pooled, strict=True):
            host = tensor.float().cpu().numpy()
            if vectors[column] is None:
                vectors[column] = np.empty((n, host.shape[1]), dtype=np.float32)
            vectors[column][batch] = host
        logits = getattr(out, "logits", None)
        if logits is not None:
            host_logits = logits.float().cpu().numpy()
            if logits_out is None:
                logits_out = np.empty((n, host_logits.shape[1]), dtype=np.float32)
            logits_out[batch] = host_logits
        if bar is not None:
            bar.update(len(batch))
    return {"logits": logits_out, **vectors}


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _fixed_list(matrix: np.ndarray) -> Any:
    import pyarrow as pa

    flat = pa.array(np.ascontiguousarray(matrix, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1])


def _list_column(matrix: np.ndarray | None, n: int) -> Any:
    import pyarrow as pa

    if matrix is None:
        return pa.nulls(n, type=pa.list_(pa.float32()))
    offsets = pa.array(np.arange(0, matrix.size + 1, matrix.shape[1], dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1).astype(np.float32)))


def _part_table(
    rows: np.ndarray, ids: Sequence[str], texts: Sequence[str], labels: Sequence[str] | None,
    outputs: dict[str, np.ndarray | None], target: _Target, classes: list[str] | None,
    label_index: np.ndarray | None,
) -> Any:
    import pyarrow as pa

    logits = outputs["logits"]
    n = len(outputs[target.columns[0]])
    columns: dict[str, Any] = {
        "row": pa.array(np.asarray(rows, dtype=np.int64)),
        "id": pa.array(list(ids), type=pa.string()),
        "text": pa.array(list(texts), type=pa.string()),
        "label": pa.array(list(labels) if labels is not None else [None] * n, type=pa.string()),
    }
    if logits is not None and classes is not None:
        probs = _softmax(logits.astype(np.float64)).astype(np.float32)
        pred_id = probs.argmax(axis=1).astype(np.int32)
        columns["pred"] = pa.array([classes[i] for i in pred_id], type=pa.string())
        columns["pred_id"] = pa.array(pred_id, type=pa.int32())
        columns["confidence"] = pa.array(probs.max(axis=1), type=pa.float32())
        if label_index is not None:
            known = label_index >= 0
            columns["correct"] = pa.array(pred_id == label_index, mask=~known, type=pa.bool_())
        else:
            columns["correct"] = pa.nulls(n, type=pa.bool_())
    else:
        probs = None
        columns["pred"] = pa.nulls(n, type=pa.string())
        columns["pred_id"] = pa.nulls(n, type=pa.int32())
        columns["confidence"] = pa.nulls(n, type=pa.float32())
        columns["correct"] = pa.nulls(n, type=pa.bool_())
    columns["prob"] = _list_column(probs, n)
    columns["logits"] = _list_column(logits, n)
    for column in target.columns:
        columns[column] = _fixed_list(outputs[column])
    return pa.table(columns)
