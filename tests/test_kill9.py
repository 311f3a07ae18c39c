"""SIGKILL at random moments of extraction and projection: every re-run resumes, and the final store
equals an uninterrupted run's. The default suite kills 3 times; ``-m slow`` kills 20 times."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from clsmap import open_store

DRIVER = textwrap.dedent("""
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


def _run(driver, model, data, out, *, kill_after: float | None = None) -> str:
    proc = subprocess.Popen([sys.executable, str(driver), str(model), str(data), str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return "killed"
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    return "finished"


def _trials(count: int, tmp_path, tiny_bert, labeled_csv, *, max_kills: int = 3):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    data = labeled_csv(1500, seed=11, max_words=30)
    started = time.perf_counter()
    _run(driver, tiny_bert, data, tmp_path / "reference")
    full = time.perf_counter() - started
    reference = open_store(tmp_path / "reference")

    rng = random.Random(count)
    outcomes = []
    for trial in range(count):
        out = tmp_path / f"trial{trial}"
        kills = 0
        # one to three kills at random moments of the run, then a run to the end
        for _ in range(rng.randint(1, max_kills)):
            if _run(driver, tiny_bert, data, out, kill_after=rng.uniform(0.3, full)) == "killed":
                kills += 1
        _run(driver, tiny_bert, data, out)
        outcomes.append(kills)
        store = open_store(out)
        assert store.meta["complete"]
        assert list(store.frame["id"]) == list(reference.frame["id"])  # every row once, in input order
        assert list(store.frame["label"]) == list(reference.frame["label"])
        assert list(store.frame["pred"]) == list(reference.frame["pred"])
        np.testing.assert_allclose(store.vectors, reference.vectors, atol=1e-5, rtol=0)
        assert store.projection is not None and len(store.projection) == len(reference.frame)
        assert not list(out.rglob("*.tmp"))
    assert sum(outcomes) >= 1  # at least one run really died midway


def test_sigkill_then_resume_gives_the_uninterrupted_store(tmp_path, tiny_bert, labeled_csv):
    _trials(3, tmp_path, tiny_bert, labeled_csv, max_kills=1)


@pytest.mark.slow
def test_twenty_sigkills(tmp_path, tiny_bert, labeled_csv):
    _trials(20, tmp_path, tiny_bert, labeled_csv)
