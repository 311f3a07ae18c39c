"""The interactive map in a Jupyter notebook: a widget with the selection in Python
(:mod:`clsmap.render.widget`, when ``anywidget`` is installed), else the page in an iframe."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from .._validation import check_positive_int
from ..store.files import write_text_atomic
from ..store.reader import Store
from .map import Theme, map_html

if TYPE_CHECKING:  # the widget needs anywidget, imported only when show() finds it
    from .widget import MapWidget

__all__ = ["MapView", "show"]


class MapView:
    """The interactive map of a store, for Jupyter: the notebook renders it through ``_repr_html_``
    (an ``<iframe srcdoc>`` holding the self-contained page, so its scripts and styles stay apart).
    ``html`` is the page itself; :meth:`save` writes it to a file."""

    def __init__(self, page: str, *, height: int = 640) -> None:
        self.html = page
        self.height = height

    def _repr_html_(self) -> str:
        # srcdoc is an attribute: html.escape(quote=True) leaves no way to end it early
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;height:{self.height}px;'
                'border:0" sandbox="allow-scripts allow-downloads" title="clsmap interactive map"></iframe>')

    def save(self, path: str | Path) -> Path:
        return write_text_atomic(path, self.html)

    def __repr__(self) -> str:
        return f"<clsmap MapView: {len(self.html) / 1e6:.1f} MB of HTML>"


def show(store: Store | str | Path, *, column: str | None = None, max_text_chars: int | None = 200,
         theme: Theme = "auto", height: int = 640) -> MapView | MapWidget:
    """The map of ``store`` for a Jupyter notebook: the last expression of a cell, or passed to
    ``IPython.display.display``, it shows inline (the same viewer and controls as :func:`clsmap.write_map`).

    With ``anywidget`` installed (``pip install 'clsmap[notebook]'``) it is a
    :class:`~clsmap.render.widget.MapWidget`, whose ``selected_ids`` and ``selected`` (a DataFrame) follow
    what the user lassoes, and which highlights the texts whose ids Python assigns to ``selected_ids``.
    Without it, a :class:`MapView`: the page in an ``<iframe>``, whose selection leaves it as CSV.
    """
    check_positive_int(height, param="height", func="show")
    try:
        import anywidget  # noqa: F401 - only whether it is there
    except ImportError:
        page = map_html(store, column=column, max_text_chars=max_text_chars, theme=theme)
        return MapView(page, height=height)
    from .widget import MapWidget

    return MapWidget(store, column=column, max_text_chars=max_text_chars, theme=theme, height=height)
