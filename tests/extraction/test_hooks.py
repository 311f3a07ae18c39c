"""clsmap.capture: finds a submodule by path, keeps only the latest output, always unhooks."""

from __future__ import annotations

import pytest
import torch

from clsmap import ClsmapError, capture
from clsmap.extraction.hooks import resolve_module


@pytest.fixture(scope="module")
def bert(tiny_bert):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert).eval()
    return model, AutoTokenizer.from_pretrained(tiny_bert)


def _inputs(tokenizer, texts=("the cat is good", "free money click win")):
    return tokenizer(list(texts), padding=True, return_tensors="pt")


def _hook_counts(model):
    return sum(len(m._forward_hooks) for m in model.modules())


def test_hook_is_removed_on_exit(bert):
    model, tokenizer = bert
    before = _hook_counts(model)
    with capture(model, "bert.encoder.layer[-1]") as hooked:
        assert len(hooked.module._forward_hooks) == 1
        with torch.no_grad():
            model(**_inputs(tokenizer))
        assert hooked.output is not None
    assert len(hooked.module._forward_hooks) == 0
    assert _hook_counts(model) == before
    assert hooked.output is None  # nothing is held after the block


def test_hook_is_removed_when_the_body_raises(bert):
    model, tokenizer = bert
    module = model.bert.encoder.layer[-1]
    with pytest.raises(RuntimeError, match="boom"):
        with capture(model, "bert.encoder.layer[-1]"):
            with torch.no_grad():
                model(**_inputs(tokenizer))
            raise RuntimeError("boom")
    assert len(module._forward_hooks) == 0


def test_keeps_only_the_latest_output(bert):
    model, tokenizer = bert
    first, second = _inputs(tokenizer), _inputs(tokenizer, ["dog", "bird", "tree plant flower"])
    with capture(model, "bert.encoder.layer.1.output.LayerNorm") as hooked, torch.no_grad():
        assert hooked.calls == 0 and hooked.output is None
        model(**first)
        assert hooked.calls == 1
        assert hooked.output.shape[:2] == first["input_ids"].shape
        out = model(**second, output_hidden_states=True)
        assert hooked.calls == 2
        assert hooked.output.shape[:2] == second["input_ids"].shape
        assert torch.equal(hooked.output, out.hidden_states[-1])
        assert not hooked.output.requires_grad


def test_tuple_outputs_keep_the_hidden_states(bert):
    model, tokenizer = bert
    with capture(model, "bert.encoder.layer[0]") as hooked, torch.no_grad():
        out = model(**_inputs(tokenizer), output_hidden_states=True)
        assert torch.is_tensor(hooked.output)
        assert torch.allclose(hooked.output, out.hidden_states[1], atol=1e-6)


@pytest.mark.parametrize("path", [
    "bert.encoder.layer.1", "bert.encoder.layer[1]", "bert.encoder.layer[-1]",
    "encoder.layer.1", "encoder.layer[-1]", "encoder.layer.-1", "module.bert.encoder.layer[1]",
    "module.encoder.layer[-1]",
])
def test_paths_resolve_with_and_without_the_base_prefix(bert, path):
    model, _ = bert
    assert resolve_module(model, path) is model.bert.encoder.layer[1]


@pytest.mark.parametrize("path", [
    "bert.encoder.layer[-1]", "module.bert.encoder.layer[-1]", "encoder.layer[-1]", "module.encoder.layer.1",
])
def test_paths_resolve_under_data_parallel(bert, path):
    """resolve_module promises both a leading ``module.`` and a left-out base prefix, so both
    must also work on a wrapped model."""
    model, _ = bert
    assert resolve_module(torch.nn.DataParallel(model), path) is model.bert.encoder.layer[1]


@pytest.mark.parametrize("path, fragment", [
    ("bert.encoder.layer[5]", "nearest valid names"),
    ("bert.encoder.layr.1", "bert.encoder.layer.1"),
    ("bert.encoder..layer", "cannot read"),
    ("", "write it like"),
    ("bert.encoder.layer.1.output.dense.weight", "no such submodule"),  # a parameter, not a module
])
def test_bad_paths_are_clear_errors(bert, path, fragment):
    model, _ = bert
    before = _hook_counts(model)  # transformers registers hooks of its own
    with pytest.raises(ClsmapError, match="module") as info:
        with capture(model, path):
            pass
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert _hook_counts(model) == before
