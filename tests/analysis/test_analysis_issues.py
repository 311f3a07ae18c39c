"""Likely-mislabeled rows on data with planted structure (regions: tests/analysis/test_regions.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clsmap.analysis import LabelFlags, label_issue_scores
from clsmap.analysis.label_issues import cleanlab_issues


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
    flags = label_issue_scores(X, noisy)
    assert isinstance(flags, LabelFlags) and len(flags) == len(X)
    scores = flags.frame
    assert list(scores.columns) == ["row", "label", "p_given", "knn_given", "q_given", "suggested_label",
                                    "q_suggested", "score", "flagged", "rank"]
    top = set(scores.nsmallest(len(flipped), "rank")["row"])
    assert top == set(flipped)
    flagged = set(scores.loc[scores["flagged"], "row"])
    assert len(flagged & set(flipped)) >= 0.8 * len(flipped) and len(flagged) <= len(flipped) + 3
    assert (scores["rank"].sort_values().to_numpy() == np.arange(1, len(X) + 1)).all()


def test_clean_labels_flag_almost_nothing():
    X, clean, _, _ = planted(seed=1)
    assert label_issue_scores(X, clean).frame["flagged"].sum() <= 2


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000))
def test_issue_scores_ignore_row_order_given_the_same_probabilities(seed):
    X, _, noisy, _ = planted(seed=seed, n_per=30, flips=5)
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(4), size=len(X))
    classes = sorted(set(noisy))
    order = rng.permutation(len(X))
    a = label_issue_scores(X, noisy, probs=probs, classes=classes).frame
    b = label_issue_scores(X[order], noisy[order], probs=probs[order], classes=classes).frame
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
