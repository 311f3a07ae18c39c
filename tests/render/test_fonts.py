"""Every script rendered without system fonts: a page with CJK text embeds a subset of Noto Sans CJK KR
(WOFF2, data: URL, allowed by its policy) holding the characters it can show; a page without CJK gets
nothing. In chromium, on a machine without a Korean font, Hangul is drawn with the embedded face."""

from __future__ import annotations

import base64
import html
import io
import logging
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.viewer_browser import open_map

from clsmap.render import fonts, map_html, report, write_map
from clsmap.store import synthetic_store

pytest.importorskip("noto_cjk_sans_otc", reason="needs the cjk extra: pip install -e '.[dev]'")

KO_CLASSES = ["감정", "음식", "운동"]
KO_TEXTS = ["오늘은 기분이 정말 좋아요", "김치찌개가 먹고 싶다", "매일 아침 달리기를 합니다", "슬퍼서 울었어요",
            "비빔밥에 고추장을 넣어요", "축구 경기를 봤다"]
HIDDEN_AFTER_CUT = "뷁"  # only past max_text_chars: never shown, so never embedded


def _korean_store(folder, n=60, *, long_tail=False):
    rng = np.random.default_rng(0)
    texts = [f"{KO_TEXTS[i % len(KO_TEXTS)]} {i}" for i in range(n)]
    if long_tail:
        texts[1] = "가" * 30 + HIDDEN_AFTER_CUT
    labels = [KO_CLASSES[i % 3] for i in range(n)]
    preds = [KO_CLASSES[(i // 2) % 3] for i in range(n)]
    ids = [f"문서-{i}" for i in range(n)]
    return synthetic_store(folder, rng.normal(size=(n, 2)), texts, labels=labels, preds=preds, ids=ids,
                           confidence=rng.uniform(0.4, 1, n), classes=KO_CLASSES, model="한국어-모델")


def _english_store(folder, n=60):
    rng = np.random.default_rng(0)
    classes = ["neg", "pos", "mixed"]
    return synthetic_store(folder, rng.normal(size=(n, 2)), [f"text {i} é😀" for i in range(n)],
                           labels=[classes[i % 3] for i in range(n)], preds=[classes[(i // 2) % 3] for i in range(n)],
                           confidence=rng.uniform(0.4, 1, n), classes=classes)


def _embedded_characters(page: str) -> set[str]:
    """The characters of the page's embedded font (its cmap), decoded from the data: URL."""
    from fontTools.ttLib import TTFont

    found = re.findall(r"url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\) format\(\"woff2\"\)", page)
    assert len(found) == 1
    font = TTFont(io.BytesIO(base64.b64decode(found[0])))
    assert font.flavor == "woff2"
    return {chr(c) for c in font.getBestCmap()}


def _font_src(page: str) -> str:
    """The page's Content-Security-Policy font-src directive."""
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1))
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    return directives.get("font-src", "(default-src) " + directives["default-src"])


def _cjk(text: str) -> set[str]:
    return {c for c in text if fonts.has_cjk([c])}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), max_size=4))
def test_code_points_read_from_utf8_bytes_match_the_characters(texts):
    got = set(fonts.cjk_code_points(*(t.encode("utf-8") for t in texts)).tolist())
    want = {ord(c) for t in texts for c in t if any(lo <= ord(c) <= hi for lo, hi in fonts._WEB_RANGES)}
    assert got == want


def test_the_subset_holds_the_characters_asked_and_no_more():
    text = "한국어 텍스트 日本語 かな 中文。"
    font = fonts.web_font(text.encode("utf-8"))
    assert font is not None and font.glyphs == len(_cjk(text) | {"。"})
    assert _embedded_characters(font.css) == _cjk(text) | {"。"}
    assert "U+AC00-D7FF" in font.css and 'font-family:"Noto Sans CJK KR"' in font.css
    assert fonts.web_font("plain English, café, “quotes” — and 😀".encode()) is None


def test_the_map_embeds_what_it_shows(tmp_path):
    store = _korean_store(tmp_path / "ko", long_tail=True)
    page = map_html(store, max_text_chars=20)
    assert _font_src(page) == "data:"
    embedded = _embedded_characters(page)
    frame = store.frame
    shown = "".join([*[t[:20] for t in frame["text"]], *frame["id"], *KO_CLASSES, "한국어-모델"])
    assert _cjk(shown) <= embedded
    assert HIDDEN_AFTER_CUT not in embedded  # cut off: not shown, not embedded
    assert HIDDEN_AFTER_CUT in _embedded_characters(map_html(store, max_text_chars=None))  # whole texts


def test_the_report_embeds_what_it_shows(tmp_path):
    store = _korean_store(tmp_path / "ko")
    page = report(store).read_text(encoding="utf-8")
    assert _font_src(page) == "data:"
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    assert _cjk(body) and _cjk(body) <= _embedded_characters(page)


def test_pages_without_cjk_do_not_change(tmp_path, monkeypatch):
    store = _english_store(tmp_path / "en")
    written = report(store).read_text(encoding="utf-8")
    page = map_html(store)  # (after the report: with its regions)
    assert "@font-face" not in page and "@font-face" not in written
    assert _font_src(page) == "'none'" and _font_src(written) == "(default-src) 'none'"
    # byte for byte what the pages were before fonts were embedded (no font machinery at all)
    for module in ("clsmap.render.map", "clsmap.render.blocks"):  # the map's page; the report's document
        monkeypatch.setattr(f"{module}.web_font", lambda *blobs: None)
    assert map_html(store) == page
    again = report(store).read_text(encoding="utf-8")
    assert re.sub(r"on \S+\. Every", "", again) == re.sub(r"on \S+\. Every", "", written)


def test_without_the_extra_the_pages_still_write_and_say_how_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(fonts, "_font_file", lambda: None)
    fonts._say_once.cache_clear()
    caplog.set_level(logging.INFO, logger="clsmap")
    store = _korean_store(tmp_path / "ko")
    page = map_html(store)
    written = report(store).read_text(encoding="utf-8")
    assert "@font-face" not in page and "@font-face" not in written and _font_src(page) == "'none'"
    said = [r.getMessage() for r in caplog.records if "pip install 'clsmap[cjk]'" in r.getMessage()]
    assert len(said) == 1 and said[0].count("\n") == 0
    fonts._say_once.cache_clear()


def test_chatterbot_ko_map(shared_data, tmp_path):
    """The 1,026 Korean utterances of chatterbot_ko: every Hangul character of the map is embedded."""
    frame = pd.read_csv(shared_data / "chatterbot_ko.csv")
    rng = np.random.default_rng(0)
    store = synthetic_store(tmp_path / "store", rng.normal(size=(len(frame), 2)), list(frame["text"]),
                            labels=list(frame["label"]), preds=list(frame["label"]),
                            classes=sorted(frame["label"].unique()))
    page = write_map(store).read_text(encoding="utf-8")
    assert _cjk("".join(t[:200] for t in frame["text"])) <= _embedded_characters(page)


# --------------------------------------------------------------------------- in chromium

def _no_korean_system_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    done = subprocess.run([fc_list, ":lang=ko"], capture_output=True, text=True, timeout=30)
    return done.returncode == 0 and not done.stdout.strip()


def _fonts_of(page, selector: str) -> list[dict]:
    """The fonts chromium drew ``selector``'s text with (DevTools: CSS.getPlatformFontsForNode)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, selector
        return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()


def _drawn_with_embedded_face(page, selector: str, hangul: int) -> None:
    used = _fonts_of(page, selector)
    custom = [f for f in used if f["isCustomFont"]]
    assert custom and sum(f["glyphCount"] for f in custom) >= hangul, used
    assert all("CJK" in f["familyName"] for f in custom), used


def _tofu_without_the_face(page, selector: str) -> None:
    """Where no system font has Hangul, the same element drawn without the embedded face shows boxes:
    different glyphs with the face, and the pixels change when it is taken away."""
    from PIL import Image

    element = page.locator(selector)
    with_face = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("L"))
    page.evaluate("""(sel) => { for (const el of document.querySelectorAll(sel + ', ' + sel + ' *'))
        el.style.setProperty('font-family', 'sans-serif', 'important'); }""", selector)
    page.evaluate("() => document.fonts.ready")
    without = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("L"))
    assert with_face.shape != without.shape or np.abs(with_face.astype(int) - without).max() > 60
    assert _fonts_of(page, selector) and not any(f["isCustomFont"] for f in _fonts_of(page, selector))


_HANGUL_WIDTHS = r"""(sel) => {
  const out = [];
  for (const el of document.querySelectorAll(sel)) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const size = parseFloat(getComputedStyle(node.parentElement).fontSize);
      for (const m of node.data.matchAll(/[\uac00-\ud7a3]+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        out.push([m[0], range.getBoundingClientRect().width / size / m[0].length]);
      }
    }
  }
  return out;
}"""


def _hangul_drawn_full_width(page, selector: str) -> None:
    """Every run of Hangul syllables in ``selector`` is drawn about 0.92 em a syllable (the embedded
    face), not 0.6 (the boxes of a font without Hangul). DevTools' font report cannot tell: it names the
    embedded face even where chromium shaped the text before the face loaded and drew boxes (found on
    the map's bold title and all over the report while the face came last in the font stack)."""
    page.evaluate("() => document.fonts.ready")
    runs = page.evaluate(_HANGUL_WIDTHS, selector)
    assert runs, selector
    assert all(em > 0.85 for _, em in runs), (selector, runs)


@pytest.fixture(scope="module")
def korean_pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ko_pages")
    store = _korean_store(folder / "store", n=40)
    xy = store.projection[["x", "y"]].to_numpy()
    far = int(np.argmax(np.hypot(*(xy - xy.mean(axis=0)).T)))  # an outlying point, easy to hover alone
    return write_map(store, folder / "map.html", theme="light"), report(store, folder / "report.html"), far


def test_hangul_renders_in_the_map_with_the_embedded_face(browser, korean_pages):
    map_path, _, row = korean_pages
    page = open_map(browser, map_path)
    x, y = page.evaluate(f"() => window.clsmap.screenPosition({row})")
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=5)
    page.locator("#tooltip").wait_for(state="visible", timeout=5000)
    assert page.evaluate("() => window.clsmap.hovered()") == row
    page.evaluate("() => document.fonts.ready")
    assert page.evaluate("() => [...document.fonts].map((f) => [f.family, f.status])") == [["Noto Sans CJK KR",
                                                                                            "loaded"]]
    text = page.locator("#tooltip .text").text_content()
    _drawn_with_embedded_face(page, "#tooltip .text", len(_cjk(text)))
    page.mouse.click(x, y)
    page.locator("#detail").wait_for(state="visible", timeout=5000)
    _drawn_with_embedded_face(page, "#detail-body .text", len(_cjk(text)))
    _drawn_with_embedded_face(page, "#legend .legend-item .name", 2)  # a class name
    for selector in ("#title", "#legend", "#tooltip .text", "#detail-body"):  # the title is bold
        _hangul_drawn_full_width(page, selector)
    if _no_korean_system_font():
        _tofu_without_the_face(page, "#detail-body .text")
    assert page.errors == []
    page.close()


def test_hangul_renders_in_the_report_with_the_embedded_face(browser, korean_pages):
    _, report_path, _ = korean_pages
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(report_path.resolve().as_uri())
    page.evaluate("() => document.fonts.ready")
    cell = "#per-class tbody tr:first-child td:first-child"
    _drawn_with_embedded_face(page, cell, 2)
    for selector in ("h1", "table"):
        _hangul_drawn_full_width(page, selector)
    if _no_korean_system_font():
        _tofu_without_the_face(page, cell)
    assert errors == []
    page.close()


def test_a_korean_region_keyword_is_drawn_with_the_embedded_face(browser, tmp_path):
    """The regions' captions are drawn on a canvas: with the page's font stack (the embedded face first),
    so that a Hangul keyword is not a missing-glyph box where the system has no Korean font."""
    import pandas as pd

    from clsmap.analysis.files import write_keywords, write_regions
    from clsmap.analysis.results import Keywords, Regions

    rng = np.random.default_rng(0)
    xy = rng.normal(size=(200, 2))
    labels = ["식물" if i % 2 else "동물" for i in range(200)]
    store = synthetic_store(tmp_path / "store", xy, [f"꽃과 나무 {i}" for i in range(200)], labels=labels,
                            preds=labels)
    square = [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]]
    region = {"region_id": 1, "polygon": square, "n": 40, "n_errors": 20, "error_rate": 0.5, "rate": 0.5,
              "enrichment": 5.0, "p_value": 0.01, "purity": 0.5, "true_label": "식물", "pred_label": "동물",
              "examples": ["꽃과 나무 1"]}
    write_regions(store.path, Regions(frame=pd.DataFrame([region]), measure="error", overall_rate=0.1, alpha=0.05),
                  column="vector")
    words = pd.DataFrame({"kind": ["region"], "group": ["1"], "rank": [1], "term": ["꽃과"], "score": [1.0],
                          "share": [0.5]})
    write_keywords(store.path, Keywords(frame=words, n_texts=200), column="vector")
    path = write_map(store, tmp_path / "map.html")
    page = browser.new_page()
    page.add_init_script("""(() => {
      const fill = CanvasRenderingContext2D.prototype.fillText;
      window.drawnTexts = [];
      CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
        window.drawnTexts.push([String(text), this.font]);
        return fill.call(this, text, ...rest);
      };
    })()""")
    page.goto(path.resolve().as_uri())
    page.wait_for_function("() => window.clsmap && window.clsmap.ready")
    page.wait_for_function("() => window.drawnTexts.some(([text]) => text.includes('꽃과'))")
    fonts_used = {font for text, font in page.evaluate("() => window.drawnTexts") if "꽃과" in text}
    assert fonts_used and all(fonts.WEB_FAMILY in font for font in fonts_used), fonts_used
    page.close()
