"""MkDocs hook: render the Sphinx roles of clsmap's docstrings (``:func:`~clsmap.x.y` ``) as code.

The docstrings are prose with ``double backticks`` and roles such as ``:func:`~clsmap.analysis.analyze```;
mkdocstrings reads them in the Sphinx style, which leaves a role as the text ``:func:`` before the code.
This hook turns each into an optional cross-reference that mkdocs-autorefs links when the target is
documented (a page's ``::: package``) and leaves as plain code when it is not, without a warning. A
leading ``~`` shows the last part of the name only, as in Sphinx.
"""

from __future__ import annotations

import html
import re

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):<code>(~?)([\w.]+)</code>")


def _reference(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    title = target.rsplit(".", 1)[-1] if short else target
    return f'<autoref identifier="{html.escape(target)}" optional><code>{html.escape(title)}</code></autoref>'


def on_page_content(html_text: str, **kwargs: object) -> str:
    return _ROLE.sub(_reference, html_text)
