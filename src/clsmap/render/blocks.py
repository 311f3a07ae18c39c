"""The blocks of the report's and the compare page's sections (``templates/sections.html``): texts,
figures (PNGs as ``data:`` URIs) and tables, their numbers formatted once here."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np
import pandas as pd

from .fonts import web_font
from .templates import Markup, render

__all__ = ["REPORT_CSP", "fmt_number", "cell", "table_block", "text_block", "png_uri", "figure_block", "section",
           "report_document"]

#: the reports' Content-Security-Policy: nothing loads from outside the file
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def fmt_number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}f}"
    return str(value)


def cell(text: Any = "", *, cls: str = "", swatch: str = "", bullets: list[str] | None = None) -> dict[str, Any]:
    return {"text": "" if text is None else str(text), "cls": cls, "swatch": swatch, "bullets": bullets}


def table_block(frame: pd.DataFrame, *, text_columns: tuple[str, ...] = (), digits: int = 3,
           swatches: dict[str, str] | None = None, swatch_column: str | None = None) -> dict[str, Any]:
    """A table block: numbers formatted and right-aligned, long texts wrapped, and a colour swatch
    before each class name in ``swatch_column``."""
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            if column in text_columns:
                cells.append(cell(value, cls="text"))
            elif column == swatch_column and swatches and str(value) in swatches:
                cells.append(cell(value, swatch=swatches[str(value)]))
            elif isinstance(value, (int, float, np.integer, np.floating, bool, np.bool_)) or value is None:
                cells.append(cell(fmt_number(value, digits), cls="num"))
            else:
                cells.append(cell(value))
        rows.append(cells)
    return {"kind": "table", "columns": [str(c) for c in frame.columns], "rows": rows}


def text_block(text: str, *, muted: bool = False) -> dict[str, Any]:
    return {"kind": "text", "text": text, "muted": muted}


def png_uri(fig: Any, dpi: int = 110) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_block(uri: str, alt: str, caption: str = "") -> dict[str, Any]:
    return {"kind": "figure", "uri": uri, "alt": alt, "caption": caption}


def section(title: str, anchor: str, *blocks: dict[str, Any]) -> dict[str, Any]:
    return {"title": title, "anchor": anchor, "blocks": list(blocks)}


def report_document(page: dict[str, Any]) -> str:
    """``templates/report.html`` filled with ``page``; when its text needs CJK glyphs, a subset of a CJK font
    holding just those is embedded (and allowed by the policy)."""
    document = render("report.html", csp=REPORT_CSP, font_face=None, **page)
    font = web_font(document.encode("utf-8"))  # every character the page shows
    if font is None:
        return document
    return render("report.html", csp=REPORT_CSP + "; font-src data:", font_face=Markup(font.css), **page)
