"""Extraction (stage 2 of the pipeline): run the model over the texts and stream vectors, logits and
predictions into a store.

- :mod:`~clsmap.extraction.models`: load a Hugging Face encoder or classifier, devices and dtypes;
- :mod:`~clsmap.extraction.hooks`: :func:`capture` a submodule's output (the seed's hook, done right);
- :mod:`~clsmap.extraction.fastpath`: speed levers that leave the results unchanged;
- :mod:`~clsmap.extraction.runner`: the per-chunk work every backend does;
- :mod:`~clsmap.extraction.driver`: what every backend does before and after the model runs;
- :mod:`~clsmap.extraction.local` and :mod:`~clsmap.extraction.ray`: the backends, registered in
  :mod:`~clsmap.extraction.backends`;
- :func:`extract`: the dispatch.
"""

from .backends import BACKENDS, Backend, make_backend
from .api import extract
from .hooks import Captured, capture, resolve_module
from .local import LocalBackend
from .models import LoadedModel, load_model
from .ray import RayBackend
from .runner import POOLINGS, Options, plan_batches, pool

__all__ = [
    "BACKENDS",
    "Backend",
    "Captured",
    "LoadedModel",
    "LocalBackend",
    "Options",
    "POOLINGS",
    "RayBackend",
    "capture",
    "extract",
    "load_model",
    "make_backend",
    "plan_batches",
    "pool",
    "resolve_module",
]
