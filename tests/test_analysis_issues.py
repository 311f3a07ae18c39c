"""Likely-mislabeled rows and confusion regions on data with planted structure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clsmap.analysis import (
    cleanlab_issues,
    confusion_regions,
    knn_indices,
    label_issue_scores,
    read_regions,
    region_coverage,
    region_membership,
    write_regions,
)


def planted(seed: int = 0, n_per: int = 80, classes: int = 4, flips: int = 12):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, 12)) * 4
    X = np.concatenate([c + rng.normal(size=(n_per, 12)) for c in centers]).astype(np.float32)
    clean = np.repeat(np.array([f"c{i}" for i in range(classes)]), n_per)
    noisy = clean.copy()
    flipped = rng.choice(len(X), size=flips, replace=False)
    for i in flipped:
        noisy[i] = rng.choice([c for c in np.unique(clean) if c != clean[i]])
    return X, clean, noisy, np.sort(flipped)


def test_planted_mislabeled_rows_rank_at_the_top():
    X, _, noisy, flipped = planted()
    scores = label_issue_scores(X, noisy)
    assert list(scores.columns) == ["row", "label", "p_given", "knn_given", "q_given", "suggested_label",
                                    "q_suggested", "score", "flagged", "rank"]
    top = set(scores.nsmallest(len(flipped), "rank")["row"])
    assert top == set(flipped)
    flagged = set(scores.loc[scores["flagged"], "row"])
    assert len(flagged & set(flipped)) >= 0.8 * len(flipped) and len(flagged) <= len(flipped) + 3
    assert (scores["rank"].sort_values().to_numpy() == np.arange(1, len(X) + 1)).all()


def test_clean_labels_flag_almost_nothing():
    X, clean, _, _ = planted(seed=1)
    assert label_issue_scores(X, clean)["flagged"].sum() <= 2


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000))
def test_issue_scores_ignore_row_order_given_the_same_probabilities(seed):
    X, _, noisy, _ = planted(seed=seed, n_per=30, flips=5)
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(4), size=len(X))
    classes = sorted(set(noisy))
    order = rng.permutation(len(X))
    a = label_issue_scores(X, noisy, probs=probs, classes=classes)
    b = label_issue_scores(X[order], noisy[order], probs=probs[order], classes=classes)
    assert np.allclose(a["score"].to_numpy()[order], b["score"].to_numpy())
    assert (a["flagged"].to_numpy()[order] == b["flagged"].to_numpy()).all()


def test_bad_probabilities_are_refused():
    X, _, noisy, _ = planted(n_per=10, flips=2)
    with pytest.raises(ValueError, match="classes="):
        label_issue_scores(X, noisy, probs=np.ones((len(X), 4)) / 4)
    with pytest.raises(ValueError, match="not among the classes"):
        label_issue_scores(X, noisy, probs=np.ones((len(X), 4)) / 4, classes=["x", "y", "z", "w"])


def test_cleanlab_comparison_runs_on_the_same_inputs():
    pytest.importorskip("cleanlab")
    from clsmap.analysis import out_of_sample_probs

    X, _, noisy, flipped = planted()
    probs, classes = out_of_sample_probs(X, noisy)
    theirs = cleanlab_issues(noisy, probs, classes)
    assert theirs.dtype == bool and len(theirs) == len(X)
    assert theirs[flipped].mean() > 0.5


def two_classes_meeting(seed: int = 0):
    """Two classes side by side in 2-D; in the strip where they meet, labels are mixed and the
    'model' errs."""
    rng = np.random.default_rng(seed)
    xy = np.column_stack([rng.uniform(0, 10, 800), rng.uniform(0, 4, 800)])
    labels = np.where(xy[:, 0] < 5, "left", "right")
    strip = np.abs(xy[:, 0] - 5) < 0.8
    preds = labels.copy()
    wrong = strip & (rng.random(800) < 0.5)
    preds[wrong] = np.where(labels[wrong] == "left", "right", "left")
    labels_mixed = labels.copy()
    swap = strip & (rng.random(800) < 0.4)
    labels_mixed[swap] = np.where(labels[swap] == "left", "right", "left")
    return xy, labels_mixed, preds, strip


def test_regions_mark_where_classes_meet():
    xy, labels, preds, strip = two_classes_meeting()
    texts = [f"text {i}" for i in range(len(xy))]
    neighbours = knn_indices(xy, k=10, metric="euclidean")
    regions = confusion_regions(xy, labels, preds=preds, neighbours=neighbours, texts=texts)
    assert len(regions) >= 1
    assert list(regions["region_id"]) == list(range(1, len(regions) + 1))
    member = region_membership(xy, regions)
    wrong = preds != labels
    coverage = region_coverage(xy, wrong, regions)
    assert coverage["share_errors"] > 0.7  # most errors are inside a region...
    assert coverage["share_area"] < 0.45  # ...which marks much less than the map
    assert (member[strip] > 0).mean() > 0.6 and (member[np.abs(xy[:, 0] - 5) > 3] > 0).mean() < 0.05
    first = regions.iloc[0]
    assert {first["true_label"], first["pred_label"]} == {"left", "right"}
    assert 0 < first["error_rate"] <= 1 and 0.5 <= first["purity"] <= 1
    assert first["n_errors"] <= first["n"] and 1 <= len(first["examples"]) <= 3
    assert first["polygon"][0] == first["polygon"][-1]


def test_regions_without_predictions_use_mixed_neighbourhoods():
    xy, labels, _, strip = two_classes_meeting(0)
    regions = confusion_regions(xy, labels, neighbours=knn_indices(xy, k=10, metric="euclidean"))
    assert len(regions) >= 1 and (regions["n_errors"] == 0).all() and (regions["n_mixed"] > 0).all()
    inside = region_membership(xy, regions) > 0
    assert strip[inside].mean() > 0.8  # what the regions mark is where the labels mix
    assert {regions.iloc[0]["true_label"], regions.iloc[0]["pred_label"]} == {"left", "right"}
    with pytest.raises(ValueError, match="preds= or neighbours="):
        confusion_regions(xy, labels)


def test_no_points_of_interest_gives_no_regions():
    xy, labels, _, _ = two_classes_meeting()
    clean = np.where(xy[:, 0] < 5, "left", "right")
    assert confusion_regions(xy, clean, preds=clean).empty


def test_regions_file_follows_the_shared_schema(tmp_path):
    xy, labels, preds, _ = two_classes_meeting()
    texts = ['<script>alert("x")</script>' for _ in range(len(xy))]
    regions = confusion_regions(xy, labels, preds=preds, texts=texts)
    path = write_regions(tmp_path, regions, column="vector")
    assert path == tmp_path / "analysis" / "regions.json" and not list(path.parent.glob("*.tmp"))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == read_regions(tmp_path)
    assert data["schema"] == 1 and data["column"] == "vector"
    region = data["regions"][0]
    assert set(region) == {"region_id", "polygon", "n", "n_errors", "error_rate", "purity", "true_label",
                           "pred_label", "examples"}
    assert len(region["polygon"]) >= 4  # a closed ring
    assert all(len(p) == 2 and all(isinstance(v, float) for v in p) for p in region["polygon"])
    assert region["examples"][0] == texts[0]
    assert read_regions(tmp_path / "nowhere") is None
