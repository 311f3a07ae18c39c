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
``analysis/keywords.json`` (per class and per confusion region; schema 1).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..store.files import read_json_object, write_json_atomic
from ..store.layout import KEYWORDS_FILE, KEYWORDS_SCHEMA

__all__ = ["tokenize", "class_keywords", "write_keywords", "read_keywords", "keyword_terms"]

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
    out = []
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
) -> pd.DataFrame:
    """The ``top`` distinguishing terms of each group of ``texts`` by c-TF-IDF (module docstring).

    ``groups``: one group per text (a class name, a region id, ...). Groups in ``ignore`` take part
    in the counts (they are the background others are measured against) but get no keywords: e.g.
    the points outside every region. ``sample``: above this many texts each group is sampled (at most
    ``sample / groups`` texts); ``None`` counts every text. ``max_terms``: the vocabulary's size cap
    (the terms in most texts).

    Columns: ``group``, ``rank`` (1 = most distinguishing), ``term``, ``score`` (c-TF-IDF weight),
    ``n_texts`` (texts of the group counted that hold the term), ``share`` (n_texts / texts of the
    group counted). ``frame.attrs``: ``n_texts`` (texts counted), ``n_terms`` (vocabulary size).
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    texts = pd.Series(texts, dtype="object").fillna("").astype(str).to_numpy()
    groups = np.asarray(groups)
    if len(texts) != len(groups):
        raise ValueError(f"class_keywords: {len(texts)} texts but {len(groups)} groups")
    columns = ["group", "rank", "term", "score", "n_texts", "share"]
    rows = _sample(groups, sample, seed)
    vectorizer = CountVectorizer(analyzer=tokenize, binary=True, max_features=max_terms, dtype=np.int32)
    try:
        counts = vectorizer.fit_transform(texts[rows])
    except ValueError:  # no term at all (empty texts, only stop words)
        return pd.DataFrame(columns=columns)
    names, codes = np.unique(groups[rows], return_inverse=True)
    member = sparse.csr_matrix((np.ones(len(rows)), (codes, np.arange(len(rows)))), shape=(len(names), len(rows)))
    per_group = (member @ counts).tocsr().astype(np.float64)  # texts of each group holding each term
    sizes = np.asarray(member.sum(axis=1)).ravel()
    totals = np.asarray(per_group.sum(axis=1)).ravel()
    freq = np.asarray(per_group.sum(axis=0)).ravel()
    idf = np.log1p(totals.mean() / np.maximum(freq, 1.0))
    terms = vectorizer.get_feature_names_out()
    skip = {str(g) for g in ignore}
    found = []
    for g, name in enumerate(names):
        if str(name) in skip or totals[g] == 0:
            continue
        row = per_group.getrow(g)
        others = len(rows) - sizes[g]
        # a keyword is in at least min_texts of the group's texts, and in a larger share of them than of the others'
        rest_share = (freq[row.indices] - row.data) / others if others else np.zeros(len(row.data))
        keep = (row.data >= min_texts) & (row.data / sizes[g] > rest_share)
        cols, n_texts = row.indices[keep], row.data[keep]
        score = n_texts / totals[g] * idf[cols]
        order = np.lexsort((terms[cols], -score))[:top]  # ties: alphabetical, so the result is stable
        for rank, i in enumerate(order, start=1):
            found.append((name.item() if isinstance(name, np.generic) else name, rank, str(terms[cols[i]]),
                          float(score[i]), int(n_texts[i]), float(n_texts[i] / sizes[g])))
    out = pd.DataFrame(found, columns=columns)
    out.attrs = {"n_texts": int(len(rows)), "n_terms": int(len(terms))}
    return out


def _records(frame: pd.DataFrame | None) -> dict[str, list[dict[str, Any]]]:
    if frame is None or not len(frame):
        return {}
    return {str(group): [{"term": r.term, "score": round(float(r.score), 6), "share": round(float(r.share), 4)}
                         for r in part.sort_values("rank").itertuples()]
            for group, part in frame.groupby("group", sort=False)}


def write_keywords(store_path: str | Path, classes: pd.DataFrame | None, regions: pd.DataFrame | None, *,
                   column: str) -> Path:
    """Write ``<store>/analysis/keywords.json``: per class and per region (by id), the keywords in rank
    order, each ``{term, score, share}``."""
    attrs = (classes.attrs if classes is not None else {}) or {}
    payload = {"schema": KEYWORDS_SCHEMA, "column": column, "method": "c-TF-IDF", "n_texts": attrs.get("n_texts"),
               "classes": _records(classes), "regions": _records(regions)}
    return write_json_atomic(Path(store_path) / KEYWORDS_FILE, payload)


def read_keywords(store_path: str | Path) -> dict[str, Any] | None:
    """The keywords file of a store, or ``None`` when there is none (or it cannot be read, or is of a
    newer schema: a warning says why, and the pages are made without keywords)."""
    path = Path(store_path) / KEYWORDS_FILE
    data = read_json_object(path, without="the pages are made without keywords")
    if data is None:
        return None
    schema = data.get("schema")
    if not isinstance(schema, int) or schema > KEYWORDS_SCHEMA:
        logger.warning("%s is not a keywords file this clsmap reads (schema %r); the pages are made without keywords",
                       path, schema)
        return None
    return data


def keyword_terms(data: dict[str, Any] | None, kind: str, *, column: str, top: int = 5) -> dict[str, list[str]]:
    """From a keywords file (:func:`read_keywords`), the first ``top`` terms of each class or region
    (``kind``: ``"classes"`` or ``"regions"``) when it describes ``column``; else nothing."""
    if not data or data.get("column") != column or not isinstance(data.get(kind), dict):
        return {}
    out = {}
    for group, entries in data[kind].items():
        terms = [str(e["term"]) for e in entries if isinstance(e, dict) and "term" in e][:top]
        if terms:
            out[str(group)] = terms
    return out
