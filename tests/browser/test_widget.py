"""clsmap.show in a notebook: an anywidget widget (the `notebook` extra) whose selection reaches Python.

The model's state round-trips through what Jupyter's comm sends (JSON plus binary buffers); the front
end (assets/widget.js, the viewer's own bundle as an ES module) runs in headless chromium against a
model that implements anywidget's documented model API (get, set, on, off, save_changes): a lasso on
the map sets `selected_ids`, and `selected_ids` set from Python highlights and lists the texts."""

from __future__ import annotations

import base64
import importlib.util
import gzip
import json
import sys

import numpy as np
import pytest
from support.viewer_browser import canvas_pixels, changed, open_blank, serve_folder, settle, wait_for_picture

import clsmap
from clsmap import ClsmapError
from clsmap.render import MapView
from clsmap.render.map import map_parts
from clsmap.render.templates import asset
from clsmap.store import synthetic_store

needs_anywidget = pytest.mark.skipif(importlib.util.find_spec("anywidget") is None,
                                     reason="anywidget is not installed (pip install 'clsmap[notebook]')")

CLASSES = ["동물", "plant", "food"]
CLUSTER = [f"군집-{k}" for k in range(6)]  # a tight cluster far from the rest, for the lasso
PICKED = ["doc-7", "doc-100", "doc-250"]  # selected from Python


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    n = 300
    rng = np.random.default_rng(3)
    lab = rng.integers(0, 3, n)
    xy = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])[lab] + rng.normal(scale=0.8, size=(n, 2))
    ids = [f"doc-{i}" for i in range(n)]
    for k, row in enumerate(range(10, 16)):
        xy[row] = [10.0 + 0.05 * (k % 3), 10.0 + 0.05 * (k // 3)]
        ids[row] = CLUSTER[k]
    pred = np.where(rng.random(n) < 0.8, lab, (lab + 1) % 3)
    texts = [f"텍스트 {i}: a gloss\tof a {CLASSES[k]}" for i, k in enumerate(lab)]
    return synthetic_store(tmp_path_factory.mktemp("widget") / "store", xy, texts,
                           labels=[CLASSES[k] for k in lab], preds=[CLASSES[k] for k in pred],
                           confidence=rng.uniform(0.4, 1, n), ids=ids, classes=CLASSES)


def _over_the_comm(state: dict) -> tuple[str, list[bytes]]:
    """What ipywidgets sends: JSON with the binary values taken out as buffers."""
    from ipywidgets.widgets.widget import _remove_buffers

    state, paths, buffers = _remove_buffers(state)
    return json.dumps({"state": state, "buffer_paths": paths}), [bytes(b) for b in buffers]


@needs_anywidget
def test_show_is_a_widget_whose_state_round_trips(store):
    from ipywidgets.widgets.widget import _put_buffers

    widget = clsmap.show(store, height=500)
    assert type(widget).__name__ == "MapWidget" and widget.selected_ids == [] and len(widget.selected) == 0
    message, buffers = _over_the_comm(widget.get_state())
    sent = json.loads(message)
    # the rows travel as one binary buffer (gzip'd columns), not as JSON
    assert sent["buffer_paths"] == [["_payload"]] and len(buffers) == 1
    assert "gloss" not in message and "doc-12" not in message
    assert len(json.dumps({k: v for k, v in sent["state"].items() if k not in ("_esm", "_font_css")})) < 20_000
    parts = map_parts(store)
    assert sent["state"]["_meta"] == json.loads(json.dumps(parts.meta)) and buffers[0] == parts.packed
    assert sent["state"]["height"] == 500 and "#sel-rows" not in sent["state"]["_body"]
    assert 'id="sel-rows"' in sent["state"]["_body"] and ".clsmap-widget" in sent["state"]["_style"]
    assert "@font-face" in sent["state"]["_font_css"]  # Korean labels and texts: a CJK subset
    raw = b"".join(gzip.decompress(parts.packed[m["offset"]:m["offset"] + m["length"]])
                   for m in parts.meta["members"])
    assert len(raw) == parts.meta["raw_length"]

    # the front end's selection (row order) comes back through the comm
    state = json.loads(message)["state"]
    state["selected_ids"] = [CLUSTER[3], CLUSTER[0]]
    _put_buffers(state, sent["buffer_paths"], buffers)
    widget.set_state({"selected_ids": state["selected_ids"]})
    assert widget.selected_ids == [CLUSTER[0], CLUSTER[3]]  # row order
    rows = widget.selected
    assert rows["id"].tolist() == [CLUSTER[0], CLUSTER[3]]
    assert list(rows.columns) == ["id", "text", "label", "split", "pred", "confidence", "correct", "x", "y"]
    expected = store.to_pandas().set_index("id").loc[[CLUSTER[0], CLUSTER[3]]]
    assert rows["text"].tolist() == expected["text"].tolist()
    np.testing.assert_array_equal(rows[["x", "y"]].to_numpy(), expected[["x", "y"]].to_numpy())

    # from Python: row order, each id once; an unknown id is refused and the selection kept
    widget.selected_ids = [PICKED[2], PICKED[0], PICKED[2], PICKED[1]]
    assert widget.selected_ids == PICKED and _over_the_comm(widget.get_state("selected_ids"))[0] == json.dumps(
        {"state": {"selected_ids": PICKED}, "buffer_paths": []})
    with pytest.raises(ClsmapError, match=r"selected_ids: 1 id\(s\) not in the store .*'nope'"):
        widget.selected_ids = ["doc-1", "nope"]
    assert widget.selected_ids == PICKED
    widget.close()


def test_show_without_anywidget_is_the_iframe(store, monkeypatch):
    monkeypatch.setitem(sys.modules, "anywidget", None)  # import anywidget raises ImportError
    view = clsmap.show(store, height=400)
    assert isinstance(view, MapView)
    assert "<iframe srcdoc=" in view._repr_html_() and "height:400px" in view._repr_html_()


# --------------------------------------------------------------------------- the front end in chromium

#: anywidget's model API (get, set, on, off, save_changes) over a plain object, as a Backbone model
#: behaves: set() fires change:<key> when the value changes; save_changes() records what Python gets
MODEL_SHIM = """
async ([url, state, payload]) => {
  const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
  state._payload = new DataView(bytes.buffer);  // as ipywidgets hands over a binary buffer
  const handlers = new Map();
  const model = {
    state, sent: [],
    get: (key) => state[key],
    set: (key, value) => {
      const before = JSON.stringify(state[key]);
      state[key] = value;
      if (JSON.stringify(value) !== before) for (const h of handlers.get(`change:${key}`) || []) h();
    },
    on: (event, h) => handlers.set(event, [...(handlers.get(event) || []), h]),
    off: (event, h) => handlers.set(event, (handlers.get(event) || []).filter((x) => x !== h)),
    save_changes: () => model.sent.push([...state.selected_ids]),
  };
  const widget = (await import(url)).default;
  // one view, as anywidget makes it: a fresh element and render({ model, el })
  window.view = async () => {
    const el = document.createElement('div');
    el.style.width = '1000px';
    document.body.append(el);
    widget.render({ model, el });
    await el.firstChild.clsmapOpened;
    return window.clsmapError || null;
  };
  window.model = model;
  return window.view();
}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("widget_js")
    (folder / "widget.js").write_text(asset("widget.js"), encoding="utf-8")
    with serve_folder(folder) as base:
        yield base


@needs_anywidget
def test_front_end_lasso_and_python_selection(browser, store, served):
    from ipywidgets.widgets.widget import _remove_buffers

    widget = clsmap.show(store, theme="light", height=600)
    state, paths, buffers = _remove_buffers(widget.get_state())
    assert paths == [["_payload"]]
    page = open_blank(browser, served)
    error = page.evaluate(MODEL_SHIM, [served + "/widget.js", state, base64.b64encode(bytes(buffers[0])).decode()])
    assert error is None and page.errors == []
    # the same viewer and controls as the page, inside the widget's shadow root
    assert page.locator(".clsmap-widget #loading").is_hidden()
    assert page.locator(".legend-item").count() == len(CLASSES)
    assert page.locator("#modes button").count() >= 3

    # lasso the cluster: the model's selected_ids (row order) go to Python
    points = [page.evaluate("(id) => window.clsmap.screenPosition(window.clsmap.rowOfId(id))", i) for i in CLUSTER]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs) - 25, max(xs) + 25, min(ys) - 25, max(ys) + 25
    page.locator("#tools button[data-tool=lasso]").click()
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in ((x1, y0), (x1, y1), (x0, y1), (x0, y0 + 3)):
        page.mouse.move(x, y, steps=4)
    page.mouse.up()
    page.wait_for_function("() => window.model.sent.length > 0", timeout=10000)
    sent = page.evaluate("() => window.model.sent.at(-1)")
    assert sent == CLUSTER
    widget.set_state({"selected_ids": sent})  # what the comm does with it
    assert widget.selected["id"].tolist() == CLUSTER
    assert page.locator("#sel-rows tr").count() == len(CLUSTER)

    # Python sets the selection: the model changes, the map highlights and lists those texts
    page.locator("#sel-clear").click()
    page.wait_for_function("() => window.model.sent.at(-1).length === 0", timeout=10000)
    settle(page)
    before = canvas_pixels(page)
    widget.selected_ids = [PICKED[1], PICKED[0], PICKED[2]]
    page.evaluate("(ids) => window.model.set('selected_ids', ids)", widget.get_state("selected_ids")["selected_ids"])
    page.wait_for_function("(n) => window.clsmap.selection().length === n", arg=len(PICKED), timeout=10000)
    assert page.evaluate("() => window.clsmap.selection()") == PICKED
    assert page.locator("#sel-rows tr").count() == len(PICKED)
    assert page.locator("#sel-rows tr td:first-child").all_inner_texts() == PICKED
    after = wait_for_picture(page, changed(before), what="the selected points highlighted")
    assert (np.abs(after - before).sum(axis=2) > 60).sum() > 20
    assert page.evaluate("() => window.model.sent.at(-1)") == []  # no echo: the front end sent nothing new

    # a second output of the same widget takes the map over (with the selection); the first says so
    assert page.evaluate("() => window.view()") is None
    first, second = page.locator(".clsmap-widget").all()
    assert first.inner_text() == "this map is shown in a later output of the same widget"
    assert second.locator(".legend-item").count() == len(CLASSES)
    page.wait_for_function("(n) => window.clsmap.selection().length === n", arg=len(PICKED), timeout=10000)
    assert second.locator("#sel-rows tr").count() == len(PICKED)
    assert page.errors == []
    widget.close()
    page.close()
