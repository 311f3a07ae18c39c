"""Hostile text everywhere, through the real pipeline, in a real browser: XSS payloads in texts,
labels, ids, class names, the model's folder name and the data file's name; the interactive map
driven through hover, point click, legend clicks, every colour mode, search, lasso and CSV export,
and the report page opened. Zero scripts run, zero dialogs open, nothing is fetched, and the
payloads show as text."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from support.viewer_browser import download_selection, lasso, open_map, settle

from clsmap import extract, project, report
from clsmap.render import write_map

from support.tiny_models import build_model

PWN = "window.__pwned=1"
PAYLOADS = [
    f"</script><script>{PWN}</script>",
    f'<img src=x onerror="{PWN};alert(1)">',
    f"javascript:{PWN}",
    f'<a href="javascript:{PWN}">click me</a>',
    f'<svg onload="{PWN};alert(2)"></svg>',
    f"<svg><script>{PWN}</script></svg>",
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    f"<body onload={PWN}>",
    f"<details open ontoggle={PWN}>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={PWN}>",
    f'"><script>{PWN}</script>',
    f"'><img src=x onerror={PWN}>",
    f"<!-- <script>{PWN}</script> -->",
    f"<![CDATA[<script>{PWN}</script>]]>",
    f"&lt;script&gt;{PWN}&lt;/script&gt;",
    f"\\u003cscript\\u003e{PWN}\\u003c/script\\u003e",
    f"\u2028\u2029 ${{{PWN}}} {{{{constructor.constructor('{PWN}')()}}}}",
    "\u202e>tpircs/<1=denwp__.wodniw>tpircs<",
    f"<scr\u200bipt>{PWN}</scr\u200bipt>",
    f"\uff1cscript\uff1e{PWN}\uff1c/script\uff1e",
    "<style>@import 'http://evil.example/x.css';</style>",
    "<link rel=stylesheet href=http://evil.example/x.css>",
    f'<meta http-equiv="refresh" content="0;url=javascript:{PWN}">',
    f'<object data="javascript:{PWN}"></object>',
    '<base href="http://evil.example/">',
    f"data:text/html,<script>{PWN}</script>",
    f"<input autofocus onfocus={PWN}>",
    f'<video><source onerror="{PWN}"></video>',
    f"</textarea></title></style><script>{PWN}</script>",
    f"%3Cscript%3E{PWN}%3C/script%3E",
    f"<x contenteditable onblur={PWN}>x</x>",
    f"<marquee onstart={PWN}>",
]
# names of a folder and a file cannot hold '/'
NAME_PAYLOAD = f"<img src=x onerror={PWN}>"
CLASSES = [f"<b onmouseover={PWN}>pos</b>", f'<img src=x onerror="{PWN}">neg']


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("xss")
    model = build_model(root / f"model {NAME_PAYLOAD}", "bert", id2label=CLASSES, seed=5)
    n = 240
    rng = np.random.default_rng(0)
    texts = [f"{PAYLOADS[i % len(PAYLOADS)]} #{i} " + " ".join(rng.choice(["alpha", "beta", "gamma"], 5))
             for i in range(n)]
    frame = pd.DataFrame({
        "id": [f"{PAYLOADS[(i * 7) % len(PAYLOADS)]}|{i}" for i in range(n)],
        "text": texts,
        "label": [CLASSES[i % 2] for i in range(n)],
    })
    data = root / f"data {NAME_PAYLOAD}.csv"
    frame.to_csv(data, index=False)
    store = extract(model, data, root / "store", progress=False)
    project(store, method="pca")
    map_path = write_map(store, root / "map.html")
    report_path = report(store, root / "report.html")
    return {"store": store, "map": map_path, "report": report_path, "frame": frame}


def _clean(page):
    """Nothing ran: checked once the page has run what was queued (events of anything that loaded or
    failed to); the checks that no element was made from the data follow in each test."""
    settle(page)
    assert page.evaluate("() => window.__pwned === undefined && window.parent.__pwned === undefined")
    assert page.dialogs == []
    assert page.errors == [], page.errors
    assert page.requests  # the page itself, at least: requests are seen
    assert all(url.startswith(("file:", "data:", "blob:", "about:")) for url in page.requests), page.requests


def _elements_from_payloads(page) -> list[str]:
    """Elements whose own markup carries a payload's mark: an element built from the data."""
    return page.evaluate("""() => [...document.querySelectorAll('*')]
        .filter(e => e.tagName !== 'SCRIPT' && e.tagName !== 'HTML' && e.tagName !== 'BODY')
        .map(e => e.cloneNode(false).outerHTML)
        .filter(h => h.includes('__pwned') || h.includes('evil.example'))""")


def test_the_map_runs_nothing_while_driven(browser, hostile, tmp_path):
    page = open_map(browser, hostile["map"])
    store = hostile["store"]
    # the title shows the model folder's hostile name as text
    assert NAME_PAYLOAD in page.locator("#title").text_content()
    # hover and click a few points: their texts and ids show as text
    for row in (0, 5, 17):
        x, y = page.evaluate(f"() => window.clsmap.screenPosition({row})")
        page.mouse.move(x - 30, y - 30)
        page.mouse.move(x, y, steps=4)
        # wait for the hover of this mouse position: the point under it (this row, or one drawn within a
        # few pixels of it: the map is dense), with its tooltip
        hovered = page.wait_for_function("""([x, y]) => {
            const h = window.clsmap.hovered();
            if (h < 0) return null;
            const [px, py] = window.clsmap.screenPosition(h);
            return Math.hypot(px - x, py - y) <= 10 ? [h] : null;
        }""", arg=[x, y], timeout=10000).json_value()[0]
        page.locator("#tooltip").wait_for(state="visible", timeout=5000)
        assert store.frame["id"][hovered] in page.locator("#tooltip").text_content()
        page.mouse.click(x, y)
    # every colour mode, every legend entry hidden and shown again
    for mode in page.evaluate("() => window.clsmap.modes()"):
        page.locator(f"#modes button[data-mode={mode}]").click()
        page.wait_for_function("(m) => window.clsmap.mode() === m", arg=mode)
        entries = page.evaluate("() => window.clsmap.legend()")[:6]
        assert entries
        for entry in entries:
            name = re.compile(f"^{re.escape(entry['name'])}$")
            for hide in (True, False):  # hide, then show again; the legend is rebuilt after each click
                page.locator("#legend .legend-item").filter(has=page.locator(".name", has_text=name)).first.click(
                    timeout=5000)
                page.wait_for_function("([n, hide]) => window.clsmap.hidden().includes(n) === hide",
                                       arg=[entry["name"], hide])
    legend = page.locator("#legend").text_content()
    # search for a payload fragment
    page.locator("#search").fill("onerror")
    page.locator("#search").press("Enter")
    page.wait_for_function("() => window.clsmap.searchCount() > 0")
    # lasso everything, export the CSV
    box = page.locator("#plot").bounding_box()
    left, top = box["x"] + 5, box["y"] + 5
    right, bottom = box["x"] + box["width"] - 5, box["y"] + box["height"] - 5
    lasso(page, [(left, top), (right, top), (right, bottom), (left, bottom), (left, top + 1)], steps=8)
    rows = download_selection(page, tmp_path)
    assert rows and {r["id"] for r in rows} <= set(store.frame["id"])
    assert any(PWN in r["text"] for r in rows)  # exported verbatim, as data
    _clean(page)
    assert any(c in legend for c in CLASSES)
    # no element was made from the data: none of the payloads' tags, no inline event handler anywhere
    assert _elements_from_payloads(page) == []
    assert page.evaluate("() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                         ".filter(a => a.name.startsWith('on')).length") == 0
    page.close()


def test_the_report_runs_nothing_and_shows_the_text(browser, hostile):
    page = browser.new_page()
    page.errors, page.dialogs, page.requests = [], [], []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(hostile["report"].resolve().as_uri())
    page.wait_for_load_state("load")
    body = page.locator("body").inner_text()
    assert NAME_PAYLOAD in body  # the model / file names, as text
    assert any(c in body for c in CLASSES)
    # every element in the report is the report's own: images are data: URIs it made
    sources = page.evaluate("() => [...document.querySelectorAll('img')].map(i => i.getAttribute('src'))")
    assert sources and all(s.startswith("data:image/") for s in sources)
    assert _elements_from_payloads(page) == []
    assert page.evaluate("() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                         ".filter(a => a.name.startsWith('on')).length") == 0
    _clean(page)
    page.close()

