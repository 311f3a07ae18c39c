"""Two writers on one folder, a full disk, a read-only folder: a clear error and nothing lost."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow.parquet as pq
import pytest
from support.gates import read_line, stop

from clsmap import ClsmapError, extract, open_store
from clsmap.store import schema
from clsmap.store import StoreWriter

MANIFEST = {"n_rows": 10, "part_rows": 256, "model": {}, "extraction": {}, "dataset": {}, "vector_columns": ["vector"],
            "default_vector": "vector"}


@pytest.fixture
def holder(tmp_path):
    """Another process that holds the write lock of tmp_path / 'out' until the test closes its stdin
    (or kills it)."""
    script = textwrap.dedent(f"""
        import sys
        from clsmap.store import StoreWriter
        StoreWriter({str(tmp_path / "out")!r}, {MANIFEST!r})
        print("locked", flush=True)
        sys.stdin.read()  # until the test closes the pipe
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert read_line(proc, timeout=120).strip() == "locked"
        yield proc
    finally:
        proc.stdin.close()  # the holder ends (if it still runs)
        try:
            proc.wait(timeout=60)
        finally:
            stop(proc)


def test_second_writer_is_refused_with_the_holder_named(tmp_path, holder):
    with pytest.raises(ClsmapError) as info:
        StoreWriter(tmp_path / "out", MANIFEST)
    message = str(info.value)
    assert f"pid {holder.pid}" in message and "another clsmap run" in message


def test_extract_into_a_folder_being_written_fails_before_touching_it(tmp_path, holder, tiny_bert, labeled_csv):
    before = sorted(p.name for p in (tmp_path / "out").rglob("*"))
    with pytest.raises(ClsmapError, match=f"pid {holder.pid}"):
        extract(tiny_bert, labeled_csv(20), tmp_path / "out", overwrite=True, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == before


def test_a_killed_holder_leaves_no_stale_lock(tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    StoreWriter(tmp_path / "out", MANIFEST).close()


def test_the_lock_is_released_when_the_store_is_finished(tmp_path, tiny_bert, labeled_csv):
    extract(tiny_bert, labeled_csv(20), tmp_path / "out", progress=False)
    out = str(tmp_path / "out")
    script = f"from clsmap.store import StoreWriter; StoreWriter({out!r}, {MANIFEST!r}, overwrite=True)"
    subprocess.run([sys.executable, "-c", script], check=True)


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only")])
def test_write_failure_keeps_what_was_written_and_resumes(tmp_path, tiny_bert, labeled_csv, monkeypatch, code, words):
    monkeypatch.setattr(schema, "PART_BYTES", 1)  # parts of the minimum MIN_PART_ROWS rows
    data = labeled_csv(2 * schema.MIN_PART_ROWS + 88, seed=2)  # 3 parts
    real = pq.write_table
    calls = []

    def failing(table, where, **kwargs):
        calls.append(where)
        if len(calls) == 2:
            where.write(b"PAR1 half a part")  # the write stopped midway
            raise OSError(code, os.strerror(code))
        return real(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", failing)
    out = tmp_path / "out"
    with pytest.raises(ClsmapError) as info:
        extract(tiny_bert, data, out, progress=False)
    message = str(info.value)
    assert words in message and "part-000001.parquet" in message and "resume" in message
    assert not list((out / "vectors").glob("*.tmp"))
    partial = open_store(out, allow_partial=True)
    assert len(partial) >= schema.MIN_PART_ROWS  # the first part stays readable

    monkeypatch.setattr(pq, "write_table", real)
    resumed = extract(tiny_bert, data, out, progress=False)
    fresh = extract(tiny_bert, data, tmp_path / "fresh", progress=False)
    assert list(resumed.frame["id"]) == list(fresh.frame["id"])
    np.testing.assert_allclose(resumed.vectors, fresh.vectors, atol=1e-5)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_read_only_output_folder_is_a_clear_error(tmp_path, tiny_bert, labeled_csv):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ClsmapError, match="permission denied|read-only"):
            extract(tiny_bert, labeled_csv(10), folder / "out", progress=False)
    finally:
        folder.chmod(0o755)
