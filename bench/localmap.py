"""LocalMAP against PaCMAP on a real store: 2-D purity, trustworthiness and time.

    PYTHONPATH=src .venv/bin/python bench/localmap.py STORE [--repeats 2]

STORE is a clsmap store with labels (e.g. the 24,656 WordNet glosses of the demo's six supersenses
mapped with the demo's model: ``clsmap extract demo_out/model six.csv -o six_store``). Each fit runs in
a fresh child process (the methods interleaved), seed 0: seconds of the fit, 2-D 10-NN label purity
(every row), trustworthiness (10 neighbours, scikit-learn, on a 5,000-row sample) and, for the store's
predictions, the 10-NN purity of the misclassified rows' neighbourhoods (how cleanly errors sit apart).
Appended to ``bench/results/localmap.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _machine import cpu_name

RESULTS = Path(__file__).resolve().parent / "results" / "localmap.jsonl"
METHODS = ("pacmap", "localmap")


def child(method: str, store_path: str) -> None:
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors

    import clsmap
    from clsmap.projection import make_reducer

    store = clsmap.open_store(store_path)
    X = store.vectors
    labels = store.frame["label"].astype(str).to_numpy()
    make_reducer(method, seed=0).fit_transform(X[:2000])  # numba's kernels compiled and cached
    started = time.perf_counter()
    xy = make_reducer(method, seed=0).fit_transform(X)
    seconds = time.perf_counter() - started
    nn = NearestNeighbors(n_neighbors=11).fit(xy).kneighbors(xy, return_distance=False)[:, 1:]
    agree = (labels[nn] == labels[:, None]).mean(axis=1)
    sample = np.random.default_rng(1).choice(len(X), size=min(5000, len(X)), replace=False)
    row = {"method": method, "n": len(X), "seconds": round(seconds, 2), "purity_2d": round(float(agree.mean()), 4),
           "trustworthiness": round(float(trustworthiness(X[sample], xy[sample], n_neighbors=10)), 4)}
    if store.has_predictions:
        wrong = (store.frame["pred"].astype(str).to_numpy() != labels)
        row["purity_2d_of_errors"] = round(float(agree[wrong].mean()), 4)
    print(json.dumps(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", nargs="?")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"cpu: {cpu_name()} ({os.cpu_count()} cores); load average {os.getloadavg()[0]:.1f}; store {args.store}")
    rows = []
    for run in range(args.repeats):
        for method in METHODS:
            done = subprocess.run([sys.executable, __file__, "--child", method, args.store], stdout=subprocess.PIPE,
                                  text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  run {run}: {json.dumps(rows[-1])}", flush=True)
    print(f"\n{'method':<9} {'median s':>8} {'2-D purity':>10} {'trust':>6} {'purity of errors':>16}")
    summary = []
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        out = {"method": method, "n": mine[0]["n"], "runs": len(mine),
               "median_seconds": float(np.median([r["seconds"] for r in mine])),
               **{key: mine[0].get(key) for key in ("purity_2d", "trustworthiness", "purity_2d_of_errors")}}
        summary.append(out)
        print(f"{method:<9} {out['median_seconds']:>8.1f} {out['purity_2d']:>10.3f} {out['trustworthiness']:>6.3f} "
              f"{out['purity_2d_of_errors'] if out['purity_2d_of_errors'] is not None else '-':>16}")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        for row in summary:
            fh.write(json.dumps({"date": stamp, "cpu": cpu_name(), "store": args.store, **row}) + "\n")


if __name__ == "__main__":
    main()
