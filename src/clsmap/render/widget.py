"""The interactive map as a Jupyter widget whose selection reaches Python (``pip install 'clsmap[notebook]'``).

:class:`MapWidget` is an `anywidget <https://anywidget.dev>`_ widget: its front end is the map page's
own viewer (``assets/widget.js``, built from ``js/viewer`` beside ``viewer.js``), drawn in a shadow
root of the cell's output, with the same data as the page (:func:`~clsmap.render.map.map_parts`): the
metadata as JSON and the gzip'd columnar payload as one binary buffer, not as JSON lists. The
selection is the synced trait ``selected_ids``: the ids of the selected texts, in row order, set by
the front end when the user lassoes, draws a box or searches, and drawn by it (highlighted, listed in
the side panel) when Python sets it. :attr:`MapWidget.selected` is the selected rows as a DataFrame.
Each output of a widget (each time it is displayed) is a map of its own that follows the widget's
selection, and several widgets draw side by side; the front end lists each map in
``window.clsmap.instances`` (``js/viewer/src/api.js``).

This module needs ``anywidget``; :func:`clsmap.show` imports it only when that is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import ClsmapError, require
from .._validation import check_positive_int
from ..store.reader import Store, open_store
from .map import Theme, map_parts
from .templates import Markup, asset, render

anywidget = require("anywidget", extra="notebook", purpose="clsmap.show as a notebook widget")
traitlets = require("traitlets", extra="notebook", purpose="clsmap.show as a notebook widget")

__all__ = ["MapWidget"]


# require() loads anywidget at run time: mypy sees a ModuleType there, not the AnyWidget class
class MapWidget(anywidget.AnyWidget):  # type: ignore[name-defined]
    """The interactive map of a store in a notebook, with its selection synced to Python.

    ``selected_ids`` (a list of ids) is what the user selected on the map, in row order; assigning
    it selects those texts on the map (an unknown id is an error, duplicates count once).
    ``selected`` is a DataFrame of the selected rows (the columns of
    :meth:`~clsmap.store.Store.to_pandas`). ``height`` is the map's height in pixels.
    """

    _esm = asset("widget.js")
    _style = traitlets.Unicode("").tag(sync=True)
    _body = traitlets.Unicode("").tag(sync=True)
    _font_css = traitlets.Unicode("").tag(sync=True)
    _meta = traitlets.Dict().tag(sync=True)
    _payload = traitlets.Bytes(b"").tag(sync=True)
    height = traitlets.Int(640).tag(sync=True)
    selected_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, store: Store | str | Path, *, column: str | None = None, max_text_chars: int | None = 200,
                 theme: Theme = "auto", height: int = 640) -> None:
        check_positive_int(height, param="height", func="MapWidget")
        store = open_store(store)
        parts = map_parts(store, column=column, max_text_chars=max_text_chars, theme=theme, func="show")
        face = None if parts.font is None else Markup(parts.font.css)
        self._store = store
        self._column = column
        self._rows: pd.DataFrame | None = None
        self._row_of: dict[str, int] = {str(i): k for k, i in enumerate(store.frame["id"])}
        super().__init__(
            _style=render("map.css", font_face=face, warnings=parts.warnings, player=False),
            _body=render("map_body.html", warnings=parts.warnings, player=False),
            _font_css="" if parts.font is None else parts.font.css,
            _meta=parts.meta,
            _payload=parts.packed,
            height=height,
        )

    @traitlets.validate("selected_ids")
    def _check_ids(self, proposal: dict[str, Any]) -> list[str]:
        ids = [str(i) for i in proposal["value"]]
        unknown = [i for i in ids if i not in self._row_of]
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise ClsmapError(f"selected_ids: {len(unknown)} id(s) not in the store {self._store.path}: {shown}")
        return sorted(set(ids), key=self._row_of.__getitem__)

    @property
    def store(self) -> Store:
        return self._store

    @property
    def selected(self) -> pd.DataFrame:
        """The selected rows, in row order: ``id``, ``text``, ``label``, ``pred``, ``confidence``,
        ``correct``, ``x``, ``y`` (the store's 2-D map)."""
        if self._rows is None:
            self._rows = self._store.to_pandas(column=self._column)
        rows = [self._row_of[i] for i in self.selected_ids]
        return self._rows.iloc[rows].reset_index(drop=True)

    def __repr__(self) -> str:
        return (f"<clsmap MapWidget {str(self._store.path)!r}: {len(self._row_of):,} points, "
                f"{len(self.selected_ids):,} selected>")
