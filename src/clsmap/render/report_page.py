"""The report: one self-contained, offline HTML file (plus ``report.json``) per store.

The page has the run's metadata, the metrics, the confusion-matrix heatmap, the map (with its
confusion regions), the per-layer curve and aligned per-layer maps when the store has layers,
the regions with their texts, and the top likely-mislabeled texts. Figures are PNGs inlined as
``data:`` URIs; a Content-Security-Policy meta tag forbids every remote load, and the page has no
script at all. The page is the template ``templates/report.html``: every string from the data or the
model is escaped there (:mod:`clsmap.render.templates`). Class colours are those of the figures and
the interactive map (:mod:`clsmap.render.model`), and so are the warnings of a model that has not
learned, shown in a banner under the title. A page that holds CJK text embeds a subset of a CJK font
(:func:`~clsmap.render.fonts.web_font`), allowed by the policy as a ``data:`` URL.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .._validation import reject_unknown
from .._version import __version__
from ..analysis.comparison import Comparison
from ..analysis.results import Analysis, LabelFlags, Regions, SplitMetrics
from ..analysis.run import analyze
from ..store.files import write_text_atomic
from ..store.reader import Store, open_store
from .blocks import cell as _cell
from .blocks import figure_block as _figure
from .blocks import fmt_number as _num
from .blocks import png_uri as _png
from .blocks import report_document
from .blocks import section as _section
from .blocks import table_block as _table
from .blocks import text_block as _text
from .compare import compare_sections, side_names
from .figures import confusion_figure, layer_grid_figure, map_figure, plot_layer_curves
from .model import RenderModel, render_model

__all__ = ["report"]

logger = logging.getLogger(__name__)

#: nothing may load from anywhere but the page itself: images only as data: URIs, inline CSS

_SUMMARY_DOC = {
    "n_rows": "rows in the store",
    "n_classes": "classes among the labels",
    "accuracy": "the model's accuracy (prediction = label)",
    "macro_f1": "the model's macro-averaged F1",
    "knn_purity": "original space: share of each row's k nearest neighbours (cosine) with its label",
    "knn_purity_chance": "the purity expected if positions ignored labels (sum of squared class shares)",
    "silhouette": "original space: mean cosine silhouette (on a stratified sample of silhouette_sample rows)",
    "linear_probe_accuracy": "original space: cross-validated accuracy of a logistic-regression probe",
    "knn_recall": "original space: recall@k of the k-NN graph against exact neighbours (1: an exact search; "
                  "from 100,000 rows an approximate index, measured on knn_recall_sample rows)",
    "map_knn_purity": "2-D map: the same k-NN purity, in the map",
    "trustworthiness": "2-D map: are the map's neighbours neighbours in the original space (1 = always)",
    "knn_preservation": "2-D map: share of each row's k original-space neighbours kept among its k map neighbours",
    "n_flagged": "rows flagged as likely mislabeled",
    "n_regions": "confusion regions found in the map",
    "regions_share_errors": "share of misclassified rows (without predictions: rows whose neighbours mostly carry "
                            "other labels) inside a confusion region",
    "regions_share_points": "share of all rows inside a confusion region",
    "regions_share_area": "share of the map's area (convex hull of all points) the regions cover",
    "regions_overall_rate": "the map's overall error rate (without predictions: mixed-neighbourhood rate), "
                            "against which regions are measured",
}

_REGIONS_METHOD = ("A region is an area of the map (grid cells, smoothed counts) whose error rate (without "
                   "predictions: mixed-neighbourhood rate) is at least twice the overall rate, holding at most "
                   "10 % of the rows; its p-value comes from the same scan repeated on random placements of "
                   "the errors (Kulldorff's Bernoulli scan statistic). Its keywords are the terms that set its "
                   "texts apart from the rest of the map (class-based TF-IDF).")


def _meta_rows(store: Store) -> pd.DataFrame:
    meta = store.meta
    model, ext, data = meta.get("model", {}), meta.get("extraction", {}), meta.get("dataset", {})
    proj = store.projection_meta(None) or {}
    rows = [
        ("model", model.get("name_or_path")), ("architecture", model.get("architecture")),
        ("hidden size", model.get("hidden_size")), ("layer", ext.get("layer")), ("module", ext.get("module")),
        ("pooling", ext.get("pooling")), ("max length", ext.get("max_length")), ("dtype", ext.get("dtype")),
        ("data", data.get("source")), ("data sha256", data.get("sha256")), ("rows", meta.get("n_rows")),
        ("classes", ", ".join(map(str, store.classes or [])) or None),
        ("vector columns", ", ".join(store.vector_columns)),
        ("map", f"{proj.get('method')} {json.dumps(proj.get('params', {}), sort_keys=True)}" if proj else None),
        ("device", meta.get("device")), ("extracted", meta.get("finished") or meta.get("created")),
        ("clsmap (extraction)", meta.get("clsmap_version")),
    ]
    return pd.DataFrame([(k, "" if v is None else str(v)) for k, v in rows], columns=["field", "value"])


def _keywords_of(analysis: Analysis, kind: Literal["class", "region"], top: int = 6) -> dict[str, str]:
    """Per class name or region id (as text), its first keywords joined by " · "."""
    if analysis.keywords is None:
        return {}
    return {group: " · ".join(terms) for group, terms in analysis.keywords.terms(kind, top=top).items()}


def _regions_table(regions: Regions, words: dict[str, str], examples: int) -> dict[str, Any]:
    rows = []
    for r in regions.frame.itertuples(index=False):
        pair = f"{r.true_label} → {r.pred_label}" if r.true_label is not None else "–"
        rows.append([_cell(int(r.region_id), cls="num"), _cell(f"{int(r.n):,}", cls="num"),
                     _cell(f"{int(r.n_errors):,}", cls="num"), _cell(_num(r.error_rate), cls="num"),
                     _cell(f"{r.enrichment:.1f}×", cls="num"), _cell(_p_value(r.p_value), cls="num"),
                     _cell(_num(r.purity), cls="num"), _cell(pair), _cell(words.get(str(int(r.region_id)), "")),
                     _cell(bullets=[str(t) for t in list(r.examples)[:examples]])])
    rate = "mixed rate" if regions.measure == "mixed" else "error rate"
    return {"kind": "table", "rows": rows,
            "columns": ["region", "points", "errors", "error rate", f"{rate} / overall", "p-value", "purity",
                        "true → predicted", "keywords", "examples"]}


def _p_value(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else f"{p:.0e}"


def _issues_section(analysis: Analysis, flags: LabelFlags, *, top: int) -> dict[str, Any]:
    """Flagged rows first (they are the top ranks; ``flags``: the analysis's label issues), under a line that
    states how trustworthy the probabilities behind them are, or why nothing is flagged."""
    summary = analysis.summary
    issues = flags.frame.sort_values("rank").head(top)
    keep = ["rank", "id", "label", "suggested_label", "pred", "p_given", "knn_given", "score", "flagged", "text"]
    source = ("a linear probe cross-validated on the vectors" if summary.get("probs_source") == "probe"
              else "the model's own probabilities (valid for held-out rows only)")
    accuracy = (f"The probabilities behind the flags ({source}) are right on {_pct(summary.get('flags_accuracy'))} "
                f"of the rows (chance: {_pct(summary.get('flags_chance'))}; flags need "
                f"{_pct(summary.get('flags_needed'))}).")
    if summary.get("flags_note"):
        near_chance = (summary.get("flags_accuracy") or 0) < (summary.get("flags_needed") or 0)
        note = ("nothing is flagged: that is too close to chance for these vectors to tell a wrong label from a "
                "hard example" if near_chance else str(summary["flags_note"]))
        verdict = f"{accuracy} {note[:1].upper()}{note[1:]}. The rows below are only the least likely labels."
    else:
        verdict = (f"{accuracy} {summary.get('n_flagged', 0):,} rows flagged: the estimated number of wrong labels "
                   f"(rows whose given label scores as low as wrong classes do), listed first.")
    weight = summary.get("flags_weight")
    how = (f"Score = 1 − ({_num(weight, 2)} × out-of-sample probability of the given label + {_num(1 - weight, 2)} × "
           f"share of its {summary.get('k')} nearest [CLS] neighbours with that label); the weight is the one that "
           f"best predicts the given labels." if weight is not None else "")
    return _section("Likely mislabeled", "mislabeled", _text(verdict), _text(how, muted=True),
                    _table(issues[keep], text_columns=("text",)))


def _splits_section(splits: SplitMetrics) -> dict[str, Any]:
    """Every measure per split, and whether the held-out errors fall where the reference split's do."""
    table, reference = splits.frame, splits.reference
    how = ("Each split's rows measured apart: purity counts a row's neighbours among all rows, the probe's "
           "accuracy is out of sample (cross-validated over all rows), the silhouette is within the split. "
           f"errors_in_reference_regions: the share of the split's misclassified rows inside the confusion "
           f"regions of the {reference} split's own errors, beside points_in_reference_regions, the share of all "
           "its rows there; errors well above that share sit where the training errors are.")
    return _section("Per split", "splits", _text(how, muted=True), _table(table))


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}\u00a0%"


def _sections(store: Store, analysis: Analysis, model: RenderModel, *, top: int, examples: int,
              curves: dict[str, pd.DataFrame] | None, comparison: Comparison | None = None) -> list[dict[str, Any]]:
    sections = [_section("Run", "run", _table(_meta_rows(store))), _metrics_section(analysis),
                _per_class_section(analysis, model)]
    if analysis.splits is not None:
        sections.append(_splits_section(analysis.splits))
    if comparison is not None:
        names = side_names(comparison)
        for part in compare_sections(comparison, model, names=names, top=min(top, 30)):
            sections.append({**part, "title": f"Compare: {part['title']}", "anchor": f"compare-{part['anchor']}"})
    if analysis.confusion is not None:
        sections.append(_section("Confusion matrix", "confusion", _figure(
            _png(confusion_figure(analysis.confusion, model.classes)), "confusion matrix",
            "rows: true label; columns: prediction; colour: share of the row, number: count")))
    if store.projection_of(analysis.column) is not None:
        caption = "crosses: misclassified texts; dashed outlines: confusion regions (ids as in the table below)"
        shown = analysis.regions if analysis.regions is not None and len(analysis.regions) else False
        uri = _png(map_figure(store, column=analysis.column, regions=shown, model=model), dpi=100)
        sections.append(_section("Map", "map", _figure(uri, "2-D map", caption)))
    if analysis.layers is not None:
        sections.append(_layers_section(store, analysis, model, curves))
    if analysis.regions is not None:
        sections.append(_regions_section(analysis, analysis.regions, examples))
    if analysis.label_issues is not None:
        sections.append(_issues_section(analysis, analysis.label_issues, top=top))
    return sections


def _metrics_section(analysis: Analysis) -> dict[str, Any]:
    summary = analysis.summary
    metric_rows = pd.DataFrame(
        [(key, _num(summary.get(key)), doc) for key, doc in _SUMMARY_DOC.items() if summary.get(key) is not None],
        columns=["metric", "value", "meaning"])
    notes = (f"k = {summary.get('k')}; measured on vector column {analysis.column}; "
             f"labels from the {summary.get('labels_from')} column.")
    return _section("Metrics", "metrics", _text(notes, muted=True), _table(metric_rows))


def _per_class_section(analysis: Analysis, model: RenderModel) -> dict[str, Any]:
    """Every per-class measure, each class in its colour, with its keywords."""
    colours = dict(zip(model.classes, model.colours, strict=True))
    per_class = analysis.per_class
    class_words = _keywords_of(analysis, "class")
    if class_words:
        per_class = per_class.assign(keywords=per_class["label"].astype(str).map(class_words).fillna(""))
    return _section("Per class", "per-class", _text(
        "colour: the class's colour on every map; keywords: the terms that set the class's texts apart "
        "(class-based TF-IDF)" if class_words else "colour: the class's colour on every map", muted=True),
        _table(per_class, swatches=colours, swatch_column="label", text_columns=("keywords",)))


def _layers_section(store: Store, analysis: Analysis, model: RenderModel,
                    curves: dict[str, pd.DataFrame] | None) -> dict[str, Any]:
    """The per-layer curves (with ``curves``' other tables), their table and the aligned map of each layer."""
    blocks = [_figure(_png(plot_layer_curves(curves or {"this store": analysis.layers})), "per-layer curves"),
              _table(analysis.layers)]
    if analysis.layer_maps:
        labels = store.frame["label" if analysis.summary.get("labels_from") == "label" else "pred"]
        blocks.append(_figure(_png(layer_grid_figure(analysis.layer_maps, labels, model), dpi=90),
                              "maps per layer", "one map per layer, each rotated or reflected and shifted onto the "
                              "next layer's (orthogonal Procrustes, back from the last layer) and scaled to its "
                              "spread; a constant layer is one point; colour: label"))
    return _section("Per layer", "layers", *blocks)


def _regions_section(analysis: Analysis, regions: Regions, examples: int) -> dict[str, Any]:
    """What the regions hold (or that the errors are diffuse), how they are found, and their table
    (``regions``: the analysis's)."""
    summary = analysis.summary
    note = str(summary.get("regions_note") or "No confusion region found") + "."
    heading = _text(note[:1].upper() + note[1:])
    if not len(regions):
        return _section("Confusion regions", "regions", heading, _text(_REGIONS_METHOD, muted=True))
    share = (f"The regions hold {_num(summary.get('regions_share_errors'))} of the misclassified rows "
             f"and cover {_num(summary.get('regions_share_area'))} of the map's area.")
    return _section("Confusion regions", "regions", heading, _text(share), _text(_REGIONS_METHOD, muted=True),
                    _regions_table(regions, _keywords_of(analysis, "region"), examples))


def report(
    store: str | Path | Store,
    out: str | Path | None = None,
    *,
    analysis: Analysis | None = None,
    column: str | None = None,
    top: int = 30,
    examples: int = 3,
    curves: dict[str, pd.DataFrame] | None = None,
    comparison: Comparison | None = None,
    **analyze_options: Any,
) -> Path:
    """Write ``<out>`` (default ``<store>/report.html``) and ``report.json`` beside it.

    ``analysis`` is the result of :func:`clsmap.analyze` for this store; if ``None`` the store
    is analysed here (``column`` and ``analyze_options`` go to :func:`clsmap.analyze`). ``top``
    is how many likely-mislabeled texts the page lists. ``curves``: named per-layer tables to draw
    together in the per-layer figure (e.g. the same texts before and after fine-tuning) instead of
    this store's alone. ``comparison``: a :func:`clsmap.compare` of this store with another (e.g. the
    model before fine-tuning): its sections (what changed, the metric diff, the regions, the texts that
    moved most) join the report, and its numbers ``report.json`` under ``compare``. Returns the path of
    the HTML file.
    """
    opened = open_store(store)
    if analysis is None:
        analysis = analyze(opened, column=column, **analyze_options)
    else:
        reject_unknown(analyze_options, func="report")
    path = Path(out) if out is not None else opened.path / "report.html"
    json_path = path.with_suffix(".json")
    model = render_model(opened, analysis.column, keywords=analysis.keywords)
    sections = _sections(opened, analysis, model, top=top, examples=examples, curves=curves, comparison=comparison)
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    model_name = Path(str(opened.meta.get("model", {}).get("name_or_path", ""))).name
    page = {"title": f"clsmap report: {model_name or opened.path.name}", "sections": sections,
            "subtitle": f"{opened.path} · {len(opened):,} rows · column {analysis.column}",
            "version": __version__, "generated": generated, "json_name": json_path.name, "warnings": model.warnings}
    numbers = _numbers(opened, analysis, model, top=top, generated=generated, comparison=comparison)
    write_text_atomic(json_path, json.dumps(numbers, ensure_ascii=False, indent=1))
    write_text_atomic(path, report_document(page))
    logger.info("report written to %s and %s", path, json_path)
    return path


def _numbers(store: Store, analysis: Analysis, model: RenderModel, *, top: int, generated: str,
             comparison: Comparison | None) -> dict[str, Any]:
    """What ``report.json`` holds: every number of the analysis, the store's metadata, the colours."""
    numbers = analysis.to_dict(top_issues=top)
    numbers["meta"] = {k: store.meta.get(k) for k in ("model", "extraction", "dataset", "n_rows", "classes",
                                                      "clsmap_version", "schema_version")}
    numbers["colours"] = dict(zip(model.classes, model.colours, strict=True))
    numbers["generated"] = generated
    numbers["warnings"] = model.warnings
    if comparison is not None:
        numbers["compare"] = comparison.to_dict(top=top)
    return numbers
