"""clsmap.plot: PNG and SVG files that show the map, with Korean class names drawn as text."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from clsmap import ClsmapError, extract, plot, project
from clsmap.render.fonts import find_cjk_font
from clsmap.render.palette import categorical

from support.tiny_models import make_texts


def _store(folder, data, out):
    store = extract(folder, data, out, dtype="float32", device="cpu", progress=False)
    project(store, method="pca")
    return store


def _glyph_warnings(caught):
    return [str(w.message) for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)]


def test_plot_writes_png_and_svg(tmp_path, tiny_bert, labeled_csv):
    store = _store(tiny_bert, labeled_csv(40, seed=41), tmp_path / "store")
    written = plot(store)
    assert [p.name for p in written] == ["map.png", "map.svg"]
    png, svg = written
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = svg.read_text(encoding="utf-8")
    for fragment in ("ham", "spam", "true label", "prediction", "misclassified", "N=40"):
        assert fragment in text, fragment


def test_plot_to_a_chosen_path_and_format(tmp_path, tiny_bert_encoder, labeled_csv):
    store = _store(tiny_bert_encoder, labeled_csv(20, seed=42), tmp_path / "store")
    written = plot(store.path, tmp_path / "figs" / "encoder", formats=("svg",), panels=("label",))
    assert written == [tmp_path / "figs" / "encoder.svg"]
    assert written[0].stat().st_size > 5_000
    with pytest.raises(ClsmapError, match="predictions"):
        plot(store, tmp_path / "x", panels=("pred",))
    with pytest.raises(ValueError, match="'label'"):
        plot(store, tmp_path / "x", panels=("labels",))


def test_plot_needs_a_projection(tmp_path, tiny_bert, labeled_csv):
    store = extract(tiny_bert, labeled_csv(10), tmp_path / "store", dtype="float32", progress=False)
    with pytest.raises(ClsmapError, match="project"):
        plot(store)


def test_korean_class_names_are_drawn(tmp_path, tiny_bert_encoder):
    if find_cjk_font() is None:
        pytest.skip("no CJK font installed (pip install 'clsmap[cjk]')")
    labels = ["감정", "심리"] * 10
    data = pd.DataFrame({"text": make_texts(20, seed=43), "label": labels})
    store = _store(tiny_bert_encoder, data, tmp_path / "store")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png, svg = plot(store, title="감정 분류 지도")
    assert _glyph_warnings(caught) == []
    text = svg.read_text(encoding="utf-8")
    for fragment in ("감정", "심리", "감정 분류 지도"):
        assert fragment in text
    assert find_cjk_font() in text  # the font that covers Hangul is named in the SVG styles


def test_palette_gives_distinct_colours():
    for n in (1, 2, 10, 11, 20, 21, 60):
        colours = categorical(n)
        assert len(colours) == n
        assert len(set(colours)) == n
        assert all(len(c) == 7 and c.startswith("#") and int(c[1:], 16) >= 0 for c in colours)
