"""Render docs/neighbours.png and docs/keywords.png: the demo's interactive map (after fine-tuning) in
headless chromium, with a text's [CLS]-space neighbours, and with the regions' keywords.

    .venv/bin/clsmap demo -o demo_out
    .venv/bin/python scripts/explain_screenshots.py demo_out/after docs

neighbours.png: a misclassified text inside the first confusion region is clicked, so the side panel
lists its neighbours (and how many agree with its label) and the map rings them. keywords.png: the
map coloured by true label, each region outlined and captioned with its keywords, the region list.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import clsmap  # noqa: E402
from clsmap.analysis import read_regions, region_membership  # noqa: E402
from support.viewer_browser import launch, open_map  # noqa: E402


def clicked_row(store: clsmap.Store) -> int:
    """A misclassified row inside the first region (else the first misclassified row)."""
    wrong = np.flatnonzero((store.frame["correct"] == False).to_numpy(dtype=bool))  # noqa: E712
    regions = read_regions(store, store.default_vector)
    if regions is not None and len(regions):
        member = region_membership(store.projection[["x", "y"]].to_numpy(), regions)
        inside = wrong[member[wrong] == regions.frame["region_id"].iloc[0]]
        if len(inside):
            return int(inside[0])
    return int(wrong[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="an analysed store with its map.html")
    parser.add_argument("out", type=Path, help="folder for neighbours.png and keywords.png")
    args = parser.parse_args()
    store = clsmap.open_store(args.store)
    with launch(width=1400, height=900) as context:
        page = open_map(context, args.store / "map.html")
        page.wait_for_timeout(300)
        page.screenshot(path=str(args.out / "keywords.png"))
        row = clicked_row(store)
        x, y = page.evaluate(f"() => window.clsmap.screenPosition({row})")
        page.mouse.move(x - 20, y - 20)
        page.mouse.move(x, y, steps=5)
        page.wait_for_function(f"() => window.clsmap.hovered() === {row}", timeout=5000)
        page.mouse.click(x, y)
        page.locator("#near").wait_for(state="visible", timeout=5000)
        page.locator("#near").scroll_into_view_if_needed()
        page.mouse.move(5, 5)
        page.wait_for_timeout(300)
        page.screenshot(path=str(args.out / "neighbours.png"))
        page.close()
    print(args.out / "neighbours.png", args.out / "keywords.png")


if __name__ == "__main__":
    main()
