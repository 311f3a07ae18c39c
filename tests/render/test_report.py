"""The offline HTML report of real (tiny) stores, the static map's regions, and the analyze/report commands
(what analyze measures: tests/analysis/test_analyze.py)."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pytest

import clsmap
from clsmap.cli import main
from support import PAYLOAD


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
    ids = [str(i) for i in result.regions.frame["region_id"]]
    # svg.fonttype "none": each region's id is a text element next to its dashed outline
    assert all(f">{i}</text>" in svg for i in ids) and not any(f">{i}</text>" in plain for i in ids)
    assert svg.count("stroke-dasharray") > plain.count("stroke-dasharray")


def test_report_states_each_regions_enrichment_and_p_value(planted_store, layered_store, tmp_path):
    store, result = planted_store
    page = clsmap.report(store, tmp_path / "r.html", analysis=result).read_text(encoding="utf-8")
    section = page[page.index('id="regions"'):]
    assert "error rate / overall" in section and "p-value" in section
    first = result.regions.frame.iloc[0]
    assert f"{first['enrichment']:.1f}×" in section and f"{first['p_value']:.3f}" in section
    assert result.summary["regions_note"].startswith(f"{len(result.regions)} region(s) where the errors are")
    # 60 rows of a random tiny model: no region, and the report says why
    plain = clsmap.analyze(layered_store, write=False)
    assert plain.regions.frame.empty and plain.summary["regions_note"].startswith("errors are diffuse: no region")
    page = clsmap.report(layered_store, tmp_path / "none.html", analysis=plain).read_text(encoding="utf-8")
    assert "Errors are diffuse: no region" in page[page.index('id="regions"'):]


def test_plot_asks_for_analyze_when_regions_are_missing(layered_store, tmp_path):
    with pytest.raises(clsmap.ClsmapError, match="run clsmap analyze"):
        clsmap.plot(layered_store, tmp_path / "l1", column="layer_1", formats=("svg",), regions=True)
