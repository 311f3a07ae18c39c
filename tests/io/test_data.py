"""clsmap.read_dataset: formats, column detection, ids, and one-line errors a user can act on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clsmap import ClsmapError, LabeledTexts, read_dataset

TEXTS = ["the cat is good", "free money, click", 'a "quoted" offer', "dog\nand bird"]
LABELS = ["ham", "spam", "spam", "ham"]


def one_line_error(excinfo, *fragments: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def write_frame(frame: pd.DataFrame, path, fmt: str):
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    return path


# --------------------------------------------------------------------------- formats and columns


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet", "frame"])
@pytest.mark.parametrize("names", [("text", "label"), ("sentence", "target"), ("Text", "Label")])
def test_formats_with_detected_columns(tmp_path, fmt, names):
    frame = pd.DataFrame({names[0]: TEXTS, names[1]: LABELS})
    data = frame if fmt == "frame" else write_frame(frame, tmp_path / f"data.{fmt}", fmt)
    got = read_dataset(data)
    assert isinstance(got, LabeledTexts)
    assert got.texts == TEXTS
    assert got.labels == LABELS
    assert (got.text_column, got.label_column) == names
    assert got.ids == ["0", "1", "2", "3"]
    assert got.id_column is None
    assert got.classes == ["ham", "spam"]
    assert len(got) == 4
    assert len(got.fingerprint) == 64


def test_explicit_columns_and_extra_columns(tmp_path):
    frame = pd.DataFrame({"body_text": TEXTS, "gold": LABELS, "text": ["x"] * 4})
    got = read_dataset(write_frame(frame, tmp_path / "d.csv", "csv"), text_column="body_text", label_column="gold")
    assert (got.texts, got.labels) == (TEXTS, LABELS)


def test_id_column_is_kept_and_can_be_ignored(tmp_path):
    frame = pd.DataFrame({"id": ["a7", "b3", "c1", "d9"], "text": TEXTS, "label": LABELS})
    path = write_frame(frame, tmp_path / "d.csv", "csv")
    assert read_dataset(path).ids == ["a7", "b3", "c1", "d9"]
    assert read_dataset(path).id_column == "id"
    assert read_dataset(path, id_column=False).ids == ["0", "1", "2", "3"]


def test_integer_ids_from_parquet_become_strings(tmp_path):
    frame = pd.DataFrame({"idx": [10, 20, 30, 40], "text": TEXTS, "label": LABELS})
    assert read_dataset(write_frame(frame, tmp_path / "d.parquet", "parquet")).ids == ["10", "20", "30", "40"]


def test_no_label_column_or_labels_ignored(tmp_path):
    assert read_dataset(pd.DataFrame({"text": TEXTS})).labels is None
    got = read_dataset(pd.DataFrame({"text": TEXTS, "label": LABELS}), label_column=False)
    assert got.labels is None and got.label_column is None and got.classes == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "frame"])
def test_integer_labels_are_recognised(tmp_path, fmt):
    frame = pd.DataFrame({"text": TEXTS, "label": [10, 2, 1, 2]})
    data = frame if fmt == "frame" else write_frame(frame, tmp_path / f"d.{fmt}", fmt)
    got = read_dataset(data)
    assert got.labels_are_integers
    assert got.labels == ["10", "2", "1", "2"]
    assert got.classes == ["1", "2", "10"]  # numeric order


def test_labeled_texts_pass_through_and_subset():
    got = read_dataset(pd.DataFrame({"text": TEXTS, "label": LABELS}))
    assert read_dataset(got) is got
    sub = got.subset([2, 0])
    assert (sub.texts, sub.labels, sub.ids) == ([TEXTS[2], TEXTS[0]], ["spam", "ham"], ["2", "0"])
    assert sub.fingerprint != got.fingerprint


def test_fingerprint_follows_content(tmp_path):
    a = write_frame(pd.DataFrame({"text": TEXTS, "label": LABELS}), tmp_path / "a.csv", "csv")
    b = write_frame(pd.DataFrame({"text": TEXTS, "label": ["spam", "spam", "spam", "ham"]}), tmp_path / "b.csv", "csv")
    assert read_dataset(a).fingerprint == read_dataset(a).fingerprint
    assert read_dataset(a).fingerprint != read_dataset(b).fingerprint


# --------------------------------------------------------------------------- encodings


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftext,label\nhello,ham\ncafé,spam\n".encode("utf-8"))
    got = read_dataset(path)
    assert got.text_column == "text"
    assert got.texts == ["hello", "café"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_bom(tmp_path, codec):
    path = tmp_path / "u16.tsv"
    body = "sentence\ttarget\nhello\t1\n안녕하세요\t0\n"
    path.write_bytes(body.encode("utf-16") if codec == "utf-16" else b"\xfe\xff" + body.encode(codec))
    got = read_dataset(path)
    assert got.texts == ["hello", "안녕하세요"]
    assert got.labels == ["1", "0"]


def test_latin1_file_names_the_line_and_suggests_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\nhello,ham\nworld,spam\ncafé au lait,ham\n".encode("latin-1"))
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "line 4", "--encoding")
    assert read_dataset(path, encoding="latin-1").texts == ["hello", "world", "café au lait"]


def _big_latin1(path, fmt: str, n: int) -> int:
    """A file of ``n`` good lines (after a header for CSV) and a latin-1 line; returns its line number."""
    if fmt == "csv":
        lines = ["text,label"] + [f"the cat number {i} is good,ham" for i in range(n)] + ["café,spam"]
    else:
        lines = [json.dumps({"text": f"the cat number {i} is good", "label": "ham"}) for i in range(n)]
        lines.append('{"text": "café", "label": "spam"}')
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return len(lines)


@pytest.mark.parametrize("fmt, n", [("csv", 12_000), ("jsonl", 400)])
def test_decode_error_line_is_right_in_a_large_file(tmp_path, fmt, n):
    """Past the reader's first chunk (pandas: 256 KiB, Python text files: 8 KiB) the line
    number must still be the line of the file."""
    path = tmp_path / f"big.{fmt}"
    bad_line = _big_latin1(path, fmt, n)
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, f"line {bad_line} ", "--encoding")


def test_decode_error_line_is_right_after_a_bom(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftext,label\nhello,ham\n".encode("utf-8") + "été,spam\n".encode("latin-1"))
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, "line 3 ", "--encoding")


# --------------------------------------------------------------------------- errors


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(ClsmapError, match="no such file"):
        read_dataset(tmp_path / "nope.csv")
    path = tmp_path / "data.xlsx"
    path.write_text("text\nhi\n")
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "--format")
    assert read_dataset(path, format="csv").texts == ["hi"]


def test_no_text_column(tmp_path):
    path = write_frame(pd.DataFrame({"words": TEXTS, "label": LABELS}), tmp_path / "d.csv", "csv")
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "'words'", "--text-column")


@pytest.mark.parametrize("kwargs, wrong, near", [
    ({"text_column": "txt"}, "'txt'", "'text'"),
    ({"label_column": "lable"}, "'lable'", "'label'"),
    ({"id_column": "idd"}, "'idd'", "'id'"),
])
def test_misnamed_column_suggests_the_near_name(tmp_path, kwargs, wrong, near):
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "text": TEXTS, "label": LABELS})
    path = write_frame(frame, tmp_path / "d.csv", "csv")
    with pytest.raises(ClsmapError) as info:
        read_dataset(path, **kwargs)
    one_line_error(info, str(path), wrong, f"did you mean {near}")


@pytest.mark.parametrize("blank", ["", "   "])
def test_empty_text_names_file_row_and_column(tmp_path, blank):
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["a", "b", blank, "d"], "label": LABELS}).to_csv(path, index=False)
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "row 3 ", "'text'", "empty text")


def test_missing_label_names_row_and_column(tmp_path):
    frame = pd.DataFrame({"text": TEXTS, "label": ["ham", np.nan, "spam", "ham"]})
    with pytest.raises(ClsmapError) as info:
        read_dataset(frame)
    one_line_error(info, "<DataFrame>", "row 2 ", "'label'")
    path = tmp_path / "d.csv"
    path.write_text("text,label\na,ham\nb,spam\nc,\n")
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "row 3 ", "'label'")
    assert read_dataset(path, label_column=False).texts == ["a", "b", "c"]


def test_fractional_label_is_refused():
    with pytest.raises(ClsmapError) as info:
        read_dataset(pd.DataFrame({"text": ["a", "b"], "label": [1.0, 1.5]}))
    one_line_error(info, "row 2 ", "'label'")


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_empty_file(tmp_path, fmt):
    path = tmp_path / f"empty.{fmt}"
    path.write_bytes(b"")
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "empty")


def test_header_only_file(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("text,label\n")
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "no data rows")


def test_duplicate_ids_name_both_rows(tmp_path):
    path = write_frame(pd.DataFrame({"id": ["a", "b", "a", "c"], "text": TEXTS, "label": LABELS}),
                       tmp_path / "d.csv", "csv")
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "'a'", "rows 1 and 3", "--no-ids")
    assert read_dataset(path, id_column=False).ids == ["0", "1", "2", "3"]


def test_jsonl_bad_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": "ham"}\n\n{"text": "b", "label": \n')
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "line 3 ", "not valid JSON")
    path.write_text('{"text": "a", "label": "ham"}\n["b", "spam"]\n')
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "line 2 ", "not an object")


def test_ambiguous_columns(tmp_path):
    path = write_frame(pd.DataFrame({"text": TEXTS, "sentence": TEXTS, "label": LABELS}), tmp_path / "d.csv", "csv")
    with pytest.raises(ClsmapError) as info:
        read_dataset(path)
    one_line_error(info, str(path), "'text'", "'sentence'", "--text-column")
    assert read_dataset(path, text_column="sentence").text_column == "sentence"
    frame = pd.DataFrame({"text": TEXTS, "label": LABELS, "target": LABELS})
    with pytest.raises(ClsmapError) as info:
        read_dataset(frame)
    one_line_error(info, "'label'", "'target'", "--label-column")


def test_bad_format_name_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="'csv'"):
        read_dataset(tmp_path / "d.csv", format="excel")


# --------------------------------------------------------------------------- round trip

# No surrogates and no control characters but newline and tab: pandas' writer leaves a lone
# carriage return unquoted (its line terminator is "\n"), so no CSV reader could get it back.
_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"),
    whitelist_characters=",\"'\n\t;|",
)
_TEXT = st.text(_CHARS, min_size=1, max_size=40).filter(lambda s: s.strip())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_TEXT, min_size=1, max_size=12), labels=st.data())
def test_csv_round_trip(tmp_path, texts, labels):
    names = labels.draw(st.lists(st.sampled_from(["ham", "spam", "스팸", "a,b"]), min_size=len(texts),
                                 max_size=len(texts)))
    path = tmp_path / "round.csv"
    pd.DataFrame({"text": texts, "label": names}).to_csv(path, index=False, encoding="utf-8")
    got = read_dataset(path)
    assert got.texts == texts
    assert got.labels == names
    assert got.ids == [str(i) for i in range(len(texts))]
