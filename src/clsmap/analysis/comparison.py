"""``clsmap.compare``: two stores of the same texts (two models, base against fine-tuned, two checkpoints,
or two layers of one store), matched by id, measured side by side.

- **Changes.** Per text: fixed, broken, still wrong or still right (:func:`~.changes.change_kinds`), and
  how far its neighbourhood moved: ``moved`` = 1 - Jaccard of its 10-NN sets in the two spaces
  (:func:`~.changes.neighbour_change`). The texts that moved most are listed first.
- **Metric diff.** Accuracy, macro-F1, k-NN purity, linear-probe accuracy, silhouette and the map's
  measures of A and B (each store analysed by :func:`~clsmap.analysis.analyze`), per class too, with
  B - A; the confusion regions of each, which of A's disappeared in B and which of B's are new.
- **Aligned maps.** Two ways to put the maps side by side: each store's own map with B's rotated,
  reflected, scaled and shifted onto A's (orthogonal Procrustes), or one projection of both spaces
  together (when their widths agree). On a sample of texts, the quarter whose neighbourhood changed
  least (the "unchanged" texts) should stay in place: the way whose median displacement of those texts
  (in units of A's map spread) is smaller is kept, and both numbers are reported.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from .._errors import ClsmapError
from .._json import jsonable
from .._validation import check_choice, check_positive_int
from ..projection.reducers import Method, make_reducer
from ..projection.sampling import MAX_FIT, fit_on_sample
from ..store.reader import Store, open_store
from .changes import CHANGE_KINDS, change_kinds, displacement, neighbour_change, region_matches
from .layers import procrustes_align
from .regions import region_membership
from .results import Analysis
from .run import analyze

__all__ = ["Comparison", "compare", "COMPARED_METRICS"]

logger = logging.getLogger(__name__)

Alignment = Literal["auto", "procrustes", "joint"]
#: the summary measures of :func:`~clsmap.analysis.analyze` that a comparison puts side by side
COMPARED_METRICS = ["accuracy", "macro_f1", "knn_purity", "linear_probe_accuracy", "silhouette", "map_knn_purity",
                    "trustworthiness", "n_regions", "regions_share_errors"]
#: per-class measures compared (``recall`` is the class's accuracy)
_PER_CLASS = [("recall", "accuracy"), ("knn_purity", "knn_purity"), ("silhouette", "silhouette"), ("f1", "f1")]


@dataclass
class Comparison:
    """Two stores of the same texts, side by side (see the module docstring). Rows are in A's order.

    ``rows``: ``id``, ``text``, ``label``, ``split``, ``pred_a``, ``pred_b``, ``correct_a``,
    ``correct_b``, ``change`` (one of :data:`~clsmap.analysis.changes.CHANGE_KINDS`), ``moved``.
    ``xy_a``, ``xy_b``: the aligned maps. ``alignment``: ``chosen``, and per way its
    ``median_displacement`` of the unchanged texts (None where it could not be made), ``sample``,
    ``unchanged_below`` (the moved score under which a text counts as unchanged). ``metrics``:
    ``metric``, ``a``, ``b``, ``difference`` (B - A). ``per_class``: ``label``, ``n``, then each of
    ``accuracy``, ``knn_purity``, ``silhouette``, ``f1`` as ``_a``, ``_b``, ``_diff``. ``regions``:
    ``map`` (A or B), ``region_id``, ``true_label``, ``pred_label``, ``n``, ``error_rate``, ``match``
    (the overlapping region of the other map), ``overlap``, ``status`` (``kept``, ``disappeared`` for A's,
    ``new`` for B's). ``summary``: counts and scalars.
    """

    path_a: Path
    path_b: Path
    column_a: str
    column_b: str
    rows: pd.DataFrame
    xy_a: np.ndarray = field(repr=False)
    xy_b: np.ndarray = field(repr=False)
    alignment: dict[str, Any]
    metrics: pd.DataFrame
    per_class: pd.DataFrame
    regions: pd.DataFrame
    summary: dict[str, Any]
    order_b: np.ndarray = field(repr=False)
    analysis_a: Analysis | None = field(default=None, repr=False)
    analysis_b: Analysis | None = field(default=None, repr=False)

    def moved_most(self, top: int | None = 50) -> pd.DataFrame:
        """The texts whose neighbourhood changed most, most first (``rank`` from 1; ties in row order)."""
        order = np.argsort(-self.rows["moved"].to_numpy(), kind="stable")
        table = self.rows.iloc[order if top is None else order[:top]].reset_index(drop=True)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
        return table[["rank", "id", "moved", "change", "label", "pred_a", "pred_b", "split", "text"]]

    def to_dict(self, *, top: int = 100) -> dict[str, Any]:
        """Every number, JSON-ready; the moved-most table cut to ``top`` texts."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]

        return {
            "a": {"store": str(self.path_a), "column": self.column_a},
            "b": {"store": str(self.path_b), "column": self.column_b},
            "summary": {k: jsonable(v) for k, v in self.summary.items()},
            "alignment": {k: jsonable(v) for k, v in self.alignment.items()},
            "metrics": records(self.metrics),
            "per_class": records(self.per_class),
            "regions": records(self.regions),
            "moved_most": records(self.moved_most(top)),
        }


def _aligned_rows(a: Store, b: Store) -> np.ndarray:
    """B's row of each of A's rows, by id; one clear error when the two hold other ids."""
    ids_a, ids_b = a.frame["id"].astype(str), b.frame["id"].astype(str)
    order = pd.Index(ids_b).get_indexer(ids_a)
    only_a = int((order < 0).sum())
    only_b = int((~ids_b.isin(set(ids_a))).sum())
    if only_a or only_b or len(ids_a) != len(ids_b):
        example = ids_a[order < 0].iloc[0] if only_a else ids_b[~ids_b.isin(set(ids_a))].iloc[0]
        raise ClsmapError(
            f"{a.path} and {b.path} do not hold the same texts: {only_a:,} of A's {len(ids_a):,} ids are not in B "
            f"and {only_b:,} of B's {len(ids_b):,} ids are not in A (e.g. {example!r}); compare two stores of "
            "the same data (texts are matched by id)"
        )
    differ = int((a.frame["text"].to_numpy() != b.frame["text"].to_numpy()[order]).sum())
    if differ:
        logger.warning("%d texts differ between %s and %s under the same id; compared by id all the same",
                       differ, a.path, b.path)
    return order


def _map(store: Store, column: str, X: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    """The stored map of ``column`` and its method (or a PaCMAP map made here, not saved)."""
    proj = store.projection_of(column)
    if proj is not None:
        return proj[["x", "y"]].to_numpy(dtype=np.float64), str((store.projection_meta(column) or {}).get(
            "method", "pacmap"))
    logger.info("%s has no map of %s: projecting it here (not saved)", store.path, column)
    xy, _ = fit_on_sample(make_reducer("pacmap", seed=seed), X, max_fit=MAX_FIT, seed=seed)
    return xy.astype(np.float64), "pacmap"


def _joint(XA: np.ndarray, XB: np.ndarray, method: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One projection of both spaces together: the first half of the map is A, the second B. ``method``: that
    of A's stored map (any name; :func:`~clsmap.projection.reducers.make_reducer` rejects one it lacks)."""
    stacked = np.vstack([XA, XB]).astype(np.float32)
    reducer = make_reducer(cast(Method, method), seed=seed)  # checked there, at run time
    xy, _ = fit_on_sample(reducer, stacked, max_fit=MAX_FIT, seed=seed)
    return xy[:len(XA)].astype(np.float64), xy[len(XA):].astype(np.float64)


def _align(XA: np.ndarray, XB: np.ndarray, xy_a: np.ndarray, xy_b: np.ndarray, moved: np.ndarray, *, method: str,
           how: Alignment, sample: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The aligned maps and the measurement that chose them (see the module docstring)."""
    procrustes = procrustes_align(xy_b, xy_a, scale="spread")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(XA), size=min(sample, len(XA)), replace=False))
    below = float(np.quantile(moved[rows], 0.25))
    unchanged = rows[moved[rows] <= below]
    record: dict[str, Any] = {"sample": int(len(rows)), "unchanged_below": below, "n_unchanged": int(len(unchanged)),
                              "procrustes": float(np.median(displacement(xy_a[unchanged], procrustes[unchanged]))),
                              "joint": None, "method": method}
    joint_ok = XA.shape[1] == XB.shape[1] and how != "procrustes"
    if how == "joint" and not joint_ok:
        raise ClsmapError(f"alignment='joint' needs vectors of one width; A has {XA.shape[1]}, B {XB.shape[1]}")
    joint = None  # the joint maps of the sample, A's and B's
    if joint_ok:
        joint = _joint(XA[rows], XB[rows], method, seed)
        inside = np.isin(rows, unchanged)
        record["joint"] = float(np.median(displacement(joint[0][inside], joint[1][inside])))
    chosen = how if how != "auto" else (
        "joint" if record["joint"] is not None and record["joint"] < record["procrustes"] else "procrustes")
    record["chosen"] = chosen
    logger.info("alignment: median displacement of unchanged texts %.3f (procrustes) vs %s (joint); keeping %s",
                record["procrustes"], "n/a" if record["joint"] is None else f"{record['joint']:.3f}", chosen)
    if chosen == "joint":
        if joint is not None and len(rows) == len(XA):  # the sample was every row: its joint map is the map
            return (*joint, record)
        return (*_joint(XA, XB, method, seed), record)
    return xy_a, procrustes, record


def _metric_diff(a: Analysis, b: Analysis) -> pd.DataFrame:
    rows = []
    for key in COMPARED_METRICS:
        va, vb = a.summary.get(key), b.summary.get(key)
        if va is None and vb is None:
            continue
        diff = float(vb) - float(va) if va is not None and vb is not None else None
        rows.append({"metric": key, "a": va, "b": vb, "difference": diff})
    return pd.DataFrame(rows, columns=["metric", "a", "b", "difference"])


def _per_class_diff(a: Analysis, b: Analysis) -> pd.DataFrame:
    pa, pb = a.per_class.set_index("label"), b.per_class.set_index("label")
    out = pd.DataFrame({"label": pa.index.union(pb.index, sort=False)})
    out["n"] = out["label"].map(pa["n"]).fillna(out["label"].map(pb["n"])).astype(int)
    for source, name in _PER_CLASS:
        if source in pa.columns or source in pb.columns:
            out[f"{name}_a"] = out["label"].map(pa[source]) if source in pa.columns else np.nan
            out[f"{name}_b"] = out["label"].map(pb[source]) if source in pb.columns else np.nan
            out[f"{name}_diff"] = out[f"{name}_b"] - out[f"{name}_a"]
    return out


def _regions(a: Analysis, b: Analysis, xy_a: np.ndarray, xy_b: np.ndarray) -> pd.DataFrame:
    """Each map's confusion regions (in its own stored map), matched by the rows they hold."""
    columns = ["map", "region_id", "true_label", "pred_label", "n", "error_rate", "match", "overlap", "status"]
    ra = a.regions.frame if a.regions is not None else pd.DataFrame()
    rb = b.regions.frame if b.regions is not None else pd.DataFrame()
    member_a = region_membership(xy_a, ra) if len(ra) else np.zeros(len(xy_a), dtype=np.int64)
    member_b = region_membership(xy_b, rb) if len(rb) else np.zeros(len(xy_b), dtype=np.int64)
    rows = []
    for name, regions, mine, theirs, gone in (("A", ra, member_a, member_b, "disappeared"),
                                              ("B", rb, member_b, member_a, "new")):
        if not len(regions):
            continue
        matched = region_matches(mine, theirs).set_index("region_id")
        for region in regions.itertuples():
            match = matched.loc[region.region_id] if region.region_id in matched.index else None
            lost = match is None or bool(match["disappeared"])
            rows.append({"map": name, "region_id": int(region.region_id), "true_label": region.true_label,
                         "pred_label": region.pred_label, "n": int(region.n), "error_rate": float(region.error_rate),
                         "match": None if match is None or lost else int(match["match"]),
                         "overlap": 0.0 if match is None else float(match["overlap"]),
                         "status": gone if lost else "kept"})
    return pd.DataFrame(rows, columns=columns)


def compare(
    a: str | Path | Store,
    b: str | Path | Store,
    *,
    column_a: str | None = None,
    column_b: str | None = None,
    k: int = 10,
    alignment: Alignment = "auto",
    sample: int = 3000,
    seed: int = 0,
    analyses: tuple[Analysis, Analysis] | None = None,
) -> Comparison:
    """Compare two stores of the same texts (matched by id), or two vector columns of one store
    (``column_a``, ``column_b``; default each store's default column). ``k``: the neighbourhood of
    "moved" and of the analyses. ``alignment``: ``auto`` measures both ways on ``sample`` texts and
    keeps the one that moves unchanged texts least; ``procrustes`` or ``joint`` forces one.
    ``analyses``: A's and B's :func:`~clsmap.analysis.analyze` results when already made (else each
    store is analysed here, without writing). Raises :class:`ClsmapError` when the ids differ."""
    started = time.perf_counter()
    check_choice(alignment, ("auto", "procrustes", "joint"), param="alignment", func="compare")
    check_positive_int(k, param="k", func="compare")
    check_positive_int(sample, param="sample", func="compare", minimum=10)
    sa, sb = open_store(a), open_store(b)
    column_a, column_b = column_a or sa.default_vector, column_b or sb.default_vector
    order = _aligned_rows(sa, sb)
    XA, XB = sa.vectors_of(column_a), sb.vectors_of(column_b)[order]
    if analyses is None:
        analyses = (analyze(sa, column=column_a, k=k, seed=seed, layers=False, write=False),
                    analyze(sb, column=column_b, k=k, seed=seed, layers=False, write=False))
    moved = neighbour_change(XA, XB, k=k)
    fa, fb = sa.frame, sb.frame.iloc[order].reset_index(drop=True)
    rows = pd.DataFrame({"id": fa["id"], "text": fa["text"], "label": fa["label"], "split": fa["split"],
                         "pred_a": fa["pred"], "pred_b": fb["pred"], "correct_a": fa["correct"],
                         "correct_b": fb["correct"]})
    rows["change"] = change_kinds(fa["correct"], fb["correct"])
    rows["moved"] = moved
    map_a, method = _map(sa, column_a, XA, seed)
    map_b, _ = _map(sb, column_b, sb.vectors_of(column_b), seed)
    xy_a, xy_b, record = _align(XA, XB, map_a, map_b[order], moved, method=method, how=alignment, sample=sample,
                                seed=seed)
    counts = rows["change"].value_counts()
    summary: dict[str, Any] = {"n_rows": len(rows), "k": k, "column_a": column_a, "column_b": column_b,
                               **{f"n_{kind.replace(' ', '_')}": int(counts.get(kind, 0)) for kind in CHANGE_KINDS},
                               "moved_mean": float(moved.mean()), "moved_median": float(np.median(moved)),
                               "moved_max": float(moved.max()), "n_unmoved": int((moved == 0).sum()),
                               "n_moved_completely": int((moved == 1).sum())}
    regions = _regions(analyses[0], analyses[1], map_a, map_b[order])
    summary["n_regions_disappeared"] = int((regions["status"] == "disappeared").sum())
    summary["n_regions_new"] = int((regions["status"] == "new").sum())
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return Comparison(path_a=sa.path, path_b=sb.path, column_a=column_a, column_b=column_b, rows=rows, xy_a=xy_a,
                      xy_b=xy_b, alignment=record, metrics=_metric_diff(*analyses),
                      per_class=_per_class_diff(*analyses), regions=regions, summary=summary, order_b=order,
                      analysis_a=analyses[0], analysis_b=analyses[1])
