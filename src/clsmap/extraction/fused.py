"""Fused encoder layers of the BERT family for bfloat16 on a CPU that runs it natively.

With the bfloat16 copy of the weights that ``--dtype bfloat16`` (and ``auto`` on AMX or AVX512-BF16)
runs, each encoder layer's products go through oneDNN's linear primitive on weights reordered for
it once, when the run starts:

* the query, key and value products are one product (a weight of ``3h x h``);
* the bias is added by the primitive as it writes, where ``addmm`` first copies the bias into every
  row of the output and then adds the product to it;
* GELU is applied by the primitive as it writes the ``4h``-wide product (a post-op), not in a second
  pass over it.

Attention stays PyTorch's ``scaled_dot_product_attention``; LayerNorm and the residual adds are the
layer's own. The result is the layer's computation up to bfloat16 rounding: vectors at a cosine of
>= 0.9999 to float32, as the unfused bf16 copy (tests check >= 0.999). On all-MiniLM-L6-v2 on a
2-core AMX Xeon, ``--dtype auto`` ran 1.25x faster end to end (587 against 470 texts/s in one run of
``bench/extract.py``) for 90 MB more peak memory. The same layers compute float32 too (within 1e-5 of
the plain layers; the tests use that), but clsmap does not fuse float32: see :func:`fusing_pays`.

The layers are fused only where nothing else reads their insides: no ``--module`` hook, SDPA as the
attention implementation, and a oneDNN that passes a check of its linear primitive on the first use.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .fastpath import bert_layers, sdpa_mask
from .models import cpu_has_native_bf16

__all__ = ["FusedLayer", "can_fuse", "fused_layers", "fusing_pays", "packed_linear_available"]

logger = logging.getLogger(__name__)

_AVAILABLE: dict[str, bool] = {}


def packed_linear_available(dtype: str) -> bool:
    """Whether this PyTorch has oneDNN's prepacked linear primitive and it computes a small product in
    ``dtype`` (``"float32"`` or ``"bfloat16"``), with and without GELU, as ``F.linear`` does; checked
    once per process and dtype."""
    if dtype not in _AVAILABLE:
        _AVAILABLE[dtype] = _check_packed_linear(dtype)
    return _AVAILABLE[dtype]


def _check_packed_linear(dtype: str) -> bool:
    import torch
    import torch.nn.functional as F

    try:
        if not torch.backends.mkldnn.is_available():
            return False
        generator = torch.Generator().manual_seed(0)
        kind = getattr(torch, dtype)
        x = torch.randn(8, 16, generator=generator).to(kind)
        weight = torch.randn(24, 16, generator=generator).to(kind)
        bias = torch.randn(24, generator=generator).to(kind)
        packed = torch.ops.mkldnn._reorder_linear_weight(weight, 8)
        with torch.inference_mode():
            plain = F.linear(x, weight, bias).float()
            fused = torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "").float()
            gelu = torch.ops.mkldnn._linear_pointwise(x, packed, bias, "gelu", [], "none").float()
        tolerance = (0.02 if dtype == "bfloat16" else 1e-5) * (float(plain.abs().max()) + 1.0)
        return bool((fused - plain).abs().max() <= tolerance and (gelu - F.gelu(plain)).abs().max() <= tolerance)
    except (AttributeError, RuntimeError) as exc:  # an older or differently built torch, or no kernel for dtype
        logger.debug("oneDNN's packed linear does not run %s here: %s", dtype, exc)
        return False


class _Packed:
    """One linear product on a weight reordered for oneDNN, with an optional GELU post-op."""

    def __init__(self, weight: Any, bias: Any, *, rows_hint: int, gelu: bool = False) -> None:
        import torch

        self.weight = torch.ops.mkldnn._reorder_linear_weight(weight.detach().contiguous(), rows_hint)
        self.bias = None if bias is None else bias.detach().contiguous()
        self.post, self.algorithm = ("gelu", "none") if gelu else ("none", "")

    def __call__(self, x: Any) -> Any:
        import torch

        return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, self.post, [], self.algorithm)


def _cat_bias(*linears: Any) -> Any:
    import torch

    if all(linear.bias is None for linear in linears):
        return None
    return torch.cat([linear.bias if linear.bias is not None else linear.weight.new_zeros(linear.out_features)
                      for linear in linears])


class FusedLayer:
    """The packed products of one BERT-family encoder layer and its forward computation.

    ``forward`` is the whole layer; ``cls_forward`` the layer for the first row only (the [CLS]-only
    last layer of :mod:`.fastpath`, which calls it when the layer carries one)."""

    def __init__(self, layer: Any, *, rows_hint: int, exact_gelu: bool) -> None:
        import torch

        attn = layer.attention.self
        self.layer, self.rows_hint = layer, rows_hint
        self.heads, self.size, self.scaling = attn.num_attention_heads, attn.attention_head_size, attn.scaling
        parts = (attn.query, attn.key, attn.value)
        self.qkv = _Packed(torch.cat([p.weight for p in parts]), _cat_bias(*parts), rows_hint=rows_hint)
        self.out = _Packed(layer.attention.output.dense.weight, layer.attention.output.dense.bias, rows_hint=rows_hint)
        intermediate = layer.intermediate
        self.up = _Packed(intermediate.dense.weight, intermediate.dense.bias, rows_hint=rows_hint, gelu=exact_gelu)
        self.activation = None if exact_gelu else intermediate.intermediate_act_fn
        self.down = _Packed(layer.output.dense.weight, layer.output.dense.bias, rows_hint=rows_hint)
        self.norm_attention, self.norm_output = layer.attention.output.LayerNorm, layer.output.LayerNorm
        self._split: tuple[_Packed, _Packed] | None = None  # query / key+value, for the [CLS] row

    def _feed_forward(self, attended: Any) -> Any:
        up = self.up(attended)
        if self.activation is not None:
            up = self.activation(up)
        return self.norm_output(self.down(up) + attended)

    def forward(self, hidden: Any, attention_mask: Any = None) -> Any:
        import torch.nn.functional as F

        b, t, h = hidden.shape
        x = hidden.reshape(b * t, h)
        qkv = self.qkv(x).view(b, t, 3, self.heads, self.size)
        query, key, value = (qkv[:, :, i].transpose(1, 2) for i in range(3))
        mask = sdpa_mask(attention_mask, query.dtype, first_row=False)
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=self.scaling)
        attended = self.norm_attention(self.out(context.transpose(1, 2).reshape(b * t, h)) + x)
        return self._feed_forward(attended).view(b, t, h)

    def cls_forward(self, hidden: Any, attention_mask: Any = None) -> Any:
        import torch
        import torch.nn.functional as F

        if self._split is None:
            attn = self.layer.attention.self
            self._split = (
                _Packed(attn.query.weight, attn.query.bias, rows_hint=max(1, self.rows_hint // 64)),
                _Packed(torch.cat([attn.key.weight, attn.value.weight]), _cat_bias(attn.key, attn.value),
                        rows_hint=self.rows_hint),
            )
        to_query, to_key_value = self._split
        b, t, h = hidden.shape
        first = hidden[:, 0].contiguous()
        query = to_query(first).view(b, 1, self.heads, self.size).transpose(1, 2)
        kv = to_key_value(hidden.reshape(b * t, h)).view(b, t, 2, self.heads, self.size)
        key, value = kv[:, :, 0].transpose(1, 2), kv[:, :, 1].transpose(1, 2)
        mask = sdpa_mask(attention_mask, query.dtype, first_row=True)
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=self.scaling)
        attended = self.norm_attention(self.out(context.reshape(b, h)) + first)
        return self._feed_forward(attended).view(b, 1, h)


def _fused_forward(layer: Any, hidden_states: Any, attention_mask: Any = None, *args: Any, **kwargs: Any) -> Any:
    return layer._clsmap_fused.forward(hidden_states, attention_mask)


def fusing_pays(dtype: str) -> bool:
    """Whether fused layers are used for ``dtype`` on this CPU: bfloat16 where the CPU runs it natively.

    In float32 they compute the same vectors (within 1e-5) and were 1.09x faster on a 2-core AMX Xeon,
    but the process's peak memory grew by 300-500 MB (oneDNN's float32 primitives), so float32 runs the
    layers as they are (``bench/extract.py``, variant ``clsmap_fused``)."""
    return dtype == "bfloat16" and cpu_has_native_bf16()


def can_fuse(model: Any) -> bool:
    """Whether :func:`fused_layers` would fuse ``model``'s layers: a BERT-family encoder in eval mode,
    with SDPA attention, its weights in float32 or bfloat16, and a oneDNN that runs that dtype."""
    import torch

    layers = bert_layers(model)
    if not layers or model.training or getattr(model.config, "_attn_implementation", "sdpa") != "sdpa":
        return False
    if any(not hasattr(layer.intermediate, "intermediate_act_fn") for layer in layers):
        return False
    dtype = next(model.parameters()).dtype
    names = {torch.float32: "float32", torch.bfloat16: "bfloat16"}
    return dtype in names and packed_linear_available(names[dtype])


@contextmanager
def fused_layers(model: Any, *, wanted: bool, rows_hint: int = 4096) -> Iterator[int]:
    """Run the encoder layers of ``model`` through :class:`FusedLayer` while the block runs, if
    ``wanted`` and :func:`can_fuse`; yields how many layers were fused. The weights are packed on
    entry (so a model that changed since is packed anew) and the layers' own ``forward`` is back on
    exit.

    ``rows_hint`` is the number of token rows a product usually has (the token budget)."""
    if not wanted or not can_fuse(model):
        yield 0
        return
    layers = bert_layers(model)
    exact_gelu = getattr(model.config, "hidden_act", None) == "gelu"
    for layer in layers:
        layer._clsmap_fused = FusedLayer(layer, rows_hint=rows_hint, exact_gelu=exact_gelu)
        layer.forward = types.MethodType(_fused_forward, layer)
    logger.debug("%d encoder layers fused (oneDNN's packed products)", len(layers))
    try:
        yield len(layers)
    finally:
        for layer in layers:
            del layer.forward, layer._clsmap_fused
