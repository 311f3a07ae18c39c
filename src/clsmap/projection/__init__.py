"""Projection (stage 4 of the pipeline): a store's vectors to a 2-D map.

- :mod:`~clsmap.projection.reducers`: PaCMAP (default), UMAP, t-SNE and PCA behind one estimator
  interface, by name in :data:`REDUCERS`;
- :mod:`~clsmap.projection.sampling`: fit on a sample and place the rest (large N);
- :func:`project`: run one on a store and save the map beside the vectors.
"""

from .run import project
from .reducers import PCA, REDUCERS, TSNE, UMAP, LocalMAP, PaCMAP, Reducer, make_reducer
from .sampling import MAX_FIT, fit_on_sample

__all__ = ["MAX_FIT", "PCA", "LocalMAP", "PaCMAP", "REDUCERS", "Reducer", "TSNE", "UMAP", "fit_on_sample",
           "make_reducer", "project"]
