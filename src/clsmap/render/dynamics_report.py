"""The report of a training run's dynamics: one offline HTML page (the report's template and policy).

Where the space formed (the first step at which each class's 10-NN purity on the held-out texts
reached the threshold), the per-step curves, the alignment comparison, the cartography of the
training texts and the hard-to-learn ones. Every number is also in ``dynamics.json`` beside it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..analysis.dataset_cartography import GROUPS
from ..analysis.dynamics import CURVES, DynamicsAnalysis
from ..store.files import write_text_atomic
from ..store.reader import Store
from .fonts import font_families
from .model import COLOURS, RenderModel, render_model
from .palette import categorical
from .blocks import figure_block as _figure
from .blocks import png_uri as _png
from .blocks import report_document
from .blocks import section as _section
from .blocks import table_block as _table
from .blocks import text_block as _text

__all__ = ["write_dynamics_report"]

logger = logging.getLogger(__name__)

#: the curves' names in the report, whose accuracy is that of the held-out texts
_CURVE_NAMES = {**CURVES, "accuracy": "accuracy (held-out)"}


def _curves_figure(curves: pd.DataFrame, formed_at: float) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 3.2), layout="constrained")
    ax = fig.subplots()
    for (column, name), colour in zip(_CURVE_NAMES.items(), categorical(len(_CURVE_NAMES)), strict=True):
        ax.plot(curves["step"], curves[column].astype(float), marker="o", ms=3, color=colour, label=name)
    ax.axhline(formed_at, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def _cartography_figure(carto: pd.DataFrame, names: list[str]) -> Any:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": font_families(names)}):
        fig = Figure(figsize=(5.5, 4.2), layout="constrained")
        ax = fig.subplots()
        for group in [*GROUPS, None]:
            rows = carto[carto["group"].isna()] if group is None else carto[carto["group"] == group]
            name = group or "no group"
            ax.scatter(rows["variability"], rows["confidence"], s=9, alpha=0.75, color=COLOURS[name],
                       label=f"{name} ({len(rows):,})", linewidths=0)
        ax.set_xlabel("variability (std of the label's probability)")
        ax.set_ylabel("confidence (mean probability of the label)")
        ax.set_xlim(0, max(0.5, float(carto["variability"].max()) * 1.05))
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8, loc="lower right")
    return fig


def write_dynamics_report(store: Store, analysis: DynamicsAnalysis, out: str | Path, *, top: int = 30) -> Path:
    """Write the report of ``analysis`` (:func:`clsmap.analysis.analyze_dynamics`) to ``out``."""
    model = render_model(store)
    summary = analysis.summary
    held = "held-out" if summary.get("rows") != "train" else "training"
    sections = [*_formation_sections(analysis, model, held), _alignment_section(analysis.alignment)]
    carto = analysis.cartography
    if carto is not None and len(carto):
        sections.append(_cartography_section(carto, model, top))
    dyn = store.dynamics or {}
    held_out = sum(v for k, v in (dyn.get("probe") or {}).items() if k != "train")
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    page = {"title": f"clsmap training dynamics: {model.title.model}", "sections": sections,
            "subtitle": f"{store.path} · {summary['snapshots']} snapshots (every {dyn.get('map_every')}) of "
                        f"{summary['probe_rows']:,} texts ({held_out:,} held out)",
            "version": __version__, "generated": generated, "json_name": "dynamics.json", "warnings": []}
    document = report_document(page)
    path = Path(out)
    write_text_atomic(path, document)
    logger.info("training dynamics report: %s", path)
    return path


def _formation_sections(analysis: DynamicsAnalysis, model: RenderModel, held: str) -> list[dict[str, Any]]:
    """Where the space formed (the first step each class's purity reached the threshold, and the curves'
    figure), and the table of the per-step curves."""
    curves = analysis.curves
    formed_at = float(analysis.summary.get("formed_at", 0.8))
    final = analysis.per_class[analysis.per_class["snapshot"] == analysis.per_class["snapshot"].max()]
    formation = pd.DataFrame({
        "class": list(analysis.formation),
        "formed at step": [("not within the run" if s is None else int(s)) for s in analysis.formation.values()],
        "purity at the last step": [float(final.loc[final["label"] == c, "knn_purity"].iloc[0])
                                    if (final["label"] == c).any() else None for c in analysis.formation],
    })
    formed = {c: s for c, s in analysis.formation.items() if s is not None}
    return [_section(
        "Where the space formed", "formation",
        _text(f"The first step at which a class's 10-nearest-neighbour label purity among the {held} texts of the "
              f"probe set reached {formed_at:.2f}: {len(formed)} of {len(analysis.formation)} classes formed within "
              f"the run's {int(curves['step'].iloc[-1])} steps."),
        _table(formation, swatches=dict(zip(model.classes, model.colours, strict=True)), swatch_column="class"),
        _figure(_png(_curves_figure(curves, formed_at)), "per-step curves",
                f"Per step, on the {held} texts of the probe set; the dotted line is the purity threshold."),
    ), _section("Per step", "curves", _table(curves.replace({np.nan: None})))]


def _alignment_section(stats: dict[str, Any]) -> dict[str, Any]:
    """The alignments compared (:func:`clsmap.analysis.alignment.compare_alignments`), and which was kept."""
    align_rows = pd.DataFrame([
        {"alignment": name, "kept": name == stats["kept"], "median displacement, neighbours kept":
         stats[name]["unchanged_median"], "median displacement, neighbours changed": stats[name]["changed_median"],
         "ratio": stats[name]["ratio"], "points kept": stats[name]["n_unchanged"],
         "points changed": stats[name]["n_changed"]}
        for name in stats if name != "kept"])
    return _section(
        "Aligned maps", "alignment",
        _text("Each method maps every snapshot; displacements between consecutive snapshots are in units of the "
              "map's spread. A point's neighbourhood was kept when at least 8 of its 10 nearest neighbours (cosine, "
              "in the vector space) stayed, changed when at most 3 did. The method whose kept points move least "
              "relative to the changed ones (the lowest ratio) draws the player and the animation."),
        _table(align_rows.replace({np.nan: None}), digits=4))


def _cartography_section(carto: pd.DataFrame, model: RenderModel, top: int) -> dict[str, Any]:
    """The cartography of the training texts: its figure and the ``top`` least confident hard-to-learn texts."""
    hard = carto[carto["group"] == "hard-to-learn"].sort_values("confidence").head(top)
    return _section(
        "Cartography of the training texts", "cartography",
        _text(f"Over the {int(carto['snapshots'].iloc[0])} snapshots after training began (Swayamdipta et al., "
              "2020): confidence is the mean probability the model gave a text's label, variability its standard "
              "deviation, correctness the share of snapshots at which the label was predicted. A third of the "
              "texts each: the most variable are ambiguous; of the others, the least confident are "
              "hard-to-learn (where mislabeled texts gather) and the most confident easy-to-learn."),
        _figure(_png(_cartography_figure(carto, model.present)), "cartography"),
        _text(f"The {len(hard)} least confident hard-to-learn texts:"),
        _table(hard[["id", "label", "confidence", "variability", "correctness", "text"]],
               text_columns=("text",), swatches=dict(zip(model.classes, model.colours, strict=True)),
               swatch_column="label"))
