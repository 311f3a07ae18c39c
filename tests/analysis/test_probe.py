"""The torch probe (clsmap.analysis.probe) fits what scikit-learn's probe fits, out of sample, at a
bounded cost."""

from __future__ import annotations

import numpy as np
import pytest

from clsmap.analysis import out_of_sample_probs
from clsmap.analysis.metrics import TORCH_PROBE_FROM, _probe
from clsmap.analysis.probe import _stratified_sample, cross_val_probs, fit_probe


def overlapping(n: int, classes: int = 5, dim: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, classes, n)
    X = rng.normal(size=(classes, dim))[codes] * 0.6 + rng.normal(size=(n, dim))
    X[:, 0] *= 50  # scales differ: the standardisation matters
    return X.astype(np.float32), codes


def test_the_fit_is_scikit_learns():
    X, codes = overlapping(1500)
    mean, std, W, b = fit_probe(X, codes, 5)
    logits = ((X - mean) / std) @ W + b
    ours = np.exp(logits - logits.max(axis=1, keepdims=True))
    ours /= ours.sum(axis=1, keepdims=True)
    theirs = _probe(0).fit(X, codes).predict_proba(X)
    assert np.abs(ours - theirs).mean() < 0.01 and (ours.argmax(1) == theirs.argmax(1)).mean() > 0.98


def test_out_of_sample_probs_switches_to_the_torch_probe_with_the_same_answers():
    X, codes = overlapping(TORCH_PROBE_FROM + 500, seed=1)
    labels = np.array([f"c{c}" for c in codes])
    probs, classes = out_of_sample_probs(X, labels)
    assert classes == [f"c{c}" for c in range(5)] and probs.shape == (len(X), 5)
    assert np.allclose(probs.sum(axis=1), 1.0)
    small = out_of_sample_probs(X[:TORCH_PROBE_FROM - 1], labels[:TORCH_PROBE_FROM - 1])[0]  # scikit-learn
    accuracy = (probs.argmax(1) == codes).mean()
    assert abs(accuracy - (small.argmax(1) == codes[:len(small)]).mean()) < 0.02
    assert accuracy > 0.6


def test_rows_are_scored_by_probes_that_did_not_see_them():
    """A row whose label is changed keeps its own probabilities close: its fold's probe never saw it
    (only the other folds' probes, and the fold split, change)."""
    X, codes = overlapping(600, dim=128, seed=2)  # few rows, many dimensions: a fit memorises its rows
    before = cross_val_probs(X, codes, 5, folds=5, seed=0)
    changed = codes.copy()
    changed[:20] = (codes[:20] + 1) % 5
    after = cross_val_probs(X, changed, 5, folds=5, seed=0)
    # a probe that had seen the new labels would move these rows' probabilities towards them (fitted
    # on all rows, in sample: by 0.9 on average)
    moved = after[np.arange(20), changed[:20]] - before[np.arange(20), changed[:20]]
    assert np.abs(moved).mean() < 0.1


@pytest.mark.parametrize("size", [60, 500])
def test_capped_fits_keep_every_class_and_stay_accurate(size):
    X, codes = overlapping(4000, seed=3)
    rows = np.arange(len(codes))
    picked = _stratified_sample(codes, rows, size, np.random.default_rng(0))
    assert set(codes[picked]) == set(range(5)) and abs(len(picked) - size) <= 5
    capped = cross_val_probs(X, codes, 5, folds=5, seed=0, max_fit_rows=500)
    full = cross_val_probs(X, codes, 5, folds=5, seed=0)
    assert (capped.argmax(1) == codes).mean() > (full.argmax(1) == codes).mean() - 0.05
