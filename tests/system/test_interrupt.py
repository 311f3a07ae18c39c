"""Real interruptions: SIGKILL and Ctrl-C (SIGINT) in the middle of an extraction, then a re-run."""

from __future__ import annotations

import signal

import numpy as np
import pandas as pd
import pytest
from support.tiny_models import make_texts
from support.gates import PART_GATE, start, stderr, stop, wait_for_gate

import clsmap
from clsmap.cli import main
from clsmap.store import VECTORS, schema

ROWS = 700  # parts of 256 rows (forced below): 3 parts, the last one short
GATE = 2  # the run stops, and is signalled, once its second part is on disk


def command(model, data, out) -> list[str]:
    return ["-q", "extract", str(model), str(data), "-o", str(out), "--dtype", "float32", "--batch-tokens", "256"]


def start_cli(model, data, out, *, gate: int):
    """The command in a subprocess that stops at its gate, after part number ``gate``."""
    code = PART_GATE + (
        "import sys, clsmap.store.schema as s; s.PART_BYTES = 1; from clsmap.cli import main; "
        f"sys.exit(main({command(model, data, out)!r}))"
    )
    return start(["-c", code], gate=gate)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_bert):
    """The data and its uninterrupted store (made once for both signals)."""
    folder = tmp_path_factory.mktemp("interrupt_reference")
    data = folder / "data.csv"
    pd.DataFrame({"text": make_texts(ROWS, max_words=40), "label": ["ham", "spam"] * (ROWS // 2)}).to_csv(
        data, index=False)
    store = clsmap.extract(tiny_bert, data, folder / "store", dtype="float32", progress=False)
    return data, store


# SIGKILL at the same gate, then a resume, is also the first trial of test_kill9 (default suite)
@pytest.mark.parametrize("sig", [pytest.param(signal.SIGKILL, marks=pytest.mark.slow), signal.SIGINT])
def test_interrupted_extraction_resumes_to_the_same_store(tmp_path, tiny_bert, reference, sig, monkeypatch):
    data, expected = reference
    out = tmp_path / "interrupted"
    proc = start_cli(tiny_bert, data, out, gate=GATE)
    try:
        wait_for_gate(proc)
        proc.send_signal(sig)
        proc.wait(timeout=120)
    finally:
        stop(proc)
    if sig == signal.SIGINT:
        lines = stderr(proc).strip().splitlines()
        assert proc.returncode == 130, lines[-20:]
        assert lines and "interrupted" in lines[-1] and "resumes" in lines[-1], lines[-20:]
        assert not any("Traceback" in line for line in lines)
    else:
        assert proc.returncode == -signal.SIGKILL
    with pytest.raises(clsmap.ClsmapError, match="incomplete"):
        clsmap.open_store(out)
    partial = clsmap.open_store(out, allow_partial=True)
    assert len(partial) == GATE * 256  # the parts written before the signal, and nothing else
    kept = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / VECTORS).glob("part-*.parquet")}

    # the same command again (in this process: no signal to send, and it has paid the imports)
    monkeypatch.setattr(schema, "PART_BYTES", 1)
    assert main(command(tiny_bert, data, out)) == 0
    for path, stat in kept.items():  # the parts written before the signal were kept, not redone
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == stat
    store = clsmap.open_store(out)
    assert list(store.frame["id"]) == list(expected.frame["id"])
    assert store.frame["id"].is_unique and len(store) == ROWS
    assert (store.frame["pred"] == expected.frame["pred"]).all()
    assert np.abs(store.vectors - expected.vectors).max() <= 1e-5
