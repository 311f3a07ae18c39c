"""Many points on one matplotlib axes, fast and small at any N.

Up to :data:`IMAGE_ABOVE` points are one ``scatter`` call (rasterised in vector files above
:data:`RASTER_ABOVE`). Above that, Agg would take seconds per panel and per file, so the points are
splatted into an image at the resolution each output is drawn at (:class:`PointImage`): every
pixel takes the mean colour of the points that cover it, at the opacity that many points of
opacity ``alpha`` give together, which is what drawing them one over another in random order
gives on average. Text and axes stay vector in an SVG either way.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

__all__ = ["draw_points", "PointImage", "splat", "IMAGE_ABOVE", "RASTER_ABOVE"]

#: above this many points, a panel's points are one image (:class:`PointImage`)
IMAGE_ABOVE = 100_000
#: above this many points, a scatter is rasterised in vector files
RASTER_ABOVE = 20_000


def draw_points(ax: Any, xy: np.ndarray, rgb: np.ndarray, *, area: float, alpha: float, hollow: bool = False) -> Any:
    """Draw the points ``xy`` (n, 2) in the colours ``rgb`` (n, 3), in the order given, with the marker
    area ``area`` (points squared) and opacity ``alpha``; returns the artist. ``hollow`` draws rings
    (the held-out splits' marker) instead of disks, up to :data:`IMAGE_ABOVE` points."""
    xy = np.asarray(xy, dtype=np.float64)
    if len(xy) <= IMAGE_ABOVE:
        if hollow:
            return ax.scatter(xy[:, 0], xy[:, 1], s=area * 1.6, facecolors="none", edgecolors=rgb,
                              alpha=min(1.0, alpha + 0.15), linewidths=0.8, rasterized=len(xy) > RASTER_ABOVE)
        return ax.scatter(xy[:, 0], xy[:, 1], s=area, c=rgb, alpha=alpha, linewidths=0,
                          rasterized=len(xy) > RASTER_ABOVE)
    image = PointImage(ax, xy, np.asarray(rgb, dtype=np.float32), area=area, alpha=alpha)
    ax.add_image(image)
    ax.update_datalim(np.stack([xy.min(axis=0), xy.max(axis=0)]))
    ax.autoscale_view()
    return image


def splat(xy: np.ndarray, rgb: np.ndarray, extent: tuple[float, float, float, float], shape: tuple[int, int], *,
          diameter: float, alpha: float) -> np.ndarray:
    """The points as an RGBA image (``shape`` = (height, width), first row at the bottom) of the
    ``extent`` (left, right, bottom, top) in data units: each point a disk of ``diameter`` pixels;
    a pixel covered by ``c`` points has their mean colour and opacity ``1 - (1 - alpha) ** c``."""
    from scipy.ndimage import convolve

    height, width = shape
    left, right, bottom, top = extent
    col = np.floor((xy[:, 0] - left) / (right - left) * width)
    row = np.floor((xy[:, 1] - bottom) / (top - bottom) * height)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    flat = (row[inside] * width + col[inside]).astype(np.int64)
    count = np.bincount(flat, minlength=height * width).astype(np.float32).reshape(height, width)
    sums = [np.bincount(flat, rgb[inside, k], minlength=height * width).astype(np.float32).reshape(height, width)
            for k in range(3)]
    radius = max(diameter / 2, 0.5)
    reach = int(np.ceil(radius - 0.5))
    dy, dx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    disk = (dx ** 2 + dy ** 2 <= radius ** 2 + 0.25).astype(np.float32)
    if disk.size > 1:
        count = convolve(count, disk, mode="constant")
        sums = [convolve(s, disk, mode="constant") for s in sums]
    image = np.empty((height, width, 4), dtype=np.float32)
    covered = np.maximum(count, 1e-12)
    for k in range(3):
        image[..., k] = sums[k] / covered
    image[..., 3] = 1.0 - (1.0 - alpha) ** count
    return np.clip(image, 0.0, 1.0)


@cache
def _image_class() -> type:
    from matplotlib.image import AxesImage

    class _PointImage(AxesImage):
        """Points as an image made at draw time for the axes' current limits and the output's pixels."""

        def __init__(self, ax: Any, xy: np.ndarray, rgb: np.ndarray, *, area: float, alpha: float) -> None:
            super().__init__(ax, origin="lower", interpolation="nearest")
            self._xy, self._rgb = xy, rgb
            self._area, self._point_alpha = area, alpha
            self.set_data(np.zeros((1, 1, 4), dtype=np.float32))

        def get_extent(self) -> tuple[float, float, float, float]:
            (left, right), (bottom, top) = self.axes.get_xlim(), self.axes.get_ylim()
            return left, right, bottom, top

        def get_window_extent(self, renderer: Any = None) -> Any:
            return self.axes.bbox

        def make_image(self, renderer: Any, magnification: float = 1.0, unsampled: bool = False) -> Any:
            box = self.axes.bbox
            shape = (max(1, round(box.height * magnification)), max(1, round(box.width * magnification)))
            pixels_per_point = renderer.points_to_pixels(1.0) * magnification
            diameter = 2 * np.sqrt(self._area / np.pi) * pixels_per_point
            self.set_data(splat(self._xy, self._rgb, self.get_extent(), shape, diameter=diameter,
                                alpha=self._point_alpha))
            return super().make_image(renderer, magnification, unsampled)

    return _PointImage


def PointImage(ax: Any, xy: np.ndarray, rgb: np.ndarray, *, area: float, alpha: float) -> Any:  # noqa: N802
    """An image artist of the points ``xy`` in colours ``rgb`` (see :func:`splat`), remade for each
    output at its own resolution (matplotlib is imported only when a figure is drawn)."""
    return _image_class()(ax, xy, rgb, area=area, alpha=alpha)
