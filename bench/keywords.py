"""Keywords (c-TF-IDF) at 100k and 1M texts: seconds and peak memory, per class and per region.

    .venv/bin/python bench/keywords.py [--sizes 100000 1000000]

The WordNet glosses of ``../shared/data/wordnet_supersense.csv`` repeated to N, their 41 supersenses
as classes; "regions": 6 groups of 1 % of the rows each (drawn at random, each with a planted word in
its texts) against the rest, as ``clsmap analyze`` measures regions against the rest of the map.
Prints the seconds of each call, the peak RSS, and whether each region's planted word came first.
Appends one JSON line per N to ``bench/results/keywords.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import cpu_name

import clsmap
from clsmap.analysis import class_keywords

ROOT = Path(__file__).resolve().parent
SHARED = ROOT.parents[1] / "shared" / "data"
RESULTS = ROOT / "results" / "keywords.jsonl"
PLANTED = ["quokka", "zeppelin", "marimba", "origami", "tundra", "falafel"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    corpus = pd.read_csv(SHARED / "wordnet_supersense.csv")[["text", "label"]].dropna()
    print(f"cpu: {cpu_name()}; corpus: {len(corpus):,} WordNet glosses, {corpus['label'].nunique()} classes")
    rows = []
    for n in args.sizes:
        rng = np.random.default_rng(0)
        take = np.arange(n) % len(corpus)
        texts = corpus["text"].to_numpy()[take].astype(object)
        labels = corpus["label"].to_numpy()[take]
        regions = np.zeros(n, dtype=int)
        chosen = rng.permutation(n)[: 6 * (n // 100)].reshape(6, -1)
        for r, members in enumerate(chosen, start=1):
            regions[members] = r
            texts[members] = [f"{t} {PLANTED[r - 1]}" for t in texts[members]]
        started = time.perf_counter()
        by_class = class_keywords(texts, labels)
        class_s = time.perf_counter() - started
        started = time.perf_counter()
        by_region = class_keywords(texts, regions, ignore=[0])
        region_s = time.perf_counter() - started
        firsts = by_region.frame[by_region.frame["rank"] == 1].set_index("group")["term"]
        planted_first = sum(firsts.get(r) == PLANTED[r - 1] for r in range(1, 7))
        row = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "n": n,
               "classes_s": round(class_s, 2), "regions_s": round(region_s, 2),
               "texts_counted": by_class.n_texts, "terms": by_class.n_terms,
               "planted_first": f"{planted_first}/6",
               "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
               "cpu": cpu_name(), "clsmap": clsmap.__version__}
        rows.append(row)
        print(f"N={n:>9,}  classes {class_s:6.2f} s  regions {region_s:6.2f} s  "
              f"(texts counted {row['texts_counted']:,}, terms {row['terms']:,})  planted word first in "
              f"{row['planted_first']} regions  peak RSS {row['peak_rss_gb']} GB", flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
