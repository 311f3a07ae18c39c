"""A folder saved by datasets' save_to_disk reads like a file (needs the 'datasets' extra)."""

from __future__ import annotations

import pytest

import clsmap

datasets = pytest.importorskip("datasets")


def test_reads_a_saved_dataset(tmp_path):
    rows = {"sentence": ["a cat", "a dog", "an apple"], "target": [0, 1, 0], "id": ["x", "y", "z"]}
    datasets.Dataset.from_dict(rows).save_to_disk(tmp_path / "ds")
    data = clsmap.read_dataset(tmp_path / "ds")
    assert data.texts == rows["sentence"] and data.labels == ["0", "1", "0"] and data.ids == rows["id"]
    assert data.labels_are_integers and data.text_column == "sentence" and data.label_column == "target"


def test_a_dataset_dict_asks_for_a_split(tmp_path):
    split = datasets.Dataset.from_dict({"text": ["a"], "label": [1]})
    datasets.DatasetDict({"train": split, "test": split}).save_to_disk(tmp_path / "dd")
    with pytest.raises(clsmap.ClsmapError, match="splits .*train"):
        clsmap.read_dataset(tmp_path / "dd")
