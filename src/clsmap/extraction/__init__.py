"""Extraction (stage 2 of the pipeline): run the model over the texts and stream vectors, logits and
predictions into a store.

- :mod:`~clsmap.extraction.api`: :func:`extract` and its :class:`ExtractOptions`, the dispatch to a backend;
- :mod:`~clsmap.extraction.models`: load a Hugging Face encoder or classifier, devices and dtypes;
- :mod:`~clsmap.extraction.hooks`: :func:`capture` a submodule's output (the seed's hook, done right);
- :mod:`~clsmap.extraction.batches`: length-sorted batches, their padding and the forward passes
  (training's too);
- :mod:`~clsmap.extraction.fastpath` and :mod:`~clsmap.extraction.fused`: speed levers that leave the
  results unchanged;
- :mod:`~clsmap.extraction.runner`: the per-chunk work every backend does;
- :mod:`~clsmap.extraction.driver`: what every backend does before and after the model runs;
- :mod:`~clsmap.extraction.local` and :mod:`~clsmap.extraction.ray`: the backends, registered in
  :mod:`~clsmap.extraction.backends`.
"""

from .api import ExtractOptions, extract
from .hooks import Captured, capture
from .models import LoadedModel, load_model

__all__ = [
    "Captured",
    "ExtractOptions",
    "LoadedModel",
    "capture",
    "extract",
    "load_model",
]
