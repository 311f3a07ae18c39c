"""Separation measures on data with known structure, and their invariances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.manifold import trustworthiness as sk_trustworthiness

from clsmap.analysis import knn_purity, linear_probe_accuracy, silhouette_per_class, trustworthiness
from clsmap.analysis.knn import knn_indices
from clsmap.analysis.layers import aligned_layer_maps, degenerate_maps, procrustes_align
from clsmap.analysis.faithfulness import knn_preservation
from clsmap.analysis.metrics import classification_metrics, confusion_frame, knn_purity_per_class
from clsmap.projection.reducers import is_constant, make_reducer


def blobs(n_per: int, classes: int, dim: int, spread: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, dim)) * 10
    X = np.concatenate([c + spread * rng.normal(size=(n_per, dim)) for c in centers])
    y = np.repeat(np.arange(classes), n_per)
    return X.astype(np.float32), y


def rotation(dim: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q


def test_separated_blobs_are_pure_and_probe_perfectly():
    X, y = blobs(60, 4, 16, 0.5)
    assert knn_purity(X, y) >= 0.99
    per_class = knn_purity_per_class(X, y)
    assert list(per_class.columns) == ["label", "n", "knn_purity", "chance"]
    assert len(per_class) == 4 and (per_class["knn_purity"] >= 0.99).all() and (per_class["n"] == 60).all()
    silhouette = silhouette_per_class(X, y)["silhouette"]
    assert len(silhouette) == 4 and (silhouette > 0.5).all()
    assert linear_probe_accuracy(X, y) >= 0.99


def test_overlapping_blobs_are_near_chance():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 8)).astype(np.float32)  # four classes drawn from one Gaussian
    y = np.repeat(np.arange(4), 100)
    assert abs(knn_purity(X, y, metric="euclidean") - 0.25) < 0.06
    sil = silhouette_per_class(X, y, metric="euclidean")
    assert len(sil) == 4 and (sil["silhouette"].abs() < 0.1).all()
    assert linear_probe_accuracy(X, y) < 0.4


def test_random_labels_are_near_chance():
    X, _ = blobs(100, 4, 16, 0.5)
    y = np.random.default_rng(1).integers(0, 4, size=len(X))
    chance = sum((y == c).mean() ** 2 for c in range(4))
    assert abs(knn_purity(X, y) - chance) < 0.08
    assert linear_probe_accuracy(X, y) < 0.45


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 100))
def test_purity_ignores_row_order_rotation_and_scale(seed, scale):
    X, y = blobs(15, 3, 6, 3.0, seed=seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    base = knn_purity(X, y, k=5, metric="euclidean")
    moved = knn_purity((X[order] @ rotation(6, seed)) * scale, y[order], k=5, metric="euclidean")
    assert moved == pytest.approx(base, abs=1e-6)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("k", [1, 5, 12])
def test_trustworthiness_equals_sklearn(metric, k):
    X, _ = blobs(20, 3, 10, 4.0, seed=k)
    Y = X[:, :2] + np.random.default_rng(k).normal(scale=2.0, size=(len(X), 2))
    ours = trustworthiness(X, Y, k=k, metric=metric, sample=None, chunk=7)
    assert ours == pytest.approx(sk_trustworthiness(X, Y, n_neighbors=k, metric=metric), abs=1e-9)


def test_trustworthiness_on_a_sample_estimates_the_full_value():
    X, _ = blobs(150, 4, 12, 3.0, seed=5)
    Y = X[:, :2] + np.random.default_rng(0).normal(scale=3.0, size=(len(X), 2))
    full = trustworthiness(X, Y, k=10, sample=None)
    assert trustworthiness(X, Y, k=10, sample=200, seed=1) == pytest.approx(full, abs=0.02)
    assert 0.0 <= full <= 1.0
    # a faithful map scores higher than a shuffled one
    assert full > trustworthiness(X, Y[np.random.default_rng(2).permutation(len(Y))], k=10, sample=None) + 0.1


def test_knn_preservation_bounds():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(200, 2))
    assert knn_preservation(Y, Y, k=10, metric="euclidean") == pytest.approx(1.0)
    shuffled = Y[rng.permutation(len(Y))]
    assert knn_preservation(Y, shuffled, k=10, metric="euclidean") < 0.15


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.05, 50))
def test_map_measures_ignore_row_order_and_rigid_moves_of_the_map(seed, scale):
    X, _ = blobs(12, 3, 5, 3.0, seed=seed)
    Y = X[:, :2] + np.random.default_rng(seed).normal(size=(len(X), 2))
    order = np.random.default_rng(seed + 1).permutation(len(X))
    moved = (Y @ rotation(2, seed)) * scale + 7.0
    base_t = trustworthiness(X, Y, k=4, metric="euclidean", sample=None)
    assert trustworthiness(X[order], moved[order], k=4, metric="euclidean", sample=None) == pytest.approx(base_t)
    base_p = knn_preservation(X, Y, k=4, metric="euclidean")
    assert knn_preservation(X[order], moved[order], k=4, metric="euclidean") == pytest.approx(base_p)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10))
def test_cosine_silhouette_ignores_row_order_rotation_and_scale(seed, scale):
    X, y = blobs(10, 3, 6, 4.0, seed=seed)
    order = np.random.default_rng(seed).permutation(len(X))
    base = silhouette_per_class(X, y)
    moved = silhouette_per_class((X @ rotation(6, seed))[order] * scale, y[order])
    assert np.allclose(base["silhouette"], moved["silhouette"], atol=1e-4)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_confusion_and_f1_ignore_row_order(seed):
    rng = np.random.default_rng(seed)
    labels = rng.choice(["a", "b", "c"], size=30)
    preds = np.where(rng.random(30) < 0.7, labels, rng.choice(["a", "b", "c"], size=30))
    order = rng.permutation(30)
    assert confusion_frame(labels, preds).equals(confusion_frame(labels[order], preds[order]))
    a, b = classification_metrics(labels, preds), classification_metrics(labels[order], preds[order])
    assert np.allclose(a[["precision", "recall", "f1"]], b[["precision", "recall", "f1"]])
    confusion = confusion_frame(labels, preds)
    assert confusion["count"].sum() == 30
    assert confusion.loc[confusion.true_label == confusion.pred_label, "count"].sum() == (labels == preds).sum()


def test_knn_backends_agree():
    pytest.importorskip("faiss")
    X, _ = blobs(50, 3, 8, 2.0)
    for metric in ("cosine", "euclidean"):
        a = knn_indices(X, k=5, metric=metric, backend="sklearn")
        b = knn_indices(X, k=5, metric=metric, backend="faiss")
        assert (a == b).mean() > 0.98  # float32 rounding may swap near-ties
        assert not (a == np.arange(len(X))[:, None]).any()


def _true_recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([np.intersect1d(a, b).size for a, b in zip(found, exact, strict=True)]) / exact.shape[1])


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_approximate_neighbours_measure_their_recall(tmp_path, monkeypatch, dtype):
    """The approximate graph's recall is measured on a sample, estimates the recall over every row, is
    raised to the target by scanning more cells, and is recorded by analyze (summary and analysis.json);
    with its cells fitted in bfloat16 (CPUs that multiply it natively) as in float32 (the others)."""
    import json

    import torch

    from clsmap.analysis import analyze, knn
    from clsmap.analysis.knn import approximate_knn_graph
    from clsmap.store import synthetic_store

    monkeypatch.setattr(knn, "_search_dtype", lambda: getattr(torch, dtype))

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 32)).astype(np.float32)  # one cloud: neighbours fall in several k-means cells
    labels = rng.integers(0, 3, size=len(X))
    exact = knn_indices(X, k=10, backend="sklearn")
    loose, _, info = approximate_knn_graph(X, k=10, target_recall=0.0, sample=600)
    assert 1 <= info["nprobe"] < info["nlist"] / 4  # no target: a small share of the cells scanned
    loose_nprobe = info["nprobe"]
    truth = _true_recall(loose, exact)
    assert truth < 0.99  # few cells scanned: some neighbours are missed, so the estimate is tested
    assert abs(info["recall"] - truth) < 0.04 and info["recall_sample"] == 600
    wider, similarity, info = approximate_knn_graph(X, k=10, target_recall=truth + 0.1, sample=600)
    # a higher target: more cells scanned, and the recall over every row rises with the estimate
    assert info["nprobe"] > loose_nprobe and info["recall"] >= truth + 0.1
    assert abs(info["recall"] - _true_recall(wider, exact)) < 0.04 and _true_recall(wider, exact) > truth + 0.05
    assert not (wider == np.arange(len(X))[:, None]).any() and (np.diff(similarity, axis=1) <= 1e-6).all()
    again = approximate_knn_graph(X, k=10, target_recall=truth + 0.1, sample=600)[0]
    assert np.array_equal(wider, again)  # the same seed, the same graph
    # a target out of reach of a small share of the cells: the search is exact instead
    exact_too, _, info = approximate_knn_graph(X, k=10, target_recall=0.99, sample=600)
    assert info["recall"] == 1.0 and info["approximate_recall"] < 0.99 and _true_recall(exact_too, exact) > 0.99

    X, labels = blobs(250, 12, 32, 1.5)  # clustered, as [CLS] vectors are: a few cells hold the neighbours
    store = synthetic_store(tmp_path / "s", X[:, :2], [f"t{i}" for i in range(len(X))], labels=labels.astype(str),
                            vectors=X)
    summary = analyze(store, knn="approximate", layers=False).summary
    # near-equal cosines within a blob: the scan's products must rank them finely
    assert summary["knn_backend"].startswith("inverted file") and 0.95 <= summary["knn_recall"] <= 1
    # a bfloat16 scan (of residuals from the cells' centres) is ranked again in float32, and says so
    assert ("bfloat16 scan, float32 ranking" in summary["knn_backend"]) == (dtype == "bfloat16")
    assert json.loads((tmp_path / "s" / "analysis" / "analysis.json").read_text())["summary"]["knn_recall"] \
        == summary["knn_recall"]
    assert analyze(store, knn="sklearn", layers=False, write=False).summary["knn_recall"] == 1.0
    with pytest.raises(ValueError, match="'knn' parameter of analyze .*'approximate'"):
        analyze(store, knn="hnsw")


def test_neighbours_exclude_the_point_itself_even_with_duplicates():
    X = np.array([[0, 0], [0, 0], [1, 0], [5, 5], [5, 5.1]], dtype=np.float32)
    found = knn_indices(X, k=2, metric="euclidean")
    assert not (found == np.arange(5)[:, None]).any()
    assert set(found[0]) == {1, 2}


def test_procrustes_undoes_rotation_scale_and_shift():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(50, 2))
    B = (A @ rotation(2, 4)) * 3.5 + np.array([10.0, -2.0])
    assert np.allclose(procrustes_align(B, A), A, atol=1e-9)
    maps = aligned_layer_maps({"layer_1": B, "layer_0": A, "layer_2": -B})
    assert list(maps) == ["layer_0", "layer_1", "layer_2"]
    assert np.array_equal(maps["layer_2"], -B)  # the last layer is the anchor, kept as it is
    assert np.allclose(maps["layer_1"], -B, atol=1e-9) and np.allclose(maps["layer_0"], -B, atol=1e-9)


def _spread(xy):
    return float(np.sqrt(((xy - xy.mean(axis=0)) ** 2).sum(axis=1).mean()))


@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100))
@settings(max_examples=30, deadline=None)
def test_a_constant_layer_is_one_point_and_no_layer_shrinks_onto_it(seed, scale):
    """Layer 0 one point (a BERT's [CLS] before the first layer); layer 1 unrelated to the last layer
    (least-squares scaling would shrink it to a dot); layer 3 constant too: every other panel keeps the
    last non-constant layer's spread, the constant ones stay one point at its centre."""
    rng = np.random.default_rng(seed)
    last = rng.normal(size=(80, 2)) * scale + 7
    maps = {"layer_0": np.full((80, 2), 3.0), "layer_1": rng.normal(size=(80, 2)),
            "layer_2": last @ rotation(2, seed) * 0.3 - 4, "layer_3": np.zeros((80, 2))}
    aligned = aligned_layer_maps(maps)
    assert list(aligned) == ["layer_0", "layer_1", "layer_2", "layer_3"]
    assert np.allclose(aligned["layer_2"], last @ rotation(2, seed) * 0.3 - 4)  # the anchor
    for column in ("layer_1",):
        assert _spread(aligned[column]) == pytest.approx(_spread(aligned["layer_2"]), rel=1e-6)
    for column in ("layer_0", "layer_3"):
        assert np.ptp(aligned[column], axis=0).max() == 0
        assert np.allclose(aligned[column][0], aligned["layer_2"].mean(axis=0))
    assert degenerate_maps(maps) == {"layer_0", "layer_3"}
    # the least-squares scale is what shrank the old grid: unrelated maps shrink towards a point
    assert _spread(procrustes_align(maps["layer_1"], last)) < 0.5 * _spread(last)


def test_constant_vectors_are_recognised_and_mapped_to_one_point():
    rng = np.random.default_rng(0)
    row = rng.normal(size=32).astype(np.float32)
    X = np.tile(row, (50, 1))
    assert is_constant(X) and is_constant(X + 1e-7 * rng.normal(size=X.shape).astype(np.float32))
    assert not is_constant(X + 1e-2 * rng.normal(size=X.shape).astype(np.float32))
    assert not is_constant(rng.normal(size=(50, 32)))
    assert np.array_equal(make_reducer("pca").fit_transform(X), np.zeros((50, 2), dtype=np.float32))


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="3 vectors but 2 labels"):
        knn_purity(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="metric"):
        knn_purity(np.zeros((3, 2)), [0, 1, 1], metric="manhattan")


# ---------------------------------------------------------------- analyze as steps with typed results


def _planted_store(folder, n=600, seed=0):
    """Four classes in the vector space; the map is its first two axes; a patch of the map where the model
    errs; a train/test split."""
    from clsmap.store import synthetic_store

    rng = np.random.default_rng(seed)
    classes = ["a", "b", "c", "d"]
    lab = rng.integers(0, 4, n)
    X = rng.normal(size=(4, 8))[lab] * 3 + rng.normal(size=(n, 8))
    xy = X[:, :2].copy()
    hot = np.linalg.norm(xy - xy[0], axis=1) < np.quantile(np.linalg.norm(xy - xy[0], axis=1), 0.06)
    wrong = rng.random(n) < np.where(hot, 0.7, 0.03)
    pred = np.where(wrong, (lab + 1) % 4, lab)
    texts = [f"word{i % 5} {'patch zebra' if hot[i] else 'plain'} {classes[lab[i]]}name text" for i in range(n)]
    return synthetic_store(folder, xy, texts, labels=[classes[i] for i in lab], preds=[classes[i] for i in pred],
                           classes=classes, vectors=X, splits=["test" if i % 4 == 0 else "train" for i in range(n)])


@pytest.fixture(scope="module")
def stepped(tmp_path_factory):
    """A store, and the context after every step of analyze has run over it."""
    from clsmap.analysis.context import AnalysisOptions, analysis_context
    from clsmap.analysis.steps import run_steps

    store = _planted_store(tmp_path_factory.mktemp("steps") / "store")
    return store, run_steps(analysis_context(store, AnalysisOptions(layers=False)))


def test_each_step_gives_its_typed_result(stepped):
    from clsmap.analysis import Keywords, LabelFlags, RegionCoverage, Regions, SplitMetrics
    from clsmap.analysis.results import Classification, KnnGraph, MapNeighbours, Probe, Silhouette, Trust

    store, ctx = stepped
    n, k = len(store), ctx.k
    frame = store.frame
    assert set(ctx.results) == {Classification, KnnGraph, Silhouette, Probe, MapNeighbours, Trust, Regions, Keywords,
                                LabelFlags, SplitMetrics}
    assert all(type(result) is kind for kind, result in ctx.results.items())
    labels = ctx.labels
    assert labels.source == "label" and list(np.asarray(labels.classes)[labels.codes]) == frame["label"].tolist()

    graph = ctx.need(KnnGraph)
    assert graph.indices.shape == graph.similarity.shape == (n, k)
    assert not (graph.indices == np.arange(n)[:, None]).any()  # a row is not its own neighbour
    assert (np.diff(graph.similarity, axis=1) <= 1e-6).all()  # nearest first
    assert graph.recall == 1.0 and graph.backend.endswith("(exact)")
    assert graph.per_class["n"].sum() == n and graph.purity == pytest.approx(knn_purity(store.vectors, labels.names))
    assert 0 < graph.chance < graph.purity <= 1

    quality = ctx.need(Classification)
    assert quality.accuracy == pytest.approx(frame["correct"].mean()) and 0 < quality.macro_f1 <= 1
    assert quality.confusion["count"].sum() == n

    probe = ctx.need(Probe)
    assert probe.probs.shape == (n, 4) and np.allclose(probe.probs.sum(axis=1), 1)
    assert probe.accuracy == pytest.approx(probe.correct.mean()) and probe.accuracy > 0.8
    silhouette = ctx.need(Silhouette)
    assert -1 <= silhouette.mean <= 1 and silhouette.sample == silhouette.per_class["n_sampled"].sum() <= n
    assert 0 <= ctx.need(MapNeighbours).preservation <= 1 and 0 < ctx.need(Trust).value <= 1

    regions = ctx.need(Regions)  # the facts are typed fields, never DataFrame.attrs
    assert regions.measure == "error" and regions.overall_rate == pytest.approx(1 - frame["correct"].mean())
    assert isinstance(regions.cells, int) and regions.cells >= 8 and regions.cell_size > 0
    assert regions.n_candidates >= len(regions) >= 1 and regions.alpha == 0.05 and not regions.frame.attrs
    coverage = regions.coverage
    assert isinstance(coverage, RegionCoverage) and coverage.n_regions == len(regions)
    assert 0 < coverage.share_points <= 0.1 * len(regions) + 1e-9 < coverage.share_errors <= 1

    words = ctx.need(Keywords)
    assert set(words.frame["kind"]) == {"class", "region"} and words.n_texts == n
    assert words.n_terms >= words.frame["term"].nunique()
    for _, group in words.frame.groupby(["kind", "group"]):
        assert list(group["rank"]) == list(range(1, len(group) + 1))
    assert "zebra" in next(iter(words.terms("region").values()))  # the patch's own word leads a region

    flags = ctx.need(LabelFlags)
    assert flags.source == "probe" and flags.n_flagged == flags.frame["flagged"].sum() <= flags.n_estimated
    assert list(flags.frame["rank"]) == list(range(1, n + 1))  # sorted by rank: flagged rows first
    assert flags.chance < flags.needed <= 1 and 0 < flags.weight < 1
    assert flags.accuracy == pytest.approx(probe.accuracy)  # the flags stand on the probe's probabilities

    splits = ctx.need(SplitMetrics)
    assert splits.reference == "train" and splits.frame["n"].sum() == n and list(splits.frame["split"]) == [
        "train", "test"]
    assert list(ctx.step_seconds) == ["neighbours", "silhouette", "probe", "map neighbours", "trustworthiness",
                                      "regions", "keywords", "label flags"]


def test_analyze_assembles_the_steps_and_writes_apart(stepped, tmp_path):
    import json

    import clsmap
    from clsmap.analysis import read_keywords, read_regions, write_analysis
    from clsmap.analysis.results import SUMMARY_KEYS

    store, ctx = stepped
    result = clsmap.analyze(store, layers=False, write=False)
    assert not (store.path / "analysis").exists()  # computing writes nothing
    keys = list(result.summary)
    assert keys == [key for key in SUMMARY_KEYS if key in result.summary]  # one order, whatever ran
    assert result.summary["regions_share_errors"] == ctx.results[type(result.regions)].coverage.share_errors
    assert result.summary["n_flagged"] == result.label_issues.n_flagged
    assert list(result.per_class.columns[:4]) == ["label", "n", "knn_purity", "chance"]
    write_analysis(store, result)
    saved = json.loads((store.path / "analysis" / "analysis.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(result.to_dict()))
    regions = read_regions(store, "vector")
    assert regions.frame["region_id"].tolist() == result.regions.frame["region_id"].tolist()
    assert regions.overall_rate == pytest.approx(result.regions.overall_rate)
    assert read_keywords(store, "vector").terms("class") == result.keywords.terms("class")
    assert clsmap.open_store(store.path).neighbours_of("vector") is not None


def test_a_new_step_is_one_function_and_one_line(stepped):
    """A step added to the list runs over the same context, sees the results before it, is timed under its
    name, and its summary entries join the summary (after the known keys)."""
    from dataclasses import dataclass

    from clsmap.analysis.context import AnalysisOptions, analysis_context
    from clsmap.analysis.results import KnnGraph
    from clsmap.analysis.run import assemble
    from clsmap.analysis.steps import STEPS, Step, run_steps

    @dataclass
    class Spread:
        mean_similarity: float

        def summary(self):
            return {"mean_similarity": self.mean_similarity}

    def spread(ctx):
        return Spread(float(ctx.need(KnnGraph).similarity.mean()))

    store, _ = stepped
    ctx = run_steps(analysis_context(store, AnalysisOptions(layers=False)), (*STEPS, Step("spread", spread)))
    result = assemble(ctx, seconds=0.0)
    assert "spread" in result.summary["step_seconds"] and 0 < result.summary["mean_similarity"] <= 1
    assert list(result.summary)[-1] == "mean_similarity"


def test_the_figure_the_page_and_the_report_draw_the_typed_results(tmp_path):
    """Nothing written to the store: the figure and the report draw the regions they are given; the page
    draws what the store keeps, read once (outlines in the page's coordinates, with their keywords)."""
    import clsmap
    from clsmap.analysis import read_regions, write_analysis
    from clsmap.render.map import map_parts

    store = _planted_store(tmp_path / "store")
    result = clsmap.analyze(store, layers=False, write=False)
    assert len(result.regions) >= 1 and read_regions(store, "vector") is None
    figure = clsmap.render.map_figure(store, panels=("label",), regions=result.regions)
    assert {str(i) for i in result.regions.frame["region_id"]} <= {t.get_text() for t in figure.axes[0].texts}
    page = clsmap.report(store, tmp_path / "report.html", analysis=result).read_text(encoding="utf-8")
    assert "zebra" in page[page.index('id="regions"'):]
    assert map_parts(store).meta["regions"] == []  # the page shows what the store keeps: nothing yet
    write_analysis(store, result)
    meta = map_parts(store).meta
    assert [r["region_id"] for r in meta["regions"]] == [str(i) for i in result.regions.frame["region_id"]]
    for region in meta["regions"]:
        ring = np.asarray(region["polygon"])
        assert np.allclose(ring[0], ring[-1]) and (np.abs(ring) <= 1.0 + 1e-6).all()
        assert region["n"] > 0 and 0 < region["p_value"] <= 0.05
    assert any("zebra" in region["keywords"] for region in meta["regions"])
    assert meta["keywords"] == result.keywords.terms("class")
