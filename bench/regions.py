"""Confusion regions: what they claim and what they cost, on real and planted maps.

    .venv/bin/python bench/regions.py [--demo DEMO_OUT/after] [--six STORE] [--old-src SRC]
                                      [--seeds 5] [--big 1000000]

Inputs (each skipped when missing):

- ``--demo``: the demo's held-out store after fine-tuning (600 points; ``clsmap demo -o demo_out``
  writes it to ``demo_out/after``);
- ``--six``: a store of the 24,656 WordNet glosses of the demo's six supersenses, extracted with the
  demo's model and mapped (``clsmap map demo_out/model six.csv -o six``);
- a synthetic map of 25,000 points in six clusters with uniform errors (8 %) and four planted discs
  (3 % of the points each, 50 % wrong), ``--seeds`` seeds: recall of the planted discs (a disc is
  found when at least half of its points lie in regions; goal >= 0.9) and false regions (regions
  with less than half of their points in a disc; goal <= 1 per map); the same at 600 points, with
  discs of 3 % (18 points, 9 of them wrong) and of 6 % of the points;
- the same synthetic map at ``--big`` points (default 1M): seconds and peak RSS;
- stability (on the glosses and the planted 25k map): regions found on a 10 % sample against
  those on all rows, Jaccard of their member rows (goal >= 0.5).

For each input: every region (id, points, share of points, error rate, enrichment = rate / overall,
p-value, true -> predicted), the share of errors the regions hold, the share of points and of the
map's area, seconds. With ``--old-src`` (a checkout's ``src`` with the previous method, e.g.
/tmp/old/src), the previous method's numbers on the same input, run in a subprocess. Results are
appended to ``bench/results/regions.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from _machine import cpu_name
from _planted import planted
from clsmap import open_store
from clsmap.analysis import confusion_regions, region_membership
from clsmap.analysis.regions import region_coverage

RESULTS = Path(__file__).resolve().parent / "results" / "regions.jsonl"

_OLD = """
import json, sys
import numpy as np
from clsmap.analysis import confusion_regions, region_coverage
data = np.load(sys.argv[1])
xy, labels, preds = data["xy"], data["labels"], data["preds"]
regions = confusion_regions(xy, labels, preds=preds)
cov = region_coverage(xy, preds != labels, regions)
overall = float((preds != labels).mean())
print(json.dumps({"n_regions": len(regions), "share_errors": cov["share_errors"], "share_points": cov["share_points"],
                  "share_area": cov["share_area"], "max_share_points": float((regions["n"] / len(xy)).max())
                  if len(regions) else 0.0, "min_enrichment": float((regions["error_rate"] / overall).min())
                  if len(regions) else None}))
"""


def from_store(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    store = open_store(path)
    xy = store.projection_of(store.default_vector)[["x", "y"]].to_numpy(dtype=np.float64)
    return xy, store.frame["label"].astype(str).to_numpy(), store.frame["pred"].astype(str).to_numpy()


def measure(name: str, xy: np.ndarray, labels: np.ndarray, preds: np.ndarray, old_src: str | None) -> dict:
    wrong = preds != labels
    started = time.perf_counter()
    regions = confusion_regions(xy, labels, preds=preds)
    seconds = time.perf_counter() - started
    cov = asdict(region_coverage(xy, wrong, regions))
    print(f"\n== {name}: {len(xy):,} points, {wrong.mean():.1%} wrong; {len(regions)} regions in {seconds:.2f} s "
          f"({regions.cells} cells across, {regions.n_candidates} candidates tested)")
    if len(regions):
        print(f"{'id':>3} {'points':>7} {'share':>6} {'err rate':>8} {'enrich':>6} {'p':>6}  true -> predicted")
        for r in regions.frame.itertuples():
            print(f"{r.region_id:>3} {r.n:>7,} {r.share_points:>6.1%} {r.error_rate:>8.1%} {r.enrichment:>5.1f}x "
                  f"{r.p_value:>6.3f}  {r.true_label} -> {r.pred_label}")
    print(f"{cov['note']}; share of errors held {cov['share_errors']:.1%}, of points {cov['share_points']:.1%}, "
          f"of the map's area {cov['share_area']:.1%}")
    row = {"input": name, "n": len(xy), "overall_rate": float(wrong.mean()), "seconds": round(seconds, 2),
           "n_regions": len(regions), "share_errors": cov["share_errors"], "share_points": cov["share_points"],
           "share_area": cov["share_area"],
           "regions": [{"id": int(r.region_id), "n": int(r.n), "share_points": round(r.share_points, 4),
                        "error_rate": round(r.error_rate, 4), "enrichment": round(r.enrichment, 2),
                        "p_value": r.p_value, "pair": f"{r.true_label} -> {r.pred_label}"}
                       for r in regions.frame.itertuples()]}
    if old_src:
        row["old"] = old_method(old_src, xy, labels, preds)
        old = row["old"]
        print(f"previous method: {old['n_regions']} regions holding {old['share_errors']:.1%} of the errors and "
              f"{old['share_points']:.1%} of the points, {old['share_area']:.1%} of the area; largest region "
              f"{old['max_share_points']:.1%} of the points, weakest at {old['min_enrichment'] or 0:.2f}x the "
              f"overall rate ({old['seconds']:.1f} s)")
    return row


def old_method(src: str, xy: np.ndarray, labels: np.ndarray, preds: np.ndarray) -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.npz"
        np.savez(path, xy=xy, labels=np.asarray(labels, dtype=str), preds=np.asarray(preds, dtype=str))
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _OLD, str(path)], env={**os.environ, "PYTHONPATH": src},
                             capture_output=True, text=True, check=False)
        if out.returncode:
            raise RuntimeError(f"the previous method failed:\n{out.stderr[-2000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def planted_recall(n: int, seeds: int, share: float = 0.03) -> dict:
    recalls, false_regions, seconds = [], [], []
    for seed in range(seeds):
        xy, labels, preds, discs = planted(n, seed, share=share)
        started = time.perf_counter()
        regions = confusion_regions(xy, labels, preds=preds)
        seconds.append(time.perf_counter() - started)
        member = region_membership(xy, regions)
        in_disc = np.any(discs, axis=0)
        recalls.append(np.mean([(member[d] > 0).mean() >= 0.5 for d in discs]))
        false_regions.append(sum(in_disc[member == i].mean() < 0.5 for i in regions.frame["region_id"]))
    print(f"\n== planted discs of {share:.0%} of the points ({round(share * n):,}), {n:,} points, {seeds} seeds: "
          f"recall {np.mean(recalls):.2f} (min {min(recalls):.2f}; goal >= 0.9), false regions per map "
          f"{np.mean(false_regions):.1f} (max {max(false_regions)}; goal <= 1), {np.median(seconds):.2f} s per map")
    return {"input": f"planted recall {n}", "n": n, "seeds": seeds, "disc_share": share,
            "recall_mean": float(np.mean(recalls)), "recall_min": float(min(recalls)),
            "false_regions_mean": float(np.mean(false_regions)), "false_regions_max": int(max(false_regions)),
            "seconds_median": round(float(np.median(seconds)), 2)}


def stability(name: str, xy: np.ndarray, labels: np.ndarray, preds: np.ndarray, seeds: int = 3) -> dict:
    """Regions found on a random 10 % of the rows against those found on all rows: each sample
    region is matched to the full-data region that holds most of its rows, and the two compared
    by their member rows among *all* rows (the sample region's outline applied to every row).
    Goal: Jaccard >= 0.5 for every matched pair."""
    full = confusion_regions(xy, labels, preds=preds)
    member_full = region_membership(xy, full)
    jaccards, unmatched, counts = [], 0, []
    for seed in range(seeds):
        rows = np.random.default_rng(seed).choice(len(xy), size=len(xy) // 10, replace=False)
        small = confusion_regions(xy[rows], labels[rows], preds=preds[rows])
        counts.append(len(small))
        member_small = region_membership(xy, small)
        for region_id in small.frame["region_id"]:
            inside = member_small == region_id
            overlap = np.bincount(member_full[inside], minlength=len(full) + 1)[1:]
            if not overlap.any():
                unmatched += 1
                jaccards.append(0.0)
                continue
            best = member_full == overlap.argmax() + 1
            jaccards.append(float((inside & best).sum() / (inside | best).sum()))
    print(f"\n== stability, {name}: {len(full)} regions on all {len(xy):,} rows; on 10 % samples ({seeds} seeds) "
          f"{counts} regions, Jaccard with the matched full region min {min(jaccards, default=float('nan')):.2f}, "
          f"median {np.median(jaccards) if jaccards else float('nan'):.2f} ({unmatched} unmatched; goal >= 0.5)")
    return {"input": f"stability {name}", "n": len(xy), "seeds": seeds, "full_regions": len(full),
            "sample_regions": counts, "jaccard_min": min(jaccards, default=None),
            "jaccard_median": float(np.median(jaccards)) if jaccards else None, "unmatched": unmatched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path("demo_out/after"))
    parser.add_argument("--six", type=Path, default=None)
    parser.add_argument("--old-src", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"cpu: {cpu_name()} ({os.cpu_count()} cores); load average {os.getloadavg()[0]:.1f}")
    rows = []
    for name, path in (("demo after fine-tuning", args.demo), ("six supersenses", args.six)):
        if path is not None and path.exists():
            data = from_store(path)
            rows.append(measure(name, *data, args.old_src))
            if len(data[0]) >= 10_000:  # a 10 % sample of the demo's 600 rows is 60 points: nothing to find
                rows.append(stability(name, *data))
        else:
            print(f"\n== {name}: skipped ({path} not found)")
    xy, labels, preds, _ = planted(25_000, 0)
    rows.append(measure("planted discs 25k (seed 0)", xy, labels, preds, args.old_src))
    rows.append(stability("planted discs 25k (seed 0)", xy, labels, preds))
    rows.append(planted_recall(25_000, args.seeds))
    rows.append(planted_recall(600, args.seeds))
    rows.append(planted_recall(600, args.seeds, share=0.06))
    if args.big:
        xy, labels, preds, _ = planted(args.big, 0)
        row = measure(f"planted discs {args.big:,}", xy, labels, preds, None)
        row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(f"peak RSS of this process {row['peak_rss_mb']:,} MB")
        rows.append(row)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    stamp = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpu": cpu_name(),
             "load_average": round(os.getloadavg()[0], 1)}
    with RESULTS.open("a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({**stamp, **row}) + "\n")


if __name__ == "__main__":
    main()
