"""Time and memory of the analysis steps on n synthetic [CLS]-like vectors (default 100,000 x 384).

    .venv/bin/python bench/analysis_scale.py [--rows 100000] [--dim 384] [--classes 20]

Gaussian class clusters with overlap, a random "map" that keeps the class layout, 10 % of the
predictions wrong. Prints seconds per step and peak RSS; appends to
``bench/results/analysis_scale.jsonl``. Every step stays O(n * k) in memory (no n x n matrix).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import numpy as np

from clsmap.analysis import (
    confusion_regions,
    label_issue_scores,
    out_of_sample_probs,
    silhouette_per_class,
    trustworthiness,
)
from clsmap.analysis.knn import knn_indices
from clsmap.analysis.metrics import neighbour_agreement

RESULTS = Path(__file__).resolve().parent / "results" / "analysis_scale.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, d, c = args.rows, args.dim, args.classes
    labels = rng.integers(0, c, size=n).astype(str)
    codes = labels.astype(int)
    centres = rng.normal(size=(c, d)).astype(np.float32) * 1.5
    X = centres[codes] + rng.normal(size=(n, d)).astype(np.float32)
    xy = rng.normal(size=(c, 2))[codes] * 10 + rng.normal(size=(n, 2))
    preds = labels.copy()
    wrong = rng.random(n) < 0.1
    preds[wrong] = rng.integers(0, c, size=int(wrong.sum())).astype(str)
    texts = [f"text {i}" for i in range(n)]

    steps: dict[str, float] = {}

    def timed(name, fn):
        started = time.perf_counter()
        out = fn()
        steps[name] = round(time.perf_counter() - started, 2)
        print(f"{name:>28}: {steps[name]:8.2f} s", flush=True)
        return out

    neighbours = timed("knn_original_space", lambda: knn_indices(X, k=10))
    timed("knn_purity", lambda: neighbour_agreement(neighbours, labels).mean())
    timed("knn_map", lambda: knn_indices(xy, k=10, metric="euclidean"))
    timed("silhouette_sample_5000", lambda: silhouette_per_class(X, labels, sample=5000))
    timed("trustworthiness_sample_2000", lambda: trustworthiness(X, xy, k=10, sample=2000))
    probs, classes = timed("probe_oos_5fold", lambda: out_of_sample_probs(X, labels))
    timed("label_issue_scores", lambda: label_issue_scores(X, labels, probs=probs, classes=classes,
                                                           neighbours=neighbours))
    timed("confusion_regions", lambda: confusion_regions(xy, labels, preds=preds, neighbours=neighbours,
                                                         texts=texts))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = round(sum(steps.values()), 1)
    print(f"{'total':>28}: {total:8.1f} s; peak RSS {peak:.0f} MB (the vectors alone: {X.nbytes / 2**20:.0f} MB)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": platform.machine(),
                             "rows": n, "dim": d, "classes": c, "steps_seconds": steps, "total_seconds": total,
                             "peak_rss_mb": round(peak)}) + "\n")


if __name__ == "__main__":
    main()
