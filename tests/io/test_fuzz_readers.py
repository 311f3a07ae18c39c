"""Readers fuzzed with hypothesis: every generated file either loads exactly what was written, or
fails with a one-line ClsmapError naming the file; never another exception, and a valid file never
fails. Each property runs 100 examples in the default suite (400 in all) and 2000 under -m slow.

The cases cover CSV/TSV/JSONL/Parquet; UTF-8 with and without BOM, UTF-16, Latin-1 (declared or
not), invalid bytes; quoting, embedded newlines, tabs and commas; huge fields; mixed types in the
text and label columns; empty files, header only, duplicate and missing columns; NaN/None labels;
numeric texts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from clsmap import ClsmapError, read_dataset

# text that survives every format: no NUL (CSV readers stop at it), no lone surrogates
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.one_of(
    st.text(CHARS, min_size=1, max_size=40),
    st.sampled_from(['a "quoted" text', "multi\nline\r\ntext", "tab\tand, comma", "  padded  ", "ümlaut ß 한국어",
                     "=1+2", "NaN", "None", "null", "", "   "]),
    st.integers(-10**6, 10**6).map(str),
    st.text(CHARS, min_size=3000, max_size=8000).filter(lambda s: s.strip()),
)
LABEL = st.one_of(st.sampled_from(["pos", "neg", "neutral", "0", "1", "2", ""]), st.integers(0, 3).map(str))
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
FEW, MANY = 100, 2000  # examples per property: default suite (400 in all), -m slow (8000)


def fuzz(**strategies):
    """Two tests of one property: ``FEW`` examples in the default suite and ``MANY`` under -m slow.
    Use as ``test_x, test_x_thoroughly = fuzz(...)(_x)``."""

    def tests(prop):
        few = settings(max_examples=FEW, deadline=None, suppress_health_check=HEALTH)(given(**strategies)(prop))
        many = settings(max_examples=MANY, deadline=None, suppress_health_check=HEALTH)(given(**strategies)(prop))
        return few, pytest.mark.slow(many)

    return tests


def _valid(texts, labels) -> bool:
    return all(t.strip() for t in texts) and all(str(x).strip() for x in labels)


def _check(path: Path, texts, labels, *, expect_exact: bool, **options):
    """The oracle: loads what was written (when it is valid and readable) or fails with ClsmapError."""
    try:
        loaded = read_dataset(path, **options)
    except ClsmapError as exc:
        message = str(exc)
        assert "\n" not in message and "Traceback" not in message, message  # one line, no traceback
        assert str(path) in message, message  # names the file
        assert not (expect_exact and _valid(texts, labels)), f"a valid file was refused: {message}"
        return "error"
    assert len(loaded.texts) == len(loaded.ids) > 0
    assert all(isinstance(t, str) and t.strip() for t in loaded.texts)
    if loaded.labels is not None:  # a damaged header may leave no label column: then there are no labels
        assert len(loaded.labels) == len(loaded.texts)
        assert all(isinstance(x, str) and x for x in loaded.labels)
    if expect_exact and _valid(texts, labels):
        assert loaded.labels is not None
        assert loaded.texts == list(texts)
        assert loaded.labels == [str(x).strip() for x in labels] or loaded.labels == [
            str(int(x)) for x in labels]
    return "loaded"


def _well_formed_files_round_trip_or_fail_cleanly(tmp_path_factory, rows, fmt, encoding):
    folder = tmp_path_factory.mktemp("fuzz")
    texts, labels = zip(*rows, strict=True)
    path = folder / f"data.{fmt}"
    frame = pd.DataFrame({"text": texts, "label": labels})
    options = {}
    exact = True
    if fmt in ("csv", "tsv"):
        try:
            frame.to_csv(path, index=False, sep="," if fmt == "csv" else "\t", encoding=encoding)
        except UnicodeEncodeError:
            reject()  # not representable in Latin-1
        if encoding == "latin-1":
            options["encoding"] = "latin-1"
        # a TSV field holding a tab or newline is quoted by pandas and read back the same
    elif fmt == "jsonl":
        try:
            path.write_text("".join(json.dumps({"text": t, "label": x}, ensure_ascii=False) + "\n"
                                    for t, x in rows), encoding=encoding)
        except UnicodeEncodeError:
            reject()
        if encoding == "latin-1":
            options["encoding"] = "latin-1"
    else:
        frame.to_parquet(path)
    if any("\r" in t for t in texts) and fmt in ("csv", "tsv"):
        exact = False  # CSV dialects may normalise a bare carriage return inside a field
    _check(path, texts, labels, expect_exact=exact, **options)


test_well_formed_files_round_trip_or_fail_cleanly, test_well_formed_files_thoroughly = fuzz(
    rows=st.lists(st.tuples(TEXT, LABEL), min_size=1, max_size=12),
    fmt=st.sampled_from(["csv", "tsv", "jsonl", "parquet"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]),
)(_well_formed_files_round_trip_or_fail_cleanly)


def _arbitrary_bytes_never_crash(tmp_path_factory, payload, fmt):
    path = tmp_path_factory.mktemp("bytes") / f"junk.{fmt}"
    path.write_bytes(payload)
    _check(path, [], [], expect_exact=False)


test_arbitrary_bytes_never_crash, test_arbitrary_bytes_thoroughly = fuzz(
    payload=st.binary(max_size=400), fmt=st.sampled_from(["csv", "tsv", "jsonl", "parquet"]),
)(_arbitrary_bytes_never_crash)


def _damaged_files_never_crash(tmp_path_factory, rows, cut, garbage, fmt):
    """A valid file with bytes replaced (invalid UTF-8 among them) or cut short."""
    path = tmp_path_factory.mktemp("damaged") / f"data.{fmt}"
    frame = pd.DataFrame({"text": [t for t, _ in rows], "label": [x for _, x in rows]})
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path)
    raw = path.read_bytes()
    at = cut % max(1, len(raw))
    path.write_bytes(raw[:at] + garbage + raw[at + len(garbage):])
    _check(path, [], [], expect_exact=False)


test_damaged_files_never_crash, test_damaged_files_thoroughly = fuzz(
    rows=st.lists(st.tuples(TEXT, LABEL), min_size=1, max_size=8), cut=st.integers(0, 2000),
    garbage=st.binary(min_size=1, max_size=8), fmt=st.sampled_from(["csv", "jsonl", "parquet"]),
)(_damaged_files_never_crash)


MIXED = st.one_of(st.none(), st.just(math.nan), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                  st.text(CHARS, max_size=10), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _mixed_types_in_text_and_label_columns(tmp_path_factory, texts, labels, fmt):
    n = min(len(texts), len(labels))
    records = [{"text": t, "label": x} for t, x in zip(texts[:n], labels[:n], strict=True)]
    folder = tmp_path_factory.mktemp("mixed")
    if fmt == "jsonl":
        path = folder / "data.jsonl"
        path.write_text("".join(json.dumps(r, allow_nan=True) + "\n" for r in records), encoding="utf-8")
        _check(path, [], [], expect_exact=False)
    elif fmt == "parquet":
        path = folder / "data.parquet"
        try:
            pd.DataFrame.from_records(records).to_parquet(path)
        except Exception:  # pyarrow cannot store every mix of types; nothing for clsmap to read
            reject()
        _check(path, [], [], expect_exact=False)
    else:
        try:
            loaded = read_dataset(pd.DataFrame.from_records(records))
        except ClsmapError as exc:
            assert "<DataFrame>" in str(exc) and "\n" not in str(exc), str(exc)
            return
        assert len(loaded.texts) == len(loaded.ids) == n
        assert all(isinstance(t, str) and t.strip() for t in loaded.texts)


test_mixed_types_in_text_and_label_columns, test_mixed_types_thoroughly = fuzz(
    texts=st.lists(MIXED, min_size=1, max_size=8), labels=st.lists(MIXED, min_size=1, max_size=8),
    fmt=st.sampled_from(["jsonl", "parquet", "frame"]),
)(_mixed_types_in_text_and_label_columns)


@pytest.mark.parametrize(("content", "fragment"), [
    ("", "empty"),
    ("text,label\n", "no data rows"),
    ("text,text,label\na,b,c\n", "more than once"),
    ("words,tag\nhello,x\n", "text column"),
    ("text,label\nhello,\n", "row 1"),
    ("text,label\n,pos\n", "row 1"),
])
def test_edge_files_name_the_problem(tmp_path, content, fragment):
    path = tmp_path / "edge.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    assert "edge.csv" in str(info.value)
    assert fragment.lower() in str(info.value).lower()
