"""Fused encoder layers (oneDNN's packed products): float32 gives the plain forward pass, bfloat16
stays within a cosine of 0.999 of it, and nothing that reads a layer's insides is fused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clsmap import extract
from clsmap.extraction import fused as _fused
from clsmap.extraction import runner
from clsmap.extraction.models import load_model

from support.tiny_models import build_model

TOL = 1e-4


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("fused_models")
    return {kind: build_model(root / kind, kind, seed=5, num_layers=3) for kind in ("bert", "electra", "roberta",
                                                                                    "deberta")}


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts the forward passes of fused layers (whole layers and [CLS]-only last layers)."""
    seen = []
    for name in ("forward", "cls_forward"):
        original = getattr(_fused.FusedLayer, name)

        def spy(self, hidden, *args, _original=original, **kwargs):
            seen.append(hidden.shape[0])
            return _original(self, hidden, *args, **kwargs)

        monkeypatch.setattr(_fused.FusedLayer, name, spy)
    return seen


def _extract(folder, data, out, monkeypatch, *, fuse: bool, **options):
    monkeypatch.setattr(runner, "fusing_pays", lambda dtype: fuse)
    return extract(folder, data, out, device="cpu", progress=False, **options)


def _cosines(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize("kind", ["bert", "electra", "roberta"])
@pytest.mark.parametrize(("layer", "pooling"), [(None, "cls"), ("all", "cls"), (None, "mean")])
def test_fused_float32_gives_the_plain_forward_pass(models, kind, layer, pooling, tmp_path, labeled_csv,
                                                   monkeypatch, fused_calls):
    data = labeled_csv(60, seed=6, max_words=50)
    options = {"layer": layer, "pooling": pooling, "dtype": "float32"}
    plain = _extract(models[kind], data, tmp_path / "plain", monkeypatch, fuse=False, **options)
    assert not fused_calls
    fused = _extract(models[kind], data, tmp_path / "fused", monkeypatch, fuse=True, **options)
    if not _fused.packed_linear_available("float32"):  # a torch without oneDNN: the layers run as they are
        assert not fused_calls
    else:
        assert sum(fused_calls) >= 3 * 60  # every layer, every row
    for column in plain.meta["vector_columns"]:
        np.testing.assert_allclose(fused.vectors_of(column), plain.vectors_of(column), atol=TOL, rtol=0)
    np.testing.assert_allclose(np.stack(fused.frame["logits"]), np.stack(plain.frame["logits"]), atol=TOL, rtol=0)


@pytest.mark.parametrize("kind", ["bert", "electra", "roberta"])
def test_fused_bfloat16_stays_within_cosine_0999_of_float32(models, kind, tmp_path, labeled_csv, monkeypatch,
                                                            fused_calls):
    data = labeled_csv(60, seed=7, max_words=50)
    reference = _extract(models[kind], data, tmp_path / "f32", monkeypatch, fuse=False, dtype="float32", layer="all")
    store = _extract(models[kind], data, tmp_path / "bf16", monkeypatch, fuse=True, dtype="bfloat16", layer="all")
    # where oneDNN has no bfloat16 kernel (a CPU without AVX512), the bf16 copy runs unfused
    assert bool(fused_calls) == _fused.packed_linear_available("bfloat16")
    for column in reference.meta["vector_columns"]:
        assert _cosines(store.vectors_of(column), reference.vectors_of(column)).min() >= 0.999


def test_a_fused_layer_equals_the_layer_with_padding(models):
    """Whole layer and [CLS]-only layer against the layer's own forward, rows padded to different lengths."""
    model = load_model(models["bert"], device="cpu").model
    layer = _fused.bert_layers(model)[1]
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(4, 9, model.config.hidden_size, generator=generator)
    mask = torch.ones(4, 9, dtype=torch.long)
    for row, length in enumerate((9, 5, 2, 7)):
        mask[row, length:] = 0
    fused = _fused.FusedLayer(layer, rows_hint=36, exact_gelu=True)
    with torch.inference_mode():
        expected = layer(hidden, mask[:, None, None, :].to(torch.bool))
        whole = fused.forward(hidden, mask)
        first = fused.cls_forward(hidden, mask)
    real = mask.to(torch.bool)
    assert torch.allclose(whole[real], expected[real], atol=1e-5)
    assert torch.allclose(first[:, 0], expected[:, 0], atol=1e-5)


def test_a_session_leaves_the_model_as_it_was(models, tmp_path, labeled_csv):
    loaded = load_model(models["bert"], device="cpu")
    run = runner.prepare(loaded, runner.Options(dtype="float32"), classes=None, label_lookup=None)
    run.fused = True
    layers = _fused.bert_layers(loaded.model)
    with run.session():
        assert all("_clsmap_fused" in layer.__dict__ for layer in layers) == _fused.packed_linear_available("float32")
    assert not any({"forward", "_clsmap_fused"} & set(layer.__dict__) for layer in layers)


def test_nothing_that_reads_a_layer_is_fused(models, monkeypatch):
    assert not _fused.fusing_pays("float32")  # fused float32 held 300-500 MB more for 1.09x
    assert not runner.prepare(load_model(models["bert"], device="cpu"), runner.Options(dtype="float32"),
                              classes=None, label_lookup=None).fused
    monkeypatch.setattr(runner, "fusing_pays", lambda dtype: True)
    loaded = load_model(models["bert"], device="cpu")

    def prepared(**options):
        live = options.pop("live", False)
        return runner.prepare(loaded, runner.Options(**options), classes=None, label_lookup=None, live=live)

    assert prepared(dtype="float32").fused
    assert not prepared(dtype="float32", module="bert.encoder.layer.1.attention.output").fused
    assert not prepared(dtype="float32", live=True).fused  # a training run's snapshots
    assert not prepared(dtype="float32", quantize="int8").fused
    assert not _fused.can_fuse(load_model(models["deberta"], device="cpu").model)
    eager = load_model(models["bert"], device="cpu").model
    eager.set_attn_implementation("eager")
    assert not _fused.can_fuse(eager)
    assert not _fused.can_fuse(load_model(models["bert"], device="cpu").model.train())
