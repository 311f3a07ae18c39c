"""Render docs/dynamics.png: a frame of the demo's training dynamics player in headless chromium.

    .venv/bin/clsmap demo -o demo_out
    .venv/bin/python scripts/dynamics_screenshot.py demo_out/dynamics/player.html docs/dynamics.png

Goes to the given step (default: the middle snapshot), colours by true label, and lassoes the
hard-to-learn corner of the cartography scatter (low confidence), so the picture shows the slider, the
curves, the cartography and the same texts selected on the map.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.viewer_browser import launch, open_map  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--step", type=int, help="snapshot index (default: the middle one)")
    args = parser.parse_args()
    with launch(width=1500, height=900) as context:
        page = open_map(context, args.html)
        count = len(page.evaluate("() => window.clsmap.player.steps()"))
        page.evaluate(f"() => window.clsmap.player.setStep({count // 2 if args.step is None else args.step})")
        page.evaluate("() => window.clsmap.player.idle()")
        page.wait_for_timeout(500)
        n = page.evaluate("() => window.clsmap.n")
        carto = "window.clsmap.player.carto"
        pos = page.evaluate(f"() => Array.from({{length: {n}}}, (_, i) => {carto}.screenPosition(i))")
        xy = np.array([p for p in pos if p is not None])
        box = page.locator("#carto").bounding_box()
        # the bottom-left of the cartography: low confidence, low variability (hard-to-learn)
        x0, y1 = box["x"] + 2, box["y"] + box["height"] - 2
        x1 = float(np.quantile(xy[:, 0], 0.5))
        y0 = float(np.quantile(xy[:, 1], 0.8))
        page.mouse.move(x0, y0)
        page.mouse.down()
        for x, y in ((x1, y0), (x1, y1), (x0, y1), (x0, y0 + 1)):
            page.mouse.move(x, y, steps=4)
        page.mouse.up()
        page.wait_for_timeout(500)
        page.mouse.move(5, 5)
        page.screenshot(path=str(args.png))
        selected = len(page.evaluate("() => window.clsmap.selection()"))
        page.close()
    print(args.png, f"{selected} selected")


if __name__ == "__main__":
    main()
