"""The reducer contract, run against every method in REDUCERS, and clsmap.project on a store."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import make_blobs
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

from clsmap import ClsmapError, MissingExtraError, extract, open_store, project
from clsmap.projection import REDUCERS, make_reducer
from clsmap.store.files import read_file_meta

pytestmark = pytest.mark.filterwarnings("ignore:n_jobs value .* overridden:UserWarning")

#: the module each optional backend needs
OPTIONAL = {"umap": "umap", "tsne": "openTSNE"}
#: lowest trustworthiness (10 neighbours) each method must reach on well separated blobs; PCA is
#: linear and keeps the blobs apart, but not the neighbourhoods inside an isotropic blob
TRUST = {"pacmap": 0.85, "localmap": 0.85, "umap": 0.85, "tsne": 0.85, "pca": 0.8}


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=300, n_features=50, centers=4, cluster_std=1.0, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module", params=sorted(REDUCERS))
def method(request):
    """Each reducer; the optional ones skip where their extra is not installed. Each is fitted once per
    module (``fitted``): umap's numba compilation (~10-25 s) is paid once."""
    if request.param in OPTIONAL:
        pytest.importorskip(OPTIONAL[request.param])
    return request.param


@pytest.fixture(scope="module")
def fitted(method, blobs):
    reducer = make_reducer(method, seed=0)
    return reducer, reducer.fit_transform(blobs[0])


def knn_purity(Y: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    index = NearestNeighbors(n_neighbors=k + 1).fit(Y).kneighbors(Y, return_distance=False)[:, 1:]
    return float((labels[index] == labels[:, None]).mean())


# --------------------------------------------------------------------------- the contract


def test_returns_finite_float32_pairs(fitted, blobs):
    reducer, Y = fitted
    assert Y.shape == (len(blobs[0]), 2)
    assert Y.dtype == np.float32
    assert np.isfinite(Y).all()
    assert reducer.embedding_ is Y
    assert np.ptp(Y, axis=0).min() > 0  # not collapsed to a line or a point


def test_keeps_neighbourhoods(fitted, blobs, method):
    X, y = blobs
    _, Y = fitted
    assert trustworthiness(X, Y, n_neighbors=10) >= TRUST[method]
    assert knn_purity(Y, y) >= 0.9


def test_same_seed_same_map(fitted, blobs, method):
    _, Y = fitted
    again = make_reducer(method, seed=0).fit_transform(blobs[0])
    if method in ("pacmap", "localmap", "pca"):
        np.testing.assert_array_equal(again, Y)
    else:
        np.testing.assert_allclose(again, Y, rtol=1e-4, atol=1e-4)


def test_params_are_kept_and_unknown_ones_refused(method):
    reducer = make_reducer(method, seed=7)
    params = reducer.get_params()
    assert params["seed"] == 7
    assert not any(name.endswith("_") for name in params)
    assert repr(reducer).startswith(type(reducer).__name__ + "(")
    with pytest.raises(TypeError, match="n_neighbours"):
        make_reducer(method, n_neighbours=5)


def test_input_is_validated(method):
    reducer = make_reducer(method)
    with pytest.raises(ClsmapError, match="at least 3"):
        reducer.fit_transform(np.zeros((2, 4)))
    with pytest.raises(ClsmapError, match="2-D"):
        reducer.fit_transform(np.zeros(10))
    bad = np.ones((10, 4))
    bad[6, 1] = np.nan
    with pytest.raises(ClsmapError, match="row 6"):
        reducer.fit_transform(bad)


def test_unknown_method_lists_the_allowed_ones():
    with pytest.raises(ValueError) as info:
        make_reducer("isomap")
    for name in REDUCERS:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("method, module, extra", [("umap", "umap", "umap"), ("tsne", "openTSNE", "tsne")])
def test_missing_backend_names_the_extra(monkeypatch, blobs, method, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import now fails as if not installed
    with pytest.raises(MissingExtraError, match=rf"clsmap\[{extra}\]") as info:
        make_reducer(method).fit_transform(blobs[0][:20])
    assert isinstance(info.value, ImportError) and isinstance(info.value, ClsmapError)
    assert info.value.extra == extra


# --------------------------------------------------------------------------- project


def _extract(folder, data, out, **kwargs):
    return extract(folder, data, out, dtype="float32", device="cpu", progress=False, **kwargs)


def _check_projection(store, column, xy):
    path = store.path / "projections" / f"{column}.parquet"
    table = pq.read_table(path)
    assert table.column("id").to_pylist() == store.frame["id"].tolist()
    np.testing.assert_array_equal(np.column_stack([table.column("x"), table.column("y")]), xy)
    meta = read_file_meta(path)
    assert meta["column"] == column and meta["n_rows"] == len(store)
    return meta


def test_project_writes_a_map_aligned_with_the_store(tmp_path, tiny_bert, labeled_csv):
    store = _extract(tiny_bert, labeled_csv(40, seed=31, with_id=True), tmp_path / "store")
    xy = project(store)
    assert xy.shape == (40, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    meta = _check_projection(store, "vector", xy)
    assert meta["method"] == "pacmap"
    assert meta["store"]["model"] == store.meta["model"]
    reopened = open_store(store.path)
    proj = reopened.projection
    assert proj["id"].tolist() == reopened.frame["id"].tolist()
    np.testing.assert_array_equal(proj[["x", "y"]].to_numpy(), xy)


def test_project_all_layers(tmp_path, tiny_bert, labeled_csv):
    store = _extract(tiny_bert, labeled_csv(30, seed=32), tmp_path / "store", layer="all")
    last = project(store.path, method="pca", column="all")
    written = sorted(p.stem for p in (store.path / "projections").glob("*.parquet"))
    assert written == sorted(store.vector_columns) == ["layer_0", "layer_1", "layer_2"]
    for column in store.vector_columns:
        proj = store.projection_of(column)
        xy = proj[["x", "y"]].to_numpy()
        assert _check_projection(store, column, xy)["method"] == "pca"
    np.testing.assert_array_equal(store.projection_of("layer_2")[["x", "y"]].to_numpy(), last)


def test_project_rejects_unknown_parameters(tmp_path, tiny_bert, labeled_csv):
    store = _extract(tiny_bert, labeled_csv(10), tmp_path / "store")
    with pytest.raises(TypeError, match="perplexity"):
        project(store, method="pca", perplexity=5)
    with pytest.raises(ClsmapError, match="no vector column"):
        project(store, method="pca", column="layer_0")
    assert not (store.path / "projections").exists()


# --------------------------------------------------------------------------- large N: fit a sample, place the rest


def _purity_2d(xy, labels, k=10):
    index = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy, return_distance=False)[:, 1:]
    return float((labels[index] == labels[:, None]).mean())


def test_fit_on_sample_places_the_rest_among_their_class(blobs_large):
    from clsmap.projection import PCA, fit_on_sample

    X, y = blobs_large
    xy, sampled = fit_on_sample(PCA(seed=0), X, max_fit=400, seed=1)
    assert xy.shape == (len(X), 2) and np.isfinite(xy).all()
    assert len(sampled) == 400 and len(np.unique(sampled)) == 400
    np.testing.assert_allclose(xy[sampled], PCA(seed=0).fit_transform(X[sampled]), rtol=1e-5, atol=1e-5)
    full = PCA(seed=0).fit_transform(X)
    assert _purity_2d(xy, y) >= _purity_2d(full, y) - 0.02
    # a placed point lies next to the sampled points of its own blob
    rest = np.setdiff1d(np.arange(len(X)), sampled)
    centroids = np.stack([xy[sampled][y[sampled] == c].mean(axis=0) for c in range(4)])
    nearest = np.linalg.norm(xy[rest][:, None] - centroids[None], axis=2).argmin(axis=1)
    assert (nearest == y[rest]).mean() >= 0.99


def test_project_records_the_sample_size(tmp_path, tiny_bert, labeled_csv):
    from clsmap.projection import PCA, fit_on_sample
    from clsmap.store import Store

    store = extract(tiny_bert, labeled_csv(120), tmp_path / "s", progress=False)
    X = store.vectors.copy()

    def held_whole(self, column):
        raise AssertionError("a projection on a sample read every vector at once")

    with pytest.MonkeyPatch.context() as patch:  # the store's vectors are streamed part by part
        patch.setattr(Store, "vectors_of", held_whole)
        xy = project(tmp_path / "s", method="pca", max_fit=50)
    meta = read_file_meta(tmp_path / "s" / "projections" / "vector.parquet")
    assert meta["fit_rows"] == 50 and meta["n_rows"] == 120
    assert np.isfinite(xy).all()
    # streaming gives the map of the vectors in memory: the same sample, the same placement
    np.testing.assert_allclose(xy, fit_on_sample(PCA(seed=0), X, max_fit=50, seed=0)[0], rtol=1e-5, atol=1e-5)
    project(store, method="pca", max_fit=None)
    assert read_file_meta(tmp_path / "s" / "projections" / "vector.parquet")["fit_rows"] == 120
    with pytest.raises(ValueError, match="max_fit"):
        project(store, method="pca", max_fit=0)


def test_seeded_pacmap_gives_faiss_its_threads_back(blobs):
    faiss = pytest.importorskip("faiss")
    import os

    make_reducer("pacmap", seed=0).fit_transform(blobs[0])
    assert faiss.omp_get_max_threads() == len(os.sched_getaffinity(0))


@pytest.fixture(scope="module")
def blobs_large():
    X, y = make_blobs(n_samples=3000, n_features=40, centers=4, cluster_std=2.0, random_state=3)
    return X.astype(np.float32), y


# --------------------------------------------------------------------------- PaCMAP's kernels on every core


def test_parallel_gradient_is_pacmaps_gradient_on_any_number_of_cores():
    import numba
    from pacmap import pacmap as core

    from clsmap.projection.kernels import pacmap_grad

    rng = np.random.default_rng(0)
    n = 2000
    Y = rng.normal(size=(n, 2)).astype(np.float32)
    pairs = [rng.integers(0, n, (n * m, 2)).astype(np.int32) for m in (10, 5, 20)]
    for weights in ((2.0, 1000.0, 1.0), (1.0, 0.0, 1.0)):  # phase 1, and the last phase (no mid-near pairs)
        stock = core.pacmap_grad(Y, *pairs, *map(np.float32, weights))
        mine = pacmap_grad(Y, *pairs, *weights)
        assert mine.shape == stock.shape == (n + 1, 2)
        np.testing.assert_allclose(mine[:-1], stock[:-1], rtol=1e-4, atol=1e-5 * np.abs(stock[:-1]).max())
        np.testing.assert_allclose(mine[-1, 0], stock[-1, 0], rtol=1e-3)
        cores = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            one_core = pacmap_grad(Y, *pairs, *weights)
        finally:
            numba.set_num_threads(cores)
        np.testing.assert_array_equal(one_core, mine)  # fixed slices added in a fixed order


def test_parallel_mid_near_pairs_are_pacmaps_own():
    from pacmap import pacmap as core

    from clsmap.projection.kernels import sample_mn_pairs

    X = np.random.default_rng(1).normal(size=(500, 20)).astype(np.float32)
    for seed in (0, 7):
        np.testing.assert_array_equal(sample_mn_pairs(X, 5, seed), core.sample_MN_pair_deterministic(X, 5, seed, 0))


def test_a_pacmap_fit_runs_the_parallel_kernels_and_restores_pacmaps(blobs, monkeypatch):
    from pacmap import pacmap as core

    from clsmap.projection import kernels

    stock = core.pacmap_grad, core.sample_MN_pair_deterministic
    calls = {"grad": 0, "mn": 0}

    def counted(name, fn):
        def wrapper(*args):
            calls[name] += 1
            return fn(*args)
        return wrapper

    monkeypatch.setitem(kernels._REPLACES, "pacmap_grad", counted("grad", kernels.pacmap_grad))
    monkeypatch.setitem(kernels._REPLACES, "sample_MN_pair_deterministic", counted("mn", kernels.sample_mn_pairs))
    make_reducer("pacmap", seed=0).fit_transform(blobs[0])
    assert calls == {"grad": 450, "mn": 1}
    assert (core.pacmap_grad, core.sample_MN_pair_deterministic) == stock


def test_placement_neighbours_are_searched_among_principal_components():
    from clsmap.projection.sampling import PLACE_DIMS, _Nearest

    rng = np.random.default_rng(2)
    # 300-d rows that vary along 12 directions (as text vectors concentrate their variance), plus noise
    basis = rng.normal(size=(12, 300)).astype(np.float32)
    X = rng.normal(size=(6000, 12)).astype(np.float32) @ basis + 0.01 * rng.normal(size=(6000, 300)).astype(np.float32)
    sample, queries = X[:4000], X[4000:]
    nearest = _Nearest(sample, 10, seed=0)
    assert nearest.axes.shape == (300, PLACE_DIMS)
    _, found = nearest(queries)
    exact = NearestNeighbors(n_neighbors=10).fit(sample).kneighbors(queries, return_distance=False)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)])
    assert recall >= 0.75  # the inverted file scans 8 of its 62 cells (0.84 measured); the components lose nothing


def test_other_pacmap_releases_keep_their_own_kernels(monkeypatch):
    import pacmap
    from pacmap import pacmap as core

    from clsmap.projection import kernels

    stock = core.pacmap_grad
    monkeypatch.setattr(pacmap, "__version__", "1.0.0", raising=False)
    with kernels.parallel_kernels():
        assert core.pacmap_grad is stock
    monkeypatch.setattr(pacmap, "__version__", "0.9.1", raising=False)
    with kernels.parallel_kernels():
        assert core.pacmap_grad is kernels.pacmap_grad
    assert core.pacmap_grad is stock
