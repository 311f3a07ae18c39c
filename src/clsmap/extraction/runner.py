"""The per-chunk core of extraction, shared by every backend: what to take from the model, and the
work on one chunk of rows (tokenize, length-sorted batches, forward passes, pooling, the store's rows).

What the seed's loop got wrong and this gets right:

* texts are tokenized without padding, sorted by length and grouped into batches under a
  token budget, so each batch is padded only to its own longest text (not to 512; :mod:`.batches`);
* the vectors of each batch are pooled on the device and copied to the host at once;
* a forward hook, when one is used, is removed when the run ends, even on error.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._errors import ClsmapError
from ..store.schema import part_table
from .batches import forward_batches, pad_id_of
from .fastpath import bf16_copy, cls_only_last_layer, quantize_int8
from .fused import fused_layers, fusing_pays
from .hooks import capture, resolve_module
from .models import LoadedModel, autocast_for, resolve_dtype

__all__ = ["POOLINGS", "QUANTIZE", "Options", "Runner", "Target", "pool", "prepare", "extract_chunk"]

Pooling = Literal["cls", "mean", "max", "pooler"]
POOLINGS = ("cls", "mean", "max", "pooler")
Quantize = Literal["none", "int8"]
QUANTIZE = ("none", "int8")


# --------------------------------------------------------------------------- pure helpers


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
        hidden = hidden.float()  # a sum over up to 512 rows of bf16 would lose digits
        summed = hidden.masked_fill(~keep, 0).sum(dim=1)
        return summed / keep.sum(dim=1).clamp(min=1).to(hidden.dtype)
    if how == "max":
        return hidden.masked_fill(~keep, float("-inf")).max(dim=1).values
    raise ValueError(f"pool() does not compute {how!r} from token vectors")


# --------------------------------------------------------------------------- what to take


@dataclass(frozen=True)
class Options:
    """What to take from the model and how to run it; the same on every backend."""

    layer: int | str | None = None
    module: str | None = None
    pooling: Pooling = "cls"
    max_length: int | None = None
    batch_tokens: int = 4096
    dtype: str = "auto"
    quantize: str = "none"


@dataclass(frozen=True)
class Target:
    """Which tensors one forward pass yields and which store columns they fill."""

    columns: list[str]
    layers: list[int] | None  # hidden-state indices, or None for a module hook
    module: str | None
    pooling: Pooling
    description: dict[str, Any]


def num_hidden_states(model: Any) -> int:
    config = model.config
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layers", None)
    if layers is None:
        raise ClsmapError(f"{type(model).__name__}: its config does not say how many layers it has; use --module")
    return int(layers) + 1


def resolve_target(model: Any, *, layer: int | str | None, module: str | None, pooling: Pooling) -> Target:
    if module is not None:
        if layer is not None:
            raise ClsmapError("pass either --layer or --module, not both")
        return Target(["vector"], None, module, pooling, {"module": module, "layer": None, "pooling": pooling})
    count = num_hidden_states(model)
    span = f"{count} hidden states: 0 is the embeddings, 1-{count - 1} the layers; negative indices count from the end"
    if layer is None:
        layer = -1
    if isinstance(layer, str):
        if layer == "all":
            layers = list(range(count))
            return Target([f"layer_{i}" for i in layers], layers, None, pooling,
                          {"module": None, "layer": "all", "pooling": pooling})
        try:
            layer = int(layer)
        except ValueError:
            raise ClsmapError(f"--layer {layer!r}: give an integer index or 'all' ({span})") from None
    if not -count <= layer < count:
        raise ClsmapError(f"--layer {layer} is out of range: the model has {span}")
    index = layer % count
    return Target(["vector"], [index], None, pooling, {"module": None, "layer": index, "pooling": pooling})


def _find_pooler(model: Any) -> str:
    base = getattr(model, "base_model", model)
    if getattr(base, "pooler", None) is not None:
        prefix = getattr(model, "base_model_prefix", "")
        return f"{prefix}.pooler" if base is not model and prefix else "pooler"
    raise ClsmapError(
        f"--pooling pooler: {type(model).__name__} has no pooler layer (BERT has one; ELECTRA, RoBERTa "
        "classifiers and DistilBERT do not); use --pooling cls"
    )


# --------------------------------------------------------------------------- the runner


@dataclass
class Runner:
    """What turning a chunk of texts into store rows needs; made once per process that runs the
    model (the local run, or each Ray actor) by :func:`prepare`."""

    net: Any
    tokenizer: Any
    target: Target
    hook_path: str | None
    max_length: int
    batch_tokens: int
    device: str
    dtype: str
    classes: list[str] | None
    label_lookup: dict[str, int] | None
    #: whether the forward passes run under ``torch.autocast`` (float16; bfloat16 on a ``live`` model)
    #: rather than on weights already in ``dtype``
    autocast: bool = False
    #: whether the encoder layers run fused during a session (see :mod:`.fused`)
    fused: bool = False

    def tokenize(self, texts: Sequence[str]) -> Any:
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_length, padding=False)

    @contextmanager
    def session(self) -> Iterator[Any]:
        """The model set up for a run of chunks: the forward hook (if any) held, the layers fused where
        that pays (see :mod:`.fused`), and the last layer computed for the [CLS] row only where nothing
        reads the other rows (see :mod:`.fastpath`).
        Yields the capture of the hooked module, or ``None``."""
        with ExitStack() as stack:
            hooked = stack.enter_context(capture(self.net, self.hook_path)) if self.hook_path else None
            stack.enter_context(fused_layers(self.net, wanted=self.fused, rows_hint=self.batch_tokens))
            stack.enter_context(
                cls_only_last_layer(self.net, wanted=_only_first_row_of_last_layer(self.net, self.target))
            )
            yield hooked


def prepare(loaded: LoadedModel, options: Options, *, classes: list[str] | None,
            label_lookup: dict[str, int] | None, live: bool = False) -> Runner:
    """Resolve what to take from the model (layer, hook, pooling, truncation, dtype); fails on a wrong
    option before anything is written.

    For ``bfloat16`` the runner holds a copy of the model with bf16 weights (see
    :func:`~.fastpath.bf16_copy`); ``loaded.model`` is not changed. ``live=True`` says the model
    goes on changing between chunks (a training run's snapshots): it then runs as it is, under
    autocast, as an int8-quantised model does."""
    net, tokenizer = loaded.model, loaded.tokenizer
    run_device = str(next(net.parameters()).device)
    run_dtype = resolve_dtype(options.dtype, run_device.split(":")[0])  # type: ignore[arg-type]
    if options.quantize == "int8":
        if not run_device.startswith("cpu"):
            raise ClsmapError(f"--quantize int8 runs on the CPU only; the model is on {run_device}")
        net = quantize_int8(net)
    target = resolve_target(net, layer=options.layer, module=options.module, pooling=options.pooling)
    hook_path = target.module
    if options.pooling == "pooler":
        if target.module is not None or target.layers != [num_hidden_states(net) - 1]:
            raise ClsmapError(
                "--pooling pooler takes BERT's pooler output; it cannot be combined with --layer/--module"
            )
        hook_path = _find_pooler(net)
    if hook_path:
        resolve_module(net, hook_path)  # a wrong path fails here, before anything is written
    autocast = run_dtype != "float32"
    if run_dtype == "bfloat16" and options.quantize == "none" and not live:
        net, autocast = bf16_copy(net), False
    # a hooked module inside a layer would not run in a fused layer; a live model goes on changing
    fused = (run_device == "cpu" and target.module is None and options.quantize == "none" and not autocast
             and not live and fusing_pays(run_dtype))
    return Runner(
        net=net, tokenizer=tokenizer, target=target, hook_path=hook_path,
        max_length=_max_length(net, tokenizer, options.max_length), batch_tokens=options.batch_tokens,
        device=run_device, dtype=run_dtype, classes=classes, label_lookup=label_lookup, autocast=autocast,
        fused=fused,
    )


def extract_chunk(runner: Runner, inputs: Any, *, encoded: Any = None, hooked: Any = None, bar: Any = None,
                  in_session: bool = False) -> Any:
    """The work every backend does on a chunk of rows: tokenize, plan length-sorted batches, run the
    forward passes, pool, and build the store's Arrow table (rows in the order given).

    ``inputs`` is a chunk of the reader's input table (``row``, ``id``, ``text``, ``label``). The local
    backend passes ``encoded`` (tokenized ahead in a thread) and holds :meth:`Runner.session` for the
    whole run (``in_session=True``, with the session's ``hooked``); a Ray actor passes neither.
    """
    if not in_session:
        with runner.session() as session_hooked:
            return extract_chunk(runner, inputs, encoded=encoded, hooked=session_hooked, bar=bar, in_session=True)
    if encoded is None:
        encoded = runner.tokenize(inputs.column("text").to_pylist())
    logits, vectors = _run_part(runner, encoded, hooked, bar=bar)
    label_index = None
    labels = inputs.column("label")
    if runner.label_lookup is not None and labels.null_count < len(labels):
        label_index = np.array([runner.label_lookup.get(label, -1) for label in labels.to_pylist()], dtype=np.int64)
    return part_table(inputs, vectors, logits=logits, classes=runner.classes, label_index=label_index)


def _only_first_row_of_last_layer(net: Any, target: Target) -> bool:
    """Whether nothing reads the last layer's output beyond the [CLS] row (see :mod:`.fastpath`)."""
    if target.module is not None or target.layers is None:
        return False  # a hooked module may read any position
    last = num_hidden_states(net) - 1
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


def _run_part(runner: Runner, encoded: Any, hooked: Any, *,
              bar: Any) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """The logits (``None`` for a model without them) and the pooled vectors of each target column."""
    target = runner.target
    n = len(encoded["input_ids"])
    vectors: dict[str, np.ndarray | None] = {c: None for c in target.columns}
    logits_out: np.ndarray | None = None
    want_hidden = target.layers is not None and target.pooling != "pooler"
    passes = forward_batches(runner.net, encoded, pad_id=pad_id_of(runner.tokenizer), device=runner.device,
                             token_budget=runner.batch_tokens,
                             autocast=autocast_for(runner.device, runner.dtype) if runner.autocast else None,
                             output_hidden_states=want_hidden, return_dict=True)
    for batch, inputs, out in passes:
        mask = inputs["attention_mask"]
        if hooked is not None:
            if hooked.output is None:
                raise ClsmapError(f"--module {target.module!r} did not run during the forward pass")
            pooled = [pool(hooked.output, mask, target.pooling)]
        else:
            # no hook: neither --module nor --pooling pooler, so resolve_target chose hidden states
            assert target.layers is not None
            states = out.hidden_states
            pooled = [pool(states[i], mask, target.pooling) for i in target.layers]
        for column, tensor in zip(target.columns, pooled, strict=True):
            vectors[column] = _into(vectors[column], batch, tensor, n)
        logits = getattr(out, "logits", None)
        if logits is not None:
            logits_out = _into(logits_out, batch, logits, n)
        if bar is not None:
            bar.update(len(batch))
    filled = {c: v for c, v in vectors.items() if v is not None}
    if len(filled) < len(vectors):
        raise ValueError("an empty chunk of rows: every chunk holds at least one row")
    return logits_out, filled


def _into(rows: np.ndarray | None, batch: np.ndarray, tensor: Any, n: int) -> np.ndarray:
    """``tensor`` (a batch's rows) copied to the host into the ``batch`` rows of ``rows``, an (n, width)
    float32 array made on the first batch."""
    host = tensor.float().cpu().numpy()
    if rows is None:
        rows = np.empty((n, host.shape[1]), dtype=np.float32)
    rows[batch] = host
    return rows
