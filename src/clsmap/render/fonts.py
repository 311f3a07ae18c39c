"""Fonts for Korean, Chinese and Japanese text: never empty boxes.

- Figures (matplotlib): a CJK font found on the system, or the one that the ``cjk`` extra installs
  (``noto-cjk-sans-otc``): :func:`font_families`.
- HTML (the map and the report): pages are opened on machines we know nothing of, many without a CJK
  font. When a page's text holds CJK, :func:`web_font` subsets the ``cjk`` extra's Noto Sans CJK KR
  (SIL Open Font Licence; its copyright and licence stay in the subset's name table) to the CJK
  characters the page uses and returns an ``@font-face`` rule with the subset as WOFF2 in a ``data:``
  URL. The face takes the name "Noto Sans CJK KR", which the pages' font stacks already list after the
  system's fonts, and a ``unicode-range`` of the CJK blocks: Latin text keeps the system font. Pages
  without CJK get nothing, byte for byte.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["find_cjk_font", "font_families", "has_cjk", "web_font", "WebFont", "WEB_FAMILY"]

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


#: the family name of the embedded face: first in the font stacks of map.css and report.css when embedded
#: (last, Chromium may shape Hangul with the system fonts before the face loads and keep the boxes)
WEB_FAMILY = "Noto Sans CJK KR"
#: the blocks the embedded face serves: Hangul Jamo, CJK radicals to CJK compatibility (punctuation,
#: kana, Bopomofo, compatibility jamo, enclosed), Extension A, unified ideographs, Hangul Jamo Extended-A,
#: syllables and Extended-B, compatibility ideographs, half- and full-width forms, Extension B and later
_WEB_RANGES = ((0x1100, 0x11FF), (0x2E80, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA960, 0xA97F),
               (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x20000, 0x3134F))
#: code points that make a page need the font (as :func:`has_cjk`)
_NEEDS = ((0x1100, 0x11FF), (0x3040, 0x30FF), (0x3130, 0x318F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
          (0xAC00, 0xD7AF))
_KR_FACE = 1  # NotoSansCJK-Regular.ttc: JP, KR, SC, TC, HK, then the Mono faces


@dataclass(frozen=True)
class WebFont:
    """An embedded subset: ``css`` the ``@font-face`` rule, ``glyphs`` the characters it covers,
    ``woff2_bytes`` its size and ``seconds`` what subsetting took."""

    css: str
    glyphs: int
    woff2_bytes: int
    seconds: float


def _in(codes: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    keep = np.zeros(len(codes), dtype=bool)
    for lo, hi in ranges:
        keep |= (codes >= lo) & (codes <= hi)
    return keep


def cjk_code_points(*utf8: bytes) -> np.ndarray:
    """The distinct code points of the CJK blocks in UTF-8 ``utf8`` blobs, read from their bytes with
    numpy (no decoding: a 1M-text map stays cheap). Every such code point takes 3 or 4 bytes."""
    found = [np.zeros(0, dtype=np.uint32)]
    for blob in utf8:
        b = np.frombuffer(blob, dtype=np.uint8)
        three = np.flatnonzero((b[:-2] >= 0xE1) & (b[:-2] <= 0xEF))
        if len(three):
            codes = ((b[three].astype(np.uint32) & 0x0F) << 12 | (b[three + 1].astype(np.uint32) & 0x3F) << 6
                     | (b[three + 2].astype(np.uint32) & 0x3F))
            found.append(np.unique(codes))
        four = np.flatnonzero((b[:-3] >= 0xF0) & (b[:-3] <= 0xF4))
        if len(four):
            codes = ((b[four].astype(np.uint32) & 0x07) << 18 | (b[four + 1].astype(np.uint32) & 0x3F) << 12
                     | (b[four + 2].astype(np.uint32) & 0x3F) << 6 | (b[four + 3].astype(np.uint32) & 0x3F))
            found.append(np.unique(codes))
    codes = np.unique(np.concatenate(found))
    return codes[_in(codes, _WEB_RANGES)]


@lru_cache(maxsize=1)
def _say_once(message: str) -> None:
    logger.warning("%s", message)


def _font_file() -> Path | None:
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return None
    return next(iter(sorted(Path(noto_cjk_sans_otc.__file__).parent.glob("*.tt[cf]"))), None)


def web_font(*utf8: bytes) -> WebFont | None:
    """The ``@font-face`` rule a page needs for the CJK characters in ``utf8`` (the UTF-8 of everything it
    can show), or ``None`` when it holds none. Without the ``cjk`` extra, ``None`` and one warning per
    process saying how to get it."""
    codes = cjk_code_points(*utf8)
    if not _in(codes, _NEEDS).any():
        return None
    from fontTools.ttLib.woff2 import haveBrotli

    path = _font_file()
    if path is None or not haveBrotli:
        _say_once("the texts contain Korean/CJK characters but no font to embed was found, so they may show as "
                  "boxes where the system has no CJK font: pip install 'clsmap[cjk]'")
        return None
    return _subset(path, tuple(codes.tolist()))


@lru_cache(maxsize=8)
def _subset(path: Path, codes: tuple[int, ...]) -> WebFont:
    """The embedded face for ``codes``, once per process for a font file and set of characters: the map
    and the report of one store ask for the same subset, and it takes a second or more."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    started = time.perf_counter()
    font = TTFont(path, fontNumber=_KR_FACE if path.suffix.lower() == ".ttc" else -1, lazy=True)
    covered = sorted(set(codes) & set(font.getBestCmap()))
    options = subset.Options()
    options.flavor = "woff2"
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # with the copyright and the licence (OFL)
    options.hinting = False
    options.desubroutinize = True
    options.drop_tables += ["VORG", "vhea", "vmtx", "BASE"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=covered)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.flavor = "woff2"
    font.save(buffer)
    data = buffer.getvalue()
    ranges = ",".join(f"U+{lo:X}-{hi:X}" for lo, hi in _WEB_RANGES)
    css = (f'@font-face{{font-family:"{WEB_FAMILY}";font-display:block;unicode-range:{ranges};'
           f'src:url(data:font/woff2;base64,{base64.b64encode(data).decode("ascii")}) format("woff2")}}')
    seconds = time.perf_counter() - started
    logger.info("embedded %d CJK glyphs of %s (%.0f KB as WOFF2, %.1f s)", len(covered), WEB_FAMILY,
                len(data) / 1024, seconds)
    return WebFont(css=css, glyphs=len(covered), woff2_bytes=len(data), seconds=round(seconds, 3))
