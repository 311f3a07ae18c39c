"""clsmap.analyze on real (tiny) stores, the offline HTML report, and the analyze/report commands."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from support.tiny_models import make_texts

import clsmap
from clsmap.analysis import knn_purity, layer_curves, read_regions
from clsmap.cli import main

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def layered_store(tiny_bert, tmp_path_factory):
    """A 60-row store of the tiny BERT with every layer, maps of every layer, and an XSS payload
    in some texts and ids."""
    folder = tmp_path_factory.mktemp("layered")
    texts = make_texts(60, seed=3)
    texts[5] = PAYLOAD + " the cat"
    texts[17] = "free money " + PAYLOAD
    frame = pd.DataFrame({"id": [f"doc{i}" for i in range(60)], "text": texts,
                          "label": ["ham" if i % 3 else "spam" for i in range(60)]})
    frame.loc[9, "id"] = PAYLOAD
    data = folder / "data.csv"
    frame.to_csv(data, index=False)
    store = clsmap.extract(tiny_bert, data, folder / "store", layer="all", dtype="float32", progress=False)
    clsmap.project(store, method="pca", column="all")
    return store


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
    issues = result.label_issues
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
    regions = read_regions(store.path)
    assert regions["schema"] == 2 and regions["column"] == store.default_vector
    assert len(regions["regions"]) == len(result.regions)


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


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.meta: list[dict[str, str | None]] = []
        self.texts: list[str] = []

    def handle_data(self, data):
        self.texts.append(data)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "meta":
            self.meta.append(dict(attrs))
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data", "formaction", "background"):
                self.urls.append(value or "")


def test_report_is_offline_and_escapes_user_text(layered_store, tmp_path):
    out = clsmap.report(layered_store, tmp_path / "r" / "report.html", top=60)
    page = out.read_text(encoding="utf-8")
    assert PAYLOAD not in page and "<script" not in page.lower()
    parser = _Links()
    parser.feed(page)
    assert any(PAYLOAD in text for text in parser.texts)  # shown as text, escaped once in the template
    assert "script" not in parser.tags and "iframe" not in parser.tags and "link" not in parser.tags
    assert parser.urls and all(u.startswith("data:image/png;base64,") for u in parser.urls)
    assert "url(" not in page and "@import" not in page
    csp = [m["content"] for m in parser.meta if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert csp and "default-src 'none'" in csp[0] and "img-src data:" in csp[0]
    # confusion matrix, map, per-layer curve and per-layer maps
    assert len(parser.urls) >= 4
    for section in ("run", "metrics", "confusion", "map", "layers", "regions", "mislabeled"):
        assert f'id="{section}"' in page
    numbers = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert numbers["summary"]["n_rows"] == 60 and len(numbers["label_issues"]) == 60
    assert numbers["layers"][0]["column"] == "layer_0"
    assert any(PAYLOAD in row["text"] for row in numbers["label_issues"])  # JSON keeps the text as it is
    # per-layer curves of several stores (the demo's before/after) replace this store's own
    result = clsmap.analyze(layered_store, write=False)
    shifted = result.layers.assign(knn_purity=result.layers["knn_purity"] / 2)
    compared = clsmap.report(layered_store, tmp_path / "cmp.html", analysis=result,
                             curves={"<b>one</b>": result.layers, "two": shifted}).read_text(encoding="utf-8")
    assert compared != page and "<b>one</b>" not in compared


def test_analyze_and_report_commands(tiny_bert, labeled_csv, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["-q", "map", str(tiny_bert), str(labeled_csv(50)), "-o", str(out), "--method", "pca",
                 "--dtype", "float32"]) == 0
    assert (out / "report.html").exists() and (out / "report.json").exists()
    assert (out / "analysis" / "regions.json").exists()
    capsys.readouterr()
    assert main(["-q", "analyze", str(out), "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert "knn_purity" in printed and "trustworthiness" in printed and "top 3 likely-mislabeled" in printed
    assert main(["-q", "report", str(out), "-o", str(tmp_path / "page.html")]) == 0
    assert (tmp_path / "page.html").stat().st_size > 10_000 and (tmp_path / "page.json").exists()
    assert main(["-q", "analyze", str(tmp_path / "not-a-store")]) == 2


def test_store_without_labels_is_measured_against_predictions(tiny_bert, labeled_csv, tmp_path):
    data = clsmap.read_dataset(labeled_csv(40), label_column=False)
    store = clsmap.extract(tiny_bert, data, tmp_path / "nolabels", dtype="float32", progress=False)
    clsmap.project(store, method="pca")
    result = clsmap.analyze(store, write=False)
    assert result.summary["labels_from"] == "pred" and result.summary["accuracy"] is None
    assert result.label_issues is None and result.confusion is None
    page = clsmap.report(store, tmp_path / "nolabels.html", analysis=result).read_text(encoding="utf-8")
    assert 'id="mislabeled"' not in page and 'id="map"' in page


def test_report_in_a_headless_browser(browser, layered_store, tmp_path):
    """The page loads nothing from outside, runs no script (the payload never fires), and shows
    its figures and the payload as plain text."""
    out = clsmap.report(layered_store, tmp_path / "page.html", top=60)
    page = browser.new_page()
    try:
        requests, dialogs = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        assert requests and all(u.startswith(("file:", "data:")) for u in requests), requests
        assert dialogs == []
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 100)")
        assert page.evaluate("document.images.length") >= 4
        assert PAYLOAD in page.inner_text("body")
    finally:
        page.close()


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory):
    """3,000 rows in four clusters, 5 % errors plus one disc with 60 % errors; analysed."""
    from clsmap.store import synthetic_store

    rng = np.random.default_rng(4)
    n, classes = 3000, ["animal", "plant", "food", "body"]
    lab = rng.integers(0, 4, n)
    xy = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])[lab] + rng.normal(scale=0.9, size=(n, 2))
    wrong = rng.random(n) < np.where(np.linalg.norm(xy - [3.0, 0.0], axis=1) < 0.5, 0.6, 0.05)
    pred = np.where(wrong, (lab + 1) % 4, lab)
    store = synthetic_store(tmp_path_factory.mktemp("planted") / "store", xy, [f"text {i}" for i in range(n)],
                            labels=[classes[k] for k in lab], preds=[classes[k] for k in pred], classes=classes)
    return store, clsmap.analyze(store, layers=False)


def test_static_map_outlines_the_regions(planted_store, tmp_path):
    store, result = planted_store
    assert len(result.regions) >= 1
    with_regions = clsmap.plot(store, tmp_path / "with", formats=("svg",), panels=("label",))[0]
    without = clsmap.plot(store, tmp_path / "without", formats=("svg",), panels=("label",), regions=False)[0]
    svg, plain = with_regions.read_text(encoding="utf-8"), without.read_text(encoding="utf-8")
    ids = [str(i) for i in result.regions["region_id"]]
    # svg.fonttype "none": each region's id is a text element next to its dashed outline
    assert all(f">{i}</text>" in svg for i in ids) and not any(f">{i}</text>" in plain for i in ids)
    assert svg.count("stroke-dasharray") > plain.count("stroke-dasharray")


def test_report_states_each_regions_enrichment_and_p_value(planted_store, layered_store, tmp_path):
    store, result = planted_store
    page = clsmap.report(store, tmp_path / "r.html", analysis=result).read_text(encoding="utf-8")
    section = page[page.index('id="regions"'):]
    assert "error rate / overall" in section and "p-value" in section
    first = result.regions.iloc[0]
    assert f"{first['enrichment']:.1f}×" in section and f"{first['p_value']:.3f}" in section
    assert result.summary["regions_note"].startswith(f"{len(result.regions)} region(s) where the errors are")
    # 60 rows of a random tiny model: no region, and the report says why
    plain = clsmap.analyze(layered_store, write=False)
    assert plain.regions.empty and plain.summary["regions_note"].startswith("errors are diffuse: no region")
    page = clsmap.report(layered_store, tmp_path / "none.html", analysis=plain).read_text(encoding="utf-8")
    assert "Errors are diffuse: no region" in page[page.index('id="regions"'):]


def test_plot_asks_for_analyze_when_regions_are_missing(layered_store, tmp_path):
    with pytest.raises(clsmap.ClsmapError, match="run clsmap analyze"):
        clsmap.plot(layered_store, tmp_path / "l1", column="layer_1", formats=("svg",), regions=True)
