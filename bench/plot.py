"""The static figure (`clsmap plot`) at 600, 25k and 1M points: seconds and file sizes.

    .venv/bin/python bench/plot.py [--sizes 600 25000 1000000] [--keep DIR]

Synthetic maps (:func:`clsmap.store.synthetic_store`): 12 Gaussian clusters, one per class, and a
prediction that is the nearest cluster centre after noise, so that about 15 % of the rows are
misclassified and the errors gather where classes meet, as on a real map. For each N, ``clsmap
plot STORE -o OUT`` runs in a fresh process (imports included; the store is written before and
not counted) and writes the three panels as PNG and SVG; the PDF is then written in-process from
the same figure. Printed: seconds, the size of each file, and whether the SVG keeps its text as
text. Goal: 1M points in <= 20 s, each file < 10 MB. ``--keep DIR`` keeps the figures to look at.
Appends one JSON line per N to ``bench/results/plot.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _machine import cpu_name

import numpy as np

from clsmap.render import map_figure
from clsmap.store import synthetic_store

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "plot.jsonl"
CLASSES = [f"class {k:02d}" for k in range(12)]


def make_store(folder: Path, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    k = len(CLASSES)
    angles = np.arange(k) * 2 * np.pi / k
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 8 + rng.normal(scale=1.5, size=(k, 2))
    codes = rng.integers(0, k, n)
    xy = centres[codes] + rng.normal(scale=1.4, size=(n, 2))
    noisy = ((xy[:, None, :] - centres[None]) ** 2).sum(axis=2) + rng.normal(scale=4.0, size=(n, k))
    pred = noisy.argmin(axis=1)
    names = np.array(CLASSES, dtype=object)
    return synthetic_store(folder, xy.astype(np.float32), [f"text {i}" for i in range(n)], labels=names[codes],
                           preds=names[pred], confidence=rng.uniform(0.3, 1.0, n), classes=CLASSES,
                           model="synthetic (bench)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[600, 25_000, 1_000_000])
    parser.add_argument("--keep", type=Path, default=None, help="copy the figures here")
    args = parser.parse_args()
    print(f"cpu: {cpu_name()}")
    print(f"{'N':>9}  {'errors':>7}  {'plot (s)':>8}  {'PNG (MB)':>8}  {'SVG (MB)':>8}  {'PDF (MB)':>8}  "
          f"{'PDF (s)':>7}  SVG text")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = make_store(Path(tmp) / "store", n)
            out = Path(tmp) / "fig"
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "clsmap.cli", "plot", str(store.path), "-o", str(out)], check=True)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            map_figure(store).savefig(out.with_suffix(".pdf"), format="pdf", dpi=150)
            pdf_seconds = time.perf_counter() - started
            sizes = {fmt: out.with_suffix("." + fmt).stat().st_size / 1e6 for fmt in ("png", "svg", "pdf")}
            svg = out.with_suffix(".svg").read_text(encoding="utf-8")
            text_kept = "<text" in svg and "true label" in svg
            errors = float((store.frame["correct"] == False).mean())  # noqa: E712
            print(f"{n:>9,}  {errors:>7.1%}  {seconds:>8.1f}  {sizes['png']:>8.2f}  {sizes['svg']:>8.2f}  "
                  f"{sizes['pdf']:>8.2f}  {pdf_seconds:>7.1f}  {'yes' if text_kept else 'NO'}", flush=True)
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                for fmt in ("png", "svg", "pdf"):
                    shutil.copy(out.with_suffix("." + fmt), args.keep / f"plot_{n}.{fmt}")
            record = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpu": cpu_name(), "n": n,
                      "error_rate": round(errors, 4), "plot_seconds": round(seconds, 2),
                      "pdf_seconds": round(pdf_seconds, 2), "mb": {k: round(v, 3) for k, v in sizes.items()},
                      "svg_text_as_text": text_kept}
            RESULTS.parent.mkdir(exist_ok=True)
            with RESULTS.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
