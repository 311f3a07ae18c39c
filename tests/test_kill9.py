"""SIGKILL at random moments of extraction and projection: every re-run resumes, and the final store
equals an uninterrupted run's. The first trial's first run is also killed at a gate (once a chosen
part is on disk), so at least one kill lands mid-run whatever the machine's speed; the random kills
land where they land. The default suite runs 2 trials; ``-m slow`` runs 20."""

from __future__ import annotations

import random
import signal
import subprocess
import textwrap
import time

import numpy as np
import pytest
from gates import PART_GATE, start, stderr, stop, wait_for_gate

from clsmap import ClsmapError, open_store

ROWS = 1000
PART_ROWS = 256  # forced below: 4 parts, the last one short
DRIVER = PART_GATE + textwrap.dedent("""
    import sys
    from clsmap.store import schema
    from clsmap.cli import main
    schema.PART_BYTES = 256 * 32 * 4  # parts of 256 rows with the tiny model: many moments to die in
    model, data, out = sys.argv[1:4]
    code = main(["-q", "extract", model, data, "-o", out])
    if code == 0:
        code = main(["-q", "project", out, "--method", "pacmap"])
    sys.exit(code)
""")


def _run(driver, model, data, out, *, kill_after: float | None = None, gate: int | None = None) -> str:
    """One run of the driver: to the end, SIGKILLed after ``kill_after`` s (if it has not finished by
    then), or SIGKILLed at its gate (once part number ``gate`` is on disk)."""
    proc = start([str(driver), str(model), str(data), str(out)], gate=gate)
    try:
        if gate is not None:
            wait_for_gate(proc)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=60) == -signal.SIGKILL
            return "killed"
        if kill_after is not None:
            try:
                proc.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=60)
                return "killed"
        proc.wait(timeout=600)
        assert proc.returncode == 0, stderr(proc)[-2000:]
        return "finished"
    finally:
        stop(proc)


def _trials(count: int, tmp_path, tiny_bert, labeled_csv, *, max_kills: int = 3):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    data = labeled_csv(ROWS, seed=11, max_words=30)
    started = time.perf_counter()
    _run(driver, tiny_bert, data, tmp_path / "reference")
    full = time.perf_counter() - started
    reference = open_store(tmp_path / "reference")
    assert len(reference) == ROWS

    rng = random.Random(count)
    for trial in range(count):
        out = tmp_path / f"trial{trial}"
        if trial == 0:
            # a kill that surely lands mid-extraction: at the gate after a random part (not the last)
            gate = rng.randint(1, ROWS // PART_ROWS - 1)
            assert _run(driver, tiny_bert, data, out, gate=gate) == "killed"
            with pytest.raises(ClsmapError, match="incomplete"):
                open_store(out)
            assert len(open_store(out, allow_partial=True)) == gate * PART_ROWS
        # one to ``max_kills`` kills at random moments of the run (some may come after its end), then a
        # run to the end
        for _ in range(rng.randint(1, max_kills)):
            _run(driver, tiny_bert, data, out, kill_after=rng.uniform(0.3, full))
        _run(driver, tiny_bert, data, out)
        store = open_store(out)
        assert store.meta["complete"]
        assert list(store.frame["id"]) == list(reference.frame["id"])  # every row once, in input order
        assert list(store.frame["label"]) == list(reference.frame["label"])
        assert list(store.frame["pred"]) == list(reference.frame["pred"])
        np.testing.assert_allclose(store.vectors, reference.vectors, atol=1e-5, rtol=0)
        assert store.projection is not None and len(store.projection) == len(reference.frame)
        assert not list(out.rglob("*.tmp"))


def test_sigkill_then_resume_gives_the_uninterrupted_store(tmp_path, tiny_bert, labeled_csv):
    _trials(2, tmp_path, tiny_bert, labeled_csv, max_kills=1)


@pytest.mark.slow
def test_twenty_sigkills(tmp_path, tiny_bert, labeled_csv):
    _trials(20, tmp_path, tiny_bert, labeled_csv)
