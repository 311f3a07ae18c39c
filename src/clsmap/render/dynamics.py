""":func:`write_dynamics`: everything ``clsmap dynamics RUN -o OUT`` writes for a training run recorded
with ``clsmap train --map-every``: the analysis (:func:`clsmap.analysis.analyze_dynamics`: curves,
where the space formed, aligned maps, cartography), the player (:mod:`clsmap.render.player`), the
animation (:mod:`clsmap.render.animation`) and a summary."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .._errors import ClsmapError
from ..analysis.dynamics import DynamicsAnalysis, analyze_dynamics
from ..store.files import write_json_atomic
from ..store.reader import Store, open_store
from ..store.layout import DYNAMICS, DYNAMICS_FILE, MANIFEST
from .animation import write_animation
from .dynamics_report import write_dynamics_report
from .player import write_player

__all__ = ["write_dynamics", "open_dynamics"]

logger = logging.getLogger(__name__)



def open_dynamics(run: str | Path | Store) -> Store:
    """The dynamics store of a training run: ``run`` is the training output folder or the store itself."""
    if isinstance(run, Store):
        return run
    folder = Path(run)
    if not (folder / MANIFEST).exists() and (folder / DYNAMICS / MANIFEST).exists():
        folder = folder / DYNAMICS
    if not (folder / MANIFEST).exists():
        raise ClsmapError(f"{run}: no training dynamics here; record them with clsmap train ... --map-every epoch")
    store = open_store(folder)
    if store.dynamics is None:
        raise ClsmapError(f"{folder}: a store, but not of training dynamics; record them with clsmap train --map-every")
    return store


def write_dynamics(run: str | Path | Store, out: str | Path, *, seed: int = 0, method: str = "pacmap",
                   max_text_chars: int | None = 200, theme: str = "auto", gif: bool = True, mp4: bool | None = None,
                   max_rows: int | None = 20_000, analysis: DynamicsAnalysis | None = None) -> dict[str, Any]:
    """Analyse the training dynamics of ``run`` and write ``OUT/player.html``, ``OUT/report.html``,
    ``OUT/dynamics.gif`` (and ``.mp4`` with the ``video`` extra) and ``OUT/dynamics.json``; returns that
    summary. ``max_rows``: the most texts of each snapshot mapped (a random sample above; the curves and the
    cartography use every text)."""
    store = open_dynamics(run)
    out = Path(out)
    analysis = analysis or analyze_dynamics(store, seed=seed, method=method, max_rows=max_rows)
    player = write_player(store, analysis, out / "player.html", max_text_chars=max_text_chars, theme=theme)
    animation = write_animation(store, analysis, out / "dynamics", mp4=mp4) if gif else []
    report = write_dynamics_report(store, analysis, out / "report.html")
    summary = {
        **analysis.summary,
        "store": str(store.path),
        "analysis": str(store.path / DYNAMICS_FILE),
        "player": str(player),
        "report": str(report),
        "animation": [str(p) for p in animation],
        "hard_to_learn": [] if analysis.cartography is None else
        analysis.cartography[analysis.cartography["group"] == "hard-to-learn"]
        .sort_values("confidence").head(20)[["id", "label", "confidence", "variability", "correctness", "text"]]
        .round(4).to_dict("records"),
    }
    write_json_atomic(out / "dynamics.json", summary, indent=1)
    return summary
