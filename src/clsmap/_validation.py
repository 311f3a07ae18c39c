"""Small argument checks shared by the public functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def check_choice(value: Any, allowed: Iterable[Any], *, param: str, func: str) -> Any:
    """Return ``value`` if it is one of ``allowed``; else raise ``ValueError`` listing the set.

    >>> check_choice("avg", ["cls", "mean"], param="pooling", func="extract")
    Traceback (most recent call last):
    ...
    ValueError: The 'pooling' parameter of extract must be one of {'cls', 'mean'}. Got 'avg' instead.
    """
    allowed = list(allowed)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ValueError(
            f"The {param!r} parameter of {func} must be one of {{{listed}}}. Got {value!r} instead."
        )
    return value


def check_positive_int(value: Any, *, param: str, func: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"The {param!r} parameter of {func} must be an integer >= {minimum}. Got {value!r} instead."
        )
    return value


def reject_unknown(kwargs: Mapping[str, Any], *, func: str, allowed: Iterable[str] = ()) -> None:
    """Raise ``TypeError`` for keyword arguments that ``func`` does not take."""
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(f"{func} got unexpected keyword argument(s): {', '.join(unknown)}")
