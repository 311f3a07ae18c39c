"""What a seed costs PaCMAP: unseeded, seeded as PaCMAP does it, and seeded as clsmap does it.

    PYTHONPATH=src .venv/bin/python bench/pacmap_seed.py [--n 100000] [--repeats 1]

Seeded, PaCMAP 0.9 searches its nearest neighbours with faiss's HNSW index on one thread (to be
deterministic); clsmap's reducer gives it the same pairs from an exact faiss search on every core
(``clsmap.projection.reducers._exact_neighbour_pairs``). The vectors are ``bench/project.py``'s
(384-d, 40 classes). Each run is a fresh child process: seconds of the fit, 2-D 10-NN purity, and
whether two runs of a variant give the same map (bit for bit). Goal (issue 14): clsmap's seeded fit
within 1.1x the unseeded one, and reproducible. Appended to ``bench/results/pacmap_seed.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _machine import cpu_name
from project import purity_2d, vectors

RESULTS = Path(__file__).resolve().parent / "results" / "pacmap_seed.jsonl"
VARIANTS = ("unseeded", "pacmap seeded", "clsmap seeded")


def child(variant: str, n: int, out: str) -> None:
    import pacmap

    from clsmap.projection import make_reducer
    from clsmap.projection.reducers import default_neighbors

    X, labels = vectors(n)
    make_reducer("pacmap", seed=0).fit_transform(X[:3000])  # numba's kernels compiled and cached
    started = time.perf_counter()
    if variant == "clsmap seeded":
        xy = make_reducer("pacmap", seed=0).fit_transform(X)
    else:
        reducer = pacmap.PaCMAP(n_components=2, n_neighbors=default_neighbors(n), MN_ratio=0.5, FP_ratio=2.0,
                                random_state=0 if variant == "pacmap seeded" else None, num_iters=(100, 100, 250))
        xy = reducer.fit_transform(X, init="pca")
    seconds = time.perf_counter() - started
    np.save(out, xy)
    print(json.dumps({"variant": variant, "n": n, "seconds": seconds, "purity_2d": purity_2d(xy, labels)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each variant beyond the first two")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    print(f"cpu: {cpu_name()} ({os.cpu_count()} cores); load average {os.getloadavg()[0]:.1f}; n = {args.n:,}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        maps: dict[str, list[np.ndarray]] = {}
        # interleaved, so that a change of load hits every variant alike
        for run in range(1 + args.repeats):
            for variant in VARIANTS:
                out = str(Path(tmp) / f"{variant.replace(' ', '_')}_{run}.npy")
                done = subprocess.run([sys.executable, __file__, "--child", variant, str(args.n), out],
                                      stdout=subprocess.PIPE, text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                maps.setdefault(variant, []).append(np.load(out))
                print(f"  {variant:<14} run {run}: {row['seconds']:6.1f} s, 2-D purity {row['purity_2d']:.3f}",
                      flush=True)
    base = np.median([r["seconds"] for r in rows if r["variant"] == "unseeded"])
    print(f"\n{'variant':<14} {'median s':>8} {'x unseeded':>10} {'purity':>7} {'same map twice':>15}")
    summary = []
    for variant in VARIANTS:
        mine = [r for r in rows if r["variant"] == variant]
        seconds = float(np.median([r["seconds"] for r in mine]))
        same = all(np.array_equal(maps[variant][0], m) for m in maps[variant][1:])
        summary.append({"variant": variant, "n": args.n, "runs": len(mine), "median_seconds": round(seconds, 2),
                        "ratio_to_unseeded": round(seconds / base, 3),
                        "purity_2d": round(float(np.mean([r["purity_2d"] for r in mine])), 4), "reproducible": same})
        print(f"{variant:<14} {seconds:>8.1f} {seconds / base:>10.2f} {summary[-1]['purity_2d']:>7.3f} {str(same):>15}")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        for row in summary:
            fh.write(json.dumps({"date": stamp, "cpu": cpu_name(), "load": round(os.getloadavg()[0], 1), **row}) + "\n")


if __name__ == "__main__":
    main()
