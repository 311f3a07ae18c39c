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

__all__ = ["Backend", "BACKENDS", "make_backend"]


class Backend(Protocol):
    name: ClassVar[str]

    def run(self, model: str | Path | LoadedModel, data: Any, out: str | Path, *, options: Options,
            device: str, read_options: dict[str, Any], overwrite: bool, trust_remote_code: bool,
            allow_pickle: bool, progress: bool | None) -> None: ...


BACKENDS: dict[str, type] = {cls.name: cls for cls in (LocalBackend, RayBackend)}


def make_backend(name: str, **options: Any) -> Backend:
    """The backend called ``name`` with its ``options``; an option of another backend is an error."""
    check_choice(name, BACKENDS, param="backend", func="extract")
    cls = BACKENDS[name]
    allowed = {p for p in inspect.signature(cls.__init__).parameters if p != "self"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        owners = sorted({other for other, c in BACKENDS.items()
                         if set(unknown) <= set(inspect.signature(c.__init__).parameters)})
        where = f" only apply with backend={owners[0]!r}" if owners else " are not options of any backend"
        raise ValueError(f"extract: {', '.join(unknown)}{where}")
    return cls(**options)
