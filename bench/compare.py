"""Time and memory of ``clsmap compare`` and of its page on two synthetic stores of the same n texts.

    .venv/bin/python bench/compare.py [--rows 10000 100000] [--dim 384] [--classes 20]

Store A: Gaussian class clusters (384-d), a map that keeps the class layout, 10 % of the predictions
wrong. Store B: the same texts, in another row order, with a fifth of the classes moved onto others
and half of A's errors fixed. Per size: seconds of the whole comparison (both analyses, the moved
scores, the alignment's measurement) and of the page, the page's size, the peak RSS of the process,
the alignment kept and both measured displacements, and whether the moved classes fill the top of
"moved most". Appends to ``bench/results/compare.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from clsmap.analysis import compare
from clsmap.render import write_compare
from clsmap.store import synthetic_store

RESULTS = Path(__file__).resolve().parent / "results" / "compare.jsonl"


def _stores(folder: Path, n: int, d: int, c: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, c, size=n)
    labels = np.array([f"class {k}" for k in range(c)])[codes]
    centres = rng.normal(size=(c, d)).astype(np.float32) * 1.5
    X = centres[codes] + rng.normal(size=(n, d)).astype(np.float32)
    layout = rng.normal(size=(c, 2)) * 10
    xy = layout[codes] + rng.normal(size=(n, 2))
    preds = labels.copy()
    wrong = rng.random(n) < 0.1
    preds[wrong] = labels[rng.integers(0, n, size=int(wrong.sum()))]
    texts = [f"text {i}" for i in range(n)]
    a = synthetic_store(folder / "a", xy, texts, labels=list(labels), preds=list(preds), vectors=X)
    moved_classes = np.arange(c) < max(1, c // 5)
    moved = moved_classes[codes]
    target = (codes + c // 2) % c
    XB, xyb = X.copy(), xy.copy()
    XB[moved] = centres[target[moved]] + rng.normal(size=(int(moved.sum()), d)).astype(np.float32)
    xyb[moved] = layout[target[moved]] + rng.normal(size=(int(moved.sum()), 2))
    preds_b = np.where(wrong & (rng.random(n) < 0.5), labels, preds)
    order = rng.permutation(n)
    b = synthetic_store(folder / "b", xyb[order], [texts[i] for i in order], labels=list(labels[order]),
                        preds=list(preds_b[order]), ids=[str(i) for i in order], vectors=XB[order], model="b")
    return a, b, moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=20)
    args = parser.parse_args()
    for n in args.rows:
        with tempfile.TemporaryDirectory() as folder:
            a, b, moved = _stores(Path(folder), n, args.dim, args.classes)
            started = time.perf_counter()
            result = compare(a, b)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            page = write_compare(result, Path(folder) / "compare.html")
            page_seconds = time.perf_counter() - started
            top = result.moved_most(int(moved.sum()))
            top_moved = float(np.isin(top["id"].astype(int), np.flatnonzero(moved)).mean())
            record = {
                "rows": n, "dim": args.dim, "classes": args.classes, "compare_s": round(seconds, 1),
                "page_s": round(page_seconds, 1), "page_mb": round(page.stat().st_size / 1e6, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "alignment": result.alignment, "top_moved_share": round(top_moved, 3),
                "cpu": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d"),
            }
            print(json.dumps(record), flush=True)
            RESULTS.parent.mkdir(exist_ok=True)
            with RESULTS.open("a") as fh:
                fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
