"""The store is plain Parquet plus a manifest: any reader opens it, and clsmap guards its version."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import clsmap
from clsmap import ClsmapError, extract, open_store
from clsmap.store import schema
from clsmap.store import SCHEMA_VERSION
from clsmap.store.files import read_file_meta
from support.tiny_models import labeled_csv_file


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, tiny_bert):
    """A finished store of 600 rows in three parts (256, 256, 88), extracted once for the module."""
    folder = tmp_path_factory.mktemp("extracted")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schema, "PART_BYTES", 1)
        return extract(tiny_bert, labeled_csv_file(folder, 600, seed=21, max_words=12, with_id=True),
                       folder / "store", dtype="float32", device="cpu", progress=False).path


@pytest.fixture
def store(extracted, tmp_path):
    """The module's store, copied for each test (some damage it)."""
    shutil.copytree(extracted, tmp_path / "store")
    return open_store(tmp_path / "store")


def test_store_is_plain_parquet(store):
    parts = sorted((store.path / "vectors").glob("*.parquet"))
    assert [p.name for p in parts] == ["part-000000.parquet", "part-000001.parquet", "part-000002.parquet"]
    by_pandas = pd.read_parquet(store.path / "vectors").sort_values("row").reset_index(drop=True)
    by_arrow = ds.dataset(store.path / "vectors", format="parquet").to_table().sort_by("row")
    assert len(by_pandas) == by_arrow.num_rows == len(store) == 600
    assert by_pandas["id"].tolist() == store.frame["id"].tolist() == by_arrow.column("id").to_pylist()
    assert by_pandas["row"].tolist() == list(range(600))
    assert by_pandas["text"].tolist() == store.frame["text"].tolist()
    np.testing.assert_array_equal(np.stack(by_pandas["vector"].to_numpy()), store.vectors)
    np.testing.assert_array_equal(np.stack(by_arrow.column("vector").to_numpy(zero_copy_only=False)), store.vectors)


def test_column_types(store):
    schema = pq.read_schema(store.path / "vectors" / "part-000000.parquet")
    assert schema.field("row").type == pa.int64()
    assert schema.field("id").type == pa.string()
    assert schema.field("pred_id").type == pa.int32()
    assert schema.field("correct").type == pa.bool_()
    assert schema.field("split").type == pa.string()  # null without splits
    assert schema.field("vector").type == pa.list_(pa.float32(), 32)
    assert store.vectors.dtype == np.float32 and store.vectors.shape == (600, 32)


def test_manifest_records_provenance(store, tiny_bert):
    manifest = json.loads((store.path / "clsmap.json").read_text(encoding="utf-8"))
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["clsmap_version"] == clsmap.__version__
    assert len(manifest["model"]["config_hash"]) == 64
    assert manifest["model"]["name_or_path"] == str(tiny_bert)
    extraction_meta = manifest["extraction"]
    assert {"layer", "pooling", "max_length"} <= set(extraction_meta)
    assert extraction_meta["layer"] == 2 and extraction_meta["pooling"] == "cls"
    assert extraction_meta["max_length"] == 128
    assert len(manifest["dataset"]["sha256"]) == 64
    assert datetime.fromisoformat(manifest["created"]).tzinfo is not None
    assert manifest["complete"] is True
    assert manifest["n_rows"] == 600
    assert store.meta == manifest


def test_every_part_carries_the_manifest(store):
    manifest = json.loads((store.path / "clsmap.json").read_text(encoding="utf-8"))
    for part in (store.path / "vectors").glob("*.parquet"):
        meta = pq.read_schema(part).metadata
        assert b"clsmap" in meta
        carried = json.loads(meta[b"clsmap"])
        assert carried == read_file_meta(part)
        for key in ("schema_version", "clsmap_version", "model", "extraction", "dataset", "n_rows"):
            assert carried[key] == manifest[key], key


def _rewrite_manifest(store, **changes):
    path = store.path / "clsmap.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_newer_major_schema_is_refused(store):
    _rewrite_manifest(store, schema_version="2.0")
    with pytest.raises(ClsmapError, match="newer") as info:
        open_store(store.path)
    assert "upgrade" in str(info.value)


def test_newer_minor_schema_is_read(store):
    _rewrite_manifest(store, schema_version="1.9")
    assert len(open_store(store.path)) == 600


def test_not_a_store(tmp_path):
    with pytest.raises(ClsmapError, match="not a clsmap store"):
        open_store(tmp_path)
    with pytest.raises(ClsmapError, match="not a clsmap store"):
        open_store(tmp_path / "missing")
    (tmp_path / "clsmap.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ClsmapError, match="damaged"):
        open_store(tmp_path)
    (tmp_path / "clsmap.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ClsmapError, match="schema_version"):
        open_store(tmp_path)


def test_unknown_vector_column(store):
    with pytest.raises(ClsmapError, match="no vector column 'layer_0'; it has vector"):
        store.vectors_of("layer_0")
    assert store.projection is None


def test_output_path_that_is_a_file(tmp_path, tiny_bert, labeled_csv):
    out = tmp_path / "file"
    out.write_text("x")
    with pytest.raises(ClsmapError, match="is a file"):
        extract(tiny_bert, labeled_csv(5), out, dtype="float32", progress=False)


def test_damaged_manifest_is_refused_unless_overwrite(store, tiny_bert, labeled_csv):
    (store.path / "clsmap.json").write_text("{not json")
    data = labeled_csv(600, seed=21, max_words=12, with_id=True)
    with pytest.raises(ClsmapError, match="damaged store manifest"):
        extract(tiny_bert, data, store.path, dtype="float32", progress=False)
    rebuilt = extract(tiny_bert, data, store.path, dtype="float32", progress=False, overwrite=True)
    assert len(rebuilt) == 600 and rebuilt.frame["id"].is_unique


def test_duckdb_reads_the_store(store):
    duckdb = pytest.importorskip("duckdb")
    pattern = str(store.path / "vectors" / "*.parquet")
    rows, width, accuracy = duckdb.sql(
        f"select count(*), max(len(vector)), avg(correct::int) from read_parquet('{pattern}')"
    ).fetchall()[0]
    assert rows == len(store) and width == store.vectors.shape[1]
    assert accuracy == pytest.approx(store.accuracy)
    ids = [r[0] for r in duckdb.sql(f"select id from read_parquet('{pattern}') order by row").fetchall()]
    assert ids == list(store.frame["id"])
