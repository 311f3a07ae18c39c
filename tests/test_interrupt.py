"""Real interruptions: SIGKILL and Ctrl-C (SIGINT) in the middle of an extraction, then a re-run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import clsmap
from clsmap.store import VECTORS

ROWS = 2600  # parts of 256 rows (forced below): 11 parts


def start_cli(model, data, out) -> subprocess.Popen:
    code = (
        "import sys, clsmap.store.schema as s; s.PART_BYTES = 1; from clsmap.cli import main; "
        f"sys.exit(main(['-q', 'extract', {str(model)!r}, {str(data)!r}, '-o', {str(out)!r}, "
        "'--dtype', 'float32', '--batch-tokens', '256']))"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_parts(out, count: int, proc: subprocess.Popen, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = len(list((out / VECTORS).glob("part-*.parquet"))) if (out / VECTORS).exists() else 0
        if done >= count:
            return done
        if proc.poll() is not None:
            pytest.fail(f"extraction ended before it could be interrupted: {proc.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("no parts written in time")


@pytest.fixture
def reference(tmp_path, tiny_bert, labeled_csv):
    data = labeled_csv(ROWS, max_words=40)
    store = clsmap.extract(tiny_bert, data, tmp_path / "reference", dtype="float32", progress=False)
    return data, store


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_extraction_resumes_to_the_same_store(tmp_path, tiny_bert, reference, sig):
    data, expected = reference
    out = tmp_path / "interrupted"
    proc = start_cli(tiny_bert, data, out)
    wait_for_parts(out, 2, proc)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        lines = proc.stderr.read().strip().splitlines()
        assert lines and "interrupted" in lines[-1] and "resumes" in lines[-1]
        assert not any("Traceback" in line for line in lines)
    else:
        assert proc.returncode == -signal.SIGKILL
    with pytest.raises(clsmap.ClsmapError, match="incomplete"):
        clsmap.open_store(out)
    partial = clsmap.open_store(out, allow_partial=True)
    assert 0 < len(partial) < ROWS

    resumed = start_cli(tiny_bert, data, out)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    store = clsmap.open_store(out)
    assert list(store.frame["id"]) == list(expected.frame["id"])
    assert store.frame["id"].is_unique and len(store) == ROWS
    assert (store.frame["pred"] == expected.frame["pred"]).all()
    assert np.abs(store.vectors - expected.vectors).max() <= 1e-5
