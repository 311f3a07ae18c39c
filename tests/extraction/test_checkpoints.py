"""Untrusted checkpoints: safetensors are preferred, pickle weights need an explicit flag."""

from __future__ import annotations

import logging
import shutil

import pytest
import torch

from clsmap import ClsmapError, train
from clsmap.extraction.models import load_model


@pytest.fixture
def pickle_only(tmp_path, tiny_bert):
    """The tiny BERT with its weights as pytorch_model.bin (a pickle) and no safetensors."""
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_bert, folder)
    model = load_model(tiny_bert).model
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return folder


def test_pickle_weights_are_refused_by_default(pickle_only):
    with pytest.raises(ClsmapError, match=r"pickle weights.*--allow-pickle"):
        load_model(pickle_only)


def test_pickle_weights_load_with_the_flag_and_a_warning(pickle_only, tiny_bert, caplog):
    with caplog.at_level(logging.WARNING, logger="clsmap"):
        loaded = load_model(pickle_only, allow_pickle=True)
    assert any("pickle" in r.getMessage() for r in caplog.records)
    reference = load_model(tiny_bert).model.state_dict()
    for name, value in loaded.model.state_dict().items():
        torch.testing.assert_close(value, reference[name])


def test_safetensors_win_over_a_pickle_beside_them(tmp_path, tiny_bert):
    folder = tmp_path / "both"
    shutil.copytree(tiny_bert, folder)
    tampered = load_model(tiny_bert).model
    with torch.no_grad():
        for p in tampered.parameters():
            p.add_(1.0)
    torch.save(tampered.state_dict(), folder / "pytorch_model.bin")
    loaded = load_model(folder, allow_pickle=True).model.state_dict()
    for name, value in load_model(tiny_bert).model.state_dict().items():
        torch.testing.assert_close(loaded[name], value)


def test_training_refuses_pickle_weights_too(pickle_only, labeled_csv, tmp_path):
    with pytest.raises(ClsmapError, match="--allow-pickle"):
        train(pickle_only, labeled_csv(20), tmp_path / "out", epochs=1)


def test_trust_remote_code_is_logged(tiny_bert, caplog):
    with caplog.at_level(logging.WARNING, logger="clsmap"):
        load_model(tiny_bert, trust_remote_code=True)
    assert any("remote-code" in r.getMessage() for r in caplog.records)


def test_cli_needs_the_flag_for_pickle_weights(pickle_only, labeled_csv, tmp_path):
    from clsmap.cli import main

    data = str(labeled_csv(10))
    assert main(["-q", "extract", str(pickle_only), data, "-o", str(tmp_path / "a")]) == 2
    assert not (tmp_path / "a" / "clsmap.json").exists()
    assert main(["-q", "extract", str(pickle_only), data, "-o", str(tmp_path / "b"), "--allow-pickle"]) == 0
