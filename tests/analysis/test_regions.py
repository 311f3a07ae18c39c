"""Confusion regions: what each one claims (at least 2x the overall error rate, at most 10 % of the
points, significant), none when errors are diffuse, stable under subsampling, outlines that hold
exactly the points counted, and the regions file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clsmap.analysis import Regions, RegionOptions, confusion_regions, read_regions, region_membership
from clsmap.analysis.files import write_regions
from clsmap.analysis.knn import knn_indices
from clsmap.analysis.regions import region_coverage
from clsmap.analysis.results import RegionCoverage
from clsmap.analysis.scan import Grid, llr, outline

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _planted import blobs, planted  # noqa: E402  (the maps bench/regions.py measures)


def check_claims(regions, flags):
    """Every region holds what it claims: rate >= 2x overall, <= 10 % of the points, p <= alpha."""
    overall = flags.mean()
    assert isinstance(regions, Regions) and regions.overall_rate == pytest.approx(overall)
    assert regions.measure == "error" and regions.n_candidates >= len(regions)
    assert regions.min_enrichment == 2 and regions.max_share == 0.10 and 0 < regions.alpha < 1
    assert regions.cells is None or (8 <= regions.cells and regions.cell_size > 0)
    for r in regions.frame.itertuples():
        assert r.rate >= 2 * overall - 1e-12 and r.enrichment == pytest.approx(r.rate / overall)
        assert r.share_points <= 0.10 and r.n <= 0.10 * len(flags)
        assert 0 < r.p_value <= regions.alpha


@pytest.mark.parametrize("n", [600, 25_000])
def test_planted_areas_are_found_and_claims_hold(n):
    xy, labels, preds, discs = planted(n, seed=n)
    regions = confusion_regions(xy, labels, preds=preds, texts=[f"t{i}" for i in range(n)])
    wrong = preds != labels
    check_claims(regions, wrong)
    member = region_membership(xy, regions)
    assert (regions.frame["n"].to_numpy() == np.bincount(member, minlength=len(regions) + 1)[1:]).all()
    found = [(member[d] > 0).mean() >= 0.5 for d in discs]
    # at 600 points a disc holds 18 points, 9 of them wrong: most, not all, are found
    assert sum(found) >= (len(discs) if n > 1000 else len(discs) - 2), found
    in_disc = np.any(discs, axis=0)
    false = [i for i in regions.frame["region_id"] if in_disc[member == i].mean() < 0.5]
    assert len(false) <= 1
    assert list(regions.frame["region_id"]) == list(range(1, len(regions) + 1))
    assert (np.diff(regions.frame["p_value"].to_numpy()) >= 0).all()  # strongest first
    # the permutations' 95th percentile of the best score: a region found at alpha 0.05 scores above it
    assert regions.null_llr_95 is not None and (regions.frame["llr"] > regions.null_llr_95).all()
    first = regions.frame.iloc[0]
    assert first["examples"] and all(preds[int(t[1:])] != labels[int(t[1:])] for t in first["examples"])
    assert first["polygon"][0] == first["polygon"][-1]


@pytest.mark.parametrize("n", [600, 25_000])
def test_diffuse_errors_give_no_region(n):
    xy, labels = blobs(n, seed=7)
    rng = np.random.default_rng(8)
    wrong = rng.random(n) < 0.15
    preds = np.where(wrong, np.where(labels == "c0", "c1", "c0"), labels)
    regions = confusion_regions(xy, labels, preds=preds)
    assert regions.frame.empty and regions.cells >= 8  # the map was scanned: nothing held
    coverage = region_coverage(xy, wrong, regions)
    assert isinstance(coverage, RegionCoverage) and coverage.n_regions == 0 and coverage.share_points == 0
    assert coverage.note.startswith("errors are diffuse: no region")
    assert coverage.overall_rate == pytest.approx(wrong.mean())


def test_false_regions_are_rare_under_the_null():
    """The p-value is calibrated for the many candidates: on 20 maps with uniform random errors,
    at most 3 give any region at alpha 0.05 (expected 1)."""
    hits = 0
    for seed in range(20):
        xy, labels = blobs(1500, seed=100 + seed)
        wrong = np.random.default_rng(seed).random(len(xy)) < 0.1
        preds = np.where(wrong, np.where(labels == "c0", "c1", "c0"), labels)
        hits += len(confusion_regions(xy, labels, preds=preds, seed=seed, options=RegionOptions(permutations=99))) > 0
    assert hits <= 3


def test_regions_are_stable_under_subsampling():
    xy, labels, preds, _ = planted(20_000, seed=3)
    full = confusion_regions(xy, labels, preds=preds)
    sample = np.random.default_rng(0).choice(len(xy), size=len(xy) // 10, replace=False)
    small = confusion_regions(xy[sample], labels[sample], preds=preds[sample])
    assert len(small) >= 3
    member_full, member_small = region_membership(xy, full), region_membership(xy, small)
    for region_id in small.frame["region_id"]:
        rows = member_small == region_id
        best = np.bincount(member_full[rows], minlength=len(full) + 1)[1:].argmax() + 1
        both = (rows & (member_full == best)).sum()
        assert both / (rows | (member_full == best)).sum() >= 0.5, region_id


def test_a_region_never_holds_more_than_a_tenth():
    """Errors at 50 % over a strip with 16 % of the points: the strip is split, or not reported."""
    rng = np.random.default_rng(0)
    xy = np.column_stack([rng.uniform(0, 10, 4000), rng.uniform(0, 4, 4000)])
    labels = np.where(xy[:, 0] < 5, "left", "right")
    strip = np.abs(xy[:, 0] - 5) < 0.8
    wrong = strip & (rng.random(4000) < 0.5) | (rng.random(4000) < 0.03)
    preds = np.where(wrong, np.where(labels == "left", "right", "left"), labels)
    regions = confusion_regions(xy, labels, preds=preds)
    check_claims(regions, wrong)
    assert len(regions) >= 2
    member = region_membership(xy, regions)
    assert strip[member > 0].mean() > 0.9  # what the regions mark is the strip
    assert {regions.frame.iloc[0]["true_label"], regions.frame.iloc[0]["pred_label"]} == {"left", "right"}


def test_regions_without_predictions_use_mixed_neighbourhoods():
    rng = np.random.default_rng(1)
    xy = np.column_stack([rng.uniform(0, 10, 3000), rng.uniform(0, 4, 3000)])
    labels = np.where(xy[:, 0] < 5, "left", "right")
    patch = np.linalg.norm(xy - [2.5, 2], axis=1) < 0.8
    swap = patch & (rng.random(3000) < 0.5)
    labels[swap] = np.where(labels[swap] == "left", "right", "left")
    regions = confusion_regions(xy, labels, neighbours=knn_indices(xy, k=10, metric="euclidean"))
    assert regions.measure == "mixed"
    assert len(regions) >= 1 and (regions.frame["n_errors"] == 0).all() and (regions.frame["n_mixed"] > 0).all()
    inside = region_membership(xy, regions) > 0
    # the patch holds 5 % of the map but most of what the regions mark (the rest: its rim, whose
    # neighbours lie in it)
    assert patch[inside].mean() > 0.5 and inside[patch].mean() > 0.6
    assert {regions.frame.iloc[0]["true_label"], regions.frame.iloc[0]["pred_label"]} == {"left", "right"}
    with pytest.raises(ValueError, match="preds= or neighbours="):
        confusion_regions(xy, labels)


def test_no_errors_gives_no_regions():
    xy, labels = blobs(600, seed=0)
    regions = confusion_regions(xy, labels, preds=labels)
    assert regions.frame.empty and regions.cells is None  # nothing flagged: the map is not scanned
    assert region_coverage(xy, labels != labels, regions).note.startswith("errors are diffuse")


@pytest.mark.parametrize("shape", ["one spot", "one line"])
def test_a_map_without_area_has_no_regions(shape):
    """A model that maps every text to one spot (or a line) gives a map without area: no region,
    no error (found merging the one-class training test with constant layers drawn as one point)."""
    rng = np.random.default_rng(0)
    t = rng.uniform(size=(300, 1))
    xy = np.zeros((300, 2)) if shape == "one spot" else np.hstack([t, 2 * t])
    labels = np.repeat(["a", "b"], 150)
    preds = np.where(rng.uniform(size=300) < 0.3, "b", "a")
    regions = confusion_regions(xy, labels, preds=preds)
    assert regions.frame.empty
    coverage = region_coverage(xy, preds != labels, regions)
    assert coverage.share_area == 0 and coverage.n_regions == 0


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9), st.integers(2, 9), st.integers(0, 2**32 - 1))
def test_outline_holds_exactly_its_cells(width, height, seed):
    """The outline of a 4-connected set of cells without holes contains the centres of its cells
    and no other, and its area is the cells' area."""
    from scipy.ndimage import binary_fill_holes, label

    rng = np.random.default_rng(seed)
    cells = rng.random((width, height)) < 0.6
    labels, found = label(cells)
    if not found:
        return
    mask = binary_fill_holes(labels == np.bincount(labels.ravel())[1:].argmax() + 1)
    mask = label(mask)[0] == 1
    grid = Grid(origin=np.array([-3.0, 5.0]), size=0.5, shape=mask.shape, cell_of=np.zeros(0, dtype=np.int64),
                counts=np.zeros(mask.shape))
    ring = outline(mask, grid)
    assert np.allclose(ring[0], ring[-1])
    i, j = np.meshgrid(np.arange(width), np.arange(height), indexing="ij")
    centres = grid.origin + (np.column_stack([i.ravel(), j.ravel()]) + 0.5) * grid.size
    from matplotlib.path import Path as MplPath

    assert (MplPath(ring).contains_points(centres) == mask.ravel()).all()
    x, y = ring[:, 0], ring[:, 1]
    area = 0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(y[:-1], x[1:]))
    assert area == pytest.approx(mask.sum() * grid.size**2)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 500), st.integers(0, 500), st.integers(1, 2000), st.integers(0, 2000))
def test_scan_statistic_is_zero_unless_the_inside_is_worse(n, e, m, f):
    e, f = min(e, n), min(f, m)
    score = float(llr(n, e, n + m, e + f))
    assert score >= 0
    if e * m <= f * n:
        assert score == 0
    elif e + f < n + m:  # more flags inside than the same rate would give: the score grows with them
        assert score > 0


def test_regions_file_schema_2_and_older_files(tmp_path):
    xy, labels, preds, _ = planted(3000, seed=5)
    texts = ['<script>alert("x")</script>' for _ in range(len(xy))]
    regions = confusion_regions(xy, labels, preds=preds, texts=texts)
    assert len(regions) >= 1
    path = write_regions(tmp_path, regions, column="vector")
    assert path == tmp_path / "analysis" / "regions.json" and not list(path.parent.glob("*.tmp"))
    data = json.loads(path.read_text(encoding="utf-8"))
    back = read_regions(tmp_path, "vector")  # read back as typed regions, checked once
    assert back.measure == "error" and back.overall_rate == pytest.approx(regions.overall_rate)
    assert back.frame.to_dict("records") == data["regions"]
    assert read_regions(tmp_path, "another column") is None
    assert data["schema"] == 2 and data["column"] == "vector" and data["measure"] == "error"
    assert data["overall_rate"] == pytest.approx((preds != labels).mean())
    region = data["regions"][0]
    assert set(region) == {"region_id", "polygon", "n", "n_errors", "error_rate", "rate", "enrichment", "p_value",
                           "purity", "true_label", "pred_label", "examples"}
    assert len(region["polygon"]) >= 5  # a closed ring
    assert all(len(p) == 2 and all(isinstance(v, float) for v in p) for p in region["polygon"])
    assert region["examples"][0] == texts[0] and region["enrichment"] >= 2
    assert read_regions(tmp_path / "nowhere", "vector") is None
    old = {"schema": 1, "column": "vector", "regions": [{"region_id": 1, "polygon": [[0, 0], [1, 0], [0, 1]]},
                                                          {"region_id": 2, "polygon": [[0, 0], [1, 0]]}]}
    path.write_text(json.dumps(old), encoding="utf-8")
    back = read_regions(tmp_path, "vector")  # schema 1 files are still read; an unusable outline is left out
    assert list(back.frame["region_id"]) == [1] and back.measure is None and back.frame["p_value"].isna().all()
    path.write_text(json.dumps({**old, "schema": 3}), encoding="utf-8")
    assert read_regions(tmp_path, "vector") is None  # a newer schema is refused (with a warning)


def test_an_area_below_twice_the_rate_is_no_candidate():
    """A block whose smoothed rate passes the first search level (1.5x) but whose own rate is 1.8x
    the overall rate is searched again higher up, where it vanishes: no candidate."""
    from clsmap.analysis.scan import Scan

    counts = np.full((40, 40), 60.0)
    flagged = counts * 0.08
    flagged[10:20, 10:20] = counts[10:20, 10:20] * 0.08 * 1.9
    base = flagged.sum() / counts.sum()
    assert 1.5 * base < 0.08 * 1.9 < 2 * base
    scan = Scan(base=base, min_enrichment=2.0, max_points=0.1 * counts.sum(), min_points=10, min_flags=5,
                bandwidth=1.0, floor=1.0)
    scores, masks, _ = scan.run(counts, flagged, keep=True)
    assert all(flagged[m].sum() >= 2 * base * counts[m].sum() for m in masks)
    assert len(scores) == 0
