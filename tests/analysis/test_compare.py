"""clsmap compare: two stores of the same texts, matched by id, side by side; the moved-most ranking, the
change kinds, the metric diff and regions, the alignment's measurement, and the page (decoded here; its
linked maps are driven in chromium by tests/browser/test_compare_browser.py)."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clsmap
from clsmap import ClsmapError
from clsmap.analysis import compare
from clsmap.analysis.changes import change_kinds, neighbour_change
from clsmap.cli import main
from clsmap.render import write_compare
from clsmap.render.payload import normalise
from clsmap.store import synthetic_store
from support.pages import page_parts

N = 600
CENTRES = {"a": (0.0, 0.0), "b": (4.0, 0.0), "c": (2.0, 5.0)}


def _stores(root):
    """A: three blobs, errors piled on the seam of a and b (a confusion region). B: the same texts, in
    another row order, with class c moved into the middle of class a, and the seam's errors fixed."""
    rng = np.random.default_rng(0)
    labels = np.array(["a", "b", "c"])[np.arange(N) % 3]
    xy = np.array([CENTRES[c] for c in labels]) + rng.normal(size=(N, 2))
    noise = rng.normal(size=(N, 6)) * 0.3
    preds = labels.copy()
    seam = (np.abs(xy[:, 0] - 2.0) < 0.9) & (np.abs(xy[:, 1]) < 1.5) & (labels != "c")
    preds[seam] = np.where(labels[seam] == "a", "b", "a")
    texts = [f"text {i}" for i in range(N)]
    a = synthetic_store(root / "a", xy, texts, labels=list(labels), preds=list(preds), vectors=np.hstack([xy, noise]))
    moved = labels == "c"
    xy_b = xy.copy()
    xy_b[moved] = xy[moved] - CENTRES["c"] + rng.normal(size=(moved.sum(), 2)) * 0.1
    preds_b = labels.copy()
    preds_b[moved & (rng.random(N) < 0.5)] = "a"
    order = rng.permutation(N)
    b = synthetic_store(root / "b", xy_b[order], [texts[i] for i in order], labels=list(labels[order]),
                        preds=list(preds_b[order]), ids=[str(i) for i in order],
                        vectors=np.hstack([xy_b, noise])[order], model="model-b")
    return a, b


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    return _stores(tmp_path_factory.mktemp("compare"))


@pytest.fixture(scope="module")
def planted(stores):
    return compare(*stores)


def test_a_store_compared_with_itself_is_unchanged(stores):
    a, _ = stores
    same = compare(a, a, alignment="procrustes")
    assert set(same.rows["change"]) <= {"still right", "still wrong"}
    assert same.summary["n_fixed"] == same.summary["n_broken"] == 0
    assert (same.rows["moved"] == 0).all() and (same.moved_most(None)["moved"] == 0).all()
    assert same.metrics["difference"].abs().max() == 0 and len(same.metrics) >= 6
    diffs = same.per_class.filter(like="_diff")
    assert diffs.shape[1] >= 3 and np.nanmax(np.abs(diffs.to_numpy())) == 0
    assert (same.regions["status"] == "kept").all() and same.summary["n_regions_disappeared"] == 0
    assert same.alignment["procrustes"] == pytest.approx(0, abs=1e-9)
    np.testing.assert_allclose(same.xy_a, same.xy_b, atol=1e-6)


def test_the_planted_change_moves_most(planted, stores):
    a, b = stores
    rows = planted.rows
    assert rows["id"].tolist() == a.frame["id"].tolist()  # A's order, B matched by id
    top = planted.moved_most(100)
    assert (top["label"] == "c").mean() >= 0.8
    moved = rows.groupby("label")["moved"].mean()
    assert moved["c"] > 0.5 and moved["b"] < 0.1  # class b was left alone
    # B's own rows, found by id, carry B's predictions
    b_pred = b.frame.set_index("id")["pred"]
    assert (rows["pred_b"].to_numpy() == b_pred.loc[rows["id"]].to_numpy()).all()
    assert planted.summary["n_fixed"] > 0 and planted.summary["n_broken"] > 0
    # the seam's region of A is gone in B, whose errors sit elsewhere
    assert planted.summary["n_regions_disappeared"] >= 1
    accuracy = planted.metrics.set_index("metric").loc["accuracy"]
    assert accuracy["difference"] == pytest.approx(accuracy["b"] - accuracy["a"])
    assert accuracy["a"] == pytest.approx(a.accuracy) and accuracy["b"] == pytest.approx(b.accuracy)


def test_alignment_is_measured_and_the_better_way_kept(planted):
    record = planted.alignment
    assert record["joint"] is not None and record["procrustes"] > 0
    assert record["chosen"] == ("joint" if record["joint"] < record["procrustes"] else "procrustes")
    assert record["n_unchanged"] >= record["sample"] // 4
    # the kept maps leave the unchanged texts where they were, within the measured displacement
    unchanged = planted.rows["moved"].to_numpy() <= record["unchanged_below"]
    spread = np.sqrt(((planted.xy_a - planted.xy_a.mean(0)) ** 2).sum(1).mean())
    distance = np.linalg.norm(planted.xy_a - planted.xy_b, axis=1)[unchanged] / spread
    assert np.median(distance) <= min(record["joint"], record["procrustes"]) * 1.5 + 0.05


def test_mismatched_ids_are_one_clear_error(stores, tmp_path):
    a, _ = stores
    rng = np.random.default_rng(1)
    ids = [str(i) for i in range(N - 5)] + [f"new-{i}" for i in range(5)]
    other = synthetic_store(tmp_path / "other", rng.normal(size=(N, 2)), [f"t{i}" for i in range(N)],
                            labels=["a"] * N, ids=ids)
    with pytest.raises(ClsmapError, match=r"do not hold the same texts: 5 of A's 600 ids are not in B and 5 of B's "
                                          r"600 ids are not in A"):
        compare(a, other)
    assert main(["compare", str(a.path), str(other.path), "-o", str(tmp_path / "x.html")]) == 2


def test_neighbour_change_is_one_minus_jaccard():
    # directions 0, 10, 20, 90, 100, 110 degrees; in B rows 2 and 3 trade places
    angles = np.radians([0, 10, 20, 90, 100, 110])
    A = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    B = A[[0, 1, 3, 2, 4, 5]]
    moved = neighbour_change(A, B, k=2)
    # row 0: {1, 2} in A, {1, 3} in B: Jaccard 1/3; row 4: {3, 5} in A, {2, 5} in B
    assert moved[0] == pytest.approx(2 / 3) and moved[4] == pytest.approx(2 / 3)


def test_change_kinds():
    kinds = change_kinds([False, True, False, True, None, True], [True, False, False, True, True, None])
    assert kinds.tolist() == ["fixed", "broken", "still wrong", "still right", "unknown", "unknown"]


@settings(max_examples=25, deadline=None)
@given(st.integers(12, 40), st.integers(0, 10_000))
def test_neighbour_change_bounds(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, 5))
    B = rng.normal(size=(n, 5))
    assert (neighbour_change(A, A, k=5) == 0).all()
    moved = neighbour_change(A, B, k=5)
    assert ((moved >= 0) & (moved <= 1)).all()
    np.testing.assert_allclose(moved, neighbour_change(B, A, k=5))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 60), st.integers(1, 8), st.integers(1, 8), st.integers(0, 10_000))
def test_shared_neighbour_counts_is_the_overlap_of_the_two_sets(n, k, k2, seed):
    """The one overlap of two neighbour lists (k-NN preservation, neighbour change, alignment, recall) is
    the size of the intersection of each row's two sets, whatever the widths."""
    from clsmap.analysis.knn import shared_neighbour_counts
    from clsmap.analysis.faithfulness import shared_neighbours

    rng = np.random.default_rng(seed)
    pool = max(k, k2) + 3
    a = np.stack([rng.choice(pool, size=k, replace=False) for _ in range(n)])
    b = np.stack([rng.choice(pool, size=k2, replace=False) for _ in range(n)])
    counts = shared_neighbour_counts(a, b)
    assert counts.tolist() == [len(set(x) & set(y)) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    assert shared_neighbours(a, b) == pytest.approx(counts.sum() / a.size)
    assert (shared_neighbour_counts(a, a) == k).all()


def test_spread_is_the_root_mean_square_distance_to_the_centre():
    from clsmap.analysis.changes import displacement
    from clsmap.analysis.layers import spread

    square = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]]) + 5.0
    assert spread(square) == pytest.approx(np.sqrt(2))
    assert spread(np.zeros((0, 2))) == 0.0 and spread(np.ones((3, 2))) == 0.0  # callers decide what zero means
    # a map all at one place: displacements are in absolute units rather than divided by zero
    assert displacement(np.ones((3, 2)), np.zeros((3, 2))) == pytest.approx(np.full(3, np.sqrt(2)))


def test_the_page_and_compare_json(planted, tmp_path):
    path = write_compare(planted, tmp_path / "compare.html", top=20)
    page = path.read_text()
    numbers = json.loads((tmp_path / "compare.json").read_text())
    assert numbers["moved_most"][0]["moved"] == pytest.approx(planted.rows["moved"].max())
    assert {row["metric"] for row in numbers["metrics"]} >= {"accuracy", "knn_purity", "linear_probe_accuracy",
                                                            "silhouette"}
    assert numbers["alignment"]["chosen"] == planted.alignment["chosen"]
    assert numbers["summary"]["n_regions_disappeared"] == planted.summary["n_regions_disappeared"]
    docs = re.findall(r'srcdoc="(.*?)"', page, re.S)
    assert len(docs) == 2 and page.count('id="clsmap-compare"') == 1
    metas = [page_parts(html.unescape(d)) for d in docs]
    for (meta, cols), xy in zip(metas, (planted.xy_a, planted.xy_b), strict=True):
        assert meta["linked"] and meta["n"] == N
        assert {m["key"] for m in meta["extra_modes"]} >= {"changed", "moved", "pred_a", "pred_b"}
        # both maps draw the same texts in the same (A's) order, at the aligned places
        assert cols["mode_changed"].tolist() == metas[0][1]["mode_changed"].tolist()
        np.testing.assert_allclose(np.stack([cols["x"], cols["y"]], axis=1), normalise(xy)[0], atol=1e-6)
    changed = metas[0][0]["extra_modes"][0]
    assert [changed["names"][k] for k in metas[1][1]["mode_changed"]] == planted.rows["change"].tolist()
    rows = re.findall(r'<tr data-row="(\d+)"', page)
    assert len(rows) == 20 and int(rows[0]) == int(np.argmax(planted.rows["moved"].to_numpy()))


def test_report_has_a_compare_section(planted, stores, tmp_path):
    a, b = stores
    page = clsmap.report(b, tmp_path / "report.html", analysis=planted.analysis_b, comparison=planted).read_text()
    assert 'id="compare-changed"' in page and 'id="compare-metric-diff"' in page and 'id="compare-moved"' in page
    numbers = json.loads((tmp_path / "report.json").read_text())
    assert numbers["compare"]["summary"]["n_rows"] == N


def test_cli_compares_two_layers_of_one_store(tiny_bert, labeled_csv, tmp_path):
    store = clsmap.extract(tiny_bert, labeled_csv(40), tmp_path / "s", layer="all", dtype="float32", progress=False)
    out = tmp_path / "layers.html"
    assert main(["compare", str(store.path), str(store.path), "--column-a", "layer_1", "--column-b", "layer_2",
                 "-o", str(out), "--alignment", "procrustes"]) == 0
    numbers = json.loads(out.with_suffix(".json").read_text())
    assert numbers["a"]["column"] == "layer_1" and numbers["b"]["column"] == "layer_2"
    assert numbers["summary"]["n_fixed"] == numbers["summary"]["n_broken"] == 0  # one model: one prediction
