"""Values made ready for JSON, once: every number that is not finite becomes ``None``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["finite_or_none", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as plain Python for :func:`json.dumps`: numpy scalars as Python numbers, arrays as lists,
    NaN, infinities, ``pd.NA`` and ``pd.NaT`` as ``None``; anything else as it is."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def finite_or_none(value: Any, *, digits: int | None = None) -> float | int | None:
    """``value`` if it is a finite number (not a bool), rounded to ``digits`` when given; else ``None``."""
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return None
    return round(value, digits) if digits is not None else value
