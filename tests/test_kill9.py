"""SIGKILL at random moments of extraction and projection: every re-run resumes, and the final store
equals an uninterrupted run's. The first trial's kill is at a gate (once a chosen part is on disk), so
at least one kill lands mid-run whatever the machine's speed; the other trials kill at random moments,
which land where they land. The default suite runs 2 trials (the gated one, then one random kill);
``-m slow`` runs 20 (the gated one, then 19 of one to three random kills)."""

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
from clsmap.store import schema

ROWS = 1000
PART_ROWS = 256  # forced below: 4 parts, the last one short
PART_BYTES = PART_ROWS * 32 * 4  # parts of 256 rows with the tiny model: many moments to die in
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


def _trials(count: int, tmp_path, tiny_bert, labeled_csv, monkeypatch, *, max_kills: int = 3):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    data = labeled_csv(ROWS, seed=11, max_words=30)
    # the reference: the driver's commands in this process (it has paid the imports a subprocess pays)
    monkeypatch.setattr(schema, "PART_BYTES", PART_BYTES)
    namespace = {}
    exec(COMMANDS, namespace)
    assert namespace["commands"](str(tiny_bert), str(data), str(tmp_path / "reference")) == 0
    reference = open_store(tmp_path / "reference")
    assert len(reference) == ROWS
    full = None  # how long a run takes: timed on the first run to the end

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
        else:
            # one to ``max_kills`` kills at random moments of the run (some may come after its end)
            for _ in range(rng.randint(1, max_kills)):
                _run(driver, tiny_bert, data, out, kill_after=rng.uniform(0.3, full))
        # then a run to the end
        started = time.perf_counter()
        _run(driver, tiny_bert, data, out)
        full = full or time.perf_counter() - started  # the first trial's last run, a resume: about the whole
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
