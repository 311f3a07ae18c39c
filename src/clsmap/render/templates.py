"""The one place where HTML is made: Jinja2 templates (package data) with autoescaping.

Every value that reaches a page through a template is escaped by Jinja2 (``autoescape``), and the
JSON inside a ``<script>`` element goes through ``tojson``, which escapes ``<``, ``>``, ``&`` and
``'``: no text of the data can end its element or become markup. Only three things are inserted as
they are, marked :class:`markupsafe.Markup` by their callers: the viewer's own bundled script, the
base64 payload (which holds no character that HTML treats specially) and the ``@font-face`` rule of an
embedded CJK font (fixed text around a base64 ``data:`` URL, :func:`clsmap.render.fonts.web_font`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from markupsafe import Markup

__all__ = ["render", "asset", "Markup"]


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("clsmap.render", "templates"), autoescape=True, undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    # NaN or Infinity would make the page's JSON.parse fail: refuse them here instead
    env.policies["json.dumps_function"] = json.dumps
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "allow_nan": False, "separators": (",", ":")}
    return env


def render(template: str, **values: Any) -> str:
    """The template ``template`` (a file in ``clsmap/render/templates``) filled with ``values``."""
    return _environment().get_template(template).render(**values)


@lru_cache(maxsize=4)
def asset(name: str) -> str:
    """A file of ``clsmap/render/assets`` (the viewer's bundled script) as text."""
    return resources.files("clsmap.render").joinpath("assets").joinpath(name).read_text(encoding="utf-8")
