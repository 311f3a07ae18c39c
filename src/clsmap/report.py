"""Stage 7, the report: one self-contained, offline HTML file (plus ``report.json``) per store.

The page has the run's metadata, the metrics, the confusion-matrix heatmap, the map (with its
confusion regions), the per-layer curve and aligned per-layer maps when the store has layers,
the regions with their texts, and the top likely-mislabeled texts. Figures are PNGs inlined as
``data:`` URIs; a Content-Security-Policy meta tag forbids every remote load, and the page has no
script at all. Every string that comes from the data or the model is escaped with
:func:`html.escape`. The page skeleton is package data (``clsmap/templates/report.html``).
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import os
import tempfile
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .store import Store, open_store

__all__ = ["report", "plot_layer_curves", "CSP"]

logger = logging.getLogger(__name__)

#: nothing may load from anywhere but the page itself: images only as data: URIs, inline CSS
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_SUMMARY_DOC = {
    "n_rows": "rows in the store",
    "n_classes": "classes among the labels",
    "accuracy": "the model's accuracy (prediction = label)",
    "macro_f1": "the model's macro-averaged F1",
    "knn_purity": "original space: share of each row's k nearest neighbours (cosine) with its label",
    "knn_purity_chance": "the purity expected if positions ignored labels (sum of squared class shares)",
    "silhouette": "original space: mean cosine silhouette (on a stratified sample of silhouette_sample rows)",
    "linear_probe_accuracy": "original space: cross-validated accuracy of a logistic-regression probe",
    "map_knn_purity": "2-D map: the same k-NN purity, in the map",
    "trustworthiness": "2-D map: are the map's neighbours neighbours in the original space (1 = always)",
    "knn_preservation": "2-D map: share of each row's k original-space neighbours kept among its k map neighbours",
    "n_flagged": "rows flagged as likely mislabeled",
    "n_regions": "confusion regions found in the map",
    "regions_share_errors": "share of misclassified rows (without predictions: rows whose neighbours mostly carry "
                            "other labels) inside a confusion region",
    "regions_share_points": "share of all rows inside a confusion region",
    "regions_share_area": "share of the map's area (convex hull of all points) the regions cover",
}


def _e(value: Any) -> str:
    """Escaped text of any value (the only way data reaches the page)."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}f}"
    return _e(value)


def _png(fig: Any, dpi: int = 110) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(uri: str, alt: str, caption: str = "") -> str:
    cap = f"<figcaption class=\"muted\">{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="{uri}">{cap}</figure>'


def _table(frame: pd.DataFrame, *, text_columns: tuple[str, ...] = (), digits: int = 3) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            if column in text_columns:
                cells.append(f'<td class="text">{_e(value)}</td>')
            elif isinstance(value, (int, float, np.integer, np.floating, bool, np.bool_)) or value is None:
                cells.append(f'<td class="num">{_num(value, digits)}</td>')
            else:
                cells.append(f"<td>{_e(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


def _confusion_figure(confusion: pd.DataFrame) -> str:
    from matplotlib.figure import Figure

    classes = sorted(set(confusion["true_label"]) | set(confusion["pred_label"]))
    share = confusion.pivot(index="true_label", columns="pred_label", values="share").reindex(
        index=classes, columns=classes).fillna(0.0).to_numpy()
    count = confusion.pivot(index="true_label", columns="pred_label", values="count").reindex(
        index=classes, columns=classes).fillna(0).to_numpy()
    size = min(2.0 + 0.55 * len(classes), 14.0)
    fig = Figure(figsize=(size + 1.5, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true label")
    if len(classes) <= 25:
        for i in range(len(classes)):
            for j in range(len(classes)):
                if count[i, j]:
                    ax.text(j, i, f"{int(count[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, label="share of the true label's rows", shrink=0.8)
    return _png(fig)


def plot_layer_curves(curves: dict[str, pd.DataFrame], out: str | Path | None = None) -> Any:
    """Per-layer k-NN purity, probe accuracy and silhouette, one line per named curve table
    (e.g. ``{"before": ..., "after": ...}``, tables from :func:`clsmap.analysis.layer_curves`).
    Saved as ``<out>.png`` and ``<out>.svg`` when ``out`` is given; returns the figure."""
    from matplotlib.figure import Figure

    measures = [("knn_purity", "k-NN label purity (k=10)"), ("linear_probe_accuracy", "linear-probe accuracy (CV)"),
                ("silhouette", "cosine silhouette")]
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (column, title) in zip(axes, measures, strict=True):
        for name, frame in curves.items():
            ax.plot(frame["layer"], frame[column], marker="o", label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.grid(alpha=0.3)
    if len(curves) > 1:
        axes[0].legend(fontsize=8)
    if out is not None:
        base = Path(out)
        base.parent.mkdir(parents=True, exist_ok=True)
        for fmt in ("png", "svg"):
            fig.savefig(base.with_name(base.name + "." + fmt), dpi=150)
    return fig


def _layer_grid_figure(maps: dict[str, np.ndarray], labels: np.ndarray) -> str:
    from matplotlib.figure import Figure

    from .plotting import palette

    classes = sorted(set(labels.tolist()))
    colors = np.asarray(palette(len(classes)), dtype=np.float32)
    codes = pd.Categorical(labels, categories=classes).codes
    cols = min(len(maps), 4)
    rows = -(-len(maps) // cols)
    fig = Figure(figsize=(3.2 * cols, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    size = float(np.clip(3000 / max(len(labels), 1), 0.5, 10.0))
    order = np.random.default_rng(0).permutation(len(labels))
    for ax, (column, xy) in zip(axes, maps.items(), strict=False):
        ax.scatter(xy[order, 0], xy[order, 1], s=size, c=colors[codes[order]], linewidths=0, alpha=0.8)
        ax.set_title(column, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="datalim")
    for ax in axes[len(maps):]:
        ax.axis("off")
    return _png(fig, dpi=90)


def _map_figure(store: Store, column: str, with_regions: bool) -> str | None:
    from .plotting import plot

    if store.projection_of(column) is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        (path,) = plot(store, Path(tmp) / "map", column=column, formats=("png",), dpi=100,
                       regions=True if with_regions else False)
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


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


def report(
    store: str | Path | Store,
    out: str | Path | None = None,
    *,
    analysis: Any = None,
    column: str | None = None,
    top: int = 30,
    examples: int = 3,
    curves: dict[str, pd.DataFrame] | None = None,
    **analyze_options: Any,
) -> Path:
    """Write ``<out>`` (default ``<store>/report.html``) and ``report.json`` beside it.

    ``analysis`` is the result of :func:`clsmap.analyze` for this store; if ``None`` the store
    is analysed here (``column`` and ``analyze_options`` go to :func:`clsmap.analyze`). ``top``
    is how many likely-mislabeled texts the page lists. ``curves``: named per-layer tables to draw
    together in the per-layer figure (e.g. the same texts before and after fine-tuning) instead of
    this store's alone. Returns the path of the HTML file.
    """
    from .analysis import analyze

    opened = open_store(store)
    if analysis is None:
        analysis = analyze(opened, column=column, **analyze_options)
    elif analyze_options:
        raise TypeError(f"report got unexpected keyword argument(s): {', '.join(sorted(analyze_options))}")
    column = analysis.column
    path = Path(out) if out is not None else opened.path / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    json_path = path.with_suffix(".json")
    summary = analysis.summary
    sections = []

    sections.append(_section("Run", _table(_meta_rows(opened)), "run"))

    metric_rows = pd.DataFrame(
        [(key, _num(summary.get(key)), doc) for key, doc in _SUMMARY_DOC.items() if summary.get(key) is not None],
        columns=["metric", "value", "meaning"])
    notes = (f"k = {summary.get('k')}; measured on vector column {column}; "
             f"labels from the {summary.get('labels_from')} column.")
    sections.append(_section("Metrics", f"<p class=\"muted\">{_e(notes)}</p>" + _table(metric_rows), "metrics"))
    sections.append(_section("Per class", _table(analysis.per_class), "per-class"))

    if analysis.confusion is not None:
        sections.append(_section("Confusion matrix", _img(_confusion_figure(analysis.confusion), "confusion matrix",
                                                          "rows: true label; columns: prediction; colour: share "
                                                          "of the row, number: count"), "confusion"))

    has_regions = analysis.regions is not None and len(analysis.regions) > 0
    map_uri = _map_figure(opened, column, has_regions)
    if map_uri is not None:
        caption = "crosses: misclassified texts; dashed outlines: confusion regions (ids as in the table below)"
        sections.append(_section("Map", _img(map_uri, "2-D map", caption), "map"))

    if analysis.layers is not None:
        body = _img(_png(plot_layer_curves(curves or {"this store": analysis.layers})), "per-layer curves")
        body += _table(analysis.layers)
        if analysis.layer_maps:
            labels = opened.frame["label" if summary.get("labels_from") == "label" else "pred"].astype(str).to_numpy()
            body += _img(_layer_grid_figure(analysis.layer_maps, labels), "maps per layer",
                         "one map per layer, each aligned to the one before by orthogonal Procrustes "
                         "(rotation/reflection, scale, shift); colour: label")
        sections.append(_section("Per layer", body, "layers"))

    if analysis.regions is not None:
        if has_regions:
            rows = []
            for r in analysis.regions.itertuples(index=False):
                texts = "".join(f"<li>{_e(t)}</li>" for t in list(r.examples)[:examples])
                pair = f"{_e(r.true_label)} → {_e(r.pred_label)}" if r.true_label is not None else "–"
                rows.append(
                    f"<tr><td class=\"num\">{int(r.region_id)}</td><td class=\"num\">{int(r.n):,}</td>"
                    f"<td class=\"num\">{int(r.n_errors):,}</td><td class=\"num\">{_num(r.error_rate)}</td>"
                    f"<td class=\"num\">{_num(r.purity)}</td><td>{pair}</td>"
                    f"<td class=\"text\"><ul class=\"examples\">{texts}</ul></td></tr>")
            body = ("<table><thead><tr><th>region</th><th>points</th><th>errors</th><th>error rate</th>"
                    "<th>purity</th><th>true → predicted</th><th>examples</th></tr></thead><tbody>"
                    + "".join(rows) + "</tbody></table>")
            share = (f"The regions hold {_num(summary.get('regions_share_errors'))} of the misclassified rows "
                     f"and cover {_num(summary.get('regions_share_area'))} of the map's area.")
            body = f"<p>{_e(share)}</p>" + body
        else:
            body = "<p>No confusion region found.</p>"
        sections.append(_section("Confusion regions", body, "regions"))

    if analysis.label_issues is not None:
        issues = analysis.label_issues.head(top)
        keep = ["rank", "id", "label", "suggested_label", "pred", "p_given", "knn_given", "score", "flagged", "text"]
        source = ("a linear probe cross-validated on the vectors" if summary.get("probs_source") == "probe"
                  else "the model's own probabilities (valid for held-out rows only)")
        intro = (f"{summary.get('n_flagged', 0):,} rows flagged. Score = 1 − (½ out-of-sample probability of the "
                 f"given label + ½ share of its {summary.get('k')} nearest [CLS] neighbours with that label); "
                 f"probabilities from {source}.")
        sections.append(_section("Likely mislabeled", f"<p>{_e(intro)}</p>"
                                 + _table(issues[keep], text_columns=("text",)), "mislabeled"))

    model_name = Path(str(opened.meta.get("model", {}).get("name_or_path", ""))).name
    page = Template(resources.files("clsmap").joinpath("templates/report.html").read_text(encoding="utf-8"))
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    document = page.substitute(
        csp=CSP,
        title=_e(f"clsmap report: {model_name or opened.path.name}"),
        subtitle=_e(f"{opened.path} · {len(opened):,} rows · column {column}"),
        sections="\n".join(sections),
        version=_e(__version__),
        generated=_e(generated),
        json_name=_e(json_path.name),
    )
    numbers = analysis.to_dict(top_issues=top)
    numbers["meta"] = {k: opened.meta.get(k) for k in ("model", "extraction", "dataset", "n_rows", "classes",
                                                       "clsmap_version", "schema_version")}
    numbers["generated"] = generated
    _write_text(json_path, json.dumps(numbers, ensure_ascii=False, indent=1))
    _write_text(path, document)
    logger.info("report written to %s and %s", path, json_path)
    return path


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
