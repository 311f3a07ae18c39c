"""The per-layer grid of a store extracted with every layer: one small map per layer (from
:func:`clsmap.analysis.aligned_layer_maps`), where a constant layer is drawn as the one point it is."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..projection.reducers import is_constant
from .model import RenderModel
from .palette import rgb_array
from .points import draw_points

__all__ = ["layer_grid_figure"]


def layer_grid_figure(maps: dict[str, np.ndarray], labels: pd.Series, model: RenderModel) -> Any:
    """One small map per layer (``maps``: column -> (n, 2)), coloured by ``labels`` with the store's colours.

    A map whose rows all lie at one point (a constant layer, e.g. layer 0's [CLS]) is drawn as that
    point and says so; every panel shows the same square extent, that of the maps with spread.
    """
    from matplotlib.figure import Figure

    codes = model.codes(labels)
    colours = rgb_array(model.colours)
    cols = min(len(maps), 4)
    rows = -(-len(maps) // cols)
    fig = Figure(figsize=(3.2 * cols, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    order = np.random.default_rng(0).permutation(len(codes))
    order = order[codes[order] >= 0]
    points = {column: is_constant(xy) for column, xy in maps.items()}
    spread = [np.asarray(xy) for column, xy in maps.items() if not points[column]]
    limits = _limits(np.concatenate(spread)) if spread else None
    for ax, (column, xy) in zip(axes, maps.items(), strict=False):
        name = column.replace("layer_", "layer ") if column.startswith("layer_") else column
        if points[column]:
            ax.scatter(xy[:1, 0], xy[:1, 1], s=40, color="#444444", linewidths=0)
            ax.text(0.5, 0.06, "constant: all texts at one point", transform=ax.transAxes, ha="center",
                    va="bottom", fontsize=8, color="#444444")
        else:
            draw_points(ax, xy[order], colours[codes[order]], area=model.sizes.grid_area,
                        alpha=model.sizes.grid_alpha)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if limits is not None:
            ax.set_xlim(*limits[0])
            ax.set_ylim(*limits[1])
        ax.set_aspect("equal", adjustable="box" if limits is not None else "datalim")
    for ax in axes[len(maps):]:
        ax.axis("off")
    return fig


def _limits(xy: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Square axis limits that hold every point of ``xy``, with a margin."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre, half = (lo + hi) / 2, 0.54 * float((hi - lo).max()) + 1e-9
    return (float(centre[0] - half), float(centre[0] + half)), (float(centre[1] - half), float(centre[1] + half))
