"""The interactive map with and without each text's [CLS]-space neighbours: file size and first frame.

    .venv/bin/python bench/neighbours.py [--sizes 10000 100000 1000000] [--repeat 3] [--k 10]

The stores of ``bench/viewer.py`` (synthetic map, the WordNet glosses of ``../shared/data`` repeated to
N, texts cut at 200 characters), each given a k-NN graph of ``--k`` neighbours per row: rows drawn at
random among the rows of the same class, similarities sorted and realistic (0.80-0.98 for the nearest,
falling by small random steps). Random row numbers are the worst case for the file size (real
neighbours are as scattered over the input order unless the input is sorted), so the sizes are upper
bounds. Exact k-NN of a million real vectors would take this machine tens of minutes; the page's
neighbours are checked against scikit-learn's in tests/analysis/test_explain.py.

For each N, three pages: without neighbours, the default (as many of the k as add at most 25 % to
the file, or 4 MB where that is more) and all k. For each: the file's size and its growth, the time
``write_map`` takes, and the time to the first drawn frame in headless Debian chromium (median of
``--repeat`` fresh pages). Goal: at 1M the default page grows by <= 25 %. Appends one JSON line per
page to ``bench/results/neighbours.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import cpu_name
from viewer import SHARED, chromium_version, launch, make_store, missing_reason, open_map

import clsmap
from clsmap.render import write_map
from clsmap.store import write_neighbours

RESULTS = Path(__file__).resolve().parent / "results" / "neighbours.jsonl"


def add_graph(store: clsmap.Store, k: int, seed: int = 0) -> None:
    """A k-NN graph of rows of the same class, with sorted similarities, saved in the store."""
    rng = np.random.default_rng(seed)
    labels = store.frame["label"].to_numpy()
    n = len(labels)
    indices = np.empty((n, k), dtype=np.int64)
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        indices[members] = members[rng.integers(0, len(members), size=(len(members), k))]
    first = rng.uniform(0.80, 0.98, size=(n, 1))
    similarity = first - np.cumsum(rng.exponential(0.006, size=(n, k)), axis=1) + 0.006
    write_neighbours(store.path, "vector", store.frame["id"].tolist(), indices, similarity.astype(np.float32),
                     metadata={"column": "vector", "k": k, "metric": "cosine", "n_rows": n, "synthetic": True})


def first_frames(path: Path, repeat: int) -> list[float]:
    with launch() as context:
        out = []
        for _ in range(repeat):
            page = open_map(context, path, timeout_ms=180_000)
            out.append(page.evaluate("() => window.clsmap.firstFrameMs") / 1000)
            page.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    reason = missing_reason()
    if reason:
        raise SystemExit(f"bench/neighbours.py needs a browser: {reason}")
    corpus = pd.read_csv(SHARED / "wordnet_supersense.csv")[["text", "label"]].dropna()
    print(f"cpu: {cpu_name()}; {chromium_version()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="clsmap-bench-neighbours-") as tmp:
        for n in args.sizes:
            store = make_store(Path(tmp) / f"store-{n}", n, corpus)
            add_graph(store, args.k)
            store = clsmap.open_store(store.path)
            base = None
            for name, option in (("without", 0), ("default", None), (f"all {args.k}", args.k)):
                started = time.perf_counter()
                path = write_map(store, Path(tmp) / f"map-{n}-{option}.html", neighbours=option)
                write_s = time.perf_counter() - started
                html = path.read_text(encoding="utf-8")
                meta = json.loads(html[html.index('id="clsmap-meta">') + 17:].split("</script>", 1)[0])
                shown = (meta.get("neighbours") or {}).get("k", 0)
                size = path.stat().st_size / 1e6
                base = size if base is None else base
                frames = first_frames(path, args.repeat)
                row = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "n": n, "page": name,
                       "neighbours_shown": shown, "file_mb": round(size, 2), "growth": round(size / base - 1, 3),
                       "write_s": round(write_s, 2), "first_frame_s": round(statistics.median(frames), 3),
                       "first_frame_runs_s": [round(v, 3) for v in frames], "cpu": cpu_name(),
                       "browser": chromium_version(), "clsmap": clsmap.__version__}
                rows.append(row)
                print(f"N={n:>9,}  {name:<8} neighbours {shown:>2}  file {size:7.2f} MB ({row['growth']:+.1%})  "
                      f"write {write_s:6.2f} s  first frame {row['first_frame_s']:6.2f} s {row['first_frame_runs_s']}",
                      flush=True)
                path.unlink()
    print()
    print(f"| N | page | neighbours | file (MB) | growth | write (s) | first frame (s, median of {args.repeat}) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']:,} | {r['page']} | {r['neighbours_shown']} | {r['file_mb']:.2f} | {r['growth']:+.1%} | "
              f"{r['write_s']:.2f} | {r['first_frame_s']:.2f} |")
    RESULTS.parent.mkdir(exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
