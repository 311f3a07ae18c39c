"""Splits on one map: read from several files, a split column or a ``clsmap train`` record; kept in the
store's ``split`` column; measured split by split; drawn apart in the figure and the interactive map."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import clsmap
from clsmap import ClsmapError
from clsmap.analysis import split_metrics
from clsmap.cli import main
from clsmap.render import map_html, render_model
from clsmap.store import synthetic_store
from support.pages import page_parts


def _csv(path, texts, labels, **extra):
    pd.DataFrame({"text": texts, "label": labels, **extra}).to_csv(path, index=False)
    return path


def test_several_files_are_splits_named_after_them(tmp_path):
    train = _csv(tmp_path / "train.csv", ["a", "b", "c"], ["x", "y", "x"])
    test = _csv(tmp_path / "test.jsonl.csv", ["d", "e"], ["x", "y"])
    texts = clsmap.read_dataset([train, test])
    assert texts.splits == ["train"] * 3 + ["test"] * 2
    assert texts.ids == ["0", "1", "2", "3", "4"]  # numbered across the files, so unique
    alone = clsmap.read_dataset(train)
    assert alone.splits is None and texts.fingerprint != alone.fingerprint
    named = clsmap.read_dataset({"seen": pd.read_csv(train), "unseen": test})
    assert named.splits == ["seen"] * 3 + ["unseen"] * 2
    with pytest.raises(ClsmapError, match="two inputs name the split 'train'"):
        clsmap.read_dataset([train, tmp_path / "train.csv"])


def test_split_column(tmp_path):
    data = _csv(tmp_path / "d.csv", ["a", "b", "c"], ["x", "y", "x"], part=["tr", "te", "tr"])
    assert clsmap.read_dataset(data, split_column="part").splits == ["tr", "te", "tr"]
    with pytest.raises(ClsmapError, match="no split column 'prt'.*did you mean 'part'"):
        clsmap.read_dataset(data, split_column="prt")
    with pytest.raises(ClsmapError, match="either several inputs"):
        clsmap.read_dataset([data, tmp_path / "d.csv"], split_column="part")
    _csv(tmp_path / "gap.csv", ["a", "b"], ["x", "y"], part=["tr", ""])
    with pytest.raises(ClsmapError, match=r"gap.csv: row 2 names no split in column 'part'"):
        clsmap.read_dataset(tmp_path / "gap.csv", split_column="part")


def test_a_trained_model_folder_gives_train_and_validation(tiny_bert, labeled_csv, tmp_path):
    data = labeled_csv(30, with_id=True)
    ids = pd.read_csv(data)["id"].tolist()
    model = tmp_path / "model"
    shutil.copytree(tiny_bert, model)
    (model / "clsmap_train.json").write_text(json.dumps({"train_ids": ids[:20], "val_ids": ids[20:26]}))
    store = clsmap.extract(model, data, tmp_path / "out", dtype="float32", progress=False)
    assert store.frame["split"].tolist() == ["train"] * 20 + ["validation"] * 6 + ["other"] * 4
    assert store.splits == ["train", "validation", "other"]
    plain = clsmap.extract(tiny_bert, data, tmp_path / "plain", dtype="float32", progress=False)
    assert plain.splits == [] and plain.frame["split"].isna().all()


def _planted(folder, n=900, seed=0):
    """Three blobs; the errors of both splits pile up where a meets b (plus a few scattered ones), and the
    test split has errors of its own in the middle of c, where the training texts have none."""
    rng = np.random.default_rng(seed)
    labels = np.array(["a", "b", "c"])[np.arange(n) % 3]
    centres = {"a": (0.0, 0.0), "b": (5.0, 0.0), "c": (2.5, 5.0)}
    xy = np.array([centres[c] for c in labels]) + rng.normal(size=(n, 2))
    preds = labels.copy()
    seam = (np.abs(xy[:, 0] - 2.5) < 0.8) & (np.abs(xy[:, 1]) < 1.0)
    preds[seam & (labels == "a")] = "b"
    preds[seam & (labels == "b")] = "a"
    preds[rng.random(n) < 0.02] = "c"
    splits = np.where(rng.random(n) < 0.7, "train", "test")
    core = (np.linalg.norm(xy - (2.5, 5.0), axis=1) < 0.4) & (labels == "c") & (splits == "test")
    preds[core] = "a"
    vectors = np.hstack([xy, rng.normal(size=(n, 6)) * 0.1])
    return synthetic_store(folder, xy, [f"text {i}" for i in range(n)], labels=list(labels), preds=list(preds),
                           splits=list(splits), vectors=vectors)


def test_per_split_metrics_table(tmp_path):
    store = _planted(tmp_path / "s")
    analysis = clsmap.analyze(store, layers=False)
    table = analysis.splits.frame.set_index("split")
    frame = store.frame
    assert list(table.index) == ["train", "test"] and analysis.splits.reference == "train"
    assert analysis.summary["splits"] == ["train", "test"]
    for name in ("train", "test"):
        rows = frame[frame["split"] == name]
        assert table.loc[name, "n"] == len(rows)
        assert table.loc[name, "accuracy"] == pytest.approx(rows["correct"].mean())
        assert table.loc[name, "n_errors"] == int((~rows["correct"].astype(bool)).sum())
        for key in ("knn_purity", "map_knn_purity", "linear_probe_accuracy", "silhouette", "macro_f1"):
            assert 0 < table.loc[name, key] <= 1, key
    # the test split's errors at the seam lie in the regions of the training errors, far above the share of
    # its points there; its errors in the middle of c do not: fewer of its errors are there than of train's
    test, train = table.loc["test"], table.loc["train"]
    assert 0.2 < test["errors_in_reference_regions"] < 0.8 * train["errors_in_reference_regions"]
    assert test["errors_in_reference_regions"] > 2 * test["points_in_reference_regions"]
    saved = json.loads((store.path / "analysis" / "analysis.json").read_text())
    assert [row["split"] for row in saved["splits"]] == ["train", "test"]
    page = clsmap.report(store, tmp_path / "report.html", analysis=analysis).read_text()
    assert 'id="splits"' in page and "errors_in_reference_regions" in page


def test_split_metrics_without_a_map_or_predictions():
    labels = np.array(["a", "b"] * 10)
    result = split_metrics(np.array(["x"] * 12 + ["y"] * 8, dtype=object), labels, agreement=np.ones(20))
    table = result.frame
    assert table["split"].tolist() == ["x", "y"] and table["knn_purity"].tolist() == [1.0, 1.0]
    assert table[["accuracy", "errors_in_reference_regions"]].isna().all().all()
    assert result.reference == "x"


def test_figure_and_map_draw_splits_apart(tmp_path):
    store = _planted(tmp_path / "s", n=300)
    model = render_model(store)
    assert model.splits == ["train", "test"]
    assert model.held_out(store.frame).sum() == (store.frame["split"] == "test").sum()
    fig = clsmap.render.map_figure(store)
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "split train" in legend and "split test" in legend and "rings" in legend
    hollow = [c for c in fig.axes[0].collections if len(c.get_facecolors()) == 0]
    assert hollow and len(hollow[0].get_offsets()) == (store.frame["split"] == "test").sum()
    meta, cols = page_parts(map_html(store))
    assert meta["splits"] == ["train", "test"]
    assert [meta["splits"][k] for k in cols["split"]] == store.frame["split"].tolist()
    # one split alone
    test = clsmap.render.map_figure(store, split="test")
    n_test = int((store.frame["split"] == "test").sum())
    assert f"split test ({n_test:,} rows)" in test._suptitle.get_text()
    wrong_test = int((~store.frame["correct"].astype(bool) & (store.frame["split"] == "test")).sum())
    assert sum(len(c.get_offsets()) for c in test.axes[0].collections) == n_test + wrong_test  # points + crosses
    with pytest.raises(ClsmapError, match="no such split; its splits are 'train', 'test'"):
        clsmap.plot(store, tmp_path / "x", split="tset")


def test_a_store_without_splits_draws_as_before(tmp_path):
    rng = np.random.default_rng(0)
    store = synthetic_store(tmp_path / "s", rng.normal(size=(40, 2)), [f"t{i}" for i in range(40)],
                            labels=["a", "b"] * 20, preds=["a"] * 40)
    assert store.splits == [] and render_model(store).splits == []
    meta, cols = page_parts(map_html(store))
    assert meta["splits"] == [] and "split" not in cols
    assert clsmap.analyze(store, layers=False, write=False).splits is None


def test_cli_map_of_two_files(tiny_bert, labeled_csv, tmp_path):
    train = labeled_csv(40, seed=1, name="train.csv")
    test = labeled_csv(20, seed=2, name="test.csv")
    out = tmp_path / "out"
    assert main(["map", str(tiny_bert), str(train), str(test), "-o", str(out), "--dtype", "float32"]) == 0
    store = clsmap.open_store(out)
    assert store.splits == ["train", "test"] and (store.frame["split"] == "test").sum() == 20
    saved = json.loads((out / "report.json").read_text())
    assert [row["split"] for row in saved["splits"]] == ["train", "test"]


def test_korean_split_names(tmp_path):
    data = {"학습": pd.DataFrame({"text": ["가", "나"], "label": ["x", "y"]}),
            "평가": pd.DataFrame({"text": ["다", "라"], "label": ["x", "y"]})}
    texts = clsmap.read_dataset(data)
    assert texts.splits == ["학습", "학습", "평가", "평가"]
    rng = np.random.default_rng(0)
    store = synthetic_store(tmp_path / "s", rng.normal(size=(40, 2)), [f"글 {i}" for i in range(40)],
                            labels=["x", "y"] * 20, preds=["x"] * 40, splits=["학습"] * 30 + ["평가"] * 10)
    assert store.splits == ["학습", "평가"]  # no 'train': the first split is the reference
    meta, cols = page_parts(map_html(store))
    assert meta["splits"] == ["학습", "평가"] and int((cols["split"] == 1).sum()) == 10
    legend = " ".join(t.get_text() for t in clsmap.render.map_figure(store).legends[0].get_texts())
    assert "split 학습" in legend and "split 평가" in legend
