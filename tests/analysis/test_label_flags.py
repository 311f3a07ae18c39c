"""Label flags you can trust: as many flags as wrong labels, flags that are the top of the
ranking, none on vectors that cannot tell, and a report that says which."""

from __future__ import annotations

import re

import numpy as np
import pytest

import clsmap
from clsmap.analysis import label_issue_scores
from clsmap.analysis.label_issues import estimate_issue_count, flag_gate
from clsmap.store import synthetic_store


def overlapping(seed: int = 0, n: int = 900, classes: int = 6, noise: float = 0.05, spread: float = 1.0):
    """Gaussian classes that overlap (a probe is right on ~85-95 % of rows), with ``noise`` of the
    labels changed to another class at random. Returns X, noisy labels, the flipped mask."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, 16)) * 1.6
    truth = rng.integers(0, classes, n)
    X = (centres[truth] + spread * rng.normal(size=(n, 16))).astype(np.float32)
    noisy = truth.copy()
    flipped = rng.choice(n, size=int(round(noise * n)), replace=False)
    noisy[flipped] = (truth[flipped] + rng.integers(1, classes, len(flipped))) % classes
    mask = np.zeros(n, dtype=bool)
    mask[flipped] = True
    return X, np.array([f"c{v}" for v in noisy]), mask


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flag_count_follows_the_planted_count_and_flags_are_right(seed):
    X, noisy, flipped = overlapping(seed)
    flags = label_issue_scores(X, noisy, seed=seed)
    scores = flags.frame
    flagged = scores["flagged"].to_numpy()
    assert flags.note is None and flags.accuracy > 0.75 and flags.accuracy >= flags.needed > flags.chance
    assert 0 < flags.weight < 1 and flags.n_flagged == flagged.sum() <= flags.n_estimated
    assert 0.5 * flipped.sum() <= flagged.sum() <= 2 * flipped.sum()
    assert flipped[flagged].mean() >= 0.7  # precision
    # precision at k (k = planted) of the ranking
    top = scores.nsmallest(int(flipped.sum()), "rank")["row"].to_numpy()
    assert flipped[top].mean() >= 0.7


@pytest.mark.parametrize(("classes", "spread"), [(6, 1.0), (20, 1.5)])
def test_flagged_rows_are_exactly_a_top_prefix_of_the_ranking(classes, spread):
    # both maps have rows whose given label is their likeliest class yet score low (uncertain
    # rows): by score alone, 2 of them were flagged in the first and 18 ranked among the others
    X, noisy, _ = overlapping(3, n=1200, classes=classes, spread=spread, noise=0.1)
    flags = label_issue_scores(X, noisy)
    scores = flags.frame
    n = int(scores["flagged"].sum())
    assert n > 0 and flags.n_flagged == n
    assert set(scores.loc[scores["flagged"], "rank"]) == set(range(1, n + 1))
    assert bool(scores.loc[scores["rank"] == 1, "flagged"].item())
    by_rank = scores.sort_values("rank")
    agrees = (by_rank["suggested_label"] == by_rank["label"]).to_numpy()
    assert (np.diff(agrees.astype(int)) >= 0).all()  # rows whose label is their likeliest class come last
    for group in (by_rank[~agrees], by_rank[agrees]):
        assert group["score"].is_monotonic_decreasing
    flagged = scores[scores["flagged"]]
    assert (flagged["suggested_label"] != flagged["label"]).all()  # a flag never suggests the label it has


def test_clean_labels_estimate_few_wrong_labels():
    X, noisy, _ = overlapping(4, noise=0.0, spread=0.6)
    flags = label_issue_scores(X, noisy)
    assert flags.frame["flagged"].sum() <= 0.01 * len(X) and flags.n_estimated <= 0.01 * len(X)


def test_near_chance_vectors_flag_nothing_and_say_why():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(800, 16)).astype(np.float32)
    labels = rng.choice(["a", "b", "c", "d"], size=800)
    flags = label_issue_scores(X, labels)
    scores = flags.frame
    assert not scores["flagged"].any() and flags.n_flagged == 0
    assert "chance" in flags.note and flags.accuracy < flags.needed
    assert len(scores) == 800 and (np.sort(scores["rank"]) == np.arange(1, 801)).all()  # still ranked


def test_gate_measures_chance_by_the_majority_class():
    codes = np.array([0] * 90 + [1] * 10)
    chance, needed, note = flag_gate(0.91, codes, 2)
    assert chance == pytest.approx(0.9) and note is not None  # a probe that says "0" always is not evidence
    assert flag_gate(1.0, codes, 2)[2] is None
    # many rows, many classes: 8 points above a 23 % majority is too little skill to flag on
    codes = np.repeat(np.arange(19), 500)
    codes[:2000] = 0
    chance, needed, note = flag_gate(0.31, codes, 19)
    assert chance < 0.25 and note is not None and needed > 0.35
    assert flag_gate(0.5, codes, 19)[2] is None


def test_issue_count_estimate_tracks_the_planted_share():
    rng = np.random.default_rng(6)
    for share, n, c in ((0.02, 4000, 5), (0.1, 4000, 5), (0.2, 4000, 5), (0.05, 20000, 40)):
        codes = rng.integers(0, c, n)
        q = rng.dirichlet(np.full(c, 0.3), size=n) * 0.3
        q[np.arange(n), codes] += 0.7  # well-separated scores of the true class
        wrong = rng.random(n) < share
        given = np.where(wrong, (codes + rng.integers(1, c, n)) % c, codes)
        assert 0.7 * wrong.sum() <= estimate_issue_count(q, given) <= 1.3 * wrong.sum()


def test_report_lists_flagged_rows_first_and_states_the_probe_accuracy(tmp_path):
    X, noisy, flipped = overlapping(7, n=600)
    xy = X[:, :2]
    store = synthetic_store(tmp_path / "store", xy, [f"text {i}" for i in range(len(X))], labels=noisy,
                            vectors=X, method="pca")
    analysis = clsmap.analyze(store)
    summary = analysis.summary
    issues = analysis.label_issues.frame
    n = summary["n_flagged"]
    flags = analysis.label_issues  # the decision in the summary is the typed result's
    assert (flags.source, flags.n_flagged, flags.accuracy, flags.weight) == (
        "probe", n, summary["flags_accuracy"], summary["flags_weight"])
    assert n > 0 and issues["flagged"].head(n).all() and not issues["flagged"].iloc[n:].any()
    assert summary["flags_note"] is None and summary["flags_accuracy"] == pytest.approx(
        summary["linear_probe_accuracy"])
    page = clsmap.report(store, tmp_path / "report.html", analysis=analysis, top=2 * n).read_text(encoding="utf-8")
    section = page[page.index("Likely mislabeled"):]
    assert f"right on {100 * summary['flags_accuracy']:.1f}\u00a0%" in section
    assert f"{n:,} rows flagged" in section
    cells = re.findall(r"<td[^>]*>(yes|no)</td>", section)
    assert cells[:n] == ["yes"] * n and set(cells[n:]) == {"no"}


def test_report_says_why_nothing_is_flagged(tmp_path):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    labels = rng.choice(["a", "b", "c"], size=300)
    store = synthetic_store(tmp_path / "store", X[:, :2], [f"t{i}" for i in range(300)], labels=labels, vectors=X,
                            method="pca")
    analysis = clsmap.analyze(store)
    assert analysis.summary["n_flagged"] == 0 and "chance" in analysis.summary["flags_note"]
    page = clsmap.report(store, tmp_path / "r.html", analysis=analysis).read_text(encoding="utf-8")
    section = page[page.index("Likely mislabeled"):]
    assert f"right on {100 * analysis.summary['flags_accuracy']:.1f}\u00a0%" in section
    assert "Nothing is flagged: that is too close to chance" in section
