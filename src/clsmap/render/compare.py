"""The compare page: two stores of the same texts (:func:`clsmap.compare`) on one offline HTML page.

Two maps side by side, aligned as the comparison chose (Procrustes or a joint projection), each the
interactive map of :mod:`clsmap.render.map` (the same viewer, in a frame of its own, its rows in A's
order), linked: hovering or selecting a text in one map highlights it in the other. Both maps colour
by true label, by either model's prediction or correctness, by "changed" (fixed, broken, still wrong,
still right) or by how far a text's neighbourhood moved; the buttons above them switch both. Below:
what changed, the alignment and its measurement, the metric diff (overall, per class), the confusion
regions of each and which disappeared, and the texts that moved most (a click selects one in both maps).
``compare.json`` beside the page holds every number. The same sections go into a store's report
(:func:`clsmap.report` with ``comparison=``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..analysis.changes import CHANGE_KINDS
from ..analysis.comparison import Comparison
from ..store.files import write_text_atomic
from ..store.reader import Store, open_store
from .fonts import web_font
from .map import MapExtras, Theme, map_page, map_parts, page_csp
from .model import COLOURS, RenderModel, render_model, shared_models, title_of
from .palette import viridis
from .blocks import section as _section
from .blocks import table_block as _table
from .blocks import text_block as _text
from .templates import Markup, asset, render

__all__ = ["write_compare", "compare_html", "compare_sections", "side_names"]

logger = logging.getLogger(__name__)

#: the bins of the "moved" colour mode (1 - Jaccard of the 10-NN sets)
MOVED_BINS = [(0.0, 0.0, "0: same neighbours"), (0.0, 0.25, "0–0.25"), (0.25, 0.5, "0.25–0.5"),
              (0.5, 0.75, "0.5–0.75"), (0.75, 1.0, "0.75–1: none in common")]
#: the buttons above the two maps: (mode key, name)
BUTTONS = [("label", "true label"), ("changed", "changed"), ("moved", "moved"), ("pred_a", "prediction A"),
           ("pred_b", "prediction B"), ("correct_a", "correct A"), ("correct_b", "correct B")]


def _name(store: Store, column: str) -> str:
    title = title_of(store, column)
    return " · ".join(p for p in (title.model, title.what) if p)


def side_names(comparison: Comparison) -> tuple[str, str]:
    """How the page names A and B: the model and the layer of each."""
    return (_name(open_store(comparison.path_a), comparison.column_a),
            _name(open_store(comparison.path_b), comparison.column_b))


def _modes(comparison: Comparison, model: RenderModel) -> list[dict[str, Any]]:
    """The compare page's own colour modes, the same in both maps (codes in A's row order)."""
    rows = comparison.rows
    kinds = CHANGE_KINDS[:4]
    change = pd.Categorical(rows["change"], categories=kinds).codes.astype(np.int32)
    moved = rows["moved"].to_numpy()
    moved_codes = np.where(moved <= 0, 0, np.minimum(np.ceil(moved * 4).astype(np.int32), 4)).astype(np.int32)
    correct_names, correct_colours = ["correct", "misclassified"], [COLOURS["correct"], COLOURS["wrong"]]

    def correct_codes(values: pd.Series) -> np.ndarray:
        codes = np.full(len(values), -1, dtype=np.int32)
        known = values.notna().to_numpy()
        codes[known] = np.where(values[known].astype(bool).to_numpy(), 0, 1)
        return codes

    modes = [{"key": "changed", "name": "changed", "codes": change, "names": kinds,
              "colours": [COLOURS[k] for k in kinds]},
             {"key": "moved", "name": "moved", "codes": moved_codes, "names": [b[2] for b in MOVED_BINS],
              "colours": viridis(len(MOVED_BINS))}]
    for side in ("a", "b"):
        if rows[f"pred_{side}"].notna().any():
            modes.append({"key": f"pred_{side}", "name": f"prediction {side.upper()}",
                          "codes": model.codes(rows[f"pred_{side}"]), "names": model.classes,
                          "colours": model.colours})
        if rows[f"correct_{side}"].notna().any():
            modes.append({"key": f"correct_{side}", "name": f"correct {side.upper()}",
                          "codes": correct_codes(rows[f"correct_{side}"]), "names": correct_names,
                          "colours": correct_colours})
    return modes


def compare_sections(comparison: Comparison, model: RenderModel, *, names: tuple[str, str], top: int = 50,
                     linked: bool = False) -> list[dict[str, Any]]:
    """What changed, the alignment, the metric diff, the regions and the texts that moved most, as
    sections of a page (the compare page's, ``linked``: its moved-most rows select a text in both maps;
    or a report's)."""
    s, align = comparison.summary, comparison.alignment
    colours = dict(zip(model.classes, model.colours, strict=True))
    counts = {kind: s["n_" + kind.replace(" ", "_")] for kind in CHANGE_KINDS}
    changes = ", ".join(f"{count:,} {kind}" for kind, count in counts.items() if count)
    what = (f"A: {names[0]}. B: {names[1]}. Of {s['n_rows']:,} texts (matched by id): {changes}. Each text's "
            f"{s['k']} nearest neighbours in A's space against B's: moved = 1 - Jaccard of the two sets; mean "
            f"{s['moved_mean']:.3f}, median {s['moved_median']:.3f}; {s['n_unmoved']:,} kept every neighbour, "
            f"{s['n_moved_completely']:,} kept none.")
    joint = "n/a (the spaces differ in width)" if align["joint"] is None else f"{align['joint']:.3f}"
    how = (f"Kept: {align['chosen']}. On {align['sample']:,} texts, the {align['n_unchanged']:,} whose neighbourhood "
           f"changed least (moved ≤ {align['unchanged_below']:.2f}) lie, at the median, {align['procrustes']:.3f} "
           f"map spreads apart with B's own map Procrustes-aligned onto A's, and {joint} in one {align['method']} "
           "projection of both spaces together; the way that keeps them closer in place is drawn.")
    sections = [_section("What changed", "changed", _text(what)), _section("Alignment", "alignment", _text(how))]
    sections.append(_section("Metrics, A against B", "metric-diff", _text(
        "difference = B - A; every measure as clsmap analyze computes it for each store", muted=True),
        _table(comparison.metrics)))
    sections.append(_section("Per class, A against B", "class-diff", _text(
        "accuracy: the class's recall; knn_purity and silhouette in each space", muted=True),
        _table(comparison.per_class, swatches=colours, swatch_column="label")))
    regions = comparison.regions
    if len(regions):
        gone = int((regions["status"] == "disappeared").sum())
        new = int((regions["status"] == "new").sum())
        note = (f"{gone} of A's {int((regions['map'] == 'A').sum())} confusion regions disappeared in B (no region "
                f"of B holds 20 % of their texts); {new} of B's {int((regions['map'] == 'B').sum())} are new.")
        sections.append(_section("Confusion regions", "region-diff", _text(note), _table(regions)))
    moved = comparison.moved_most(top)
    table = _table(moved, text_columns=("text",))
    if linked:
        table["body_id"] = "moved-rows"
        table["row_data"] = [str(int(r)) for r in np.argsort(-comparison.rows["moved"].to_numpy(), kind="stable")[:top]]
    sections.append(_section("Moved most", "moved", _text(
        f"The {len(moved)} texts whose {s['k']} nearest neighbours changed most between A and B"
        + (" (click one to select it in both maps)." if linked else "."), muted=True), table))
    return sections


def compare_html(comparison: Comparison, *, max_text_chars: int | None = 200, theme: Theme = "auto",
                 top: int = 50) -> str:
    """The compare page of ``comparison`` as one self-contained HTML document (a string)."""
    sa, sb = open_store(comparison.path_a), open_store(comparison.path_b)
    model_a, model_b = shared_models(render_model(sa, comparison.column_a), render_model(sb, comparison.column_b))
    modes = _modes(comparison, model_a)
    names = side_names(comparison)
    maps = []
    for side, store, column, model, order, xy in (
            ("A", sa, comparison.column_a, model_a, None, comparison.xy_a),
            ("B", sb, comparison.column_b, model_b, comparison.order_b, comparison.xy_b)):
        extras = MapExtras(order=order, xy=xy, model=model, modes=modes, linked=True)
        document = map_page(map_parts(store, column=column, max_text_chars=max_text_chars, theme=theme,
                                      title=f"{side}: {names[0 if side == 'A' else 1]}", extras=extras))
        maps.append({"side": side, "name": names[0 if side == "A" else 1], "document": document})
    script = asset("viewer.js")
    buttons = [(key, name) for key, name in BUTTONS if key == "label" or any(m["key"] == key for m in modes)]
    page = {"title": f"clsmap compare: {names[0]} against {names[1]}", "maps": maps, "buttons": buttons,
            "sections": compare_sections(comparison, model_a, names=names, top=top, linked=True),
            "version": __version__,
            "script": Markup(script)}
    # the frames inherit this page's policy: it allows data: fonts when a map embeds one
    child_fonts = any("@font-face" in m["document"] for m in maps)
    document = render("compare.html", csp=page_csp(script, font=child_fonts), font_face=None, **page)
    font = web_font(document.encode("utf-8"))
    if font is not None:
        document = render("compare.html", csp=page_csp(script, font=True), font_face=Markup(font.css), **page)
    return document


def write_compare(comparison: Comparison, out: str | Path, *, max_text_chars: int | None = 200,
                  theme: Theme = "auto", top: int = 50) -> Path:
    """Write the compare page to ``out`` (``.html``) and every number to ``compare.json`` beside it (the
    same name with ``.json``); return the page's path."""
    path = Path(out)
    if path.suffix.lower() not in (".html", ".htm"):
        path = path.with_suffix(".html")
    write_text_atomic(path, compare_html(comparison, max_text_chars=max_text_chars, theme=theme, top=top))
    numbers = comparison.to_dict(top=max(top, 100))
    numbers["clsmap_version"] = __version__
    write_text_atomic(path.with_suffix(".json"), json.dumps(numbers, ensure_ascii=False, indent=1))
    logger.info("compare page: %s (%.1f MB) and %s", path, path.stat().st_size / 1e6, path.with_suffix(".json"))
    return path
