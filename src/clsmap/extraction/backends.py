"""The extraction backends, by name: each takes its own options in ``__init__`` and has ``run``.

A backend reads the data, loads the model, opens (or resumes) the store and writes every part; the
per-chunk work is :func:`clsmap.extraction.runner.extract_chunk` on all of them. Neither backend
imports the other; :func:`clsmap.extract` dispatches here.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar, Protocol

from .._validation import check_choice
from .local import LocalBackend
from .models import LoadedModel
from .ray import RayBackend
from .runner import Options

__all__ = ["Backend", "BACKENDS", "make_backend", "backend_option_names"]


class Backend(Protocol):
    name: ClassVar[str]

    def run(self, model: str | Path | LoadedModel, data: Any, out: str | Path, *, options: Options,
            device: str, read_options: dict[str, Any], overwrite: bool, trust_remote_code: bool,
            allow_pickle: bool, progress: bool | None) -> None: ...


BACKENDS: dict[str, type] = {cls.name: cls for cls in (LocalBackend, RayBackend)}


def make_backend(name: str, **options: Any) -> Backend:
    """The backend called ``name`` with its ``options``; an option of another backend is an error."""
    check_choice(name, BACKENDS, param="backend", func="extract")
    unknown = sorted(set(options) - _option_names(name))
    if unknown:
        owners = sorted(other for other in BACKENDS if set(unknown) <= _option_names(other))
        where = f" only apply with backend={owners[0]!r}" if owners else " are not options of any backend"
        raise ValueError(f"extract: {', '.join(unknown)}{where}")
    return BACKENDS[name](**options)


def backend_option_names() -> set[str]:
    """The options of every backend."""
    return set().union(*map(_option_names, BACKENDS))


def _option_names(name: str) -> set[str]:
    return {p for p in inspect.signature(BACKENDS[name]).parameters if p not in ("self", "args", "kwargs")}
