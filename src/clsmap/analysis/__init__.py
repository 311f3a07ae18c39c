"""Analysis (stage 5 of the pipeline): what the vector space and its map say, measured (pure functions + ``analyze``).

- :mod:`~clsmap.analysis.knn`: the k-NN graph (exact, or approximate with its recall measured: the
  inverted file of :mod:`~clsmap.analysis.ivf`);
- :mod:`~clsmap.analysis.metrics`: k-NN purity, silhouette, linear probe (:mod:`~clsmap.analysis.probe`),
  per-class precision/recall/F1, confusion table;
- :mod:`~clsmap.analysis.faithfulness`: how faithful a map is to the vector space (trustworthiness, k-NN
  preservation);
- :mod:`~clsmap.analysis.regions`: confusion regions in the map (``analysis/regions.json``);
- :mod:`~clsmap.analysis.label_issues`: likely-mislabeled rows;
- :mod:`~clsmap.analysis.keywords`: the distinguishing terms of each class and region (c-TF-IDF);
- :mod:`~clsmap.analysis.layers`: per-layer curves and Procrustes-aligned per-layer maps;
- :mod:`~clsmap.analysis.splits`: every measure per split (train against held-out);
- :mod:`~clsmap.analysis.dataset_cartography`: how hard each training text was to learn (dataset cartography);
- :mod:`~clsmap.analysis.alignment` and :mod:`~clsmap.analysis.dynamics`: a training run's snapshots: aligned
  maps, per-step curves, where the space formed (:func:`analyze_dynamics`);
- :func:`analyze`: all of it for one store, as named steps (:mod:`~clsmap.analysis.steps`) over one
  context (:mod:`~clsmap.analysis.context`), each giving a typed result (:mod:`~clsmap.analysis.results`);
  :mod:`~clsmap.analysis.files` writes them to the store and reads the regions and keywords back;
- :mod:`~clsmap.analysis.comparison` (with :mod:`~clsmap.analysis.changes`): two stores of the same texts
  side by side (:func:`compare`).
"""

from .dataset_cartography import cartography, store_cartography
from .comparison import Comparison, compare
from .dynamics import DynamicsAnalysis, analyze_dynamics
from .files import read_keywords, read_regions, write_analysis
from .keywords import class_keywords
from .knn import knn_graph
from .label_issues import label_issue_scores
from .layers import layer_curves
from .faithfulness import trustworthiness
from .metrics import knn_purity, linear_probe_accuracy, out_of_sample_probs, silhouette_per_class
from .regions import RegionOptions, confusion_regions, region_membership
from .results import Analysis, Keywords, LabelFlags, RegionCoverage, Regions, SplitMetrics
from .run import analyze
from .splits import split_metrics

__all__ = [
    "Analysis",
    "Comparison",
    "DynamicsAnalysis",
    "Keywords",
    "LabelFlags",
    "RegionCoverage",
    "RegionOptions",
    "Regions",
    "SplitMetrics",
    "analyze",
    "analyze_dynamics",
    "cartography",
    "class_keywords",
    "compare",
    "confusion_regions",
    "knn_graph",
    "knn_purity",
    "label_issue_scores",
    "layer_curves",
    "linear_probe_accuracy",
    "out_of_sample_probs",
    "read_keywords",
    "read_regions",
    "region_membership",
    "silhouette_per_class",
    "split_metrics",
    "store_cartography",
    "trustworthiness",
    "write_analysis",
]
