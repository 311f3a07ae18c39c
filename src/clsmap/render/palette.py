"""Colours: a categorical palette that stays distinguishable past 256 classes, and viridis.

Computed here once, for every output: the figures draw with these colours and the interactive map
receives them (the page does not choose colours of its own).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["categorical", "viridis", "hex_to_rgb", "rgb_array"]

TAB10 = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
TAB20_LIGHT = (
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)
_VIRIDIS = (
    (68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
    (31, 158, 137), (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37),
)


def hex_to_rgb(colour: str) -> tuple[float, float, float]:
    """``#rrggbb`` as RGB floats in [0, 1] (what matplotlib takes)."""
    return tuple(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def rgb_array(colours: list[str]) -> np.ndarray:
    """``colours`` (hex strings) as a (len, 3) float32 array of RGB in [0, 1], as matplotlib takes them."""
    return np.asarray([hex_to_rgb(c) for c in colours], dtype=np.float32).reshape(-1, 3)


def _to_hex(rgb: np.ndarray) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in rgb)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0-255, shape (..., 3)) to CIELAB (D65)."""
    v = np.asarray(rgb, dtype=np.float64) / 255
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    r, g, b = lin[..., 0], lin[..., 1], lin[..., 2]

    def f(t: np.ndarray) -> np.ndarray:
        return np.where(t > 216 / 24389, np.cbrt(t), (841 / 108) * t + 4 / 29)

    x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047)
    y = f(0.2126 * r + 0.7152 * g + 0.0722 * b)
    z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    return np.stack([116 * y - 16, 500 * (x - y), 200 * (y - z)], axis=-1)


@lru_cache(maxsize=16)
def _categorical(n: int) -> tuple[str, ...]:
    seeds = TAB10 + TAB20_LIGHT
    if n <= len(seeds):
        return seeds[:n]
    # farthest-point sampling in CIELAB over a 16-level sRGB lattice; very light and very dark colours
    # are left out (they vanish on the background or look like the ring of misclassified points)
    levels = np.arange(0, 256, 17)
    lattice = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    lab = _lab(lattice)
    keep = (lab[:, 0] >= 25) & (lab[:, 0] <= 90)
    lattice, lab = lattice[keep], lab[keep]
    distance = np.full(len(lab), np.inf)
    for seed in seeds:
        distance = np.minimum(distance, ((lab - _lab(np.array([int(seed[i:i + 2], 16) for i in (1, 3, 5)]))) ** 2)
                              .sum(axis=1))
    out = list(seeds)
    while len(out) < n:
        best = int(np.argmax(distance))
        if distance[best] == 0:  # more classes than lattice colours (about 2,500): repeat
            out.append(out[len(out) % len(lattice)])
            continue
        out.append(_to_hex(lattice[best]))
        distance = np.minimum(distance, ((lab - lab[best]) ** 2).sum(axis=1))
    return tuple(out)


def categorical(n: int) -> list[str]:
    """``n`` distinguishable colours as ``#rrggbb``: tab10, then tab20's light colours, then each new
    colour as far as possible (in CIELAB) from all before it."""
    return list(_categorical(int(n)))


def viridis(n: int) -> list[str]:
    """``n`` colours along viridis (dark purple = low, yellow = high)."""
    out = []
    top = len(_VIRIDIS) - 1
    for i in range(n):
        t = 0.0 if n == 1 else i / (n - 1) * top
        j = min(int(np.floor(t)), top - 1)
        f = t - j
        a, b = np.array(_VIRIDIS[j]), np.array(_VIRIDIS[j + 1])
        out.append(_to_hex(np.round(a + (b - a) * f)))
    return out
