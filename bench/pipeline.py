"""`clsmap map` end to end, stage by stage: seconds, share of the run and peak memory of each stage.

    PYTHONPATH=src .venv/bin/python bench/pipeline.py [--glosses CSV --model DIR] [--sizes 100000 1000000]

Inputs (each run in a fresh child process, so that its peak memory is its own):

- ``--glosses CSV --model DIR``: a real corpus through every stage, extraction included (e.g. the
  24,656 WordNet glosses of the demo's six supersenses with the demo's fine-tuned MiniLM:
  ``/work/data13/six.csv`` and ``demo_out/model``);
- ``--sizes``: synthetic stores (384-d, 40 classes, 10 % of the predictions wrong) for the stages
  after extraction; each store is written beforehand by another child process and not counted.

Stages, in the order ``clsmap map`` runs them: extract, project (the default reducer), analyze
(with its own steps: neighbours, silhouette, probe, map neighbours, trustworthiness, regions,
label flags), plot, map (the interactive HTML), report. For each: seconds, share of the run, and the
peak resident memory of the process while it ran (sampled every 20 ms from /proc/self/status).
Appends one JSON line per input to ``bench/results/pipeline.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from _machine import cpu_name

RESULTS = Path(__file__).resolve().parent / "results" / "pipeline.jsonl"


class PeakRSS:
    """The largest resident set size seen since the last :meth:`reset` (a sampling thread)."""

    def __init__(self, every: float = 0.02) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def now() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self.now())

    def reset(self) -> None:
        self.peak = self.now()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def synthetic(folder: Path, n: int, dim: int = 384, classes: int = 40, seed: int = 0) -> None:
    """A store of ``n`` rows: Gaussian class clusters that overlap, 10 % of predictions wrong."""
    from clsmap.store import synthetic_store

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, classes, n)
    centres = rng.normal(size=(classes, dim)).astype(np.float32) * 0.35
    X = centres[codes]
    X += rng.normal(size=(n, dim)).astype(np.float32) * 0.25
    names = np.array([f"class {c:02d}" for c in range(classes)])
    labels = names[codes]
    wrong = rng.random(n) < 0.10
    preds = labels.copy()
    preds[wrong] = names[(codes[wrong] + rng.integers(1, classes, int(wrong.sum()))) % classes]
    words = np.array("the a of and to in is was for on with as by at from stone water plant body food".split())
    texts = [" ".join(words[rng.integers(0, len(words), 12)]) for _ in range(n)]
    synthetic_store(folder, np.zeros((n, 2), dtype=np.float32), texts, labels=list(labels), preds=list(preds),
                    classes=list(names), vectors=X)


def child(kind: str, source: str, model: str | None, out: str) -> None:
    import clsmap

    rss = PeakRSS()
    stages: dict[str, dict[str, float]] = {}
    store: object = None

    def stage(name: str, fn) -> object:
        rss.reset()
        started = time.perf_counter()
        result = fn()
        stages[name] = {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mb": round(rss.peak / 2**20)}
        print(f"  {name:<8} {stages[name]['seconds']:>8.1f} s  peak {stages[name]['peak_rss_mb']:>6,} MB", flush=True,
              file=sys.stderr)
        return result

    if kind == "real":
        store = stage("extract", lambda: clsmap.extract(model, source, out, progress=False))
    else:
        store = clsmap.open_store(source)
    stage("project", lambda: clsmap.project(store))
    analysis = stage("analyze", lambda: clsmap.analyze(store))
    stage("plot", lambda: clsmap.plot(store))
    stage("map", lambda: clsmap.write_map(store))
    stage("report", lambda: clsmap.report(store, analysis=analysis))
    rss.stop()
    knn = {key: analysis.summary.get(key) for key in ("knn_backend", "knn_recall", "knn_recall_sample")}
    print(json.dumps({"n": len(store), "stages": stages, "analysis_steps": analysis.summary.get("step_seconds"),
                      "knn": knn, "peak_rss_mb": max(s["peak_rss_mb"] for s in stages.values())}))


def run(kind: str, source: str, model: str | None, out: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, source, model or "-", str(out)],
                          stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{kind} {source}: the child process failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(name: str, row: dict) -> None:
    total = sum(s["seconds"] for s in row["stages"].values())
    print(f"\n== {name}: {row['n']:,} rows, {total:.1f} s, peak RSS {row['peak_rss_mb']:,} MB")
    print(f"{'stage':<10} {'seconds':>8} {'share':>6} {'peak RSS':>9}")
    for stage, s in row["stages"].items():
        print(f"{stage:<10} {s['seconds']:>8.1f} {s['seconds'] / total:>6.1%} {s['peak_rss_mb']:>6,} MB")
    steps = row.get("analysis_steps") or {}
    if steps:
        print("analyze:   " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    knn = row.get("knn") or {}
    if knn.get("knn_backend"):
        sample = f" on {knn['knn_recall_sample']:,} rows" if knn.get("knn_recall_sample") else ""
        print(f"k-NN graph: {knn['knn_backend']}, recall@10 {knn['knn_recall']:.3f}{sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glosses", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, source, model, out = args.child
        child(kind, source, None if model == "-" else model, out)
        return
    print(f"cpu: {cpu_name()} ({os.cpu_count()} cores); load average {os.getloadavg()[0]:.1f}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.glosses is not None and args.model is not None:
            row = run("real", str(args.glosses), str(args.model), Path(tmp) / "glosses")
            show(f"{args.glosses.name} with {args.model}", row)
            rows.append({"input": str(args.glosses), **row})
        for n in args.sizes:
            folder = Path(tmp) / f"synthetic_{n}"
            subprocess.run([sys.executable, "-c", f"import sys; sys.path[:0] = {sys.path[:1]!r}; "
                            f"from pipeline import synthetic; synthetic({str(folder)!r}, {n})"], check=True)
            row = run("synthetic", str(folder), None, folder)
            show(f"synthetic {n:,} x 384, 40 classes", row)
            rows.append({"input": f"synthetic {n}", **row})
    stamp = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpu": cpu_name(),
             "load_average": round(os.getloadavg()[0], 1)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({**stamp, **row}) + "\n")


if __name__ == "__main__":
    main()
