"""Speed levers of extraction that leave the results unchanged (or change them on request).

* :func:`cls_only_last_layer`: when nothing downstream reads the last layer's output at any
  position but the first ([CLS] pooling, or a layer below the last, and a classification head
  that reads ``[:, 0]``), the last encoder layer is computed for the [CLS] row only: keys and
  values still come from every token, but the query, the attention output and the
  feed-forward block run on one row instead of ``t``. The result equals the full computation
  up to float rounding (tests check <= 1e-4). It applies to the BERT family (BERT, MiniLM,
  ELECTRA, RoBERTa, XLM-R, CamemBERT) with absolute positions; other models run unchanged.
* :func:`bf16_copy`: a copy of the model with bfloat16 weights, which ``--dtype bfloat16`` (and
  ``auto`` where it means bf16) runs instead of float32 weights under autocast: no weight is cast
  again at every batch, and LayerNorm, GELU, softmax and the residual adds read and write half
  the bytes. On all-MiniLM-L6-v2 on a 2-core AMX Xeon the forward passes run about 1.3x faster
  than under autocast (1.12x end to end in ``bench/extract.py``), the [CLS] vectors at a cosine of
  >= 0.9999 to float32 (autocast: 0.99999).
* :func:`quantize_int8`: dynamic int8 quantisation of the inner layers' linear layers (CPU
  only, opt-in; vectors move by about 1 % in cosine).
"""

from __future__ import annotations

import functools
import logging
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

#: model types whose layers have the BERT structure that :func:`_cls_forward` computes
_BERT_LIKE = frozenset({"bert", "electra", "roberta", "xlm-roberta", "camembert"})


def bert_layers(model: Any) -> list[Any]:
    """The encoder layers if they have the BERT structure that :func:`_cls_forward` (and
    :mod:`.fused`) rely on, else an empty list."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) not in _BERT_LIKE or not _layers_return_tensors():
        return []
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return []
    if getattr(config, "position_embedding_type", "absolute") not in (None, "absolute"):
        return []
    base = getattr(model, "base_model", model)
    layers = list(getattr(getattr(base, "encoder", None), "layer", None) or [])
    for layer in layers:
        attention = getattr(layer, "attention", None)
        self_attention = getattr(attention, "self", None)
        needed = (
            self_attention, getattr(attention, "output", None),
            getattr(layer, "intermediate", None), getattr(layer, "output", None),
        )
        if any(part is None for part in needed):
            return []
        if not all(hasattr(self_attention, name) for name in ("query", "key", "value", "num_attention_heads")):
            return []
    return layers


@functools.cache
def _layers_return_tensors() -> bool:
    """Whether transformers' encoder layers return a tensor (5.x), as the forwards here do; 4.x
    layers return a tuple."""
    import transformers

    return int(transformers.__version__.split(".")[0]) >= 5


def _last_layer(model: Any) -> Any | None:
    """The last encoder layer if it has the structure :func:`_cls_forward` relies on, else None."""
    layers = bert_layers(model)
    return layers[-1] if layers else None


def sdpa_mask(mask: Any, dtype: Any, *, first_row: bool) -> Any:
    """The model's attention mask as ``scaled_dot_product_attention`` takes it: (b, t) of 0/1 becomes
    (b, 1, 1, t) of bool; a 4-D mask keeps only its first query row when ``first_row``; an additive
    mask of another dtype is cast to ``dtype``."""
    import torch

    if mask is None:
        return None
    if mask.dim() == 2:  # (b, t) of 0/1
        return mask[:, None, None, :].to(torch.bool)
    if first_row and mask.shape[-2] > 1:
        mask = mask[..., :1, :]
    if mask.dtype not in (torch.bool, dtype):
        mask = mask.to(dtype)
    return mask


def _cls_forward(layer: Any, hidden_states: Any, attention_mask: Any = None, *args: Any, **kwargs: Any) -> Any:
    """The BERT layer's computation for the first row only; returns (b, 1, h)."""
    import torch.nn.functional as F

    fused = layer.__dict__.get("_clsmap_fused")
    if fused is not None:  # the layer's products are packed (see .fused)
        return fused.cls_forward(hidden_states, attention_mask)
    attn = layer.attention.self
    b, t, _ = hidden_states.shape
    heads = attn.num_attention_heads
    size = attn.attention_head_size
    first = hidden_states[:, 0].contiguous()  # (b, h): a (b, 1, h) slice would run as b products (bmm)
    query = attn.query(first).view(b, 1, heads, size).transpose(1, 2)
    key = attn.key(hidden_states).view(b, t, heads, size).transpose(1, 2)
    value = attn.value(hidden_states).view(b, t, heads, size).transpose(1, 2)
    mask = sdpa_mask(attention_mask, query.dtype, first_row=True)
    context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=attn.scaling)
    context = context.reshape(b, heads * size)
    attention_output = layer.attention.output(context, first)
    return layer.output(layer.intermediate(attention_output), attention_output).view(b, 1, -1)


@contextmanager
def cls_only_last_layer(model: Any, *, wanted: bool) -> Iterator[bool]:
    """Compute the last layer for the [CLS] row only while the block runs, if ``wanted`` and possible.

    Yields whether the fast path is on. The layer's own ``forward`` is restored on exit.
    """
    layer = _last_layer(model) if wanted else None
    if layer is None:
        yield False
        return
    previous = layer.__dict__.get("forward")  # a fused layer's forward (see .fused), kept for after
    layer.forward = types.MethodType(_cls_forward, layer)
    logger.debug("last layer computed for the [CLS] row only")
    try:
        yield True
    finally:
        if previous is None:
            del layer.forward
        else:
            layer.forward = previous


def bf16_copy(model: Any) -> Any:
    """A copy of ``model`` whose floating-point weights and buffers are bfloat16; ``model`` is left as it is.

    Each tensor is cast as it is copied (tied weights stay tied), so no second float32 copy is ever
    held: the copy adds half the model's float32 size, on its device."""
    import copy

    import torch

    def cast(tensor: Any) -> Any:
        return tensor.detach().to(torch.bfloat16) if tensor.is_floating_point() else tensor.detach().clone()

    memo: dict[int, Any] = {id(p): torch.nn.Parameter(cast(p), requires_grad=False) for p in model.parameters()}
    memo.update({id(b): cast(b) for b in model.buffers()})
    return copy.deepcopy(model, memo).eval()


def _encoder_layer_names(model: Any) -> list[str]:
    """Qualified names of the encoder's layers: the items of the longest ``nn.ModuleList``."""
    import torch

    best: tuple[int, str] = (0, "")
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > best[0]:
            best = (len(module), name)
    count, prefix = best
    return [f"{prefix}.{i}" if prefix else str(i) for i in range(count)]


def quantize_int8(model: Any) -> Any:
    """A copy of ``model`` whose inner encoder layers' ``nn.Linear`` run as dynamic int8 (CPU).

    Weights are quantised per output channel. The first and the last encoder layer, the
    embeddings, the pooler and the classification head stay in float32: on all-MiniLM-L6-v2
    that keeps the [CLS] vectors at a mean cosine of about 0.99 to float32, where quantising
    every layer gives 0.98 (per channel) or 0.97 (per tensor) for a few percent more speed.
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    layers = _encoder_layer_names(model)
    inner = tuple(f"{name}." for name in layers[1:-1])
    spec = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name.startswith(inner)
    }
    if not spec:
        logger.warning("--quantize int8: found no encoder layers to quantise in %s; running it in float32",
                       type(model).__name__)
        return model
    with warnings.catch_warnings():
        # torch marks its eager quantisation API as deprecated in favour of torchao; it still works
        warnings.simplefilter("ignore")
        quantized = quantize_dynamic(model, spec, dtype=torch.qint8, inplace=False)
    logger.debug("quantised %d linear layers to int8", len(spec))
    return quantized.eval()
