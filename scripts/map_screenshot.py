"""Render docs/map.png: the demo's interactive map (after fine-tuning) in headless chromium.

    .venv/bin/clsmap demo -o demo_out
    .venv/bin/python scripts/map_screenshot.py demo_out/after/map.html docs/map.png

Colours by confusion pair and lassoes the densest cluster of misclassified points, so the picture
shows the legend, the rings on misclassified points and the selection table.
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
    parser.add_argument("--mode", default="confusion")
    args = parser.parse_args()
    with launch(width=1400, height=860) as context:
        page = open_map(context, args.html)
        page.locator(f"#modes button[data-mode={args.mode}]").click()
        page.wait_for_timeout(300)
        n = page.evaluate("() => window.clsmap.n")
        pos = np.array(page.evaluate(f"() => Array.from({{length: {n}}}, (_, i) => window.clsmap.screenPosition(i))"))
        wrong = np.array(page.evaluate(
            f"() => Array.from({{length: {n}}}, (_, i) => i).filter((i) => window.clsmap.isWrong(i))"))
        # the misclassified point with most misclassified neighbours within 45 px
        near = np.linalg.norm(pos[wrong][:, None] - pos[wrong][None], axis=-1) < 45
        cx, cy = pos[wrong[near.sum(axis=1).argmax()]]
        page.locator("#tools button[data-tool=lasso]").click()
        r = 45
        page.mouse.move(cx + r, cy)
        page.mouse.down()
        for a in np.linspace(0, 2 * np.pi, 30)[1:]:
            page.mouse.move(cx + r * np.cos(a), cy + r * 0.8 * np.sin(a), steps=2)
        page.mouse.up()
        page.wait_for_timeout(400)
        page.mouse.move(5, 5)
        page.screenshot(path=str(args.png))
        page.close()
    print(args.png)


if __name__ == "__main__":
    main()
