"""The one reader (clsmap.io): a folder of data files reads as one input, and an error names the file
and its own row; the Ray backend reads through the same functions (tests/extraction/test_ray.py compares them)."""

from __future__ import annotations

import pandas as pd
import pytest

from clsmap import ClsmapError, read_dataset
from clsmap.io import open_source


def _folder(tmp_path, parts: dict[str, pd.DataFrame], suffix: str = ".csv"):
    folder = tmp_path / "data"
    folder.mkdir()
    for name, frame in parts.items():
        if suffix == ".csv":
            frame.to_csv(folder / f"{name}{suffix}", index=False)
        else:
            frame.to_json(folder / f"{name}{suffix}", orient="records", lines=True, force_ascii=False)
    return folder


def _part(start: int, n: int, **extra) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"d{i}" for i in range(start, start + n)],
                         "text": [f"텍스트 {i}" if i % 2 else f"text {i}" for i in range(start, start + n)],
                         "label": ["a"] * n, **extra})


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_folder_of_files_reads_as_one_input_in_sorted_order(tmp_path, suffix):
    folder = _folder(tmp_path, {"part-2": _part(5, 3), "part-1": _part(0, 5), ".hidden": _part(90, 1),
                                "_SUCCESS": _part(80, 1)}, suffix)
    data = read_dataset(folder)
    assert data.ids == [f"d{i}" for i in range(8)]  # part-1 before part-2; hidden and _ files skipped
    assert data.table.column("row").to_pylist() == list(range(8))
    assert data.texts[1] == "텍스트 1" and data.labels == ["a"] * 8
    assert open_source(folder).is_folder and len(open_source(folder).files) == 2


def test_an_error_names_the_file_and_its_own_row(tmp_path):
    bad = _part(5, 4)
    bad.loc[2, "text"] = " "
    folder = _folder(tmp_path, {"a": _part(0, 5), "b": bad})
    with pytest.raises(ClsmapError) as info:
        read_dataset(folder)
    assert str(info.value) == (f"{folder}/b.csv: row 3 has an empty text in column 'text'; fill it or drop the row")


def test_an_id_in_two_files_is_refused_naming_both(tmp_path):
    folder = _folder(tmp_path, {"a": _part(0, 3), "b": _part(2, 3)})
    with pytest.raises(ClsmapError, match=rf"'d2' in column 'id' appears in {folder}/a.csv row 3 and {folder}/b.csv "
                                          "row 1"):
        read_dataset(folder)
    assert read_dataset(folder, id_column=False).ids == [str(i) for i in range(6)]


def test_folders_that_are_not_one_input_are_refused(tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    _part(0, 2).to_csv(mixed / "a.csv", index=False)
    _part(2, 2).to_parquet(mixed / "b.parquet")
    with pytest.raises(ClsmapError, match="several formats"):
        read_dataset(mixed)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(ClsmapError, match=r"not CSV, TSV, JSONL or Parquet \(suffix .txt\)"):
        read_dataset(odd)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ClsmapError, match="an empty folder"):
        read_dataset(empty)


def test_the_fingerprint_follows_the_content_of_every_file(tmp_path):
    folder = _folder(tmp_path, {"a": _part(0, 3), "b": _part(3, 3)})
    before = read_dataset(folder).fingerprint
    assert read_dataset(folder).fingerprint == before
    _part(3, 3).assign(label="b").to_csv(folder / "b.csv", index=False)
    assert read_dataset(folder).fingerprint != before
