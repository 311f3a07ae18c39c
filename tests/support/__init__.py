"""Code the tests share that is not a test: tiny model builders (:mod:`support.tiny_models`), the headless
browser driver (:mod:`support.viewer_browser`), the gate that stops a subprocess run mid-way
(:mod:`support.gates`), the fault hook of the Ray workers (:mod:`support.ray_faults`) and the page decoder
(:mod:`support.pages`). Test files import from here (``tests/conftest.py`` puts ``tests/`` on the path,
and the Ray tests hand the same folder to their workers); no test file imports another test file."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
"""The committed stores of ``tests/data`` (written by earlier versions of clsmap)."""

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
"""Markup that must show as text wherever a store's texts and ids are shown (planted by ``layered_store``)."""
