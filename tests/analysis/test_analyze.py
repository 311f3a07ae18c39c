"""clsmap.analyze on real (tiny) stores: what it measures and writes, the layers' maps, bad options, and stores
without a classifier head or without labels (the report of the same stores: tests/render/test_report.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import clsmap
from clsmap.analysis import knn_purity, layer_curves, read_regions


def test_analyze_measures_the_store(layered_store):
    store = layered_store
    result = clsmap.analyze(store)
    labels = store.frame["label"].to_numpy()
    summary = result.summary
    assert summary["n_rows"] == 60 and summary["labels_from"] == "label"
    assert summary["accuracy"] == pytest.approx(store.accuracy)
    assert summary["knn_purity"] == pytest.approx(knn_purity(store.vectors, labels))
    for key in ("macro_f1", "silhouette", "linear_probe_accuracy", "map_knn_purity", "trustworthiness",
                "knn_preservation"):
        assert summary[key] is not None and np.isfinite(summary[key]), key
    assert 0 <= summary["trustworthiness"] <= 1 and 0 <= summary["knn_preservation"] <= 1
    steps = summary["step_seconds"]  # where the time went, step by step (bench/pipeline.py reads it)
    assert {"neighbours", "probe", "regions", "label flags"} <= set(steps)
    assert all(v >= 0 for v in steps.values()) and sum(steps.values()) <= summary["seconds"] + 0.01
    assert set(result.per_class["label"]) == {"ham", "spam"}
    assert {"knn_purity", "map_knn_purity", "silhouette", "precision", "recall", "f1"} <= set(result.per_class)
    assert result.confusion["count"].sum() == 60
    issues = result.label_issues.frame
    assert len(issues) == 60 and list(issues["rank"]) == list(range(1, 61))
    assert issues["text"].isin(store.frame["text"]).all()
    # layers: embeddings + 2 encoder layers of the tiny model, each with an aligned map
    assert list(result.layers["column"]) == ["layer_0", "layer_1", "layer_2"]
    expected = layer_curves({c: store.vectors_of(c) for c in store.vector_columns}, labels, silhouette_sample=2000)
    assert np.allclose(result.layers["knn_purity"], expected["knn_purity"])
    assert set(result.layer_maps) == {"layer_0", "layer_1", "layer_2"}
    # written into the store
    saved = json.loads((store.path / "analysis" / "analysis.json").read_text(encoding="utf-8"))
    assert saved["summary"]["knn_purity"] == pytest.approx(summary["knn_purity"])
    regions = read_regions(store, store.default_vector)
    assert regions.measure == result.regions.measure and len(regions) == len(result.regions)
    assert json.loads((store.path / "analysis" / "regions.json").read_text(encoding="utf-8"))["schema"] == 2


def _spread(xy):
    return float(np.sqrt(((xy - xy.mean(axis=0)) ** 2).sum(axis=1).mean()))


def test_the_layer_grid_has_spread_where_the_layers_do(layered_store):
    """Layer 0's [CLS] of a BERT is the same vector for every text, so its map is one point: the grid
    marks it as such, and the later layers keep their spread instead of being scaled onto it."""
    from clsmap.projection.reducers import is_constant
    from clsmap.render import render_model
    from clsmap.render.figures import layer_grid_figure

    store = layered_store
    assert is_constant(store.vectors_of("layer_0")) and not is_constant(store.vectors_of("layer_1"))
    assert np.ptp(store.projection_of("layer_0")[["x", "y"]].to_numpy(), axis=0).max() == 0  # no fit on it
    maps = clsmap.analyze(store, write=False).layer_maps
    last = _spread(maps["layer_2"])
    assert last > 0 and _spread(maps["layer_1"]) > 0.5 * last
    assert np.ptp(maps["layer_0"], axis=0).max() == 0
    fig = layer_grid_figure(maps, store.frame["label"], render_model(store))
    marked = [ax.get_title() for ax in fig.axes if any("constant: all texts at one point" in t.get_text()
                                                       for t in ax.texts)]
    assert marked == ["layer 0"]
    for ax in fig.axes[1:3]:  # the points of every other panel cover a good part of its axes
        drawn = np.asarray(ax.collections[0].get_offsets())
        assert len(drawn) == len(store)
        for k, limits in enumerate((ax.get_xlim(), ax.get_ylim())):
            assert np.ptp(drawn[:, k]) > 0.3 * (limits[1] - limits[0]), ax.get_title()


def test_analyze_refuses_bad_options(layered_store):
    with pytest.raises(ValueError, match="'probs' parameter of analyze"):
        clsmap.analyze(layered_store, probs="magic")
    with pytest.raises(clsmap.ClsmapError, match="no vector column 'nope'"):
        clsmap.analyze(layered_store, column="nope", write=False)


def test_store_without_a_classifier_head(tiny_bert_encoder, labeled_csv, tmp_path):
    store = clsmap.extract(tiny_bert_encoder, labeled_csv(40), tmp_path / "enc", dtype="float32", progress=False)
    clsmap.project(store, method="pca")
    result = clsmap.analyze(store, write=False)
    assert result.summary["accuracy"] is None and result.confusion is None
    assert result.label_issues is not None and result.summary["trustworthiness"] is not None
    assert not (tmp_path / "enc" / "analysis").exists()


def test_store_without_labels_is_measured_against_predictions(tiny_bert, labeled_csv, tmp_path):
    data = clsmap.read_dataset(labeled_csv(40), label_column=False)
    store = clsmap.extract(tiny_bert, data, tmp_path / "nolabels", dtype="float32", progress=False)
    clsmap.project(store, method="pca")
    result = clsmap.analyze(store, write=False)
    assert result.summary["labels_from"] == "pred" and result.summary["accuracy"] is None
    assert result.label_issues is None and result.confusion is None
    page = clsmap.report(store, tmp_path / "nolabels.html", analysis=result).read_text(encoding="utf-8")
    assert 'id="mislabeled"' not in page and 'id="map"' in page
