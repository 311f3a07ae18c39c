"""The interactive map's JavaScript: its pure modules (js/viewer/src: decode, rows, points, modes, csv,
search) unit-tested in headless chromium, imported as ES modules from a local HTTP server (no Node.js
needed); and the committed bundle checked against the sources it says it was built from."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from support.viewer_browser import BrowserMissing, launch, missing_reason, open_blank, serve_folder

from clsmap.render import map_html
from clsmap.render.payload import pack, strings
from clsmap.store import synthetic_store

ROOT = Path(__file__).resolve().parents[2]
VIEWER = ROOT / "js" / "viewer"
SOURCES = VIEWER / "src"
BUNDLE = ROOT / "src" / "clsmap" / "render" / "assets" / "viewer.js"
WIDGET_BUNDLE = BUNDLE.with_name("widget.js")
#: the modules that touch neither the DOM nor regl (and so are unit-tested on a blank page)
PURE = ["decode.js", "rows.js", "points.js", "modes.js", "csv.js", "search.js", "neighbours.js", "steps.js"]

needs_browser = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

CLASSES = ["animal", "plant", "food"]
TEXTS = [
    "plain ascii",
    "한국어 텍스트 분류기",  # Korean
    "emoji 😀 and math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 outside the BMP",
    "",
    "=SUM(A1:A9) formula",
    '+1 "quoted", with comma',
    "-minus\nand a newline",
    "@at\r\nCRLF",
    "e\u0301 combining; a.b dot",
    "AXB upper, no dot",
    "</script><!-- not markup -->",
]
N = 40


def _rows():
    """Labels (some missing), predictions and confidences (some NaN) for N rows."""
    labels = [None if i % 7 == 3 else CLASSES[i % 3] for i in range(N)]
    preds = [CLASSES[(i // 2) % 3] for i in range(N)]
    conf = [float("nan") if i % 9 == 4 else 0.05 + (i * 0.0237) % 0.95 for i in range(N)]
    conf[5], conf[6] = 0.0, 1.0
    texts = [TEXTS[i % len(TEXTS)] + ("" if i < len(TEXTS) else f" #{i}") for i in range(N)]
    ids = [f"doc-{i}" if i % 5 else f"문서-{i}-😀" for i in range(N)]
    return labels, preds, conf, texts, ids


def _page_parts(page: str) -> tuple[dict, str]:
    meta = re.search(r'<script type="application/json" id="clsmap-meta">(.*?)</script>', page, re.S).group(1)
    payload = re.search(r'<script type="application/octet-stream" id="clsmap-data">(.*?)</script>', page, re.S)
    return json.loads(meta), payload.group(1)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    labels, preds, conf, texts, ids = _rows()
    rng = np.random.default_rng(0)
    return synthetic_store(tmp_path_factory.mktemp("js") / "store", rng.normal(size=(N, 2)), texts, labels=labels,
                           preds=preds, confidence=conf, ids=ids, classes=CLASSES)


@pytest.fixture(scope="module")
def page_data(store):
    """(meta, base64 payload) of the real map page of ``store``, as map.py writes them."""
    return _page_parts(map_html(store, max_text_chars=None, theme="light"))


@pytest.fixture(scope="module")
def browser():
    try:
        with launch() as context:
            yield context
    except BrowserMissing as exc:  # pragma: no cover - guarded by needs_browser
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def origin():
    with serve_folder(SOURCES) as url:
        yield url


@pytest.fixture
def js(browser, origin):
    """A blank page of the modules' origin; page errors fail the test."""
    page = open_blank(browser, origin)
    yield page
    assert page.errors == [], page.errors
    page.close()


# decode meta + payload in the page and keep {meta, cols, data} on window.t for the next evaluate
DECODE = """async ([meta, b64, workers = 2]) => {
  const { decodePayload } = await import('/decode.js');
  const { rowAccessors } = await import('/rows.js');
  const cols = await decodePayload(meta, b64, () => {}, { workers });
  window.t = { meta, cols, data: rowAccessors(meta, cols) };
}"""


# ---------------------------------------------------------------- decode


@needs_browser
@pytest.mark.parametrize("workers", [2, 0])
@pytest.mark.parametrize("member_bytes", [None, 97])
def test_decode_reads_what_the_python_packer_wrote(js, monkeypatch, member_bytes, workers):
    """Every dtype the packer writes, several gzip members cut mid-value, strings with non-BMP
    characters and Korean text (the lengths count UTF-16 units), empty strings; inflated in workers
    and on the page's own thread (where no worker can be made)."""
    if member_bytes:
        monkeypatch.setattr("clsmap.render.payload.MEMBER_BYTES", member_bytes)
    labels, preds, conf, texts, ids = _rows()
    rng = np.random.default_rng(1)
    text_len, text_blob, cut = strings(texts, None)
    id_len, id_blob, _ = strings(ids, None)
    columns = {
        "x": rng.normal(size=N).astype(np.float32), "y": rng.normal(size=N).astype(np.float32),
        "label": np.array([-1 if v is None else CLASSES.index(v) for v in labels], dtype=np.int8),
        "pred": (np.arange(N) * 13 % 300).astype(np.int16),  # codes past 127: int16
        "conf": np.array(conf, dtype=np.float32),
        "big": (np.arange(N, dtype=np.uint32) * 99_991 + 2**31),
        "signed": (np.arange(N, dtype=np.int32) - 20) * 100_003,
        "small": (np.arange(N) * 1_601 % 65_536).astype(np.uint16),
        "correct": (np.arange(N) % 3 - 1).astype(np.int8),
        "text_len": text_len, "id_len": id_len, "text": text_blob, "id": id_blob,
    }
    layout, packing, packed = pack(columns, 4)
    assert len(packing["members"]) > (10 if member_bytes else 0)
    meta = {"n": N, "columns": layout, **packing}
    js.evaluate(DECODE, [meta, base64.b64encode(packed).decode("ascii"), workers])
    got = js.evaluate("""() => {
      const { meta, cols, data } = window.t;
      const out = {};
      for (const [k, v] of Object.entries(cols)) if (k !== 'complete') out[k] = [v.constructor.name, Array.from(v)];
      out.texts = Array.from({ length: meta.n }, (_, i) => data.textOf(i));
      out.ids = Array.from({ length: meta.n }, (_, i) => data.idOf(i));
      return out;
    }""")
    kinds = {np.float32: "Float32Array", np.int8: "Int8Array", np.int16: "Int16Array", np.uint32: "Uint32Array",
             np.int32: "Int32Array", np.uint16: "Uint16Array", np.uint8: "Uint8Array"}
    for name, values in columns.items():
        values = np.frombuffer(values, dtype=np.uint8) if isinstance(values, bytes) else values
        kind, decoded = got[name]
        assert kind == kinds[values.dtype.type], name
        np.testing.assert_array_equal(np.array(decoded, dtype=values.dtype), values, err_msg=name)
    assert got["text_off"] == ["Uint32Array", [0, *np.cumsum(text_len).tolist()]]
    assert got["id_off"] == ["Uint32Array", [0, *np.cumsum(id_len).tolist()]]
    assert got["texts"] == texts
    assert got["ids"] == ids
    assert "😀" in got["ids"][0] and "한국어" in got["texts"][1]


@needs_browser
def test_base64_every_path_gives_the_same_bytes(js):
    """Uint8Array.fromBase64, the data: URL fetch and atob: each decodes all 256 byte values."""
    raw = bytes(range(256)) * 3 + b"\x00\xff"
    got = js.evaluate("""async (b64) => {
      const { base64ToBytes, offsetsOf } = await import('/decode.js');
      const out = {};
      out.native = typeof Uint8Array.fromBase64 === 'function' ? Array.from(await base64ToBytes(b64)) : null;
      const fromBase64 = Uint8Array.fromBase64;
      const fetch = window.fetch;
      try {
        delete Uint8Array.fromBase64;
        out.fetch = Array.from(await base64ToBytes(b64));
        window.fetch = () => { throw new Error('no fetch'); };
        out.atob = Array.from(await base64ToBytes(b64));
      } finally {
        if (fromBase64) Uint8Array.fromBase64 = fromBase64;
        window.fetch = fetch;
      }
      out.offsets = Array.from(offsetsOf(new Uint8Array([3, 0, 2, 255])));
      return out;
    }""", base64.b64encode(raw).decode("ascii"))
    assert got["native"] is None or bytes(got["native"]) == raw  # None: a browser without fromBase64
    assert bytes(got["fetch"]) == raw
    assert bytes(got["atob"]) == raw
    assert got["offsets"] == [0, 3, 3, 5, 260]


# ---------------------------------------------------------------- colour modes


def _expected_groups(frame, meta, mode):
    classes = meta["classes"]
    code = {c: k for k, c in enumerate(classes)}
    if mode in ("label", "pred"):
        return [len(classes) if v is None or v != v else code[v] for v in frame[mode].astype(object)]
    correct = [None if c is None or c != c else bool(c) for c in frame["correct"].astype(object)]
    if mode == "correct":
        return [2 if c is None else 0 if c else 1 for c in correct]
    if mode == "confidence":
        conf = frame["confidence"].to_numpy(dtype=np.float32, na_value=np.nan)
        return [10 if math.isnan(c) else min(9, math.floor(float(c) * 10)) for c in conf]
    pair = {(p["label"], p["pred"]): k + 1 for k, p in enumerate(meta["pairs"])}
    return [pair[(code[lab], code[pred])] if c is False else 0
            for lab, pred, c in zip(frame["label"].astype(object), frame["pred"].astype(object), correct, strict=True)]


SPEC = """async ([mode, theme]) => {
  const { modeSpec } = await import('/modes.js');
  const s = modeSpec(mode, window.t.meta, window.t.cols, theme);
  return { ...s, group: Array.from(s.group), colour: Array.from(s.colour) };
}"""


@needs_browser
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_mode_specs_give_groups_colours_and_counts(js, store, page_data, theme):
    meta, payload = page_data
    js.evaluate(DECODE, [meta, payload])
    frame = store.frame
    C = meta["colors"]
    grey = C[f"unknown_{theme}"]
    assert set(frame["label"].isna()) == {True, False} and frame["confidence"].isna().any()
    assert meta["pairs"] and set(frame["correct"].astype(object).map(lambda c: c is None or c != c)) == {True, False}
    for mode in ("label", "pred", "correct", "confidence", "confusion"):
        spec = js.evaluate(SPEC, [mode, theme])
        groups = _expected_groups(frame, meta, mode)
        assert spec["group"] == groups, mode
        assert spec["counts"] == np.bincount(groups, minlength=len(spec["names"])).tolist(), mode
        assert len(spec["counts"]) == len(spec["names"]) == len(spec["legendColours"]), mode
        if mode in ("label", "pred"):
            assert spec["names"] == meta["classes"] + ["(none)"]
            assert spec["colours"] == C["classes"] + [grey] == spec["legendColours"]
            assert spec["colour"] == groups
        elif mode == "correct":
            assert spec["names"] == ["correct", "misclassified", "unknown"]
            assert spec["colours"] == [C["correct"], C["wrong"], grey]
        elif mode == "confidence":
            assert spec["names"][:2] == ["0.0–0.1", "0.1–0.2"] and spec["names"][9:] == ["0.9–1.0", "(none)"]
            bins = len(C["confidence"])
            conf = frame["confidence"].to_numpy(dtype=np.float32, na_value=np.nan)
            assert spec["colour"] == [bins if math.isnan(c) else min(bins - 1, math.floor(float(c) * bins))
                                      for c in conf]
            assert spec["colours"] == C["confidence"] + [grey]
            assert spec["legendColours"] == [C["confidence"][int((g + 0.5) / 10 * bins)] for g in range(10)] + [grey]
        else:
            assert spec["names"] == ["correct or unlabelled"] + [p["name"] for p in meta["pairs"]]
            assert spec["colours"] == [grey] + [p["colour"] for p in meta["pairs"]]
            assert spec["counts"][1:] == [p["count"] for p in meta["pairs"]]
    none = js.evaluate(SPEC, ["none", theme])
    assert none["names"] == ["points"] and none["colours"] == [C[f"points_{theme}"]]
    assert none["counts"] == [N] and set(none["group"]) == {0}


@needs_browser
def test_modes_available_legend_order_toggle_and_isolate(js):
    got = js.evaluate("""async () => {
      const m = await import('/modes.js');
      const keys = (meta) => m.availableModes(meta).map((x) => x.key);
      const sorted = (set) => [...set].sort((a, b) => a - b);
      const before = new Set([1]);
      const spec = { names: ['a', 'b', 'c', 'd', 'e'], counts: [5, 1, 7, 0, 3] };
      return {
        both: keys({ has_labels: true, has_predictions: true }),
        labels: keys({ has_labels: true, has_predictions: false }),
        preds: keys({ has_labels: false, has_predictions: true }),
        neither: keys({ has_labels: false, has_predictions: false }),
        names: ['label', 'confusion', 'none'].map((key) => m.modeName(key)),
        add: sorted(m.toggled(before, 2)),
        remove: sorted(m.toggled(before, 1)),
        untouched: sorted(before),
        isolate: sorted(m.isolated(new Set(), 1, 4)),
        again: sorted(m.isolated(new Set([0, 2, 3]), 1, 4)),
        other: sorted(m.isolated(new Set([0, 2, 3]), 2, 4)),
        partial: sorted(m.isolated(new Set([0]), 1, 4)),
        hiddenOne: sorted(m.isolated(new Set([0, 1, 2]), 1, 4)),
        order: m.legendOrder(spec, 'label'),
        confusionOrder: m.legendOrder(spec, 'confusion'),
        entries: m.legendEntries(spec),
      };
    }""")
    assert got["both"] == ["label", "pred", "correct", "confidence", "confusion"]
    assert got["labels"] == ["label"] and got["preds"] == ["pred", "confidence"] and got["neither"] == []
    assert got["names"] == ["true label", "confusion pair", "points"]
    assert got["add"] == [1, 2] and got["remove"] == [] and got["untouched"] == [1]
    assert got["isolate"] == [0, 2, 3]   # only group 1 shown
    assert got["again"] == []            # isolating the only shown group shows all again
    assert got["other"] == [0, 1, 3]
    assert got["partial"] == [0, 2, 3]
    assert got["hiddenOne"] == [0, 2, 3]  # group 1 was hidden: isolating it shows it alone
    assert got["order"] == [0, 1, 2, 4]  # groups with points, in order
    assert got["confusionOrder"] == [0, 2, 4, 1]  # 'correct' first, then the most frequent pairs
    assert got["entries"] == [{"name": "a", "count": 5}, {"name": "b", "count": 1}, {"name": "c", "count": 7},
                              {"name": "e", "count": 3}]


@needs_browser
def test_rings_points_rows_and_filter(js):
    """One point per row; a misclassified row's ring is in its shape code (valueB), not a second point."""
    got = js.evaluate("""async () => {
      const p = await import('/points.js');
      const correct = new Int8Array([1, 0, -1, 0, 1]);
      const ring = p.ringLayout(correct);
      const x = new Float32Array([0, 1, 2, 3, 4]);
      const buffers = p.pointBuffers(ring, x, new Float32Array([10, 11, 12, 13, 14]), correct);
      const spec = {
        colours: ['#a', '#b', '#c'], colour: new Int32Array([2, 0, 1, 1, 2]), group: new Int32Array([0, 1, 2, 0, 0]),
      };
      const arr = (a) => Array.from(a);
      return {
        H: ring.H, K: ring.K, sameX: buffers.xs === x,
        rowOfPoint: [0, 1, 2, 3, 4].map(ring.rowOfPoint), pointOfRow: [0, 4].map(ring.pointOfRow),
        rows: ring.rowsOfPoints([4, 0, 3, 0, 1]),
        valueB: arr(buffers.valueB), sizes: p.pointSizes(4),
        valueA: arr(p.colourValues(ring, spec)), colours: p.pointColours(spec, '#ring'), order: p.ringedFirst(ring),
        keepAll: p.keptPoints(ring, spec, new Set()),
        keep: p.keptPoints(ring, spec, new Set([1])),
        keepNone: p.keptPoints(ring, spec, new Set([0, 1, 2])),
      };
    }""")
    assert got["H"] == 2 and got["K"] == 0 and got["sameX"]  # the coordinates are handed over as they are
    assert got["rowOfPoint"] == [0, 1, 2, 3, 4] and got["pointOfRow"] == [0, 4]
    assert got["rows"] == [0, 1, 3, 4]  # each row once; row order
    assert got["valueB"] == [0, 1, 0, 1, 0]  # the misclassified rows' shape has the ring bit
    sizes = got["sizes"]
    assert sizes[1] == 4 + 2.5 and sizes[0] == sizes[2] == 4 and sizes[4] == sizes[6] == 4 * 1.35
    assert sizes[5] == pytest.approx(4 * 1.35 + 2.5)  # a ring around a big point
    assert got["valueA"] == [3, 1, 2, 2, 3]  # the mode's colours after the ring colour
    assert got["colours"] == ["#ring", "#a", "#b", "#c"]
    assert got["order"] == [1, 3]  # drawn first, under the others
    assert got["keepAll"] is None
    assert got["keep"] == [0, 2, 3, 4]  # group 1 (row 1) hidden
    assert got["keepNone"] == []


@needs_browser
def test_held_out_splits_get_holes_and_hide_with_their_split(js):
    got = js.evaluate("""async () => {
      const p = await import('/points.js');
      // rows 0..3; row 1 misclassified; rows 2 and 3 in a held-out split (index > 0); row 3 also wrong
      const split = new Int8Array([0, 0, 1, 2]);
      const ring = p.ringLayout(new Int8Array([1, 0, 1, 0]), split);
      const buffers = p.pointBuffers(ring, new Float32Array([0, 1, 2, 3]), new Float32Array([10, 11, 12, 13]));
      const spec = { colours: ['#a', '#b'], colour: new Int32Array([0, 1, 0, 1]), group: new Int32Array([0, 1, 0, 1]) };
      return {
        H: ring.H, K: ring.K, valueB: Array.from(buffers.valueB),
        keep: p.keptPoints(ring, spec, new Set(), new Set([1]), (r) => split[r]),
        keepBoth: p.keptPoints(ring, spec, new Set([1]), new Set([2]), (r) => split[r]),
      };
    }""")
    assert got["H"] == 2 and got["K"] == 2
    assert got["valueB"] == [0, 1, 2, 3]  # hole bit 2 for the held-out rows, with the ring bit where wrong
    assert got["keep"] == [0, 1, 3]  # split 1 (row 2) hidden
    assert got["keepBoth"] == [0, 2]  # group 1 (rows 1, 3) and split 2 hidden


@needs_browser
def test_a_pages_own_colour_modes(js):
    got = js.evaluate("""async () => {
      const m = await import('/modes.js');
      const meta = { n: 4, has_labels: true, has_predictions: false, classes: ['a'],
        colors: { classes: ['#111111'], unknown_light: '#cccccc', unknown_dark: '#333333', confidence: ['#000000'] },
        extra_modes: [{ key: 'changed', name: 'what changed', names: ['fixed', 'broken'],
                        colours: ['#00ff00', '#ff0000'] }] };
      const cols = { label: new Int8Array([0, 0, 0, 0]), mode_changed: new Int8Array([0, 1, -1, 1]) };
      const spec = m.modeSpec('changed', meta, cols, 'light');
      return { keys: m.availableModes(meta).map((x) => x.key), names: spec.names, colours: spec.colours,
               group: Array.from(spec.group), counts: spec.counts, name: m.modeName('changed', meta.extra_modes),
               elsewhere: m.modeName('changed') };
    }""")
    assert got["keys"] == ["label", "changed"]
    assert got["names"] == ["fixed", "broken", "(none)"] and got["colours"] == ["#00ff00", "#ff0000", "#cccccc"]
    assert got["group"] == [0, 1, 2, 1] and got["counts"] == [1, 2, 1] and got["name"] == "what changed"
    assert got["elsewhere"] == "points"  # a page's own modes are its own: nothing is kept between calls


@needs_browser
def test_the_players_colour_modes(js):
    """The player's modes: train / held-out (the points' colour of the theme, and the held-out colour) and
    the training rows' cartography groups (held-out rows in a group of their own)."""
    got = js.evaluate("""async () => {
      const m = await import('/modes.js');
      const meta = { n: 4, classes: ['a'], pairs: [], player: { groups: ['easy', 'ambiguous', 'hard'],
                                                                 group_colours: ['#0000ff', '#00ff00', '#ff0000'] },
        colors: { classes: ['#111111'], unknown_light: '#cccccc', unknown_dark: '#333333', confidence: ['#000000'],
                  points_light: '#222222', points_dark: '#dddddd', held_out: '#7b2cbf' } };
      const cols = { train: new Uint8Array([1, 0, 1, 1]), cgroup: new Int8Array([2, -1, 0, 2]) };
      const spec = (mode, theme) => {
        const s = m.modeSpec(mode, meta, cols, theme);
        return { names: s.names, colours: s.colours, legendColours: s.legendColours, group: Array.from(s.group),
                 colour: Array.from(s.colour), counts: s.counts };
      };
      return { split: spec('split', 'light'), dark: spec('split', 'dark'), carto: spec('cartography', 'dark') };
    }""")
    assert got["split"] == {"names": ["train", "held-out"], "colours": ["#222222", "#7b2cbf"],
                            "legendColours": ["#222222", "#7b2cbf"], "group": [0, 1, 0, 0], "colour": [0, 1, 0, 0],
                            "counts": [3, 1]}
    assert got["dark"]["colours"] == ["#dddddd", "#7b2cbf"]
    assert got["carto"] == {"names": ["easy", "ambiguous", "hard", "held-out"],
                            "colours": ["#0000ff", "#00ff00", "#ff0000", "#333333"],
                            "legendColours": ["#0000ff", "#00ff00", "#ff0000", "#333333"],
                            "group": [2, 3, 0, 2], "colour": [2, 3, 0, 2], "counts": [1, 0, 2, 1]}


@needs_browser
def test_player_steps_rings_and_curves(js):
    """The training dynamics player's pure parts: views of one step, rings of the rows ever wrong (hidden where
    right at this step), the split filter, the curves' geometry."""
    got = js.evaluate("""async () => {
      const s = await import('/steps.js');
      const p = await import('/points.js');
      const n = 3;
      const all = {
        x: new Float32Array([0, 1, 2, 10, 11, 12]), y: new Float32Array([5, 6, 7, 15, 16, 17]),
        pred: new Int8Array([0, 1, 1, 0, 0, 1]), conf: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        correct: new Int8Array([1, 0, 1, 1, 1, 0]),
      };
      const second = s.stepView(all, n, 1);
      const ever = s.everWrong(all.correct, n);
      const ring = p.ringLayout(second.correct, null, ever);
      const buffers = p.pointBuffers(ring, second.x, second.y, second.correct, new Uint8Array([0, 1, 0]));
      const scale = s.curveScale([0, 5, 10], 100, 50, 0);
      return {
        x: Array.from(second.x), pred: Array.from(second.pred), ever: Array.from(ever),
        valueB: Array.from(buffers.valueB), xs: Array.from(buffers.xs), rows: ring.H,
        train: Array.from(s.splitFilter(new Uint8Array([1, 0, 1]), 'train')),
        held: Array.from(s.splitFilter(new Uint8Array([1, 0, 1]), 'validation')),
        everyone: s.splitFilter(new Uint8Array([1, 0, 1]), 'all'),
        points: s.curvePoints([0, 5, 10], [0, null, 1], scale),
        nearest: [s.nearestStep([0, 5, 10], scale, 20), s.nearestStep([0, 5, 10], scale, 80)],
        kept: p.keptPoints(ring, { group: new Int32Array([0, 0, 0]) }, new Set(), new Set(), () => -1,
                           new Uint8Array([1, 0, 1])),
      };
    }""")
    assert got["x"] == [10, 11, 12] and got["pred"] == [0, 0, 1]
    assert got["ever"] == [0, 1, 1] and got["rows"] == 2  # rows wrong at some step may have a ring
    assert got["valueB"] == [0, 4, 1]  # row 1 is right at this step: no ring, but held out: drawn larger (bit 4);
    # row 2 is wrong here: its ring shows
    assert got["xs"] == [10, 11, 12]
    assert got["train"] == [1, 0, 1] and got["held"] == [0, 1, 0] and got["everyone"] is None
    assert got["points"] == "0.0,50.0 100.0,0.0"  # the missing value is skipped
    assert got["nearest"] == [0, 2]
    assert got["kept"] == [0, 2]  # row 1 filtered out


# ---------------------------------------------------------------- CSV


@needs_browser
def test_csv_cells_are_quoted_and_guarded(js):
    cells = ["plain", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", "=1+1", "+1", "-1", "@SUM(A1)", "\tTAB",
             "\rX", "", "a=1", "한국어 😀", "x-1"]
    got = js.evaluate("async (cells) => { const { csvCell } = await import('/csv.js'); return cells.map(csvCell); }",
                      cells)
    assert got == ["plain", '"a,b"', '"say ""hi"""', '"line\nbreak"', '"cr\rhere"', "'=1+1", "'+1", "'-1",
                   "'@SUM(A1)", "'\tTAB", "\"'\rX\"", "", "a=1", "한국어 😀", "x-1"]
    assert js.evaluate("async () => (await import('/csv.js')).csvCell(0.5)") == "0.5"


@needs_browser
def test_selection_csv_round_trips_through_a_csv_reader(js, store, page_data):
    meta, payload = page_data
    js.evaluate(DECODE, [meta, payload])
    rows = list(range(0, N, 3)) + [4, 6]  # NaN confidence at 4, 1.0 at 6; in this order, as given
    text = js.evaluate("async (rows) => (await import('/csv.js')).selectionCsv(rows, window.t.data)", rows)
    assert text.endswith("\r\n") and text.startswith("id,label,pred,confidence,correct,text\r\n")
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0] == ["id", "label", "pred", "confidence", "correct", "text"]
    frame = store.frame

    def guard(s):
        return f"'{s}" if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s

    def cell(v):
        return "" if v is None or v != v else str(v)

    expected = []
    for r in rows:
        conf = np.float32(frame["confidence"][r])
        correct = frame["correct"].astype(object)[r]
        expected.append([guard(cell(frame["id"][r])), cell(frame["label"].astype(object)[r]), cell(frame["pred"][r]),
                         "" if np.isnan(conf) else f"{float(conf):.3f}",
                         "" if correct is None or correct != correct else str(bool(correct)).lower(),
                         guard(frame["text"][r])])
    assert table[1:] == expected
    assert any(row[5].startswith("'=SUM") for row in table[1:]) and any("\n" in row[5] for row in table[1:])
    assert {row[3] for row in table[1:]} >= {"", "1.000"} and {row[4] for row in table[1:]} >= {"", "true", "false"}


# ---------------------------------------------------------------- search


@needs_browser
def test_search_substring_regex_and_invalid(js, store, page_data):
    meta, payload = page_data
    js.evaluate(DECODE, [meta, payload])
    got = js.evaluate("""async () => {
      const s = await import('/search.js');
      const run = (q, regex) => s.search(q, regex, window.t.data);
      return {
        dotLiteral: run('a.b', false), dotRegex: run('a.b', true),
        caseless: run('axb UPPER', false), korean: run('텍스트', false), emoji: run('😀 and', false),
        ids: run('^doc-1\\\\d$', true), idsLiteral: run('^doc-1', false), korean_id: run('문서-1', false),
        invalid: run('([', true), invalidLiteral: run('([', false),
        escaped: s.escapeRegex('a.b*c(d)[e]{f}|g^h$i?j+k\\\\l'),
        flags: s.queryRegex('x', false).flags,
        texts: [0, 1, 2, 1234].map(s.matchesText),
      };
    }""")
    frame = store.frame
    texts, ids = list(frame["text"]), list(frame["id"])

    def rows(pred):
        return [i for i in range(N) if pred(texts[i], ids[i])]

    assert got["dotLiteral"] == {"rows": rows(lambda t, i: "a.b" in t.lower())} and got["dotLiteral"]["rows"]
    assert got["dotRegex"] == {"rows": rows(lambda t, i: re.search("a.b", t, re.I) or re.search("a.b", i, re.I))}
    assert len(got["dotRegex"]["rows"]) > len(got["dotLiteral"]["rows"])  # 'AXB' matches the regex only
    assert got["caseless"]["rows"] == rows(lambda t, i: "axb upper" in t.lower()) != []
    assert got["korean"]["rows"] == rows(lambda t, i: "텍스트" in t) != []
    assert got["emoji"]["rows"] == rows(lambda t, i: "😀 and" in t) != []
    assert got["ids"]["rows"] == [i for i in range(10, 20) if i % 5]  # over the ids too
    assert got["idsLiteral"] == {"rows": []}  # '^' is a character in a substring search
    assert got["korean_id"]["rows"] == [10, 15]
    assert got["invalid"] == {"error": "invalid regex"}
    assert got["invalidLiteral"] == {"rows": []}
    assert got["escaped"] == r"a\.b\*c\(d\)\[e\]\{f\}\|g\^h\$i\?j\+k\\l"
    assert got["flags"] == "i"
    assert got["texts"] == ["0 matches", "1 match", "2 matches", "1,234 matches"]


# ---------------------------------------------------------------- the sources and the bundle


def _top_level(code: str) -> list[str]:
    """The statements of a module's source at its top level (lines that start a statement there)."""
    return [line for line in code.splitlines()
            if line and not line[0].isspace() and not line.startswith(("}", ")", "]"))]


def test_no_module_keeps_state_of_its_own():
    """Each map keeps its state in the objects made for it (viewer.openMap), never in a module: no module
    has a top-level ``let`` or ``var`` (a pure module, nothing mutable at all), so two maps on a page
    (notebook widgets) cannot share or overwrite each other's state."""
    for path in SOURCES.glob("*.js"):
        code = re.sub(r"//[^\n]*", "", path.read_text(encoding="utf-8"))
        for line in _top_level(code):
            assert not line.startswith(("let ", "var ")), f"{path.name} keeps module state: {line!r}"
            if path.name in PURE:
                assert not re.match(r"(export )?const \w+ = new (Set|Map|WeakMap|Array)\b", line), (
                    f"{path.name} (pure) keeps a mutable object at its top level: {line!r}")


def test_pure_modules_touch_no_dom_and_import_only_pure_modules():
    for name in PURE:
        source = (SOURCES / name).read_text(encoding="utf-8")
        code = re.sub(r"//[^\n]*", "", source)
        for word in ("document", "window", "regl", "kdbush", "innerHTML", "$("):
            assert word not in code, f"{name} uses {word!r}: the pure modules must not touch the DOM or regl"
        for spec in re.findall(r"""\bfrom\s+['"]([^'"]+)['"]""", code):
            assert spec.startswith("./") and spec[2:] in PURE, f"{name} imports {spec}"
    for path in SOURCES.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                     "DOMParser"):
            if (path.name, sink) == ("widget.js", "DOMParser"):
                # the notebook widget parses the page's own markup once (map_body.html, autoescaped by Jinja)
                assert source.count(sink) == 1 and "parseFromString(model.get('_body')" in source
                continue
            assert sink not in source, f"{path.name} uses {sink}: build the DOM with textContent / createElement"


def source_hash() -> str:
    """The sha256 that js/viewer/build.mjs writes into the bundle: over build.mjs, package.json,
    package-lock.json and every file under src/, sorted by their '/'-separated paths (as UTF-8 bytes);
    per file its path, NUL, its size in decimal, NUL, then its exact bytes."""
    names = ["build.mjs", "package.json", "package-lock.json"]
    names += [p.relative_to(VIEWER).as_posix() for p in SOURCES.rglob("*") if p.is_file()]
    digest = hashlib.sha256()
    for name in sorted(names, key=lambda s: s.encode("utf-8")):
        data = (VIEWER / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


@pytest.mark.parametrize("bundle_path", [BUNDLE, WIDGET_BUNDLE], ids=["viewer.js", "widget.js"])
def test_bundle_is_built_from_the_sources(bundle_path):
    bundle = bundle_path.read_text(encoding="utf-8")
    first = bundle.split("\n", 1)[0]
    found = re.fullmatch(r"/\* clsmap-viewer src-sha256:([0-9a-f]{64}) \*/", first)
    assert found, f"{bundle_path} does not start with the hash of its sources ({first[:80]!r}): run `make js`"
    assert found.group(1) == source_hash(), (
        f"{bundle_path.relative_to(ROOT)} was not built from js/viewer as it is now (the bundle records "
        f"src-sha256 {found.group(1)}, the sources hash to {source_hash()}): run `make js` and commit the bundle")
    for bad in ("</script", "<!--"):
        assert bad not in bundle.lower(), f"the bundle contains {bad!r}; it could not be inlined in the page"


@needs_browser
def test_the_first_frames_columns_arrive_before_the_texts(js, monkeypatch):
    """decodeStages: `first` resolves with every column but the texts, ids and neighbours decoded; theirs
    are inflated only once `later` resolves (the page: after the first frame); until `all`, a row's text
    is '' (not a half-decoded blob); then all are in."""
    monkeypatch.setattr("clsmap.render.payload.MEMBER_BYTES", 64)
    texts = [f"text number {i} " + "x" * (i % 17) for i in range(N)]
    text_len, text_blob, _ = strings(texts, None)
    id_len, id_blob, _ = strings([f"id-{i}" for i in range(N)], None)
    x = np.arange(N, dtype=np.float32)
    layout, packing, packed = pack({"x": x, "text_len": text_len, "id_len": id_len, "text": text_blob,
                                    "id": id_blob, "nb0": np.arange(N, dtype=np.uint8)}, 4)
    meta = {"n": N, "columns": layout, **packing}
    got = js.evaluate("""async ([meta, b64]) => {
      const { decodeStages, isLate } = await import('/decode.js');
      const { rowAccessors } = await import('/rows.js');
      let go = () => {};
      const later = new Promise((resolve) => { go = resolve; });
      const { cols, first, all } = await decodeStages(meta, b64, () => {}, { workers: 2, later });
      await first;
      const data = rowAccessors(meta, cols);
      await new Promise((resolve) => { setTimeout(resolve, 0); });  // anything queued runs: the texts wait
      const before = { x: Array.from(cols.x), complete: cols.complete, text: data.textOf(3),
                       offsets: cols.text_off.length, ids: Array.from(cols.id).some((b) => b !== 0) };
      go();
      await all;
      return { before, complete: cols.complete, text: data.textOf(3), nb: Array.from(cols.nb0),
               late: ['text', 'id', 'nb0', 'nb_sim', 'x', 'text_len'].map(isLate) };
    }""", [meta, base64.b64encode(packed).decode("ascii")])
    # the late members wait for `later`: the ids (far past the first frame's columns) are still zeros, and
    # a row's text is '' until all are in
    assert got["before"] == {"x": x.tolist(), "complete": False, "text": "", "offsets": N + 1, "ids": False}
    assert got["complete"] is True and got["text"] == texts[3] and got["nb"] == list(range(N))
    assert got["late"] == [True, True, True, True, False, False]
