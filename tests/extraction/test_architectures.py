"""Every BERT-family architecture with hidden states extracts the same vectors as a plain forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.tiny_models import WORDS, build_model
from transformers import AutoModel, AutoTokenizer

import clsmap

KINDS = ["bert", "electra", "roberta", "deberta", "distilbert"]


@pytest.fixture(scope="module")
def texts():
    rng = np.random.default_rng(3)
    return [" ".join(rng.choice(WORDS, size=int(n))) for n in rng.integers(1, 40, size=24)]


@pytest.mark.parametrize("kind", KINDS)
def test_extract_matches_plain_forward(kind, texts, tmp_path_factory):
    folder = build_model(tmp_path_factory.mktemp(kind), kind, num_labels=3, id2label=["a", "b", "c"])
    frame = {"text": texts, "label": ["a", "b", "c"] * 8}
    import pandas as pd

    store = clsmap.extract(folder, pd.DataFrame(frame), tmp_path_factory.mktemp("store"), dtype="float32",
                           layer="all", pooling="mean", batch_tokens=128)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoder = AutoModel.from_pretrained(folder).eval()
    for i in (0, 7, 23):
        encoded = tokenizer(texts[i], return_tensors="pt")
        with torch.inference_mode():
            states = encoder(**encoded, output_hidden_states=True).hidden_states
        for layer, state in enumerate(states):
            expected = state[0].mean(dim=0).numpy()
            np.testing.assert_allclose(store.vectors_of(f"layer_{layer}")[i], expected, atol=1e-5)
    assert store.has_predictions and set(store.frame["pred"]) <= {"a", "b", "c"}
    probs = np.stack(store.frame["prob"].to_numpy())
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
