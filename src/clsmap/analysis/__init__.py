"""Analysis (stage 5 of the pipeline): what the vector space and its map say, measured (pure functions + ``analyze``).

- :mod:`~clsmap.analysis.knn`: the k-NN graph (exact, or approximate with its recall measured: the
  inverted file of :mod:`~clsmap.analysis.ivf`);
- :mod:`~clsmap.analysis.metrics`: k-NN purity, silhouette, linear probe, trustworthiness, k-NN
  preservation, per-class precision/recall/F1, confusion table;
- :mod:`~clsmap.analysis.regions`: confusion regions in the map (``analysis/regions.json``);
- :mod:`~clsmap.analysis.label_issues`: likely-mislabeled rows;
- :mod:`~clsmap.analysis.keywords`: the distinguishing terms of each class and region (c-TF-IDF);
- :mod:`~clsmap.analysis.layers`: per-layer curves and Procrustes-aligned per-layer maps;
- :mod:`~clsmap.analysis.splits`: every measure per split (train against held-out);
- :mod:`~clsmap.analysis.cartography`: how hard each training text was to learn (dataset cartography);
- :mod:`~clsmap.analysis.alignment` and :mod:`~clsmap.analysis.dynamics`: a training run's snapshots: aligned
  maps, per-step curves, where the space formed (:func:`analyze_dynamics`);
- :func:`analyze`: all of it for one store;
- :mod:`~clsmap.analysis.compare` (with :mod:`~clsmap.analysis.changes`): two stores of the same texts
  side by side (:func:`compare`).
"""

from .dataset_cartography import cartography, store_cartography
from .dynamics import DynamicsAnalysis, analyze_dynamics
from .changes import CHANGE_KINDS, change_kinds, neighbour_change
from .comparison import Comparison, compare
from .keywords import class_keywords, read_keywords, tokenize, write_keywords
from .label_issues import cleanlab_issues, label_issue_scores
from .layers import aligned_layer_maps, layer_curves, procrustes_align
from .knn import APPROX_FROM, approximate_knn_graph, knn_backend, knn_graph, knn_indices
from .metrics import (
    classification_metrics,
    confusion_frame,
    knn_preservation,
    knn_purity,
    knn_purity_per_class,
    linear_probe_accuracy,
    neighbour_agreement,
    out_of_sample_probs,
    silhouette_per_class,
    trustworthiness,
)
from .regions import confusion_regions, read_regions, region_coverage, region_membership, write_regions
from .run import Analysis, analyze
from .splits import split_metrics

__all__ = [
    "Analysis",
    "CHANGE_KINDS",
    "Comparison",
    "DynamicsAnalysis",
    "aligned_layer_maps",
    "analyze",
    "analyze_dynamics",
    "cartography",
    "change_kinds",
    "class_keywords",
    "classification_metrics",
    "compare",
    "cleanlab_issues",
    "confusion_frame",
    "confusion_regions",
    "APPROX_FROM",
    "approximate_knn_graph",
    "knn_backend",
    "knn_graph",
    "knn_indices",
    "knn_preservation",
    "knn_purity",
    "knn_purity_per_class",
    "label_issue_scores",
    "layer_curves",
    "linear_probe_accuracy",
    "neighbour_agreement",
    "neighbour_change",
    "out_of_sample_probs",
    "procrustes_align",
    "read_keywords",
    "read_regions",
    "region_coverage",
    "region_membership",
    "silhouette_per_class",
    "split_metrics",
    "tokenize",
    "store_cartography",
    "trustworthiness",
    "write_keywords",
    "write_regions",
]
