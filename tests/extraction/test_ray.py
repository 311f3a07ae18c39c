"""The Ray backend on a real local Ray instance (2 CPUs): the same store as the local backend, a dead
actor retried without losing or doubling a row, resume after Ctrl-C, and the install hint without ray."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest
from support import gates
from support.gates import PART_GATE

import clsmap
from clsmap.extraction.ray.collect import collect_parts
from clsmap.store import VECTORS, StoreWriter, schema

# Ray Data's own deprecation notices (its context copies deprecated fields), not clsmap's
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")

ATOL = 1e-5
PART = schema.MIN_PART_ROWS  # rows per part where PART_BYTES is 1 (forced below)
ROWS = 2 * PART + 88  # 3 parts, the last one short


@pytest.fixture(scope="module")
def ray_instance(tmp_path_factory):
    """One local Ray instance for the module (starting one costs ~10 s on 2 cores), stopped after.

    Its workers run ``support.ray_faults.install`` (test code) at start: writing ``ray_instance.faults`` makes
    an actor die on a chosen row (see ``tests/support/ray_faults.py``)."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    faults = tmp_path_factory.mktemp("ray_faults") / "faults.json"
    path = os.pathsep.join(p for p in (str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             runtime_env={"env_vars": {"CLSMAP_TEST_FAULTS": str(faults), "PYTHONPATH": path},
                          "worker_process_setup_hook": "support.ray_faults.install"})
    yield SimpleNamespace(ray=ray, faults=faults)
    ray.shutdown()


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(schema, "PART_BYTES", 1)  # parts of the minimum PART rows


def local_store(model, data, out):
    return clsmap.extract(model, data, out, dtype="float32", device="cpu", progress=False)


def ray_store(model, data, out, **kwargs):
    kwargs.setdefault("num_workers", 2)
    kwargs.setdefault("cpus_per_worker", 1)
    kwargs.setdefault("batch_rows", 64)  # several batches per part, so parts arrive in pieces
    return clsmap.extract(model, str(data), out, dtype="float32", progress=False, backend="ray", **kwargs)


def assert_same_store(got, expected):
    """Same rows in the same order, same predictions, vectors within ATOL, same manifest and layout."""
    assert len(got) == len(expected)
    assert got.frame["row"].tolist() == list(range(len(expected)))
    assert got.frame["id"].is_unique
    for column in ("row", "id", "text", "label", "pred", "pred_id", "correct"):
        assert got.frame[column].tolist() == expected.frame[column].tolist(), column
    assert np.allclose(got.frame["confidence"], expected.frame["confidence"], atol=ATOL)
    for column in ("prob", "logits"):
        assert np.abs(np.stack(got.frame[column]) - np.stack(expected.frame[column])).max() <= ATOL, column
    assert got.vectors.shape == expected.vectors.shape
    assert np.abs(got.vectors - expected.vectors).max() <= ATOL
    timestamps = {"created", "finished"}
    assert {k: v for k, v in got.meta.items() if k not in timestamps} == {
        k: v for k, v in expected.meta.items() if k not in timestamps
    }
    got_parts = sorted((got.path / VECTORS).glob("part-*.parquet"))
    expected_parts = sorted((expected.path / VECTORS).glob("part-*.parquet"))
    assert [p.name for p in got_parts] == [p.name for p in expected_parts]
    for a, b in zip(got_parts, expected_parts, strict=True):
        assert pq.read_schema(a).remove_metadata() == pq.read_schema(b).remove_metadata()
        assert pq.read_metadata(a).num_rows == pq.read_metadata(b).num_rows
        rows = pq.read_table(a, columns=["row"]).column("row").to_numpy()
        assert np.array_equal(rows, np.sort(rows))  # each part file is in input order too


@pytest.mark.slow
@pytest.mark.parametrize("kind, kill", [("bert", False), ("electra", True)], ids=["bert", "electra-killed-actor"])
def test_ray_store_equals_local_store(ray_instance, small_parts, request, kind, kill, labeled_csv, tmp_path):
    """Same store as the local backend; with ``kill``, the actor that gets the batch holding row 300
    ends its process (the first time only): Ray restarts it and retries the batch, and the store
    still holds every row exactly once. (One test for both, as each Ray run costs seconds here. Slow:
    the default suite checks the same, a dead actor included, in the resume test below.)"""
    model = request.getfixturevalue(f"tiny_{kind}")
    data = labeled_csv(ROWS, seed=3, max_words=30, with_id=True)
    expected = local_store(model, data, tmp_path / "local")
    marker = tmp_path / "killed"
    if kill:
        ray_instance.faults.write_text(json.dumps({"row": PART + 44, "marker": str(marker)}), encoding="utf-8")
    try:
        got = ray_store(model, data, tmp_path / "ray")
    finally:
        ray_instance.faults.unlink(missing_ok=True)
    assert marker.exists() == kill  # the actor did die
    assert got.meta["complete"] is True and got.meta["part_rows"] == PART
    assert_same_store(got, expected)
    assert clsmap.open_store(tmp_path / "ray").frame["id"].tolist() == expected.frame["id"].tolist()


def test_interrupted_ray_run_resumes(ray_instance, small_parts, tiny_bert, labeled_csv, tmp_path):
    """Ctrl-C in a Ray run (the CLI, a second driver), then the same run again, during which the actor
    that gets a batch of a part still to do dies (as on an out-of-memory kill): the resumed store equals
    the local backend's, every row once, and the parts written before Ctrl-C are kept as they were."""
    data = labeled_csv(ROWS, seed=5, max_words=30, with_id=True)
    out = tmp_path / "ray"
    # a second driver, the CLI, joins this Ray instance; it writes the parts, so the gate (test code that
    # stops it once its first part is on disk) is installed in its process; Ctrl-C arrives there
    code = PART_GATE + (
        "import sys, clsmap.store.schema as s; s.PART_BYTES = 1; from clsmap.cli import main; "
        f"sys.exit(main(['-q', 'extract', {str(tiny_bert)!r}, {str(data)!r}, '-o', {str(out)!r}, "
        "'--dtype', 'float32', '--batch-tokens', '64', '--backend', 'ray', '--num-workers', '1', "
        f"'--ray-address', {ray_instance.ray.get_runtime_context().gcs_address!r}]))"
    )
    proc = gates.start(["-c", code], gate=1)
    try:
        written = gates.wait_for_gate(proc)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        gates.stop(proc)
    lines = gates.stderr(proc).strip().splitlines()
    assert proc.returncode == 130, lines[-20:]
    assert lines and "interrupted" in lines[-1] and "resumes" in lines[-1], lines[-20:]
    assert not any("Traceback" in line for line in lines)
    with pytest.raises(clsmap.ClsmapError, match="incomplete"):
        clsmap.open_store(out)
    partial = clsmap.open_store(out, allow_partial=True)
    # the one part written before Ctrl-C: parts are written as they complete, not always part 0 first
    assert len(partial) == (PART if written < 2 else ROWS - 2 * PART)
    assert set(partial.frame["row"] // PART) == {written}
    kept = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / VECTORS).glob("part-*.parquet")}

    todo = min(set(range(3)) - {written})  # a part the resumed run extracts
    marker = tmp_path / "killed"
    ray_instance.faults.write_text(json.dumps({"row": todo * PART + 44, "marker": str(marker)}), encoding="utf-8")
    try:
        resumed = ray_store(tiny_bert, data, out, batch_tokens=64)
    finally:
        ray_instance.faults.unlink(missing_ok=True)
    assert marker.exists()  # the actor did die
    assert resumed.meta["complete"] is True and resumed.meta["part_rows"] == PART
    for path, stat in kept.items():  # the parts written before Ctrl-C were skipped, not redone
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == stat
    expected = local_store(tiny_bert, data, tmp_path / "local")
    assert_same_store(resumed, expected)


def test_ray_reads_like_the_local_backend(ray_instance, tiny_bert, tmp_path):
    """One reader: a folder of CSV files gives the local backend's store on Ray, and a bad row or an id in
    two files gives the local backend's error, word for word (file and row included)."""
    import pandas as pd

    def folder(name, frames):
        path = tmp_path / name
        path.mkdir()
        for file, frame in frames.items():
            frame.to_csv(path / file, index=False)
        return path

    def rows(lo, hi):
        return pd.DataFrame({"id": [f"d{i}" for i in range(lo, hi)], "label": ["ham", "spam"] * ((hi - lo) // 2),
                             "text": [f"the cat {i} and the dog" for i in range(lo, hi)]})

    good = folder("good", {"b.csv": rows(40, 60), "a.csv": rows(0, 40)})
    expected = local_store(tiny_bert, good, tmp_path / "local")
    assert expected.frame["id"].tolist() == [f"d{i}" for i in range(60)]  # a.csv first
    assert_same_store(ray_store(tiny_bert, good, tmp_path / "ray"), expected)

    empty_text = rows(40, 60)
    empty_text.loc[4, "text"] = ""
    for name, frames, says in (("bad", {"a.csv": rows(0, 40), "b.csv": empty_text}, "b.csv: row 5 has an empty text"),
                               ("twice", {"a.csv": rows(0, 40), "b.csv": rows(38, 58)}, "a.csv row 39 and ")):
        data = folder(name, frames)
        with pytest.raises(clsmap.ClsmapError) as local_error:
            local_store(tiny_bert, data, tmp_path / f"{name}-local")
        with pytest.raises(clsmap.ClsmapError) as ray_error:
            ray_store(tiny_bert, data, tmp_path / f"{name}-ray")
        assert str(ray_error.value) == str(local_error.value)
        assert f"{data}/{says}" in str(local_error.value)


def test_parts_are_written_once_whatever_order_rows_arrive_in(tmp_path):
    """The driver's side alone: batches out of order, one delivered twice (a retried batch)."""
    import pyarrow as pa

    n, part_rows = 700, 256
    writer = StoreWriter(tmp_path / "store", {"n_rows": n, "part_rows": part_rows, "vector_columns": ["vector"],
                                              "default_vector": "vector"})

    def batch(lo, hi):
        rows = np.arange(lo, hi, dtype=np.int64)
        return pa.table({"row": rows, "id": [f"r{i}" for i in rows],
                         "vector": pa.FixedSizeListArray.from_arrays(pa.array(rows.astype(np.float32)), 1)})

    spans = [(600, 700), (0, 100), (300, 600), (100, 300), (0, 100), (250, 400)]

    class Arrivals:
        def iter_batches(self, **_):
            yield from (batch(lo, hi) for lo, hi in spans)

    collect_parts(Arrivals(), writer, [0, 1, 2], bar=None)
    parts = sorted((tmp_path / "store" / VECTORS).glob("part-*.parquet"))
    assert [pq.read_metadata(p).num_rows for p in parts] == [256, 256, 188]
    rows = np.concatenate([pq.read_table(p).column("row").to_numpy() for p in parts])
    assert np.array_equal(rows, np.arange(n))
    meta = json.loads(pq.read_schema(parts[0]).metadata[b"clsmap"])
    assert meta["n_rows"] == n


def test_missing_rows_are_reported_not_written(tmp_path):
    import pyarrow as pa

    writer = StoreWriter(tmp_path / "store", {"n_rows": 300, "part_rows": 256, "vector_columns": ["vector"],
                                              "default_vector": "vector"})

    class Arrivals:
        def iter_batches(self, **_):
            rows = np.arange(0, 299, dtype=np.int64)  # row 299 never comes
            yield pa.table({"row": rows})

    with pytest.raises(clsmap.ClsmapError, match="1 part"):
        collect_parts(Arrivals(), writer, [0, 1], bar=None)
    assert [p.name for p in (tmp_path / "store" / VECTORS).glob("*.parquet")] == ["part-000000.parquet"]


def test_input_blocks_hold_every_row_once_in_order(monkeypatch):
    """The driver's side alone: an input in memory goes to Ray in blocks, and blocks are split to a size,
    each row once, in input order."""
    import pandas as pd

    pytest.importorskip("ray")
    from clsmap.extraction.ray import reading

    monkeypatch.setattr(reading, "BLOCK_ROWS", 7)
    texts = pd.DataFrame({"text": [f"t{i}" for i in range(20)], "label": ["a", "b"] * 10})
    blocks, _ = reading.read_blocks(SimpleNamespace(put=lambda table: table), texts, {})
    assert [(b.offset, b.rows) for b in blocks] == [(0, 7), (7, 7), (14, 6)]
    assert sum((b.ref.column("text").to_pylist() for b in blocks), []) == texts["text"].tolist()

    monkeypatch.setattr(reading, "slice_task", SimpleNamespace(remote=lambda ref, lo, size: (ref, lo, size)))
    split = reading.split_blocks([reading.RayBlock("a", 0, 10), reading.RayBlock("b", 10, 3)], 4)
    assert [(b.ref, b.offset, b.rows) for b in split] == [
        (("a", 0, 4), 0, 4), (("a", 4, 4), 4, 4), (("a", 8, 2), 8, 2), ("b", 10, 3)]


def test_without_ray_the_backend_names_the_extra(monkeypatch, tiny_bert, labeled_csv, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if it were not installed
    data = labeled_csv(10)
    with pytest.raises(clsmap.MissingExtraError, match=r"clsmap\[ray\]"):
        clsmap.extract(tiny_bert, data, tmp_path / "api", backend="ray")
    assert not (tmp_path / "api").exists()

    from clsmap.cli import main

    assert main(["-q", "extract", str(tiny_bert), str(data), "-o", str(tmp_path / "cli"), "--backend", "ray"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'clsmap[ray]'" in err[0]
    assert not (tmp_path / "cli").exists()


def test_ray_options_need_the_ray_backend(tiny_bert, labeled_csv, tmp_path):
    data = labeled_csv(10)
    with pytest.raises(ValueError, match="num_workers"):
        clsmap.extract(tiny_bert, data, tmp_path / "out", num_workers=2)
    with pytest.raises(ValueError, match="backend"):
        clsmap.extract(tiny_bert, data, tmp_path / "out", backend="spark")
    assert not Path(tmp_path / "out").exists()
