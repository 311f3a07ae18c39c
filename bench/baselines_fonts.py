"""What `clsmap train`'s baselines and the pages' embedded CJK fonts cost.

- The bag-of-words baseline (``clsmap.training.baselines``) on the shared corpora, split as
  ``clsmap train`` splits them (10 % held out): seconds and validation accuracy. WordNet: the 24,656
  glosses of the demo's six supersenses, and 25,000 glosses of all 41.
- The embedded font of the interactive map and the report of chatterbot_ko's 1,026 Korean utterances
  (synthetic coordinates, the labels as predictions): distinct characters, WOFF2 bytes, seconds,
  and the pages' size with and without it.

Prints a table and appends the numbers to ``bench/results/baselines_fonts.jsonl``. Needs ../shared/data.
"""

from __future__ import annotations

import importlib
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import cpu_name

from clsmap.render import fonts, report, write_map
from clsmap.store import synthetic_store
from clsmap.training import split_indices
from clsmap.training.baselines import bag_of_words_baseline

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "baselines_fonts.jsonl"
SIX = ["noun.animal", "noun.plant", "noun.food", "noun.substance", "noun.body", "noun.object"]


def baselines() -> list[dict]:
    wordnet = pd.read_csv(DATA / "wordnet_supersense.csv")
    corpora = {
        "wordnet 6 supersenses": wordnet[wordnet["label"].isin(SIX)],
        "wordnet 41 supersenses (25k sample)": wordnet.sample(25_000, random_state=0),
        "spam_assassin": pd.read_csv(DATA / "spam_assassin_1000c.csv"),
        "chatterbot_ko": pd.read_csv(DATA / "chatterbot_ko.csv"),
    }
    rows = []
    for name, frame in corpora.items():
        texts, labels = list(frame["text"]), list(frame["label"])
        classes = sorted(set(labels))
        y = np.array([classes.index(label) for label in labels])
        train, val = split_indices(labels, 0.1, 0)
        result = bag_of_words_baseline([texts[i] for i in train], y[train], [texts[i] for i in val], y[val])
        rows.append({"corpus": name, "rows": len(texts), "classes": len(classes), "fit_rows": result["fit_rows"],
                     "seconds": result["seconds"], "val_accuracy": round(result["val_accuracy"], 4)})
        print(f"{name:38s} {len(texts):7,d} rows {len(classes):3d} classes  {result['seconds']:6.2f} s  "
              f"accuracy {result['val_accuracy']:.3f}", flush=True)
    return rows


def korean_pages() -> dict:
    frame = pd.read_csv(DATA / "chatterbot_ko.csv")
    rng = np.random.default_rng(0)
    text = "".join(frame["text"])
    started = time.perf_counter()
    font = fonts.web_font(text.encode("utf-8"))
    subset_seconds = time.perf_counter() - started
    sizes = {}
    with tempfile.TemporaryDirectory() as folder:
        store = synthetic_store(Path(folder) / "store", rng.normal(size=(len(frame), 2)), list(frame["text"]),
                                labels=list(frame["label"]), preds=list(frame["label"]),
                                classes=sorted(frame["label"].unique()))
        for embed in (True, False):
            if not embed:
                for module in ("clsmap.render.map", "clsmap.render.blocks"):
                    importlib.import_module(module).web_font = lambda *blobs: None
            sizes[embed] = (write_map(store, Path(folder) / f"map{embed}.html").stat().st_size,
                            report(store, Path(folder) / f"report{embed}.html").stat().st_size)
    row = {"characters": font.glyphs, "woff2_bytes": font.woff2_bytes, "subset_seconds": round(subset_seconds, 2),
           "map_bytes": sizes[True][0], "map_bytes_without": sizes[False][0],
           "report_bytes": sizes[True][1], "report_bytes_without": sizes[False][1]}
    print(f"chatterbot_ko: {font.glyphs} CJK characters, WOFF2 {font.woff2_bytes / 1024:.0f} KB in "
          f"{subset_seconds:.2f} s; map {sizes[False][0] / 1024:.0f} -> {sizes[True][0] / 1024:.0f} KB, "
          f"report {sizes[False][1] / 1024:.0f} -> {sizes[True][1] / 1024:.0f} KB")
    return row


def main() -> None:
    record = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpu": cpu_name(),
              "baselines": baselines(), "korean_pages": korean_pages()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
