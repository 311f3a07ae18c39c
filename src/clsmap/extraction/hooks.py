"""Finding a submodule by a dotted path and capturing its output.

This is the seed's forward hook done right: the hook keeps only the latest output (nothing
accumulates on the device) and is removed when the ``with`` block ends, even on error.

>>> with capture(model, "electra.encoder.layer[-1].output.LayerNorm") as hooked:  # doctest: +SKIP
...     for batch in loader:
...         model(**batch)
...         vectors.append(hooked.output[:, 0].cpu())
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._errors import ClsmapError

__all__ = ["capture", "Captured", "resolve_module"]

_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def _parse(path: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for match in _TOKEN.finditer(path):
        if path[pos:match.start()] not in ("", "."):
            raise ClsmapError(f"module path {path!r}: cannot read it near {path[pos:match.start()]!r}")
        name, index = match.groups()
        if index is not None:
            parts.append(int(index))
        elif name.lstrip("-").isdigit():
            parts.append(int(name))
        else:
            parts.append(name)
        pos = match.end()
    if not parts or pos != len(path):
        raise ClsmapError(f"module path {path!r}: write it like 'encoder.layer[-1].output.LayerNorm'")
    return parts


def _walk(root: Any, parts: list[str | int]) -> Any:
    node = root
    for part in parts:
        if isinstance(part, int):
            node = node[part]
        else:
            node = getattr(node, part)
    return node


def resolve_module(model: Any, path: str) -> Any:
    """Return the submodule of ``model`` at ``path``.

    ``path`` is dotted, with Python indices: ``electra.encoder.layer[-1].output.LayerNorm``;
    ``encoder.layer.5`` works too. A leading ``module.`` (from ``DataParallel``) is accepted
    whether or not the model is wrapped, and a path that leaves out the base model's prefix
    (``encoder.layer[-1]`` for an ``ElectraForSequenceClassification``) is found under it.
    """
    import torch

    parts = _parse(path)
    wrapped = isinstance(model, (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel))
    if parts[0] == "module" and len(parts) > 1:
        parts = parts[1:]
    inner = model.module if wrapped else model
    roots = [inner]
    base = getattr(inner, "base_model", None)
    if base is not None and base is not inner:
        roots.append(base)
    for root in roots:
        try:
            found = _walk(root, parts)
        except (AttributeError, IndexError, TypeError, KeyError):
            continue
        if isinstance(found, torch.nn.Module):
            return found
    names = [name for name, _ in inner.named_modules() if name]
    dotted = ".".join(str(p) for p in parts)
    near = difflib.get_close_matches(dotted, names, n=5, cutoff=0.4)
    hint = f"; the nearest valid names are {', '.join(near)}" if near else ""
    raise ClsmapError(f"--module {path!r}: no such submodule in {type(model).__name__}{hint}")


class Captured:
    """What a hooked module produced on the latest forward pass."""

    def __init__(self, module: Any) -> None:
        self.module = module
        #: output of the latest forward call (the first element when the module returns a tuple)
        self.output: Any = None
        #: how many forward calls the hook has seen
        self.calls = 0

    def _hook(self, module: Any, args: Any, output: Any) -> None:
        if isinstance(output, (tuple, list)):
            output = output[0]
        elif hasattr(output, "last_hidden_state"):
            output = output.last_hidden_state
        self.output = output.detach()
        self.calls += 1


@contextmanager
def capture(model: Any, path: str) -> Iterator[Captured]:
    """Capture the output of the submodule at ``path`` on every forward pass.

    The hook is registered on entry and always removed on exit. Only the latest output is
    held; copy what you need (``hooked.output[:, 0].cpu()``) after each forward call.
    """
    module = resolve_module(model, path)
    captured = Captured(module)
    handle = module.register_forward_hook(captured._hook)
    try:
        yield captured
    finally:
        handle.remove()
        captured.output = None
