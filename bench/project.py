"""Projection at scale: every reducer at 10k and 100k, and clsmap's large-N path at 1M.

    .venv/bin/python bench/project.py [--sizes 10000 100000] [--large 1000000] [--methods pca pacmap umap tsne]

The vectors are synthetic, 384-d like all-MiniLM-L6-v2's, in 40 classes: each class is a
Gaussian around its own centre, with per-class anisotropic spread so that classes touch (a
full fit's 2-D purity is high but below 1). Each (method, N) runs in a fresh child process
that reports its own time and peak RSS. Quality is 2-D 10-NN label purity (every row, against
the whole map) and trustworthiness (10 neighbours, scikit-learn) on a random 5,000-row sample;
exact k-NN preservation collapses at large N for every method, so it is not the yardstick here.
The large-N row is ``clsmap.project``'s default path: PaCMAP fitted on 100k sampled rows, the
other rows placed at the inverse-distance-weighted mean of their 10 nearest sampled neighbours
(faiss IVF among the sample's 64 principal components). Each result is appended to
``bench/results/project.jsonl`` as it completes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from _machine import cpu_name

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "project.jsonl"
DIM, CLASSES = 384, 40


def vectors(n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clustered float32 vectors and their class labels, generated chunk by chunk."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLASSES, DIM)).astype(np.float32) * 0.25
    scales = rng.uniform(0.5, 1.5, size=(CLASSES, DIM)).astype(np.float32)
    labels = rng.integers(0, CLASSES, size=n)
    X = np.empty((n, DIM), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        noise = rng.standard_normal((hi - lo, DIM), dtype=np.float32)
        X[lo:hi] = centres[labels[lo:hi]] + noise * scales[labels[lo:hi]]
    return X, labels


def purity_2d(xy: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=k + 1).fit(xy)
    hits = 0
    for lo in range(0, len(xy), 200_000):
        nn = index.kneighbors(xy[lo:lo + 200_000], return_distance=False)[:, 1:]
        hits += int((labels[nn] == labels[lo:lo + 200_000, None]).sum())
    return hits / (len(xy) * k)


def child(method: str, n: int, max_fit: int | None) -> None:
    from clsmap.projection import fit_on_sample, make_reducer

    X, labels = vectors(n)
    reducer = make_reducer(method, seed=0)
    started = time.perf_counter()
    if max_fit is not None and n > max_fit:
        xy, _ = fit_on_sample(reducer, X, max_fit=max_fit, seed=0)
    else:
        xy = reducer.fit_transform(X)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    from sklearn.manifold import trustworthiness

    sample = np.random.default_rng(1).choice(n, size=min(5000, n), replace=False)
    print(json.dumps({
        "method": method, "n": n, "fit_rows": min(n, max_fit or n), "seconds": seconds, "peak_rss": peak,
        "purity_2d": purity_2d(xy, labels),
        "trustworthiness": float(trustworthiness(X[sample], xy[sample], n_neighbors=10)),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--methods", nargs="+", default=["pca", "pacmap", "umap", "tsne"])
    parser.add_argument("--large", type=int, default=1_000_000, help="N of the large-N path (0 to skip)")
    parser.add_argument("--max-fit", type=int, default=100_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, n, max_fit = args.child
        child(method, int(n), int(max_fit) or None)
        return

    jobs = [(m, n, 0) for n in args.sizes for m in args.methods]
    if args.large:
        jobs.insert(0, ("pacmap", args.large, args.max_fit))
    print(f"cpu: {cpu_name()}; {DIM}-d synthetic vectors in {CLASSES} classes")
    header = f"{'method':<10}{'N':>10}{'fit on':>10}{'seconds':>9}{'peak RSS':>10}{'purity 2-D':>12}{'trust 5k':>10}"
    print(header)
    print("-" * len(header))
    rows = []
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    RESULTS.parent.mkdir(exist_ok=True)
    for method, n, max_fit in jobs:
        done = subprocess.run([sys.executable, __file__, "--child", method, str(n), str(max_fit)],
                              capture_output=True, text=True)
        if done.returncode:
            print(f"{method:<10}{n:>10,}  failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"time": stamp, "cpu": cpu_name(), "dim": DIM, "classes": CLASSES, **row}) + "\n")
        print(f"{method:<10}{n:>10,}{row['fit_rows']:>10,}{row['seconds']:>9.1f}{row['peak_rss'] / 2**30:>8.2f} G"
              f"{row['purity_2d']:>12.3f}{row['trustworthiness']:>10.3f}", flush=True)



if __name__ == "__main__":
    main()
