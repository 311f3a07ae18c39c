"""The speed levers of extraction: the [CLS]-only last layer gives the full computation's results,
and int8 quantisation touches only the inner layers and stays close to float32."""

from __future__ import annotations

import numpy as np
import pytest

from clsmap import ClsmapError, extract
from clsmap.extraction import fastpath as _fastpath
from clsmap.extraction.models import load_model

from support.tiny_models import build_model

TOL = 1e-4


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("fastpath_models")
    return {kind: build_model(root / kind, kind, seed=3) for kind in ("bert", "electra", "roberta", "deberta")}


@pytest.fixture
def calls(monkeypatch):
    """Counts the rows that went through the [CLS]-only layer."""
    seen = []
    original = _fastpath._cls_forward

    def spy(layer, hidden_states, *args, **kwargs):
        seen.append(hidden_states.shape[0])
        return original(layer, hidden_states, *args, **kwargs)

    monkeypatch.setattr(_fastpath, "_cls_forward", spy)
    return seen


def _both(folder, data, tmp_path, monkeypatch, **options):
    stores = {}
    real = _fastpath._last_layer
    for enabled in (False, True):  # off: no model is found fit for the [CLS]-only layer
        monkeypatch.setattr(_fastpath, "_last_layer", real if enabled else lambda model: None)
        stores[enabled] = extract(folder, data, tmp_path / f"store_{enabled}", dtype="float32", progress=False,
                                  **options)
    return stores[False], stores[True]


def _assert_same(full, fast):
    assert list(fast.frame["id"]) == list(full.frame["id"])
    for column in full.meta["vector_columns"]:
        np.testing.assert_allclose(fast.vectors_of(column), full.vectors_of(column), atol=TOL, rtol=0)
    np.testing.assert_allclose(np.stack(fast.frame["logits"]), np.stack(full.frame["logits"]), atol=TOL, rtol=0)
    assert list(fast.frame["pred"]) == list(full.frame["pred"])


@pytest.mark.parametrize("kind", ["bert", "electra", "roberta"])
@pytest.mark.parametrize(("layer", "pooling"), [(None, "cls"), ("all", "cls"), (1, "mean")])
def test_cls_only_last_layer_gives_the_full_results(models, kind, layer, pooling, tmp_path, labeled_csv,
                                                    monkeypatch, calls):
    data = labeled_csv(60, seed=4, max_words=40)
    full, fast = _both(models[kind], data, tmp_path, monkeypatch, layer=layer, pooling=pooling)
    _assert_same(full, fast)
    assert sum(calls) == 60  # the fast path ran, once per row, only in the fast run


def test_pooler_output_is_unchanged_by_the_fast_path(models, tmp_path, labeled_csv, monkeypatch, calls):
    full, fast = _both(models["bert"], labeled_csv(30, seed=5), tmp_path, monkeypatch, pooling="pooler")
    _assert_same(full, fast)
    assert sum(calls) == 30


@pytest.mark.parametrize(("layer", "pooling"), [(None, "mean"), ("all", "max")])
def test_pooling_that_reads_every_token_of_the_last_layer_runs_it_whole(models, tmp_path, labeled_csv,
                                                                        monkeypatch, calls, layer, pooling):
    full, fast = _both(models["bert"], labeled_csv(30, seed=6), tmp_path, monkeypatch, layer=layer, pooling=pooling)
    _assert_same(full, fast)
    assert calls == []


def test_module_hook_runs_the_last_layer_whole(models, tmp_path, labeled_csv, calls):
    extract(models["bert"], labeled_csv(20), tmp_path / "s", module="bert.encoder.layer[-1].output.dense",
            dtype="float32", progress=False)
    assert calls == []


def test_other_architectures_are_left_alone(models):
    assert _fastpath._last_layer(load_model(models["deberta"]).model) is None
    assert _fastpath._last_layer(load_model(models["bert"]).model) is not None


def test_layer_forward_is_restored(models, tmp_path, labeled_csv):
    loaded = load_model(models["bert"])
    extract(loaded, labeled_csv(20), tmp_path / "s", progress=False)
    assert "forward" not in vars(loaded.model.bert.encoder.layer[-1])


def test_int8_quantises_the_inner_layers_only_and_stays_close(tmp_path, labeled_csv):
    folder = build_model(tmp_path / "deep", "bert", num_layers=4, seed=7)
    data = labeled_csv(60, seed=8)
    ref = extract(folder, data, tmp_path / "fp32", dtype="float32", progress=False)
    q = extract(folder, data, tmp_path / "int8", dtype="float32", quantize="int8", progress=False)
    assert q.meta["extraction"]["quantize"] == "int8"
    assert "quantize" not in ref.meta["extraction"]

    from torch.ao.nn.quantized.dynamic import Linear as QuantizedLinear

    quantized = dict(_fastpath.quantize_int8(load_model(folder).model).named_modules())
    for name in ("attention.self.query", "attention.output.dense", "intermediate.dense", "output.dense"):
        assert isinstance(quantized[f"bert.encoder.layer.1.{name}"], QuantizedLinear)
        assert isinstance(quantized[f"bert.encoder.layer.2.{name}"], QuantizedLinear)
        assert not isinstance(quantized[f"bert.encoder.layer.0.{name}"], QuantizedLinear)
        assert not isinstance(quantized[f"bert.encoder.layer.3.{name}"], QuantizedLinear)
    assert not isinstance(quantized["classifier"], QuantizedLinear)

    a, b = q.vectors, ref.vectors
    assert not np.array_equal(a, b)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.mean() >= 0.99


def test_quantize_choice_is_validated(tmp_path, labeled_csv, models):
    with pytest.raises(ValueError, match=r"quantize.*'none'.*'int8'.*int4"):
        extract(models["bert"], labeled_csv(5), tmp_path / "s", quantize="int4")
    with pytest.raises(ClsmapError):
        extract(models["bert"], labeled_csv(5), tmp_path / "s2", quantize="int8", dtype="float16")
