"""BERT-base extraction on a GPU against the GPU's own bf16 matrix-product peak, in one run.

    PYTHONPATH=src python bench/gpu_extract.py [--texts 200000] [--out DIR]

For the GPU row of issue 15 (goal: BERT-base bf16 at >= 40 % of the GPU's bf16 peak). No download:
a BERT-base-sized classifier (12 layers, hidden 768, 12 heads, FFN 3072) with random weights and the
tests' local WordPiece tokenizer (``tests/support/tiny_models.py``); texts of random known words, 100-126
tokens each (``max_length`` 128). Measured, each in this process on the same GPU:

- ``peak``: an 8192^3 bf16 matrix product (mean of 10 after 3 warm-ups);
- ``forward``: the model alone in bf16 weights (SDPA attention), random token ids, batches of 256
  and 1,024 rows x 128 tokens, no tokenisation and no copies back: the ceiling of any extraction;
- ``tokenise``: the fast tokenizer over all texts (what clsmap does before the GPU starts);
- ``clsmap``: :func:`clsmap.extract` end to end (read, tokenise, batch, forward in ``--dtype auto``,
  write the store) at the default token budget of a batch (4,096) and at larger ones.

FLOPs per token: ``L (24 d^2 + 4 s d)`` (the projections, the feed-forward block and the attention
products of every layer at the batch's padded length ``s``); the share of the peak is
tokens/s x FLOPs per token / peak. Prints a table; with ``--out``, writes ``gpu_extract.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LAYERS, HIDDEN, HEADS, FFN = 12, 768, 12, 3072


def flops_per_token(seq: int) -> float:
    return LAYERS * (24 * HIDDEN**2 + 4 * seq * HIDDEN)


def build(folder: Path) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.tiny_models import build_tokenizer
    from transformers import BertConfig, BertForSequenceClassification

    _, vocab = build_tokenizer(folder)
    config = BertConfig(vocab_size=vocab, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                        intermediate_size=FFN, max_position_embeddings=512, num_labels=4,
                        id2label={i: f"c{i}" for i in range(4)}, label2id={f"c{i}": i for i in range(4)})
    BertForSequenceClassification(config).save_pretrained(folder)
    return vocab


def texts(n: int, seed: int = 0) -> list[str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.tiny_models import WORDS

    rng = np.random.default_rng(seed)
    words = np.asarray(WORDS)
    return [" ".join(words[rng.integers(0, len(words), k)]) for k in rng.integers(98, 125, n)]


def peak(device: str) -> float:
    import torch

    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize()
    return 10 * 2 * 8192**3 / (time.perf_counter() - started)


def forward(folder: Path, vocab: int, rows: int, device: str, seq: int = 128, steps: int = 20) -> float:
    """Tokens per second of the model alone (bf16 weights, SDPA)."""
    import torch
    from transformers import AutoModel

    net = AutoModel.from_pretrained(folder, dtype=torch.bfloat16, attn_implementation="sdpa").to(device).eval()
    ids = torch.randint(5, vocab, (rows, seq), device=device)
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        for _ in range(3):
            net(input_ids=ids, attention_mask=mask)
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(steps):
            net(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0].float()
        torch.cuda.synchronize()
    return rows * seq * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=200_000)
    parser.add_argument("--budgets", type=int, nargs="+", default=[4096, 65536, 262144])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import pandas as pd
    import torch
    from transformers import AutoTokenizer

    import clsmap

    rows = []

    def say(name: str, tokens_per_s: float, seq: float, **extra: object) -> None:
        share = tokens_per_s * flops_per_token(round(seq)) / top
        rows.append({"variant": name, "tokens_per_s": round(tokens_per_s), "tflops": round(share * top / 1e12, 1),
                     "share_of_peak": round(share, 4), **extra})
        print(f"{name:<34} {tokens_per_s:>12,.0f} tokens/s {share * top / 1e12:>7.1f} TFLOP/s {share:>7.1%} of peak "
              f"{extra or ''}", flush=True)

    print(f"device {torch.cuda.get_device_name(0)}; torch {torch.__version__}", flush=True)
    top = peak(args.device)
    print(f"bf16 peak (8192^3 matmul): {top / 1e12:.0f} TFLOP/s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bert-base"
        vocab = build(folder)
        for batch in (256, 1024):
            say(f"forward, bf16 weights, {batch} x 128", forward(folder, vocab, batch, args.device), 128)
        corpus = texts(args.texts)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        started = time.perf_counter()
        ids = tokenizer(corpus, truncation=True, max_length=128)["input_ids"]
        seconds = time.perf_counter() - started
        lengths = np.array([len(x) for x in ids])
        print(f"tokenise {len(corpus):,} texts: {seconds:.1f} s ({len(corpus) / seconds:,.0f} texts/s); "
              f"mean {lengths.mean():.1f} tokens", flush=True)
        rows.append({"variant": "tokenise", "seconds": round(seconds, 2), "texts_per_s": round(len(corpus) / seconds)})
        frame = pd.DataFrame({"text": corpus})
        for budget in args.budgets:
            n = len(corpus) if budget >= 65536 else min(len(corpus), 50_000)
            store = Path(tmp) / f"store_{budget}"
            started = time.perf_counter()
            clsmap.extract(folder, frame.iloc[:n], store, device=args.device, dtype="auto", max_length=128,
                           batch_tokens=budget, progress=False)
            seconds = time.perf_counter() - started
            say(f"clsmap.extract, budget {budget:,}", lengths[:n].sum() / seconds, lengths[:n].max(),
                texts=n, seconds=round(seconds, 1), texts_per_s=round(n / seconds))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_extract.json").write_text(json.dumps(
            {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "peak_tflops": top / 1e12,
             "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
