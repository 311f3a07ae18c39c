"""The training dynamics as an animation file: a GIF (matplotlib and Pillow), and an MP4 when
``imageio-ffmpeg`` is installed (``pip install 'clsmap[video]'``).

Each snapshot's aligned map (:func:`clsmap.analysis.analyze_dynamics`) coloured by true label, with
the texts the model gets wrong at that step in a dark shade of their colour, held-out texts drawn
larger, and the per-step curves beside it with the current step marked. Between two snapshots the
points glide (``tweens`` frames, positions interpolated). Colours, class order and point sizes come
from the one render model (:mod:`clsmap.render.model`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import require
from ..analysis.dynamics import CURVES, DynamicsAnalysis
from ..store.files import write_atomic
from ..store.reader import Store, open_store
from .fonts import font_families
from .model import ERROR_SHADE, RenderModel, point_sizes, render_model
from .palette import categorical, hex_to_rgb

__all__ = ["animation_frames", "write_animation"]

logger = logging.getLogger(__name__)



def animation_frames(store: str | Path | Store, analysis: DynamicsAnalysis, *, tweens: int = 4, hold: int = 3,
                     dpi: int = 80) -> Iterator[tuple[np.ndarray, int]]:
    """``(frame, repeat)`` pairs: RGB frames (h, w, 3, uint8), each snapshot shown for ``hold`` frame times,
    with ``tweens`` frames (one frame time each) between two snapshots."""
    import matplotlib

    store = open_store(store)
    frame = analysis.mapped_frame(store)
    maps = analysis.maps.astype(np.float64)
    count = maps.shape[0]
    model = render_model(store)
    steps = analysis.curves["step"].to_numpy()
    with matplotlib.rc_context({"font.family": font_families(list(model.present))}):
        paint = _painter(frame, maps, analysis.curves, model, dpi=dpi)
        for k in range(count):
            yield paint(maps[k], k, float(steps[k])), hold
            if k + 1 < count:
                for t in range(1, tweens + 1):
                    w = t / (tweens + 1)
                    yield paint((1 - w) * maps[k] + w * maps[k + 1], k + 1 if w >= 0.5 else k,
                                float((1 - w) * steps[k] + w * steps[k + 1])), 1


def _painter(frame: pd.DataFrame, maps: np.ndarray, curves: pd.DataFrame, model: RenderModel, *,
             dpi: int) -> Callable[[np.ndarray, int, float], np.ndarray]:
    """The figure of the animation (the map beside the curves), and the function that draws one frame of it:
    ``paint(xy, k, step)`` places the points at ``xy`` coloured as at snapshot ``k``, marks ``step`` on the
    curves and returns the RGB frame."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    count, n = maps.shape[:2]
    first = frame.iloc[:n]
    codes = model.codes(first["label"])
    base = np.array([hex_to_rgb(c) for c in model.colours] + [(0.6, 0.6, 0.6)], dtype=np.float32)[codes]
    wrong = (frame["correct"] == False).to_numpy(dtype=bool).reshape(count, n)  # noqa: E712
    steps = curves["step"].to_numpy()
    fig = Figure(figsize=(10.5, 5.2), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax_map, ax_curves = fig.subplots(1, 2, width_ratios=[1.5, 1])
    order = np.random.default_rng(0).permutation(n)
    points = _draw_map(ax_map, maps, first, model, base[order], order)
    marker = _draw_curves(ax_curves, curves, steps)
    title = fig.suptitle("", fontsize=11)
    shade = np.float32(ERROR_SHADE)

    def paint(xy: np.ndarray, k: int, step_value: float) -> np.ndarray:
        colours = np.where(wrong[k][:, None], base * shade, base)
        points.set_offsets(xy[order])
        points.set_facecolors(colours[order])
        marker.set_xdata([step_value, step_value])
        epoch = float(curves["epoch"].iloc[k])
        title.set_text(f"{model.title.model}: step {int(steps[k])} (epoch {epoch:.2f}), held-out accuracy "
                       f"{curves['accuracy'].iloc[k]:.1%}; dark: misclassified, large: held out")
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

    return paint


def _draw_map(ax: Any, maps: np.ndarray, first: pd.DataFrame, model: RenderModel, colours: np.ndarray,
              order: np.ndarray) -> Any:
    """The map's axes: limits that hold every snapshot, the first snapshot's points (in ``order``, with
    their ``colours``; held-out texts larger) and the legend of the classes. Returns the points."""
    from matplotlib.lines import Line2D

    n = maps.shape[1]
    sizes = point_sizes(n)
    area = np.where((first["split"] != "train").to_numpy(), sizes.figure_area * 2.2, sizes.figure_area)
    lo, hi = maps.reshape(-1, 2).min(axis=0), maps.reshape(-1, 2).max(axis=0)
    pad = (hi - lo) * 0.04
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    ax.set_xticks([])
    ax.set_yticks([])
    points = ax.scatter(maps[0, order, 0], maps[0, order, 1], s=area[order], c=colours,
                        alpha=max(sizes.figure_alpha, 0.6), linewidths=0)
    handles = [Line2D([], [], marker="o", ls="", color=model.colour_of(c), label=c) for c in model.present[:12]]
    ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.8)
    return points


def _draw_curves(ax: Any, curves: pd.DataFrame, steps: np.ndarray) -> Any:
    """The curves' axes (:data:`~clsmap.analysis.dynamics.CURVES`); returns the line that marks the step."""
    for (column, name), colour in zip(CURVES.items(), categorical(len(CURVES)), strict=True):
        ax.plot(steps, curves[column].astype(float), color=colour, marker="o", ms=3, label=name)
    ax.set_ylim(min(0.0, float(np.nanmin(curves[list(CURVES)].astype(float).to_numpy()))) - 0.02, 1.02)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return ax.axvline(steps[0], color="0.2", lw=1, ls="--")


def write_animation(store: str | Path | Store, analysis: DynamicsAnalysis, out: str | Path, *, fps: int = 8,
                    mp4: bool | None = None, **options: Any) -> list[Path]:
    """``<out>.gif``, and ``<out>.mp4`` when ``mp4`` (default: when ``imageio-ffmpeg`` is installed;
    ``True`` without it raises the error naming the extra). Returns the paths written."""
    from PIL import Image

    out = Path(out)
    pairs = list(animation_frames(store, analysis, **options))
    frames = [f for f, _ in pairs]
    images = [Image.fromarray(f).quantize(colors=255, method=Image.Quantize.MEDIANCUT) for f in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], loop=0, optimize=False,
                   duration=[int(1000 * repeat / fps) for _, repeat in pairs])
    written = [write_atomic(out.with_name(out.name + ".gif"), lambda fh: fh.write(buffer.getvalue()))]
    if mp4 is None:
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            mp4 = False
            logger.info("no MP4 (pip install 'clsmap[video]' for one); the GIF is %s", written[0])
    if mp4:
        ffmpeg = require("imageio_ffmpeg", extra="video", purpose="an MP4 of the training dynamics",
                         package="imageio-ffmpeg")
        path = out.with_name(out.name + ".mp4")
        tmp = path.with_name(path.name + ".tmp.mp4")
        h, w = frames[0].shape[:2]
        writer = ffmpeg.write_frames(str(tmp), (w - w % 2, h - h % 2), fps=fps, macro_block_size=1,
                                     output_params=["-pix_fmt", "yuv420p"])
        writer.send(None)
        for f, repeat in pairs:
            for _ in range(repeat):
                writer.send(np.ascontiguousarray(f[: h - h % 2, : w - w % 2]))
        writer.close()
        tmp.replace(path)
        written.append(path)
    logger.info("training dynamics animation: %s (%d frames)", ", ".join(map(str, written)), len(frames))
    return written
