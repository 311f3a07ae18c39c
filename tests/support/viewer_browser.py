"""Headless chromium driven by Playwright, for the interactive map's tests and benchmark.

``launch()`` starts chromium with a fresh profile and no network access beyond the file; it raises
``BrowserMissing`` (with the reason and how to install what is missing) when chromium or playwright
is not installed. Chromium is the binary named by the environment variable ``CLSMAP_CHROMIUM`` (e.g.
on macOS after ``brew install --cask chromium``: /Applications/Chromium.app/Contents/MacOS/Chromium),
else /usr/bin/chromium (Debian/Ubuntu: ``sudo apt-get install chromium``), else ``chromium`` on the
PATH. Playwright drives that binary; it never downloads a browser.

Tests get a browser from the ``browser`` fixture of conftest.py (or call ``launch``); a skip for a
missing browser is counted at the end of the run, and is a failure under ``CLSMAP_REQUIRE_BROWSER=1``.
``serve_folder()`` serves a folder over HTTP on 127.0.0.1 (the viewer's ES modules, for their unit tests).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEBIAN_CHROMIUM = "/usr/bin/chromium"
CHROMIUM = (os.environ.get("CLSMAP_CHROMIUM")
            or (DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).is_file() else shutil.which("chromium"))
            or DEBIAN_CHROMIUM)
INSTALL_HINT = ("Debian/Ubuntu: sudo apt-get install chromium; macOS: brew install --cask chromium and "
                "CLSMAP_CHROMIUM=/Applications/Chromium.app/Contents/MacOS/Chromium; "
                "elsewhere: CLSMAP_CHROMIUM=<path of a Chromium binary>")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
    # WebGL without a GPU: ANGLE on SwiftShader
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]


class BrowserMissing(RuntimeError):
    pass


def missing_reason() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is not installed ({INSTALL_HINT})"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (python) is not installed (pip install -e '.[dev]', or pip install playwright)"
    return None


@contextmanager
def launch(*, width: int = 1280, height: int = 800) -> Iterator[Any]:
    """A persistent chromium context with a fresh --user-data-dir; closed and removed afterwards."""
    reason = missing_reason()
    if reason:
        raise BrowserMissing(reason)
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="clsmap-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                viewport={"width": width, "height": height}, accept_downloads=True,
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_map(context: Any, path: Path, *, timeout_ms: int = 60000) -> Any:
    """A new page with the map at ``path`` loaded and drawn; page errors are collected in ``page.errors``."""
    page = context.new_page()
    page.errors = []
    page.dialogs = []
    page.requests = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(Path(path).resolve().as_uri())
    page.wait_for_function("() => (window.clsmap && window.clsmap.ready) || window.clsmapError", timeout=timeout_ms)
    error = page.evaluate("() => window.clsmapError || null")
    if error:
        raise AssertionError(f"the map failed to load: {error}")
    return page


def canvas_pixels(page: Any, *, within: Any = None) -> Any:
    """The plot area as an RGB numpy array (a screenshot of what is composited on screen); ``within``: a
    locator of the map whose plot it is, where a page has several (notebook widgets)."""
    import io

    import numpy as np
    from PIL import Image

    png = (within or page).locator("#plot").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def lasso(page: Any, path: list[tuple[float, float]], *, steps: int = 2) -> list[str]:
    """Draw a lasso along ``path`` (screen points) with the mouse; returns the selected ids."""
    page.locator("#tools button[data-tool=lasso]").click()
    page.mouse.move(*path[0])
    page.mouse.down()
    for point in path[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()
    page.wait_for_function("() => window.clsmap.selection().length > 0", timeout=5000)
    return page.evaluate("() => window.clsmap.selection()")


def download_selection(page: Any, folder: Path) -> list[dict[str, str]]:
    """Click "download CSV" and read the file the page saved."""
    import csv

    with page.expect_download() as download:
        page.locator("#sel-csv").click()
    saved = Path(folder) / "selection.csv"
    download.value.save_as(saved)
    with open(saved, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


BLANK_PAGE = b"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>blank</title></head><body></body></html>"


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) from a thread, with ``/`` a blank page;
    yields the base URL (no trailing slash). JavaScript goes out as text/javascript, so a page of this
    origin can ``import()`` the ES modules in it."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".js": "text/javascript", ".mjs": "text/javascript"}

        def do_GET(self) -> None:
            if self.path != "/":
                super().do_GET()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(BLANK_PAGE)))
            self.end_headers()
            self.wfile.write(BLANK_PAGE)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="serve_folder", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def open_blank(context: Any, base_url: str) -> Any:
    """A new page on the blank page of ``serve_folder``'s origin; page errors go to ``page.errors``."""
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(base_url + "/")
    return page


def settle(page: Any, *, frames: int = 2) -> None:
    """Wait until the page has run what is queued: ``frames`` animation frames (the map draws in
    them) and then one more task (events queued meanwhile, such as an image's error event)."""
    page.evaluate("""(k) => new Promise((done) => {
        const step = (left) => (left ? requestAnimationFrame(() => step(left - 1)) : setTimeout(done, 0));
        step(k);
    })""", frames)


def wait_for_picture(page: Any, check: Callable[[Any], bool], *, what: str, timeout_s: float = 15,
                     within: Any = None) -> Any:
    """Screenshots of the plot (:func:`canvas_pixels`, of the map ``within``), one per animation frame,
    until ``check(pixels)`` holds and the picture is the same one frame later (a drawn picture, not one
    halfway through an update); returns it. Fails after ``timeout_s`` with ``what`` (the picture the test
    waited for)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        pixels = canvas_pixels(page, within=within)
        if last is not None and check(pixels) and (pixels == last).all():
            return pixels
        if time.monotonic() > deadline:
            raise AssertionError(f"the map did not show {what} within {timeout_s:.0f} s")
        last = pixels
        settle(page, frames=1)


def changed(before: Any, *, threshold: int = 30) -> Callable[[Any], bool]:
    """A :func:`wait_for_picture` check: the picture is no longer ``before`` (some pixel differs by more
    than ``threshold``, summed over R, G, B). How much it changed is for the test to assert."""
    return lambda pixels: pixels.shape != before.shape or bool((abs(pixels - before).sum(axis=2) > threshold).any())
