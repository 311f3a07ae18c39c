"""Rendering (stage 6 of the pipeline): static figures, the interactive map and the report.

- :mod:`~clsmap.render.model`: the one render model (class order, colours, titles, point sizes and opacity);
- :mod:`~clsmap.render.palette`: the colours; :mod:`~clsmap.render.fonts`: CJK fonts for figures;
- :mod:`~clsmap.render.figures`: PNG/SVG maps and per-layer figures (:mod:`~clsmap.render.layer_grid`:
  one small map per layer), their points drawn by :mod:`~clsmap.render.points` (an image past 100k);
- :mod:`~clsmap.render.map` (with :mod:`~clsmap.render.payload`): the interactive map, one offline HTML
  file; :mod:`~clsmap.render.notebook`: the same map in Jupyter;
- :mod:`~clsmap.render.report_page`: the offline HTML report (its sections made of :mod:`~clsmap.render.blocks`);
- :mod:`~clsmap.render.compare`: two stores side by side, one offline page of linked maps;
- :mod:`~clsmap.render.exports`: the rows for other tools (Embedding Atlas, TensorBoard's Projector, flat Parquet);
- :mod:`~clsmap.render.dynamics`: a training run's dynamics: the player (:mod:`~clsmap.render.player`, the
  same viewer with a step slider and the cartography view) and the animation (:mod:`~clsmap.render.animation`);
- :mod:`~clsmap.render.templates`: the one place where HTML is made (Jinja2, autoescaped).
"""

from .compare import compare_html, write_compare
from .exports import export
from .dynamics import write_dynamics
from .figures import map_figure, plot, plot_compare, plot_layer_curves
from .map import map_html, write_map
from .model import RenderModel, Title, render_model
from .notebook import MapView, show
from .report_page import report

__all__ = ["MapView", "RenderModel", "Title", "compare_html", "export", "map_figure", "map_html", "plot",
           "plot_compare", "plot_layer_curves", "render_model", "report", "show", "write_compare", "write_dynamics",
           "write_map"]
