"""One render model: each class has the same colour in the static figure (SVG and PNG), the interactive
map (in Chromium) and the report, for a few classes and for hundreds; every output titles a map alike."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from support import DATA
from support.viewer_browser import open_map

import clsmap
from clsmap.render import map_figure, plot, render_model, write_map
from clsmap.render.figures import LEGEND_MAX
from clsmap.render.model import CROSSES_UP_TO, ERROR_SHADE, point_sizes
from clsmap.render.palette import hex_to_rgb
from clsmap.store import synthetic_store


def _store(folder, n_classes: int):
    """Each class a cluster on a grid (so that a figure panel shows every colour), a few rows wrong."""
    classes = [f"클래스-{k:03d}" if k % 2 else f"class-{k:03d}" for k in range(n_classes)]  # Korean names too
    per = 3
    rng = np.random.default_rng(n_classes)
    codes = np.repeat(np.arange(n_classes), per)
    side = int(np.ceil(np.sqrt(n_classes)))
    centres = np.stack([codes % side, codes // side], axis=1).astype(float) * 10
    xy = centres + rng.normal(scale=0.5, size=(len(codes), 2))
    preds = codes.copy()
    preds[::7] = (preds[::7] + 1) % n_classes
    return synthetic_store(folder, xy, [f"text {i} of {classes[c]}" for i, c in enumerate(codes)],
                           labels=[classes[c] for c in codes], preds=[classes[c] for c in preds],
                           confidence=rng.uniform(0.3, 1, len(codes)), classes=classes)


def _svg_legend(svg: str) -> dict[str, str]:
    """Class name -> colour of each entry of the figure's class legend, read from the written SVG."""
    start = max(m.start() for m in re.finditer(r'id="legend_\d+"', svg))  # the figure's legend comes last
    tokens = re.findall(r'<use [^>]*style="fill: (#[0-9a-f]{6})|<text [^>]*>([^<]*)</text>', svg[start:])
    colours, pending = {}, None
    for colour, text in tokens:
        if colour:
            pending = colour
        elif pending is not None:
            colours[html.unescape(text).split("  (")[0]] = pending
            pending = None
    return colours


class _Swatches(HTMLParser):
    """Class name -> colour of each swatch in the report's per-class table."""

    def __init__(self) -> None:
        super().__init__()
        self.colours: dict[str, str] = {}
        self._pending: str | None = None

    def handle_starttag(self, tag, attrs):
        style = dict(attrs).get("style") or ""
        if tag == "span" and dict(attrs).get("class") == "swatch":
            self._pending = style.split("background:")[1].strip()

    def handle_data(self, data):
        if self._pending is not None and data.strip():
            self.colours[data.strip()] = self._pending
            self._pending = None


def _rgb(colour: str) -> str:
    r, g, b = (round(255 * v) for v in hex_to_rgb(colour))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture(scope="module", params=[6, 300], ids=["6-classes", "300-classes"])
def outputs(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"colours{request.param}")
    store = _store(folder / "store", request.param)
    model = render_model(store)
    expected = dict(zip(model.classes, model.colours, strict=True))
    assert len(set(expected.values())) == request.param  # every class its own colour
    svg = plot(store, folder / "fig", formats=("png", "svg"))[1].read_text(encoding="utf-8")
    report = clsmap.report(store, folder / "report.html", write=False).read_text(encoding="utf-8")
    return {"store": store, "expected": expected, "svg": svg, "report": report,
            "map": write_map(store, folder / "map.html", theme="light"), "n": request.param}


def test_the_figure_uses_the_render_models_colours(outputs):
    legend = _svg_legend(outputs["svg"])
    assert len(legend) == min(outputs["n"], LEGEND_MAX)  # past LEGEND_MAX, the most frequent classes
    assert legend == {name: outputs["expected"][name] for name in legend}


def test_every_point_of_the_figure_has_its_class_colour(outputs):
    store = outputs["store"]
    fig = map_figure(store, panels=("label",))
    points = fig.axes[0].collections[0]  # the class-coloured points (the crosses come after)
    row_of = {tuple(np.round(xy, 4)): row for row, xy in enumerate(store.projection[["x", "y"]].to_numpy())}
    labels = store.frame["label"].to_numpy()
    offsets, colours = points.get_offsets(), points.get_facecolors()[:, :3]
    assert len(offsets) == len(labels)
    for xy, rgb in zip(offsets, colours, strict=True):
        name = labels[row_of[tuple(np.round(np.asarray(xy, dtype=np.float32), 4))]]
        assert np.allclose(rgb, hex_to_rgb(outputs["expected"][name]), atol=1 / 255), name


def test_past_a_few_thousand_points_errors_are_a_dark_shade_of_their_colour(tmp_path):
    """With more points than crosses can mark without hiding the classes, every correct point keeps its
    class colour and every misclassified one is drawn, among the others, in the render model's dark shade
    of it (no cross on top); the legend says so."""
    n = CROSSES_UP_TO + 1_000
    rng = np.random.default_rng(0)
    classes = ["가", "b", "c"]
    codes = rng.integers(0, 3, n)
    preds = np.where(rng.random(n) < 0.2, (codes + 1) % 3, codes)
    store = synthetic_store(tmp_path / "store", rng.normal(size=(n, 2)) + codes[:, None] * 4, ["t"] * n,
                            labels=[classes[c] for c in codes], preds=[classes[c] for c in preds], classes=classes)
    model = render_model(store)
    assert model.sizes.errors == "shade" and render_model(_store(tmp_path / "small", 6)).sizes.errors == "crosses"
    fig = map_figure(store, panels=("label",))
    (points,) = fig.axes[0].collections  # one call: no cross drawn over the classes
    row_of = {tuple(np.round(xy, 4)): row for row, xy in enumerate(store.projection[["x", "y"]].to_numpy())}
    wrong = ~store.frame["correct"].to_numpy(dtype=bool)
    assert len(points.get_offsets()) == n and 0.1 < wrong.mean() < 0.3
    for xy, rgb in zip(points.get_offsets(), points.get_facecolors()[:, :3], strict=True):
        row = row_of[tuple(np.round(np.asarray(xy, dtype=np.float32), 4))]
        want = np.array(hex_to_rgb(model.colour_of(classes[codes[row]])))
        assert np.allclose(rgb, want * ERROR_SHADE if wrong[row] else want, atol=1 / 255), row
    assert np.allclose(points.get_alpha(), model.sizes.figure_alpha)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"misclassified ({int(wrong.sum()):,}): a dark shade of the class colour" in labels


def test_points_fade_and_shrink_as_n_grows():
    sizes = [point_sizes(n) for n in (600, 25_000, 1_000_000)]
    for small, large in zip(sizes, sizes[1:], strict=False):
        assert large.figure_area <= small.figure_area and large.grid_area <= small.grid_area
        assert large.figure_alpha < small.figure_alpha and large.grid_alpha <= small.grid_alpha
    assert sizes[0].figure_alpha >= 0.7 and sizes[-1].figure_alpha <= 0.25


def test_the_report_uses_the_render_models_colours(outputs):
    parser = _Swatches()
    parser.feed(outputs["report"])
    assert parser.colours == outputs["expected"]


def test_the_figure_pixels_carry_the_colours(tmp_path):
    """The drawn PNG itself (6 classes, large markers): at each class's point nearest its cluster's centre
    the colour is the class's colour blended at the render model's opacity over white."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    store = _store(tmp_path / "store", 6)
    model = render_model(store)
    fig = map_figure(store, panels=("label",))
    FigureCanvasAgg(fig).draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float)
    ax = fig.axes[0]
    xy = store.projection[["x", "y"]].to_numpy()
    labels = store.frame["label"].to_numpy()
    right = store.frame["correct"].to_numpy(dtype=bool)  # a misclassified point carries a black cross
    for name, colour in zip(model.classes, model.colours, strict=True):
        mine = xy[(labels == name) & right]
        point = mine[np.argmin(np.linalg.norm(mine - mine.mean(axis=0), axis=1))]
        px, py = ax.transData.transform(point)
        seen = pixels[int(round(pixels.shape[0] - py)), int(round(px))]
        alpha = model.sizes.figure_alpha
        want = (alpha * np.array(hex_to_rgb(colour)) + 1 - alpha) * 255
        assert np.abs(seen - want).max() <= 24, (name, colour, seen, want)


def test_the_report_shows_the_swatches_in_a_browser(browser, outputs, tmp_path):
    """The swatches are drawn (styled, not empty spans) and the page's head holds no stray text."""
    path = tmp_path / "report.html"
    path.write_text(outputs["report"], encoding="utf-8")
    page = browser.new_page()
    page.goto(path.as_uri())
    drawn = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#per-class .swatch')]
        .map(s => [s.parentElement.textContent.trim(),
                   [getComputedStyle(s).backgroundColor, s.getBoundingClientRect().width]]))""")
    first = page.evaluate("() => document.body.firstElementChild.tagName")
    page.close()
    assert first == "H1"
    assert outputs["report"].split("</style>", 1)[1].split("<body>", 1)[0].strip() == "</head>"  # no stray text
    assert {name: colour for name, (colour, _) in drawn.items()} == {
        name: _rgb(colour) for name, colour in outputs["expected"].items()}
    assert all(width >= 8 for _, width in drawn.values())


def test_the_interactive_map_uses_the_render_models_colours(browser, outputs):
    page = open_map(browser, outputs["map"])
    page.locator("#modes button[data-mode=label]").click()
    page.wait_for_function("() => window.clsmap.mode() === 'label'")
    shown = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#legend .legend-item')]
        .map(e => [e.querySelector('.name').textContent,
                   getComputedStyle(e.querySelector('.swatch')).backgroundColor]))""")
    assert page.errors == []
    page.close()
    shown.pop("(none)", None)
    assert shown == {name: _rgb(colour) for name, colour in outputs["expected"].items()}


def test_every_output_titles_a_layer_alike(tmp_path):
    """A store of every layer: its maps say "layer 2", never the column's name "layer_2"."""
    import shutil

    from clsmap.render.map import map_html

    folder = tmp_path / "store"
    shutil.copytree(DATA / "store-0.1.0", folder)
    store = clsmap.open_store(folder)
    title = render_model(store, "layer_2").title
    assert title.what == "layer 2" and "layer_2" not in title.text
    assert title.text.startswith("model · layer 2 · cls pooling · pca · N=24 · accuracy ")
    figure = map_figure(store, column="layer_2")
    assert figure._suptitle.get_text() == title.text
    page = map_html(store, column="layer_2")
    assert '"facts":["layer 2","cls pooling","pca","N=24","accuracy ' in page
