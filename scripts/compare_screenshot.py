"""Render docs/compare.png: the demo's compare page (before against after fine-tuning) in headless chromium.

    .venv/bin/clsmap demo -o demo_out
    .venv/bin/python scripts/compare_screenshot.py demo_out/compare.html docs/compare.png

Colours both maps by "changed" (fixed, broken, still wrong, still right) and hovers the text that moved
most in map A, so the picture shows it highlighted in map B too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.viewer_browser import launch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--mode", default="changed")
    args = parser.parse_args()
    with launch(width=1500, height=900) as context:
        page = context.new_page()
        page.goto(args.html.resolve().as_uri())
        page.wait_for_function("() => window.clsmapCompare && window.clsmapCompare.ready()", timeout=120000)
        frames = [f for f in page.frames if f != page.main_frame]
        for frame in frames:
            frame.wait_for_function("() => window.clsmap && window.clsmap.ready", timeout=60000)
        page.locator(f"#compare-modes button[data-mode={args.mode}]").click()
        page.wait_for_timeout(500)
        row = int(page.locator("#moved-rows tr").first.get_attribute("data-row"))
        x, y = frames[0].evaluate(f"() => window.clsmap.screenPosition({row})")
        box = frames[0].frame_element().bounding_box()
        page.mouse.move(box["x"] + x - 20, box["y"] + y - 20)
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
        page.wait_for_timeout(600)
        page.screenshot(path=str(args.png))
        page.close()
    print(args.png)


if __name__ == "__main__":
    main()
