"""The rows for other code and other tools: Store.to_pandas / to_arrow / iter_batches, and
`clsmap export` to flat Parquet (pandas, DuckDB), TensorBoard's Projector (parsed back exactly) and
Embedding Atlas (opened by embedding-atlas's own command line, headless)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import clsmap
from clsmap import ClsmapError
from clsmap.cli import main
from clsmap.store import synthetic_store

CLASSES = ["긍정", "neg", "mixed"]
#: texts that a TSV, a CSV or a naive escaper gets wrong, in Korean and English
HARD = ["tab\there", "two\nlines", "cr\r\nlf", "back\\slash", "literal \\n and \\t", "", "  spaces  ",
        '"quoted", comma', "정말 재미있는 영화였어요\t👍", "줄바꿈\n있음", "\\", "ends with backslash\\"]


def _store(folder, n=40, *, part_rows=16, projected=True, dim=5):
    rng = np.random.default_rng(0)
    texts = [HARD[i % len(HARD)] + (f" #{i}" if i % 3 else "") for i in range(n)]
    ids = [f"id\t{i}" if i == 3 else f"문장{i}" for i in range(n)]
    # floats of every magnitude, to read back bit for bit
    vectors = (rng.normal(size=(n, dim)) * 10.0 ** rng.integers(-30, 30, size=(n, 1))).astype(np.float32)
    store = synthetic_store(folder, rng.normal(size=(n, 2)), texts, labels=[CLASSES[i % 3] for i in range(n)],
                            preds=[CLASSES[(i // 2) % 3] for i in range(n)], confidence=rng.uniform(0.3, 1, n),
                            ids=ids, classes=CLASSES, vectors=vectors, part_rows=part_rows,
                            splits=["train" if i % 4 else "시험" for i in range(n)])
    if not projected:
        store.projection_path().unlink()
    return clsmap.open_store(folder)


# --------------------------------------------------------------------------- Store.to_pandas / to_arrow


def test_store_rows_as_pandas_and_arrow(tmp_path):
    store = _store(tmp_path / "s", n=40, part_rows=16)
    frame, proj = store.frame, store.projection
    rows = store.to_pandas()
    assert list(rows.columns) == ["id", "text", "label", "split", "pred", "confidence", "correct", "x", "y"]
    for name in ("id", "text", "label", "split", "pred", "correct"):
        assert rows[name].tolist() == frame[name].tolist(), name
    np.testing.assert_array_equal(rows["confidence"].to_numpy(), frame["confidence"].to_numpy())
    np.testing.assert_array_equal(rows[["x", "y"]].to_numpy(), proj[["x", "y"]].to_numpy())

    table = store.to_arrow(vectors=True)
    assert table.schema.field("vector").type.list_size == 5
    np.testing.assert_array_equal(np.stack(table.column("vector").to_numpy(zero_copy_only=False)), store.vectors)
    with_vectors = store.to_pandas(vectors=True)
    np.testing.assert_array_equal(np.stack(with_vectors["vector"].to_list()), store.vectors)
    # one part at a time: 40 rows in parts of 16
    assert [t.num_rows for t in store.iter_batches(vectors=True)] == [16, 16, 8]


def test_store_rows_without_a_map_or_with_a_stale_one(tmp_path):
    store = _store(tmp_path / "s", projected=False)
    rows = store.to_pandas()
    assert rows["x"].isna().all() and rows["y"].isna().all() and len(rows) == len(store)
    with pytest.raises(ClsmapError, match="no vector column 'layer_9'; it has vector"):
        store.to_arrow(column="layer_9")

    other = _store(tmp_path / "t")
    table = pq.read_table(other.projection_path())
    ids = table.column("id").to_pylist()
    ids[5], ids[6] = ids[6], ids[5]
    pq.write_table(table.set_column(0, "id", pa.array(ids)), other.projection_path())
    with pytest.raises(ClsmapError, match="does not match the store's rows; run clsmap project again"):
        other.to_pandas()


# --------------------------------------------------------------------------- flat Parquet


def test_flat_parquet_for_pandas_and_duckdb(tmp_path, monkeypatch):
    duckdb = pytest.importorskip("duckdb")
    store = _store(tmp_path / "s", n=40, part_rows=16)
    monkeypatch.setattr("clsmap.render.exports.ROW_GROUP_ROWS", 20)  # several row groups, filled across parts
    out = clsmap.export(store, tmp_path / "flat.parquet", to="parquet")
    meta = pq.ParquetFile(out).metadata
    assert meta.num_row_groups == 3 and all(meta.row_group(k).num_rows <= 20 for k in range(3))
    stamp = json.loads(pq.read_schema(out).metadata[b"clsmap"])
    assert stamp["export"] == "parquet" and stamp["manifest"]["n_rows"] == 40 and stamp["projection"]["method"]

    back = pd.read_parquet(out)
    assert list(back.columns) == ["id", "text", "label", "split", "pred", "confidence", "correct", "x", "y",
                                  "vector"]
    expected = store.to_pandas()
    for name in ("id", "text", "label", "split", "pred", "correct"):
        assert back[name].tolist() == expected[name].tolist(), name
    np.testing.assert_array_equal(np.stack(back["vector"].to_list()), store.vectors)
    rows, width, acc = duckdb.sql(
        f"select count(*), max(len(vector)), avg(correct::int) from read_parquet('{out}')").fetchall()[0]
    assert (rows, width) == (40, 5) and acc == pytest.approx(store.accuracy)
    texts = [r[0] for r in duckdb.sql(f"select text from read_parquet('{out}')").fetchall()]
    assert texts == store.frame["text"].tolist()


# --------------------------------------------------------------------------- TensorBoard Projector


def _unescape(field: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[m.group(1)], field)


def test_projector_files_parse_back_exactly(tmp_path):
    store = _store(tmp_path / "s", n=40, part_rows=16)
    folder = clsmap.export(store, tmp_path / "proj", to="projector")
    # what the Projector does: lines split at \n, fields at \t, no quoting
    vec_lines = (folder / "vectors.tsv").read_text(encoding="utf-8").split("\n")
    assert vec_lines[-1] == "" and len(vec_lines) == 41
    vectors = np.array([[np.float32(v) for v in line.split("\t")] for line in vec_lines[:-1]], dtype=np.float32)
    np.testing.assert_array_equal(vectors, store.vectors)  # the same float32, bit for bit

    meta_lines = (folder / "metadata.tsv").read_text(encoding="utf-8").split("\n")
    assert meta_lines[0].split("\t") == ["id", "text", "label", "split", "pred", "correct", "confidence"]
    assert meta_lines[-1] == "" and len(meta_lines) == 42
    fields = [line.split("\t") for line in meta_lines[1:-1]]
    assert all(len(f) == 7 for f in fields)
    frame = store.frame
    assert [_unescape(f[0]) for f in fields] == frame["id"].tolist()
    assert [_unescape(f[1]) for f in fields] == frame["text"].tolist()
    assert [f[2] for f in fields] == frame["label"].tolist()
    assert [f[3] for f in fields] == frame["split"].tolist()
    assert [f[4] for f in fields] == frame["pred"].tolist()
    assert [f[5] for f in fields] == ["true" if c else "false" for c in frame["correct"]]
    assert [np.float32(f[6]) for f in fields] == frame["confidence"].tolist()

    config = (folder / "projector_config.pbtxt").read_text(encoding="utf-8")
    assert 'tensor_path: "vectors.tsv"' in config and 'metadata_path: "metadata.tsv"' in config
    assert re.findall(r"tensor_shape: (\d+)", config) == ["40", "5"]
    assert re.search(r'tensor_name: "clsmap synthetic-model vector"', config)


# --------------------------------------------------------------------------- Embedding Atlas


def test_atlas_file_opens_in_embedding_atlas(tmp_path, monkeypatch):
    pytest.importorskip("embedding_atlas")
    from click.testing import CliRunner
    from embedding_atlas.cli import main as atlas

    store = _store(tmp_path / "s", n=40, part_rows=16)
    out = clsmap.export(store, tmp_path / "atlas.parquet", to="atlas")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # its cache folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home" / "cache"))
    (tmp_path / "static").mkdir()
    app = tmp_path / "app"
    # the command a user runs, headless: load the file, check the columns, write the viewer's data
    result = CliRunner().invoke(atlas, [str(out), "--text", "text", "--x", "x", "--y", "y", "--static",
                                        str(tmp_path / "static"), "--export-application", str(app)])
    assert result.exit_code == 0, result.output
    props = json.loads((app / "data" / "metadata.json").read_text())["props"]
    assert props["data"]["projection"] == {"x": "x", "y": "y"} and props["data"]["text"] == "text"
    data = pd.read_parquet(app / "data" / "dataset.parquet")
    frame = store.to_pandas()
    assert data["text"].tolist() == frame["text"].tolist()
    assert data["label"].tolist() == frame["label"].tolist()
    assert data["split"].tolist() == frame["split"].tolist()
    assert data["prediction"].tolist() == frame["pred"].tolist()
    assert data["correctness"].tolist() == ["correct" if c else "misclassified" for c in frame["correct"]]
    np.testing.assert_array_equal(data[["x", "y"]].to_numpy(), frame[["x", "y"]].to_numpy())


def test_cli_export(tmp_path, capsys):
    store = _store(tmp_path / "s", n=20)
    out = tmp_path / "rows.parquet"
    assert main(["-q", "export", str(store.path), "--to", "parquet", "-o", str(out)]) == 0
    assert pq.read_table(out).num_rows == 20
    assert main(["-q", "export", str(store.path), "--to", "projector", "-o", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "vectors.tsv").is_file()
    bare = _store(tmp_path / "bare", n=20, projected=False)
    assert main(["-q", "export", str(bare.path), "--to", "atlas", "-o", str(tmp_path / "a.parquet")]) == 2
    assert "no 2-D map of 'vector', which Embedding Atlas needs; run: clsmap project" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(store.path), "--to", "csv", "-o", str(out)])
    assert "invalid choice: 'csv'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="The 'to' parameter of export must be one of"):
        clsmap.export(store, out, to="csv")
