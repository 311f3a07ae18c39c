"""Tiny random BERT-family checkpoints built from a config, with a local tokenizer, and texts of its words.

No network: the WordPiece vocabulary is made here from characters and a few words.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

WORDS = (
    "the a an of and or to in is are was be it that this for with on as at by from not no yes "
    "cat dog bird fish tree plant flower food bread apple water oil body hand eye stone metal "
    "good bad happy sad free money offer click win spam mail meeting report project team"
).split()


CLASSES = ["ham", "spam"]  # the classes of the tiny BERT classifier and of the labeled CSV files


def make_texts(n: int, *, seed: int = 0, min_words: int = 1, max_words: int = 60) -> list[str]:
    """``n`` texts of words the tiny tokenizer knows, from ``min_words`` to ``max_words`` long
    (the first text is the shortest possible, the last the longest)."""
    rng = random.Random(seed)
    lengths = [rng.randint(min_words, max_words) for _ in range(n)]
    if n >= 2:
        lengths[0], lengths[-1] = min_words, max_words
    return [" ".join(rng.choice(WORDS) for _ in range(k)) for k in lengths]


def labeled_csv_file(folder: Path, n: int = 40, *, seed: int = 0, name: str = "data.csv", min_words: int = 1,
                     max_words: int = 60, labels=tuple(CLASSES), with_id: bool = False) -> Path:
    """Write ``folder/name``, a CSV with columns ``text`` (:func:`make_texts`) and ``label`` (``labels`` in
    turn), and ``id`` first when ``with_id``; return its path."""
    import pandas as pd

    frame = pd.DataFrame({
        "text": make_texts(n, seed=seed, min_words=min_words, max_words=max_words),
        "label": [labels[i % len(labels)] for i in range(n)],
    })
    if with_id:
        frame.insert(0, "id", [f"doc-{seed}-{i}" for i in range(n)])
    path = Path(folder) / name
    frame.to_csv(path, index=False)
    return path


def build_tokenizer(folder: Path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    hangul = [chr(c) for c in range(0x3131, 0x3164)]  # compatibility jamo
    vocab = specials + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + hangul + WORDS
    vocab = list(dict.fromkeys(vocab))
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab.index("[CLS]")), ("[SEP]", vocab.index("[SEP]"))],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=128,
    )
    fast.save_pretrained(folder)
    return fast, len(vocab)


def build_model(folder: Path, kind: str = "bert", *, num_labels: int | None = 2, id2label=None, seed: int = 0,
                num_layers: int = 2):
    """Save a tiny random ``kind`` ('bert', 'electra', 'roberta', 'deberta', 'distilbert') model
    (with a classification head when ``num_labels``) and its tokenizer to ``folder``; return the folder."""
    import torch
    from transformers import (AutoModel, AutoModelForSequenceClassification, BertConfig,
                              DebertaV2Config, DistilBertConfig, ElectraConfig, RobertaConfig)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _, vocab_size = build_tokenizer(folder)
    common = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=num_layers, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=128, hidden_dropout_prob=0.0,
                  attention_probs_dropout_prob=0.0)
    if kind == "bert":
        config = BertConfig(**common)
    elif kind == "electra":
        config = ElectraConfig(embedding_size=32, **common)
    elif kind == "roberta":
        config = RobertaConfig(**common, pad_token_id=0, bos_token_id=2, eos_token_id=3)
    elif kind == "deberta":
        config = DebertaV2Config(**common, pad_token_id=0)
    elif kind == "distilbert":
        config = DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=num_layers, n_heads=2, hidden_dim=64,
                                  max_position_embeddings=128, dropout=0.0, attention_dropout=0.0, pad_token_id=0)
    else:
        raise ValueError(kind)
    if num_labels:
        config.num_labels = num_labels
        if id2label:
            config.id2label = dict(enumerate(id2label))
            config.label2id = {v: k for k, v in config.id2label.items()}
    torch.manual_seed(seed)
    model = (AutoModelForSequenceClassification if num_labels else AutoModel).from_config(config)
    model.save_pretrained(folder)
    return folder
