"""SIGKILL at random moments of extraction and projection: every re-run resumes, and the final store
equals an uninterrupted run's. The first trial's kill is at a gate (once a chosen part is on disk), so
at least one kill lands mid-run whatever the machine's speed; the other trials kill at random moments,
which land where they land. Runs that are killed run in a subprocess; the run to the end after them
runs in this process. The default suite runs 2 trials (the gated one, then one random kill); ``-m slow``
runs 20 (the gated one, then 19 of one to three random kills)."""

from __future__ import annotations

import random
import signal
import subprocess
import textwrap
import time

import numpy as np
import pytest
from support.gates import PART_GATE, start, stderr, stop, wait_for_gate

from clsmap import ClsmapError, open_store
from clsmap.store import schema

PART_ROWS = schema.MIN_PART_ROWS  # the smallest parts (forced below): many moments to die in
PART_BYTES = 1
ROWS = 2 * PART_ROWS + 88  # 3 parts, the last one short: the gate's part is never the last
COMMANDS = textwrap.dedent("""
    def commands(model, data, out):
        from clsmap.cli import main
        code = main(["-q", "extract", model, data, "-o", out])
        if code == 0:
            code = main(["-q", "project", out, "--method", "pacmap"])
        return code
""")
DRIVER = PART_GATE + COMMANDS + textwrap.dedent(f"""
    import sys
    from clsmap.store import schema
    schema.PART_BYTES = {PART_BYTES}
    sys.exit(commands(*sys.argv[1:4]))
""")


def _run(driver, model, data, out, *, kill_after: float | None = None, gate: int | None = None) -> float:
    """One run of the driver in a subprocess, SIGKILLed after ``kill_after`` s (unless it has finished
    by then), or at its gate (once part number ``gate`` is on disk: asserted to die by the signal).
    Returns the seconds from its start to the gate (or to its end)."""
    started = time.perf_counter()
    proc = start([str(driver), str(model), str(data), str(out)], gate=gate)
    try:
        if gate is not None:
            wait_for_gate(proc)
            reached = time.perf_counter() - started
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=60) == -signal.SIGKILL
            return reached
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        else:
            assert proc.returncode == 0, stderr(proc)[-2000:]
        return time.perf_counter() - started
    finally:
        stop(proc)


def _trials(count: int, tmp_path, tiny_bert, labeled_csv, monkeypatch, *, max_kills: int = 3):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    data = labeled_csv(ROWS, seed=11, max_words=30)
    # runs to the end (the reference, and each trial's last run) are the driver's commands in this
    # process: only runs that are killed need a process of their own, and this one has paid the imports
    monkeypatch.setattr(schema, "PART_BYTES", PART_BYTES)
    namespace = {}
    exec(COMMANDS, namespace)

    def finish(out) -> None:
        assert namespace["commands"](str(tiny_bert), str(data), str(out)) == 0

    finish(tmp_path / "reference")
    reference = open_store(tmp_path / "reference")
    assert len(reference) == ROWS

    rng = random.Random(count)
    for trial in range(count):
        out = tmp_path / f"trial{trial}"
        if trial == 0:
            # a kill that surely lands mid-extraction: at the gate after a random part (not the last)
            gate = rng.randint(1, ROWS // PART_ROWS - 1)
            to_gate = _run(driver, tiny_bert, data, out, gate=gate)
            with pytest.raises(ClsmapError, match="incomplete"):
                open_store(out)
            assert len(open_store(out, allow_partial=True)) == gate * PART_ROWS
            # the random moments span a run: start-up (most of the time to the gate), extraction and
            # projection; some come after its end, and then that run finishes
            span = 2 * to_gate
        else:
            # one to ``max_kills`` kills at random moments of a run
            for _ in range(rng.randint(1, max_kills)):
                _run(driver, tiny_bert, data, out, kill_after=rng.uniform(0.3, span))
        finish(out)
        store = open_store(out)
        assert store.meta["complete"]
        assert list(store.frame["id"]) == list(reference.frame["id"])  # every row once, in input order
        assert list(store.frame["label"]) == list(reference.frame["label"])
        assert list(store.frame["pred"]) == list(reference.frame["pred"])
        np.testing.assert_allclose(store.vectors, reference.vectors, atol=1e-5, rtol=0)
        assert store.projection is not None and len(store.projection) == len(reference.frame)
        assert not list(out.rglob("*.tmp"))


def test_sigkill_then_resume_gives_the_uninterrupted_store(tmp_path, tiny_bert, labeled_csv, monkeypatch):
    _trials(2, tmp_path, tiny_bert, labeled_csv, monkeypatch, max_kills=1)


@pytest.mark.slow
def test_twenty_sigkills(tmp_path, tiny_bert, labeled_csv, monkeypatch):
    _trials(20, tmp_path, tiny_bert, labeled_csv, monkeypatch)
