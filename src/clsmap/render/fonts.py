"""Fonts for Korean, Chinese and Japanese text in figures: found on the system, or the one that the
``cjk`` extra installs (``noto-cjk-sans-otc``), never empty boxes."""

from __future__ import annotations

import logging
import re
from pathlib import Path

__all__ = ["find_cjk_font", "font_families", "has_cjk"]

logger = logging.getLogger(__name__)

_CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_CJK_FAMILIES = (
    "Noto Sans CJK KR", "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans KR", "Source Han Sans",
    "NanumGothic", "Nanum Gothic", "Malgun Gothic", "Apple SD Gothic Neo", "AppleGothic",
    "Microsoft YaHei", "WenQuanYi Zen Hei", "Droid Sans Fallback", "Hiragino Sans",
)


def has_cjk(strings: list[str]) -> bool:
    return any(_CJK.search(s) for s in strings if isinstance(s, str))


def find_cjk_font() -> str | None:
    """Register and return the family name of a font that covers Hangul and CJK ideographs.

    Looks at the fonts matplotlib knows, then at the font shipped by the ``cjk`` extra
    (``noto-cjk-sans-otc``). Returns ``None`` when there is none.
    """
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in known:
            return family
    for entry in font_manager.fontManager.ttflist:
        if "CJK" in entry.name or "Han Sans" in entry.name:
            return entry.name
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return None
    for path in Path(noto_cjk_sans_otc.__file__).parent.glob("*.tt[cf]"):
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    return None


def font_families(strings: list[str]) -> list[str]:
    """matplotlib's ``font.family`` for text that holds ``strings``: DejaVu Sans, plus a CJK font
    where they need one (a warning says so when none is found)."""
    families = ["DejaVu Sans"]
    if has_cjk(strings):
        cjk = find_cjk_font()
        if cjk is None:
            logger.warning(
                "class names or the title contain Korean/CJK characters but no CJK font was found; "
                "they may show as boxes: pip install 'clsmap[cjk]' (or install Noto Sans CJK)"
            )
        else:
            families.append(cjk)
    return families
