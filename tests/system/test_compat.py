"""Stores written before the package was reshaped still open, read and render.

``tests/data/store-0.1.0`` was written by clsmap 0.1.0 as it was before "One house" (commit 5c1b46a):
``clsmap.extract(..., layer="all")`` of 24 texts (one Korean) with a tiny random BERT classifier,
``clsmap.project(..., method="pca", column="all")`` and ``clsmap.analyze``.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import clsmap
from clsmap.store import Manifest
from support import DATA

OLD = DATA / "store-0.1.0"


@pytest.fixture
def old_store(tmp_path):
    folder = tmp_path / "store"
    shutil.copytree(OLD, folder)
    return folder


def test_an_old_store_opens_and_reads(old_store):
    store = clsmap.open_store(old_store)
    assert store.meta["clsmap_version"] == "0.1.0" and store.meta["schema_version"] == "1.0"
    assert len(store) == 24 and store.frame["id"].tolist() == [f"r{i}" for i in range(24)]
    assert "한국어 문장 하나" in store.frame["text"].tolist()
    assert store.vector_columns == ["layer_0", "layer_1", "layer_2"]
    assert store.vectors.shape == (24, 32) and np.isfinite(store.vectors).all()
    assert all(store.projection_of(c) is not None for c in store.vector_columns)
    assert store.accuracy is not None
    assert store.splits == [] and store.frame["split"].isna().all()  # schema 1.0: no split column
    rows = store.to_pandas()
    assert len(rows) == 24 and rows["split"].isna().all() and rows["text"].tolist() == store.frame["text"].tolist()
    record = json.loads((old_store / "clsmap.json").read_text(encoding="utf-8"))
    assert Manifest.from_dict(record).to_dict() == record  # nothing lost or added when read and written back


def test_an_old_store_renders_and_is_analysed_again(old_store, tmp_path):
    store = clsmap.open_store(old_store)
    result = clsmap.analyze(store)
    assert result.summary["n_rows"] == 24 and len(result.layers) == 3
    assert clsmap.plot(store, tmp_path / "fig")[0].stat().st_size > 10_000
    page = clsmap.write_map(store, tmp_path / "map.html").read_text(encoding="utf-8")
    assert '"classes":["ham","spam"]' in page
    assert clsmap.report(store, tmp_path / "report.html", analysis=result).stat().st_size > 10_000
    clsmap.project(store, method="pca")  # and written to again
    assert clsmap.open_store(old_store).projection is not None


# ``store-51122be`` was written by clsmap at commit 51122be (before "the house, second floor"): a synthetic
# store of 480 rows (four classes, one Korean; planted confusion, wrong labels, train/test splits), projected
# with PCA and analysed; its ``analysis/`` is what that commit's ``analyze`` wrote. ``store-0.1.0.analysis.json``
# is what the same commit's ``analyze`` wrote for ``store-0.1.0`` (three layers).
GOLDEN = {
    "store-51122be": DATA / "store-51122be" / "analysis" / "analysis.json",
    "store-0.1.0": DATA / "store-0.1.0.analysis.json",
}
_TIMINGS = ("seconds", "step_seconds")


def _same(a, b, where="analysis.json"):
    if isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), f"{where}: keys {sorted(set(a) ^ set(b))} differ"
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: {len(a)} items against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), f"{where}: {a} against {b}"
    else:
        assert a == b, f"{where}: {a!r} against {b!r}"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_a_store_written_before_analyses_to_the_same_analysis_json(name, tmp_path):
    folder = tmp_path / name
    shutil.copytree(DATA / name, folder)
    for written in ("analysis", "neighbours"):
        shutil.rmtree(folder / written, ignore_errors=True)
    clsmap.analyze(folder)
    got = json.loads((folder / "analysis" / "analysis.json").read_text(encoding="utf-8"))
    want = json.loads(GOLDEN[name].read_text(encoding="utf-8"))
    for record in (got, want):
        record.pop("store")
        for key in _TIMINGS:
            record["summary"].pop(key)
    _same(got, want)
    if name == "store-51122be":  # the other files analyze writes are the same too
        for file in ("regions.json", "keywords.json"):
            assert json.loads((folder / "analysis" / file).read_text(encoding="utf-8")) == json.loads(
                (DATA / name / "analysis" / file).read_text(encoding="utf-8"))
