"""Headless Debian chromium driven by Playwright, for the interactive map's tests and benchmark.

``launch()`` starts chromium with a fresh profile and no network access beyond the file; it raises
``BrowserMissing`` (with the reason) when /usr/bin/chromium or playwright is not installed.
``serve_folder()`` serves a folder over HTTP on 127.0.0.1 (the viewer's ES modules, for their unit tests).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
    # WebGL without a GPU: ANGLE on SwiftShader
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]


class BrowserMissing(RuntimeError):
    pass


def missing_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (python) is not installed (pip install playwright)"
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


def canvas_pixels(page: Any) -> Any:
    """The plot area as an RGB numpy array (a screenshot of what is composited on screen)."""
    import io

    import numpy as np
    from PIL import Image

    png = page.locator("#plot").screenshot()
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
