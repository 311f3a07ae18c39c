"""The public surface of clsmap, and what importing it costs and touches."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import clsmap

PUBLIC = {
    "Analysis",
    "ClsmapError",
    "LabeledTexts",
    "LoadedModel",
    "MapView",
    "MissingExtraError",
    "Reducer",
    "RenderModel",
    "Store",
    "TrainResult",
    "__version__",
    "analyze",
    "capture",
    "export",
    "extract",
    "load_model",
    "open_store",
    "plot",
    "project",
    "read_dataset",
    "report",
    "show",
    "train",
    "write_map",
    "compare",
    "write_compare",
    "Comparison",
    "ExtractOptions",
    "TrainOptions",
}


#: each stage package's public names: what a newcomer can import from it
STAGES = {
    "clsmap.io": {"FORMATS", "ID_COLUMN_NAMES", "LABEL_COLUMN_NAMES", "TEXT_COLUMN_NAMES", "Columns", "LabeledTexts",
                  "Source", "TRAIN_RECORD", "choose_columns", "open_source", "read_dataset", "train_splits",
                  "with_train_splits"},
    "clsmap.store": {"MANIFEST", "Manifest", "NEIGHBOURS", "PROJECTIONS", "SCHEMA_VERSION", "Store", "StoreWriter",
                     "VECTORS", "Vectors", "as_vectors", "open_store", "read_manifest", "synthetic_dynamics_store",
                     "synthetic_store", "write_neighbours", "write_projection"},
    "clsmap.extraction": {"Captured", "ExtractOptions", "LoadedModel", "capture", "extract", "load_model"},
    "clsmap.projection": {"MAX_FIT", "LocalMAP", "PCA", "PaCMAP", "REDUCERS", "Reducer", "TSNE", "UMAP",
                          "fit_on_sample", "make_reducer", "project"},
    "clsmap.analysis": {"Analysis", "Comparison", "DynamicsAnalysis", "Keywords", "LabelFlags", "RegionCoverage",
                        "RegionOptions", "Regions", "SplitMetrics", "analyze", "analyze_dynamics", "cartography",
                        "class_keywords", "compare", "confusion_regions", "knn_graph", "knn_purity",
                        "label_issue_scores", "layer_curves", "linear_probe_accuracy", "out_of_sample_probs",
                        "read_keywords", "read_regions", "region_membership", "silhouette_per_class",
                        "split_metrics", "store_cartography", "trustworthiness", "write_analysis"},
    "clsmap.training": {"TrainOptions", "TrainResult", "split_indices", "train"},
    "clsmap.render": {"MapView", "RenderModel", "Title", "compare_html", "export", "map_figure", "map_html", "plot",
                      "plot_compare", "plot_layer_curves", "render_model", "report", "show", "write_compare",
                      "write_dynamics", "write_map"},
}


def test_all_is_the_public_api():
    assert set(clsmap.__all__) == PUBLIC
    assert len(clsmap.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert hasattr(clsmap, name), name
    assert issubclass(clsmap.MissingExtraError, clsmap.ClsmapError)
    assert issubclass(clsmap.MissingExtraError, ImportError)
    assert isinstance(clsmap.__version__, str) and clsmap.__version__


@pytest.mark.parametrize("package", sorted(STAGES))
def test_each_stage_exports_what_it_means_to(package):
    module = importlib.import_module(package)
    assert set(module.__all__) == STAGES[package]
    assert len(module.__all__) == len(STAGES[package])  # no name twice
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_the_public_types_are_the_ones_the_functions_return():
    import inspect

    assert inspect.signature(clsmap.analyze).return_annotation in ("Analysis", clsmap.Analysis)
    assert inspect.signature(clsmap.train).return_annotation in ("TrainResult", clsmap.TrainResult)
    assert inspect.signature(clsmap.show).return_annotation == "MapView | MapWidget"  # a widget with anywidget
    assert inspect.signature(clsmap.open_store).return_annotation in ("Store", clsmap.Store)
    assert issubclass(clsmap.projection.PaCMAP, clsmap.Reducer)


# numpy adds warning filters of its own when imported; the baseline is taken after clsmap's
# import-time dependencies are loaded, so what is compared is what clsmap itself does.
_PROBE = """
import json, logging, sys, warnings
import numpy, pandas, pyarrow
root = logging.getLogger()
before = {
    "root_handlers": list(map(repr, root.handlers)),
    "root_level": root.level,
    "filters": list(map(repr, warnings.filters)),
}
import clsmap
after = {
    "root_handlers": list(map(repr, root.handlers)),
    "root_level": root.level,
    "filters": list(map(repr, warnings.filters)),
}
heavy = ["torch", "transformers", "matplotlib", "pacmap", "umap", "openTSNE", "sklearn", "numba", "ray"]
print(json.dumps({
    "before": before,
    "after": after,
    "loaded": [m for m in heavy if m in sys.modules],
    "clsmap_handlers": [repr(h) for name in list(logging.root.manager.loggerDict)
                        if name.startswith("clsmap")
                        for h in getattr(logging.getLogger(name), "handlers", [])],
    "clsmap_levels": {name: logging.getLogger(name).level for name in list(logging.root.manager.loggerDict)
                      if name.startswith("clsmap")},
}))
"""


def _probe():
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_is_light_and_side_effect_free():
    result = _probe()
    assert result["loaded"] == [], f"importing clsmap imported {result['loaded']}"
    assert result["after"] == result["before"]
    assert result["clsmap_handlers"] == []
    assert set(result["clsmap_levels"].values()) <= {0}  # NOTSET: the application decides
