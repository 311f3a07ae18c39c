"""Many points on a figure (clsmap.render.points): past IMAGE_ABOVE they are splatted into an image made at
each output's resolution, which must look like the scatter it replaces and keep the SVG small."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clsmap.render.points import IMAGE_ABOVE, draw_points, splat


@given(k=st.integers(1, 40), alpha=st.floats(0.01, 1.0), seed=st.integers(0, 1000))
@settings(max_examples=40, deadline=None)
def test_stacked_points_blend_as_drawn_one_over_another(k, alpha, seed):
    """k points on one pixel: their mean colour at opacity 1 - (1 - alpha)^k; nothing elsewhere."""
    rng = np.random.default_rng(seed)
    rgb = rng.uniform(size=(k, 3)).astype(np.float32)
    xy = np.full((k, 2), 2.5)
    image = splat(xy, rgb, (0, 10, 0, 5), (5, 10), diameter=1.0, alpha=alpha)
    assert image.shape == (5, 10, 4)
    assert np.allclose(image[2, 2, :3], rgb.mean(axis=0), atol=1e-5)
    assert image[2, 2, 3] == pytest.approx(1 - (1 - alpha) ** k, abs=1e-5)
    image[2, 2] = 0
    assert image[..., 3].max() == 0


def test_a_point_is_a_disk_of_its_diameter():
    image = splat(np.array([[10.5, 10.5]]), np.array([[1.0, 0, 0]], dtype=np.float32), (0, 21, 0, 21), (21, 21),
                  diameter=7.0, alpha=1.0)
    covered = image[..., 3] > 0
    assert covered.sum() == pytest.approx(np.pi * 3.5 ** 2, rel=0.25)
    assert covered[10, 7] and covered[10, 13] and not covered[10, 5] and not covered[3, 3]


def _two_clusters(n):
    rng = np.random.default_rng(0)
    side = rng.integers(0, 2, n)
    xy = rng.normal(scale=0.3, size=(n, 2)) + np.stack([side * 6.0, np.zeros(n)], axis=1)
    rgb = np.where(side[:, None] == 1, [[0.1, 0.3, 0.9]], [[0.9, 0.4, 0.1]]).astype(np.float32)
    return xy, rgb


@pytest.mark.parametrize("n", [IMAGE_ABOVE // 10, IMAGE_ABOVE + 1])
def test_many_points_look_the_same_drawn_either_way_and_keep_vector_files_small(n):
    """A scatter (few points) and an image (many) give the same picture: each cluster in its colour, white
    between; the SVG embeds the points as one raster whatever N, and its text stays text."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xy, rgb = _two_clusters(n)
    for dpi in (60, 150):
        fig = Figure(figsize=(6, 3))
        ax = fig.subplots()
        ax.set_aspect("equal", adjustable="datalim")
        draw_points(ax, xy, rgb, area=4.0, alpha=0.5)
        ax.set_title("two clusters")
        fig.set_dpi(dpi)
        FigureCanvasAgg(fig).draw()
        pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float) / 255
        for centre, colour in (((0, 0), rgb[xy[:, 0] < 3][0]), ((6, 0), rgb[xy[:, 0] > 3][0]), ((3, 0), (1, 1, 1))):
            px, py = ax.transData.transform(centre)
            seen = pixels[int(round(pixels.shape[0] - py)), int(round(px))]
            assert np.abs(seen - colour).max() < 0.08, (n, dpi, centre, seen)
        svg = io.BytesIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):  # as clsmap.plot writes SVGs
            fig.savefig(svg, format="svg", dpi=100)
        text = svg.getvalue().decode("utf-8")
        assert "two clusters</text>" in text  # the title is text, not pixels
        if n > IMAGE_ABOVE:
            assert text.count("<image") == 1 and len(text) < 2_000_000
