"""Analysis (stage 5 of the pipeline): what the vector space and its map say, measured (pure functions + ``analyze``).

- :mod:`~clsmap.analysis.metrics`: k-NN purity, silhouette, linear probe, trustworthiness, k-NN
  preservation, per-class precision/recall/F1, confusion table;
- :mod:`~clsmap.analysis.regions`: confusion regions in the map (``analysis/regions.json``);
- :mod:`~clsmap.analysis.label_issues`: likely-mislabeled rows;
- :mod:`~clsmap.analysis.layers`: per-layer curves and Procrustes-aligned per-layer maps;
- :mod:`~clsmap.analysis.cartography`: how hard each training text was to learn (dataset cartography);
- :mod:`~clsmap.analysis.alignment` and :mod:`~clsmap.analysis.dynamics`: a training run's snapshots: aligned
  maps, per-step curves, where the space formed (:func:`analyze_dynamics`);
- :func:`analyze`: all of it for one store.
"""

from .cartography import cartography, store_cartography
from .dynamics import DynamicsAnalysis, analyze_dynamics
from .label_issues import cleanlab_issues, label_issue_scores
from .layers import aligned_layer_maps, layer_curves, procrustes_align
from .metrics import (
    classification_metrics,
    confusion_frame,
    knn_indices,
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

__all__ = [
    "Analysis",
    "DynamicsAnalysis",
    "aligned_layer_maps",
    "analyze",
    "analyze_dynamics",
    "cartography",
    "classification_metrics",
    "cleanlab_issues",
    "confusion_frame",
    "confusion_regions",
    "knn_indices",
    "knn_preservation",
    "knn_purity",
    "knn_purity_per_class",
    "label_issue_scores",
    "layer_curves",
    "linear_probe_accuracy",
    "neighbour_agreement",
    "out_of_sample_probs",
    "procrustes_align",
    "read_regions",
    "region_coverage",
    "region_membership",
    "silhouette_per_class",
    "store_cartography",
    "trustworthiness",
    "write_regions",
]
