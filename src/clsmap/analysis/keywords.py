"""Keywords: the terms that set a group of texts apart (a class, a confusion region), by class-based TF-IDF.

Each group's texts are pooled into one document; a term's weight in a group is its frequency there
(the share of the group's term occurrences) times ``log(1 + A / f)``, where ``A`` is the mean number
of term occurrences per group and ``f`` the term's occurrences over all groups (c-TF-IDF, as in
BERTopic). Occurrences are counted once per text (a word repeated in one long text counts once); a
term is one of a group's keywords only when it occurs in at least ``min_texts`` of the group's texts
and in a larger share of them than of the other texts (a word found everywhere sets nothing apart).

Tokens suit the script (:func:`tokenize`): words of letters for alphabetic scripts (lower-cased,
English stop words dropped); Hangul words split on spaces with their particles (josa: 은/는, 이/가,
을/를, 에서, ...) stripped; Chinese and Japanese runs (no spaces) as character bigrams.

It stays fast at any N: above ``sample`` texts, each group is sampled (at most ``sample / groups``
texts, and all of a smaller group), the vocabulary is capped at ``max_terms`` terms, and the counts
are sparse matrices (scikit-learn's ``CountVectorizer``). Keywords go into the store as
``analysis/keywords.json`` (per class and per confusion region; :mod:`clsmap.analysis.files`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .results import Keywords

__all__ = ["tokenize", "class_keywords", "KEYWORD_COLUMNS"]

#: the columns of :func:`class_keywords`' frame
KEYWORD_COLUMNS = ["group", "rank", "term", "score", "n_texts", "share"]

logger = logging.getLogger(__name__)


# a run of letters (an apostrophe inside an English word kept); digits and punctuation split runs
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_HAN_KANA = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Korean particles (josa) and the copula's common endings, longest first so that 에서 goes before 서
_JOSA = sorted({
    "은", "는", "이", "가", "을", "를", "의", "에", "에서", "에게", "한테", "께", "께서", "로", "으로", "와", "과",
    "도", "만", "까지", "부터", "보다", "처럼", "같이", "마다", "이나", "나", "랑", "이랑", "하고", "에는", "에서는",
    "으로는", "로는", "와는", "과는", "에도", "에서도", "으로도", "로도", "이라고", "라고", "들", "들이", "들은",
    "들을", "들의", "들도", "들에게",
}, key=len, reverse=True)
_KO_STOP = {"이", "그", "저", "것", "수", "등", "및", "더", "또", "좀", "잘", "안", "못", "왜", "뭐", "거", "게", "건",
            "난", "넌", "나", "너", "내", "네", "제", "저는", "나는", "너는", "우리", "그냥", "정말", "진짜", "너무",
            "이런", "그런", "저런", "어떤", "무슨", "있어", "없어", "있다", "없다", "하다", "해요", "해", "했어",
            "같아", "그래", "그럼", "근데", "그리고", "하지만", "아니", "네가", "내가", "제가"}


@lru_cache(maxsize=1)
def _english_stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


def _strip_josa(word: str) -> str:
    for ending in _JOSA:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            return word[: -len(ending)]
    return word


def tokenize(text: str) -> list[str]:
    """The terms of ``text`` for keywords: lower-cased words of two letters or more without English
    stop words; Hangul words without their particles (kept whole when that would leave one
    syllable), Korean stop words dropped; Chinese and Japanese runs as character bigrams."""
    stop = _english_stop_words()
    out: list[str] = []
    for word in _WORD.findall(str(text).lower()):
        if _HAN_KANA.search(word):
            for run in _HAN_KANA.findall(word):
                out.extend(run[i:i + 2] for i in range(max(1, len(run) - 1)))
            continue
        if _HANGUL.search(word):
            word = _strip_josa(word)
            if word not in _KO_STOP and word not in _JOSA:
                out.append(word)
        elif len(word) >= 2 and word not in stop:
            out.append(word)
    return out


def _sample(groups: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """Rows to count: all of them up to ``size``; above it at most ``size / groups`` per group."""
    n = len(groups)
    if size is None or n <= size:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    values = pd.unique(groups)
    cap = max(size // max(len(values), 1), 1)
    chosen = []
    for value in values:
        members = np.flatnonzero(groups == value)
        chosen.append(members if len(members) <= cap else rng.choice(members, size=cap, replace=False))
    return np.sort(np.concatenate(chosen))


def class_keywords(
    texts: Any,
    groups: Any,
    *,
    top: int = 8,
    min_texts: int = 2,
    sample: int | None = 100_000,
    max_terms: int = 50_000,
    ignore: Any = (),
    seed: int = 0,
) -> Keywords:
    """The ``top`` distinguishing terms of each group of ``texts`` by c-TF-IDF (module docstring).

    ``groups``: one group per text (a class name, a region id, ...). Groups in ``ignore`` take part
    in the counts (they are the background others are measured against) but get no keywords: e.g.
    the points outside every region. ``sample``: above this many texts each group is sampled (at most
    ``sample / groups`` texts); ``None`` counts every text. ``max_terms``: the vocabulary's size cap
    (the terms in most texts).

    The frame's columns: ``group``, ``rank`` (1 = most distinguishing), ``term``, ``score`` (c-TF-IDF
    weight), ``n_texts`` (texts of the group counted that hold the term), ``share`` (n_texts / texts of the
    group counted). The :class:`~clsmap.analysis.results.Keywords` also says how many texts were counted
    (``n_texts``) and the vocabulary's size (``n_terms``); both None when no text holds a term.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    texts = pd.Series(texts, dtype="object").fillna("").astype(str).to_numpy()
    groups = np.asarray(groups)
    if len(texts) != len(groups):
        raise ValueError(f"class_keywords: {len(texts)} texts but {len(groups)} groups")
    rows = _sample(groups, sample, seed)
    vectorizer = CountVectorizer(analyzer=tokenize, binary=True, max_features=max_terms, dtype=np.int32)
    try:
        counts = vectorizer.fit_transform(texts[rows])
    except ValueError:  # no term at all (empty texts, only stop words)
        return Keywords(frame=pd.DataFrame(columns=KEYWORD_COLUMNS))
    terms = vectorizer.get_feature_names_out()
    names, codes = np.unique(groups[rows], return_inverse=True)
    table = _GroupCounts.of(counts, codes, len(names))
    skip = {str(g) for g in ignore}
    found = [row for g, name in enumerate(names) if str(name) not in skip and table.totals[g] != 0
             for row in table.keywords(g, name, terms, top=top, min_texts=min_texts)]
    return Keywords(frame=pd.DataFrame(found, columns=KEYWORD_COLUMNS), n_texts=int(len(rows)),
                    n_terms=int(len(terms)))


@dataclass
class _GroupCounts:
    """The counts of c-TF-IDF: per group, the texts holding each term (``per_group``, sparse (G, T)), the
    group's texts (``sizes``) and term occurrences (``totals``); per term, its occurrences (``freq``) and
    ``idf``."""

    per_group: Any
    sizes: np.ndarray
    totals: np.ndarray
    freq: np.ndarray
    idf: np.ndarray

    @classmethod
    def of(cls, counts: Any, codes: np.ndarray, n_groups: int) -> _GroupCounts:
        from scipy import sparse

        member = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                                   shape=(n_groups, len(codes)))
        per_group = (member @ counts).tocsr().astype(np.float64)  # texts of each group holding each term
        totals = np.asarray(per_group.sum(axis=1)).ravel()
        freq = np.asarray(per_group.sum(axis=0)).ravel()
        return cls(per_group=per_group, sizes=np.asarray(member.sum(axis=1)).ravel(), totals=totals, freq=freq,
                   idf=np.log1p(totals.mean() / np.maximum(freq, 1.0)))

    def keywords(self, g: int, name: Any, terms: np.ndarray, *, top: int, min_texts: int) -> list[tuple]:
        """The rows of group ``g``'s keywords: in at least ``min_texts`` of its texts, and in a larger share
        of them than of the others'."""
        row = self.per_group.getrow(g)
        others = self.sizes.sum() - self.sizes[g]
        rest_share = (self.freq[row.indices] - row.data) / others if others else np.zeros(len(row.data))
        keep = (row.data >= min_texts) & (row.data / self.sizes[g] > rest_share)
        cols, n_texts = row.indices[keep], row.data[keep]
        score = n_texts / self.totals[g] * self.idf[cols]
        order = np.lexsort((terms[cols], -score))[:top]  # ties: alphabetical, so the result is stable
        group = name.item() if isinstance(name, np.generic) else name
        return [(group, rank, str(terms[cols[i]]), float(score[i]), int(n_texts[i]), float(n_texts[i] / self.sizes[g]))
                for rank, i in enumerate(order, start=1)]
