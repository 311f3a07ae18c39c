"""The interactive map's file: self-contained, CSP, a payload that decodes back to the store's rows,
no way for data to leave its <script> element, regions, CLI, notebook display."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import sys

import numpy as np
import pytest

import clsmap
from clsmap import ClsmapError
from clsmap.store import synthetic_store
from clsmap.cli import main
from clsmap.render import map_html, show, write_map
from support.pages import page_parts, utf16_strings

CLASSES = ["neg", "pos", "mixed"]


def _store(folder, n=50, *, texts=None, ids=None, model="m", seed=0, labels=True):
    rng = np.random.default_rng(seed)
    xy = rng.normal(size=(n, 2)) * [10.0, 2.0] + [100.0, -5.0]
    lab = [CLASSES[i % 3] for i in range(n)]
    pred = [CLASSES[(i // 2) % 3] for i in range(n)]
    texts = texts or [f"text {i} " + "é😀" * (i % 4) for i in range(n)]
    return synthetic_store(folder, xy, texts, labels=lab if labels else None, preds=pred,
                           confidence=rng.uniform(0.3, 1, n), ids=ids, classes=CLASSES, model=model)


def test_payload_round_trips_the_store(tmp_path):
    store = _store(tmp_path / "s")
    page = map_html(store, max_text_chars=7)
    meta, cols = page_parts(page)
    n = len(store)
    assert meta["n"] == n
    frame = store.frame
    texts = utf16_strings(cols["text"], cols["text_off"])
    assert texts == [t[:7] for t in frame["text"]]  # cut at 7 code points; 😀 is two UTF-16 units
    assert meta["truncated"] == sum(len(t) > 7 for t in frame["text"])
    assert utf16_strings(cols["id"], cols["id_off"]) == list(frame["id"])
    assert [meta["classes"][c] for c in cols["label"]] == list(frame["label"])
    assert [meta["classes"][c] for c in cols["pred"]] == list(frame["pred"])
    np.testing.assert_allclose(cols["conf"], frame["confidence"].to_numpy(), rtol=1e-6)
    assert list(cols["correct"]) == [int(c) for c in frame["correct"]]
    # coordinates: in [-1, 1], aspect kept (x spread 5x the y spread in the data)
    xy = np.stack([cols["x"], cols["y"]], axis=1)
    assert np.abs(xy).max() <= 1.0 and np.abs(xy).max() > 0.9
    proj = store.projection[["x", "y"]].to_numpy()
    ratio_data = np.ptp(proj[:, 0]) / np.ptp(proj[:, 1])
    assert np.ptp(xy[:, 0]) / np.ptp(xy[:, 1]) == pytest.approx(ratio_data, rel=1e-4)
    assert np.corrcoef(xy[:, 0], proj[:, 0])[0, 1] > 0.9999
    assert meta["title"]["model"] == "m" and meta["title"]["reducer"] == "pacmap"
    assert meta["title"]["accuracy"] == pytest.approx(store.accuracy)
    whole = page_parts(map_html(store, max_text_chars=None))[1]
    assert utf16_strings(whole["text"], whole["text_off"]) == list(frame["text"])


def test_payload_in_several_gzip_members(tmp_path, monkeypatch):
    store = _store(tmp_path / "s", n=400)
    monkeypatch.setattr("clsmap.render.payload.MEMBER_BYTES", 1024)
    meta, cols = page_parts(map_html(store, max_text_chars=None))
    assert len(meta["members"]) > 5
    assert utf16_strings(cols["text"], cols["text_off"]) == list(store.frame["text"])
    np.testing.assert_allclose(cols["conf"], store.frame["confidence"].to_numpy(), rtol=1e-6)


def test_page_is_self_contained_with_a_strict_csp(tmp_path):
    page = map_html(_store(tmp_path / "s"))
    csp = html.unescape(re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1))
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    for name, value in directives.items():
        assert "http" not in value and "*" not in value and "'self'" not in value, (name, value)
    # the only script allowed to run is the viewer, by its hash
    viewer = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(viewer.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in directives["script-src"]
    assert "'unsafe-inline'" not in directives["script-src"]
    # nothing is loaded from anywhere: no src/href attributes, no @import/url() in the style
    head_and_body = page.replace(viewer, "")
    assert not re.search(r"\s(src|href)\s*=", head_and_body, re.I)
    assert "url(" not in head_and_body and "@import" not in head_and_body
    assert page.count("<script") == 3


def test_data_cannot_close_its_script_element(tmp_path):
    evil = "</script><script>alert(1)</script><!-- </SCRIPT >"
    store = _store(tmp_path / "s", n=6, texts=[evil] * 6, ids=[f"</script>{i}" for i in range(6)],
                   model="</script><b>")
    page = map_html(store, title="</title><script>alert(2)</script>")
    assert page.lower().count("</script") == 3
    assert "<!--" not in page
    assert "<title>&lt;/title&gt;&lt;script&gt;" in page
    meta, cols = page_parts(page)
    assert meta["title"]["model"] == "</script><b>"
    assert utf16_strings(cols["text"], cols["text_off"])[0] == evil


def test_palette_names_and_many_classes(tmp_path):
    n = 600
    classes = [f"class-{k:03d}" for k in range(300)]
    rng = np.random.default_rng(1)
    store = synthetic_store(tmp_path / "s", rng.normal(size=(n, 2)), [f"t{i}" for i in range(n)],
                            labels=[classes[i % 300] for i in range(n)],
                            preds=[classes[(i + 1) % 300] for i in range(n)],
                            confidence=np.full(n, 0.5), classes=classes)
    meta, cols = page_parts(map_html(store))
    assert meta["classes"] == classes and cols["label"].max() == 299
    assert len(set(meta["colors"]["classes"])) == 300
    assert (cols["correct"] == 0).all()


def test_without_labels_or_projection(tmp_path):
    store = _store(tmp_path / "s", labels=False)
    meta, cols = page_parts(map_html(store))
    assert meta["has_labels"] is False and (cols["label"] == -1).all() and (cols["correct"] == -1).all()
    (store.path / "projections" / "vector.parquet").unlink()
    with pytest.raises(ClsmapError, match="clsmap project"):
        write_map(store)
    summary = clsmap.open_store(store.path)._repr_html_()
    assert "none yet" in summary and "clsmap.show(store)" in summary


def test_options_are_checked(tmp_path):
    store = _store(tmp_path / "s", n=5)
    with pytest.raises(ValueError, match="'theme'.*'light'"):
        map_html(store, theme="pink")
    with pytest.raises(ValueError, match="max_text_chars"):
        map_html(store, max_text_chars=0)
    with pytest.raises(TypeError):
        write_map(store, tmp_path / "m.html", colour="label")
    (tmp_path / "dir.html").mkdir()
    with pytest.raises(ClsmapError, match="is a folder"):
        write_map(store, tmp_path / "dir.html")


def _regions(path, column="vector", **extra):
    path.mkdir(exist_ok=True)
    region = {"region_id": 7, "polygon": [[95, -6], [105, -6], [100, -3]], "n": 12, "n_errors": 6,
              "error_rate": 0.5, "purity": 0.4, "true_label": "neg", "pred_label": "pos", "examples": ["a", "b"]}
    region.update(extra)
    (path / "regions.json").write_text(json.dumps({"schema": 1, "column": column, "regions": [region]}))


def test_regions_are_read_when_they_match(tmp_path):
    store = _store(tmp_path / "s")
    assert page_parts(map_html(store))[0]["regions"] == []
    _regions(store.path / "analysis")
    meta, cols = page_parts(map_html(store))
    (region,) = meta["regions"]
    assert region["region_id"] == "7" and region["n"] == 12 and region["true_label"] == "neg"
    poly = np.array(region["polygon"])
    assert len(poly) == 4 and np.allclose(poly[0], poly[-1])  # closed
    # the same transform as the points: (100, -5) is the data's centre region
    assert np.abs(poly).max() < 1
    _regions(store.path / "analysis", column="layer_3")
    assert page_parts(map_html(store))[0]["regions"] == []
    _regions(store.path / "analysis", polygon=[[1, 2]])
    assert page_parts(map_html(store))[0]["regions"] == []
    (store.path / "analysis" / "regions.json").write_text("{not json")
    assert page_parts(map_html(store))[0]["regions"] == []


def test_cli_view_and_notebook(tmp_path, capsys, monkeypatch):
    store = _store(tmp_path / "s", texts=["x" * 500] * 50)
    out = tmp_path / "out" / "my map.html"
    assert main(["-q", "view", str(store.path), "-o", str(out), "--max-text-chars", "50", "--theme", "dark"]) == 0
    meta, cols = page_parts(out.read_text(encoding="utf-8"))
    assert meta["max_text_chars"] == 50 and meta["theme"] == "dark" and cols["text_off"][-1] == 50 * 50
    assert main(["-q", "view", str(store.path)]) == 0
    assert (store.path / "map.html").exists()
    assert main(["-q", "view", str(tmp_path / "nothing")]) == 2
    assert "not a clsmap store" in capsys.readouterr().err

    monkeypatch.setitem(sys.modules, "anywidget", None)  # without the notebook extra: the iframe (test_widget.py)
    view = show(store.path, height=500)
    frame = view._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"") and "height:500px" in frame
    assert html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1)) == view.html
    summary = clsmap.open_store(store.path)._repr_html_()  # a store knows no renderer: it shows a summary
    assert "<iframe" not in summary and ">50<" in summary and ">vector<" in summary


def test_cli_map_writes_the_interactive_map(tiny_bert, labeled_csv, tmp_path):
    out = tmp_path / "out"
    assert main(["-q", "map", str(tiny_bert), str(labeled_csv(n=24)), "-o", str(out), "--method", "pca"]) == 0
    meta, cols = page_parts((out / "map.html").read_text(encoding="utf-8"))
    assert meta["n"] == 24 and meta["title"]["reducer"] == "pca" and meta["title"]["pooling"] == "cls"
    assert meta["classes"][:2] == ["ham", "spam"] and meta["has_predictions"]
