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
#: behaves: set() fires change:<key> when the value changes; save_changes() records what Python gets.
#: addModel(state, payload) makes one (window.models[m]); view(m) draws an output of model m as
#: anywidget does (a fresh element and render({ model, el })) and finds its map in the documented
#: window.clsmap.instances (api.js): its API goes to window.maps, what removes the output to
#: window.removers; it returns null, or the error the map could not open with
MODEL_SHIM = """
async (url) => {
  const widget = (await import(url)).default;
  Object.assign(window, { models: [], maps: [], removers: [] });
  window.addModel = (state, payload) => {
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
    window.models.push(model);
  };
  window.view = async (m) => {
    const el = document.createElement('div');
    el.style.width = '1000px';
    document.body.append(el);
    const remove = widget.render({ model: window.models[m], el });
    const instance = window.clsmap.instances.find((i) => el.contains(i.element));
    try {
      window.maps.push(await instance.opened);
    } catch (err) {
      return String(err);
    }
    window.removers.push(remove);
    return null;
  };
}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("widget_js")
    (folder / "widget.js").write_text(asset("widget.js"), encoding="utf-8")
    with serve_folder(folder) as base:
        yield base


def _front_end(browser, served, *widgets):
    """A blank page with the widget front end and one model per widget (window.models, in order)."""
    from ipywidgets.widgets.widget import _remove_buffers

    page = open_blank(browser, served)
    page.evaluate(MODEL_SHIM, served + "/widget.js")
    for widget in widgets:
        state, paths, buffers = _remove_buffers(widget.get_state())
        assert paths == [["_payload"]]
        page.evaluate("([state, payload]) => window.addModel(state, payload)",
                      [state, base64.b64encode(bytes(buffers[0])).decode()])
    return page


def _lasso_around(page, points):
    """A box lasso (drawn by the mouse) around ``points`` (screen positions), with a margin."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs) - 25, max(xs) + 25, min(ys) - 25, max(ys) + 25
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in ((x1, y0), (x1, y1), (x0, y1), (x0, y0 + 3)):
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


@needs_anywidget
def test_front_end_lasso_and_python_selection(browser, store, served):
    widget = clsmap.show(store, theme="light", height=600)
    page = _front_end(browser, served, widget)
    assert page.evaluate("() => window.view(0)") is None and page.errors == []
    # the same viewer and controls as the page, inside the widget's shadow root
    assert page.locator(".clsmap-widget #loading").is_hidden()
    assert page.locator(".legend-item").count() == len(CLASSES)
    assert page.locator("#modes button").count() >= 3

    # lasso the cluster: the model's selected_ids (row order) go to Python
    points = [page.evaluate("(id) => window.maps[0].screenPosition(window.maps[0].rowOfId(id))", i) for i in CLUSTER]
    page.locator("#tools button[data-tool=lasso]").click()
    _lasso_around(page, points)
    page.wait_for_function("() => window.models[0].sent.length > 0", timeout=10000)
    sent = page.evaluate("() => window.models[0].sent.at(-1)")
    assert sent == CLUSTER
    widget.set_state({"selected_ids": sent})  # what the comm does with it
    assert widget.selected["id"].tolist() == CLUSTER
    assert page.locator("#sel-rows tr").count() == len(CLUSTER)

    # Python sets the selection: the model changes, the map highlights and lists those texts
    page.locator("#sel-clear").click()
    page.wait_for_function("() => window.models[0].sent.at(-1).length === 0", timeout=10000)
    settle(page)
    before = canvas_pixels(page)
    widget.selected_ids = [PICKED[1], PICKED[0], PICKED[2]]
    page.evaluate("(ids) => window.models[0].set('selected_ids', ids)",
                  widget.get_state("selected_ids")["selected_ids"])
    page.wait_for_function("(n) => window.maps[0].selection().length === n", arg=len(PICKED), timeout=10000)
    assert page.evaluate("() => window.maps[0].selection()") == PICKED
    assert page.locator("#sel-rows tr").count() == len(PICKED)
    assert page.locator("#sel-rows tr td:first-child").all_inner_texts() == PICKED
    after = wait_for_picture(page, changed(before), what="the selected points highlighted")
    assert (np.abs(after - before).sum(axis=2) > 60).sum() > 20
    assert page.evaluate("() => window.models[0].sent.at(-1)") == []  # no echo: the front end sent nothing new

    # a second output of the same widget is a map too, with the widget's selection; the two share it
    assert page.evaluate("() => window.view(0)") is None
    first, second = page.locator(".clsmap-widget").all()
    assert second.locator(".legend-item").count() == len(CLASSES)
    page.wait_for_function("(n) => window.maps[1].selection().length === n", arg=len(PICKED), timeout=10000)
    assert second.locator("#sel-rows tr").count() == len(PICKED)
    second.locator("#sel-clear").click()
    page.wait_for_function("() => window.maps[0].selection().length === 0", timeout=10000)
    assert first.locator("#sel-rows tr").count() == 0 and page.evaluate("() => window.models[0].sent.at(-1)") == []
    assert page.errors == []
    widget.close()
    page.close()


@pytest.fixture(scope="module")
def other_store(tmp_path_factory):
    """A second, smaller store with other classes, for a second widget beside the first."""
    n = 120
    rng = np.random.default_rng(4)
    lab = rng.integers(0, 2, n)
    xy = np.array([[-2.0, -2.0], [2.0, 2.0]])[lab] + rng.normal(scale=0.6, size=(n, 2))
    pred = np.where(rng.random(n) < 0.7, lab, 1 - lab)
    names = ["yes", "no"]
    return synthetic_store(tmp_path_factory.mktemp("widget_other") / "store", xy, [f"other {i}" for i in range(n)],
                           labels=[names[k] for k in lab], preds=[names[k] for k in pred],
                           confidence=rng.uniform(0.5, 1, n), ids=[f"other-{i}" for i in range(n)], classes=names)


def _quiet(before, after, *, threshold: int = 30) -> bool:
    """No pixel of the picture changed by more than ``threshold`` (summed over R, G, B)."""
    return not (np.abs(after - before).sum(axis=2) > threshold).any()


@needs_anywidget
def test_two_widgets_on_one_page_each_their_own(browser, store, other_store, served):
    """Two widgets (two stores) in one page: each draws its own points and legend, and a hover, a click,
    a selection from Python and a colour mode change in one change that one only; both keep drawing,
    and when one output is removed the other goes on."""
    widgets = [clsmap.show(store, theme="light", height=360), clsmap.show(other_store, theme="light", height=360)]
    page = _front_end(browser, served, *widgets)
    assert page.evaluate("() => window.view(0)") is None and page.evaluate("() => window.view(1)") is None
    one, two = page.locator(".clsmap-widget").all()
    assert page.evaluate("() => window.clsmap.instances.length") == 2
    assert [w.locator(".legend-item").count() for w in (one, two)] == [len(CLASSES), 2]
    assert page.evaluate("() => window.maps.map((m) => m.n)") == [300, 120]
    pictures = [wait_for_picture(page, lambda px: True, what="the map", within=w) for w in (one, two)]
    for pixels in pictures:  # each its own points on the white background
        assert ((np.abs(pixels - 255).sum(axis=2) > 90).sum()) > 300

    # hover a point of the first map: its tooltip, not the other's
    x, y = page.evaluate("(id) => window.maps[0].screenPosition(window.maps[0].rowOfId(id))", CLUSTER[0])
    page.mouse.move(x, y, steps=3)
    page.wait_for_function("() => window.maps[0].hovered() >= 0", timeout=10000)
    assert page.evaluate("() => window.maps[1].hovered()") == -1
    assert one.locator("#tooltip").is_visible() and two.locator("#tooltip").is_hidden()

    # a click selects it there (the detail panel, the model's selection), not in the other
    page.mouse.click(x, y)
    page.wait_for_function("() => window.models[0].sent.length > 0", timeout=10000)
    clicked = page.evaluate("() => window.maps[0].selection()")
    assert len(clicked) == 1 and clicked[0] in CLUSTER and page.evaluate("() => window.models[0].sent") == [clicked]
    assert one.locator("#detail").is_visible() and two.locator("#detail").is_hidden()
    assert page.evaluate("() => [window.maps[1].selection(), window.models[1].sent]") == [[], []]

    # Python selects in the second: the second shows it, the first keeps its own
    page.evaluate("(ids) => window.models[1].set('selected_ids', ids)", ["other-3", "other-4"])
    page.wait_for_function("() => window.maps[1].selection().length === 2", timeout=10000)
    assert two.locator("#sel-rows tr").count() == 2 and one.locator("#sel-rows tr").count() == 1
    assert page.evaluate("() => window.maps[0].selection()") == clicked

    # a colour mode in one: its legend and picture change, the other's stay
    page.mouse.move(1, 1)
    settle(page, frames=4)
    before = [canvas_pixels(page, within=w) for w in (one, two)]
    one.locator("#modes button[data-mode=correct]").click()
    wait_for_picture(page, changed(before[0]), what="the first map by correctness", within=one)
    assert page.evaluate("() => window.maps.map((m) => m.mode())") == ["correct", "label"]
    assert one.locator("#legend-title").inner_text() == "colour: correct / wrong"
    assert two.locator("#legend-title").inner_text() == "colour: true label"
    assert _quiet(before[1], canvas_pixels(page, within=two))
    # and the other keeps drawing
    before = [canvas_pixels(page, within=w) for w in (one, two)]
    two.locator("#modes button[data-mode=confidence]").click()
    wait_for_picture(page, changed(before[1]), what="the second map by confidence", within=two)
    assert page.evaluate("() => window.maps.map((m) => m.mode())") == ["correct", "confidence"]
    assert _quiet(before[0], canvas_pixels(page, within=one))

    # the first output removed (anywidget's clean-up): the second goes on
    page.evaluate("() => window.removers[0]()")
    assert page.evaluate("() => window.clsmap.instances.length") == 1
    before = canvas_pixels(page, within=two)
    two.locator("#modes button[data-mode=pred]").click()
    wait_for_picture(page, changed(before), what="the second map by prediction", within=two)
    assert page.evaluate("() => window.maps[1].mode()") == "pred"
    assert page.errors == []
    for widget in widgets:
        widget.close()
    page.close()
