"""Shared fixtures: tiny random models built once per session, and small labeled CSV files."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

# Tests never reach the Hugging Face Hub: every model is built locally by tiny_models.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tiny_models import WORDS, build_model  # noqa: E402

CLASSES = ["ham", "spam"]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """BertForSequenceClassification with named classes ['ham', 'spam']."""
    return build_model(tmp_path_factory.mktemp("tiny_bert"), "bert", num_labels=2, id2label=CLASSES)


@pytest.fixture(scope="session")
def tiny_electra(tmp_path_factory) -> Path:
    """ElectraForSequenceClassification with transformers' generic classes LABEL_0, LABEL_1."""
    return build_model(tmp_path_factory.mktemp("tiny_electra"), "electra", num_labels=2, seed=1)


@pytest.fixture(scope="session")
def tiny_bert_encoder(tmp_path_factory) -> Path:
    """A bare BertModel (with its pooler), no classification head."""
    return build_model(tmp_path_factory.mktemp("tiny_bert_encoder"), "bert", num_labels=None, seed=2)


def make_texts(n: int, *, seed: int = 0, min_words: int = 1, max_words: int = 60) -> list[str]:
    """``n`` texts of words the tiny tokenizer knows, from ``min_words`` to ``max_words`` long
    (the first text is the shortest possible, the last the longest)."""
    rng = random.Random(seed)
    lengths = [rng.randint(min_words, max_words) for _ in range(n)]
    if n >= 2:
        lengths[0], lengths[-1] = min_words, max_words
    return [" ".join(rng.choice(WORDS) for _ in range(k)) for k in lengths]


@pytest.fixture
def labeled_csv(tmp_path):
    """Factory: ``labeled_csv(n=40, seed=0, name='data.csv', ...)`` writes a CSV with columns
    ``text`` and ``label`` ('ham'/'spam', alternating) and returns its path."""

    def make(n: int = 40, *, seed: int = 0, name: str = "data.csv", min_words: int = 1,
             max_words: int = 60, labels=tuple(CLASSES), with_id: bool = False) -> Path:
        frame = pd.DataFrame({
            "text": make_texts(n, seed=seed, min_words=min_words, max_words=max_words),
            "label": [labels[i % len(labels)] for i in range(n)],
        })
        if with_id:
            frame.insert(0, "id", [f"doc-{seed}-{i}" for i in range(n)])
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return make


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The developers' shared datasets (beside the checkout); tests that need them skip elsewhere."""
    folder = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not folder.is_dir():
        pytest.skip("needs ../shared/data beside the checkout")
    return folder
