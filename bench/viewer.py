"""The interactive map at 10k, 100k and 1M points: file size, write time, first frame, colour-mode switch.

    .venv/bin/python bench/viewer.py [--sizes 10000 100000 1000000] [--repeat 3] [--max-text-chars 200]

Synthetic 2-D coordinates (Gaussian clusters, one per class) with the real WordNet glosses of
``../shared/data/wordnet_supersense.csv`` repeated to N (their supersenses as labels, 80 %
predicted right). For each N: the HTML file's size, the time ``write_map`` takes (the store is
opened first and not counted), and the time from navigation to the first drawn frame in headless
Debian chromium (``window.clsmap.firstFrameMs``: ``performance.now()`` after the first frame with
every point drawn; median of ``--repeat`` fresh pages), and the time of a colour-mode switch on each
page (``setMode`` of each other mode in turn, then back to the first, until its promise resolves: after
the frame in the new colours is drawn; median of all switches; its phases: mode's colours computed
(spec), colour indices handed to the scatterplot (colours), frame drawn (drawn), legend (legend)).
Goals: 1M points open in <= 3 s, a colour switch at 1M <= 0.5 s, file <= 60 MB.
The phases of the median run (page parsed, base64 decoded, gunzipped, colours computed, points
handed to regl-scatterplot, frame drawn; ms since navigation) say where the time goes.
Appends one JSON line per N to ``bench/results/viewer.jsonl``.

``--before-bundle FILE`` (a viewer.js of another commit, e.g. ``git show REV:src/clsmap/render/assets/viewer.js``)
writes each map a second time with that viewer and opens the two in turn, page after page, so that
before and after are measured in the same run under the same load (one line each, ``variant``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _machine import cpu_name

import numpy as np
import pandas as pd

import clsmap
from clsmap.store import synthetic_store
from clsmap.render import write_map

ROOT = Path(__file__).resolve().parent
SHARED = ROOT.parents[1] / "shared" / "data"
RESULTS = ROOT / "results" / "viewer.jsonl"
sys.path.insert(0, str(ROOT.parent / "tests"))

from support.viewer_browser import launch, missing_reason, open_map  # noqa: E402

# each other colour mode in turn, then back to the first: seconds from setMode to the next frame drawn
SWITCH_JS = """async () => {
    const api = window.clsmap;
    const modes = api.modes();
    const order = modes.slice(1).concat(modes.slice(0, 1));
    const out = [];
    for (const mode of order) {
        const t0 = performance.now();
        await api.setMode(mode);  // resolved once the frame in the new colours is drawn
        out.push([(performance.now() - t0) / 1000, { ...(api.switchTimings || {}) }]);
    }
    return out;
}"""


def _with_bundle(bundle: Path, store: clsmap.Store, out: Path, max_text_chars: int) -> Path:
    """The map of ``store`` written with the viewer ``bundle`` instead of the current one."""
    import clsmap.render.map as map_module

    script = bundle.read_text(encoding="utf-8")
    current = map_module.asset
    map_module.asset = lambda name: script if name == "viewer.js" else current(name)
    try:
        return write_map(store, out, max_text_chars=max_text_chars)
    finally:
        map_module.asset = current


def chromium_version() -> str:
    import subprocess

    done = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def make_store(folder: Path, n: int, corpus: pd.DataFrame, seed: int = 0) -> clsmap.Store:
    rng = np.random.default_rng(seed)
    take = np.arange(n) % len(corpus)
    texts = corpus["text"].to_numpy()[take]
    classes = sorted(corpus["label"].unique())
    codes = pd.Categorical(corpus["label"], categories=classes).codes[take]
    centres = rng.normal(scale=6.0, size=(len(classes), 2))
    xy = (centres[codes] + rng.normal(size=(n, 2))).astype(np.float32)
    wrong = rng.random(n) < 0.2
    pred = np.where(wrong, rng.integers(0, len(classes), n), codes)
    conf = np.where(pred == codes, rng.uniform(0.5, 1, n), rng.uniform(0.2, 0.7, n)).astype(np.float32)
    names = np.array(classes, dtype=object)
    return synthetic_store(folder, xy, texts, labels=names[codes], preds=names[pred], confidence=conf,
                           ids=[f"wn-{i}" for i in range(n)], classes=classes, model="synthetic (bench)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-text-chars", type=int, default=200)
    parser.add_argument("--before-bundle", type=Path, default=None,
                        help="also measure the maps written with this viewer.js, in turn with the current one")
    args = parser.parse_args()
    reason = missing_reason()
    if reason:
        raise SystemExit(f"bench/viewer.py needs a browser: {reason}")
    corpus = pd.read_csv(SHARED / "wordnet_supersense.csv")[["text", "label"]].dropna()
    print(f"cpu: {cpu_name()}; {chromium_version()}; corpus: {len(corpus):,} WordNet glosses, "
          f"mean {corpus['text'].str.len().mean():.0f} chars")
    rows = []
    with tempfile.TemporaryDirectory(prefix="clsmap-bench-viewer-") as tmp:
        for n in args.sizes:
            store = make_store(Path(tmp) / f"store-{n}", n, corpus)
            store = clsmap.open_store(store.path)
            started = time.perf_counter()
            path = write_map(store, Path(tmp) / f"map-{n}.html", max_text_chars=args.max_text_chars)
            write_s = time.perf_counter() - started
            paths = {"after" if args.before_bundle else "current": path}
            if args.before_bundle:
                paths = {"before": _with_bundle(args.before_bundle, store, Path(tmp) / f"map-{n}-before.html",
                                                args.max_text_chars), **paths}
            runs = {variant: ([], [], []) for variant in paths}  # first frames, phases, switches
            with launch() as context:
                for _ in range(args.repeat):
                    for variant, file in paths.items():
                        first_frames, phases, switches = runs[variant]
                        page = open_map(context, file, timeout_ms=120_000)
                        first_frames.append(page.evaluate("() => window.clsmap.firstFrameMs") / 1000)
                        phases.append(page.evaluate("() => window.clsmap.timings"))
                        switches.extend(page.evaluate(SWITCH_JS))  # [seconds, phases]
                        page.close()
            for variant, (first_frames, phases, switches) in runs.items():
                size_mb = paths[variant].stat().st_size / 1e6
                # where the time goes (ms since navigation, the run with the median first frame)
                order = sorted(range(len(first_frames)), key=first_frames.__getitem__)
                phase = phases[order[len(first_frames) // 2]]
                switch_phase = sorted(switches, key=lambda s: s[0])[len(switches) // 2][1]
                switch_s = [s[0] for s in switches]
                row = {
                    "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "variant": variant,
                    "n": n, "max_text_chars": args.max_text_chars, "file_mb": round(size_mb, 2),
                    "write_s": round(write_s, 3), "first_frame_s": round(statistics.median(first_frames), 3),
                    "first_frame_runs_s": [round(v, 3) for v in first_frames], "phases_ms": phase,
                    "colour_switch_s": round(statistics.median(switch_s), 3),
                    "colour_switch_runs_s": [round(v, 3) for v in switch_s], "colour_switch_phases_ms": switch_phase,
                    "load_avg": round(os.getloadavg()[0], 2),
                    "cpu": cpu_name(), "browser": chromium_version(), "clsmap": clsmap.__version__,
                }
                rows.append(row)
                print(f"N={n:>9,} {variant:>7}  file {size_mb:7.1f} MB  write {write_s:6.2f} s  "
                      f"first frame {row['first_frame_s']:6.2f} s  (runs {row['first_frame_runs_s']})  "
                      f"colour switch {row['colour_switch_s']:5.2f} s (runs {row['colour_switch_runs_s']})\n"
                      f"    phases (ms since navigation): {phase}\n"
                      f"    colour switch phases (ms since setMode, the median switch): {switch_phase}", flush=True)
    print()
    print(f"| N | viewer | file (MB) | write (s) | first frame, median of {args.repeat} (s) "
          "| colour switch, median (s) |")
    print("|---:|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['n']:,} | {row['variant']} | {row['file_mb']:.1f} | {row['write_s']:.2f} "
              f"| {row['first_frame_s']:.2f} | {row['colour_switch_s']:.2f} |")
    RESULTS.parent.mkdir(exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
