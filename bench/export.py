"""`clsmap export` at 100k and 1M rows: seconds, peak RSS and file sizes per target.

    .venv/bin/python bench/export.py [--sizes 100000 1000000] [--dim 384] [--targets parquet atlas projector]
                                     [--projector-max 100000]

Synthetic stores (:func:`clsmap.store.synthetic_store`, 12 classes, texts of ~60 characters, random
float32 vectors of ``--dim``), written before and not counted. Each export runs as ``clsmap export``
in a fresh process; its peak RSS is the child's own high-water mark (``VmHWM``; its ``ru_maxrss`` would
include the parent's RSS at the fork, which Linux keeps across exec). The export streams one store part
(8,192 rows) at a time into row groups of at most 65,536 rows or 64 MB, so its memory should not grow
with N: the goal is a peak RSS at 1M within 1.5x of that at 100k. The Projector's text files are
big (about 11 bytes a float), so ``projector`` runs only up to ``--projector-max`` rows.
Appends one JSON line per N and target to ``bench/results/export.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _machine import cpu_name

import numpy as np

from clsmap.store import synthetic_store

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "export.jsonl"
CLASSES = [f"class {k:02d}" for k in range(12)]


def make_store(folder: Path, n: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, len(CLASSES), n)
    pred = np.where(rng.random(n) < 0.85, codes, rng.integers(0, len(CLASSES), n))
    names = np.array(CLASSES, dtype=object)
    texts = [f"text {i}: a short gloss of some thing in class {codes[i]}, 한국어 and tab\there" for i in range(n)]
    return synthetic_store(folder, rng.normal(size=(n, 2)).astype(np.float32), texts, labels=names[codes],
                           preds=names[pred], confidence=rng.uniform(0.3, 1.0, n), classes=CLASSES,
                           vectors=rng.normal(size=(n, dim)).astype(np.float32), model="synthetic (bench)",
                           part_rows=8192)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size


def run_export(store: Path, target: str, out: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of `clsmap export` in a fresh process."""
    # VmHWM, the high-water mark of this process's own memory: ru_maxrss would also count the parent's
    # RSS at the fork (Linux keeps it across exec), and the parent holds the store it just wrote
    code = ("import sys; from clsmap.cli import main; rc = main(['-q', 'export', *sys.argv[1:]]); "
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'))); sys.exit(rc)")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(store), "--to", target, "-o", str(out)], check=True,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    return seconds, int(done.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--targets", nargs="+", default=["parquet", "atlas", "projector"])
    parser.add_argument("--projector-max", type=int, default=100_000)
    args = parser.parse_args()
    print(f"cpu: {cpu_name()}; vectors {args.dim}-d float32")
    print(f"{'N':>9}  {'target':>9}  {'seconds':>7}  {'rows/s':>9}  {'peak RSS (MB)':>13}  {'size (MB)':>9}  "
          f"{'store (MB)':>10}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = make_store(Path(tmp) / "store", n, args.dim)
            store_mb = sum(p.stat().st_size for p in store.path.rglob("*") if p.is_file()) / 1e6
            for target in args.targets:
                if target == "projector" and n > args.projector_max:
                    continue
                out = Path(tmp) / ("projector" if target == "projector" else f"{target}.parquet")
                seconds, rss = run_export(store.path, target, out)
                size = _size(out) / 1e6
                print(f"{n:>9,}  {target:>9}  {seconds:>7.1f}  {n / seconds:>9,.0f}  {rss:>13,.0f}  {size:>9,.1f}  "
                      f"{store_mb:>10,.1f}", flush=True)
                record = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpu": cpu_name(),
                          "n": n, "dim": args.dim, "target": target, "seconds": round(seconds, 2),
                          "peak_rss_mb": round(rss), "size_mb": round(size, 1), "store_mb": round(store_mb, 1)}
                RESULTS.parent.mkdir(parents=True, exist_ok=True)
                with RESULTS.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record) + "\n")
                if out.is_dir():
                    for p in out.iterdir():
                        p.unlink()
                else:
                    out.unlink()


if __name__ == "__main__":
    main()
