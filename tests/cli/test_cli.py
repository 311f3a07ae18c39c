"""The command line: the whole pipeline on a tiny model, and one-line errors for user mistakes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

import pandas as pd
import pytest

import clsmap
from clsmap.cli import build_parser, main
from clsmap.cli.commands import HANDLERS


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clsmap.cli", *args], capture_output=True, text=True, timeout=300)


def test_map_runs_the_whole_pipeline(tiny_bert, labeled_csv, tmp_path, monkeypatch, capfd):
    data = labeled_csv(60)
    out = tmp_path / "out"
    scratch = tmp_path / "scratch"  # every temporary folder of the run lands here
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert main(["map", str(tiny_bert), str(data), "-o", str(out), "--dtype", "float32"]) == 0
    store = clsmap.open_store(out)
    assert len(store) == 60
    assert store.projection is not None and store.projection[["x", "y"]].notna().all().all()
    assert (out / "map.png").stat().st_size > 10_000
    assert (out / "map.svg").exists()
    captured = capfd.readouterr()
    log = "".join((captured.out + captured.err).split())  # rich wraps long paths over lines
    assert "".join(str(out).split()) + "/map.png" in log and "report.html" in log
    assert "".join(str(scratch).split()) not in log  # the log names the files written, never a temporary folder


def _options(parser: argparse.ArgumentParser) -> dict[str, list[argparse.Action]]:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    return {name: [a for a in sub._actions if a.option_strings and a.dest != "help"]
            for name, sub in commands.items()}


def test_help_shows_every_default():
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command, actions in _options(build_parser()).items():
        formatter = commands[command].formatter_class(prog=f"clsmap {command}")
        for action in actions:
            shown = formatter._get_help_string(action) % {"default": action.default}
            assert "default" in shown, f"clsmap {command} {action.option_strings[0]}: {shown!r} names no default"
    assert "passes over the training rows (default: 3)" in " ".join(commands["train"].format_help().split())


_DATA = {"--text-column", "--label-column", "--id-column", "--no-ids", "--format", "--encoding"}
_EXTRACT = {"--layer", "--module", "--pooling", "--max-length", "--batch-tokens", "--device", "--dtype", "--quantize",
            "--trust-remote-code", "--allow-pickle", "--overwrite", "--backend", "--ray-address", "--num-workers",
            "--gpus-per-worker", "--cpus-per-worker", "--ray-num-cpus"}
_PROJECT = {"--method", "--seed", "--n-neighbors", "--max-fit"}

#: every command's positional arguments and flags (their longest spelling): a refactor of the parser
#: may not drop or rename one
FLAGS = {
    "map": (["model", "data"], {"--out", "--no-labels", "--split-column"} | _DATA | _EXTRACT | _PROJECT),
    "extract": (["model", "data"], {"--out", "--no-labels", "--split-column"} | _DATA | _EXTRACT),
    "project": (["store"], {"--column"} | _PROJECT),
    "plot": (["store"], {"--out", "--column", "--title", "--split"}),
    "view": (["store"], {"--out", "--column", "--max-text-chars", "--theme", "--title", "--neighbours"}),
    "analyze": (["store"], {"--column", "--k", "--probs", "--top", "--seed"}),
    "report": (["store"], {"--out", "--column", "--probs", "--top", "--seed"}),
    "export": (["store"], {"--to", "--out", "--column"}),
    "compare": (["store_a", "store_b"], {"--out", "--column-a", "--column-b", "--alignment", "--k", "--top",
                                         "--max-text-chars", "--seed"}),
    "train": (["model", "data"], {"--out", "--epochs", "--batch-size", "--learning-rate", "--max-length",
                                  "--validation", "--seed", "--device", "--dtype", "--trust-remote-code",
                                  "--allow-pickle", "--overwrite", "--map-every", "--map-train-rows",
                                  "--keep-checkpoints"} | _DATA),
    "dynamics": (["run"], {"--out", "--seed", "--max-text-chars", "--theme", "--max-rows", "--no-animation"}),
    "demo": ([], {"--out", "--model", "--epochs", "--train-rows", "--dtype"}),
}


def test_every_command_keeps_its_flags():
    parser = build_parser()
    assert {s for a in parser._actions for s in a.option_strings} == {"-h", "--help", "--version", "-v", "--verbose",
                                                                     "-q", "--quiet"}
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert list(commands) == list(FLAGS)
    for name, (positionals, flags) in FLAGS.items():
        actions = commands[name]._actions
        assert [a.dest for a in actions if not a.option_strings] == positionals, name
        assert {a.option_strings[-1] for a in actions if a.option_strings and a.dest != "help"} == flags, name
    assert {"-o", "--out"} <= {s for a in commands["map"]._actions for s in a.option_strings}
    for name in FLAGS:  # the dispatch table has a handler for each command
        assert callable(HANDLERS[name]), name


def test_train_takes_no_no_labels():
    actions = _options(build_parser())
    assert "--no-labels" in {s for a in actions["map"] for s in a.option_strings}
    assert "--no-labels" not in {s for a in actions["train"] for s in a.option_strings}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "m", "d.csv", "-o", "out", "--no-labels"])


def test_steps_one_by_one(tiny_electra, labeled_csv, tmp_path):
    data = labeled_csv(40)
    out = tmp_path / "s"
    assert main(["-q", "extract", str(tiny_electra), str(data), "-o", str(out), "--layer", "all",
                 "--pooling", "mean", "--dtype", "float32"]) == 0
    assert main(["-q", "project", str(out), "--method", "pca", "--column", "all"]) == 0
    assert main(["-q", "plot", str(out), "-o", str(tmp_path / "fig"), "--column", "layer_1"]) == 0
    assert (tmp_path / "fig.png").exists()
    store = clsmap.open_store(out)
    assert all(store.projection_of(c) is not None for c in store.vector_columns)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda df: df.rename(columns={"text": "body_txt"}), "no text column"),
        (lambda df: df.assign(label=[None] + df["label"].tolist()[1:]), "row 1 has no label"),
        (lambda df: df.assign(text=df["text"].tolist()[:4] + [""] + df["text"].tolist()[5:]),
         "row 5 has an empty text"),
    ],
)
def test_bad_data_gives_one_line_error(tiny_bert, labeled_csv, tmp_path, mutate, expected):
    data = tmp_path / "bad.csv"
    mutate(pd.read_csv(labeled_csv(20))).to_csv(data, index=False)
    result = run_cli("extract", str(tiny_bert), str(data), "-o", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    err = [line for line in result.stderr.splitlines() if line.startswith("clsmap: error")]
    assert len(err) == 1 and expected in err[0] and str(data) in err[0]


def _one_error_line(capsys, *args: str) -> str:
    """Run the command in this process (the console entry point is exercised by the tests above);
    it must exit with 2 and say one line on stderr."""
    capsys.readouterr()
    assert main(["-q", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("clsmap: error: ") and "Traceback" not in err[0], err
    return err[0]


def test_bad_options_give_one_line_errors(tiny_bert, labeled_csv, tmp_path, capsys):
    data = str(labeled_csv(10))
    cases = [
        (["--layer", "9"], "out of range"),
        (["--module", "bert.encoder.layer[0].outptu"], "nearest valid names"),
        (["--max-length", "100000"], "exceeds the model's limit"),
    ]
    for extra, expected in cases:
        assert expected in _one_error_line(capsys, "extract", str(tiny_bert), data, "-o", str(tmp_path / "o"), *extra)
    assert not (tmp_path / "o" / "vectors").exists()  # refused before anything was written


def test_missing_model_folder_and_weights(tmp_path, labeled_csv, capsys):
    data = str(labeled_csv(10))
    empty = tmp_path / "model"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    assert "has no weights" in _one_error_line(capsys, "extract", str(empty), data, "-o", str(tmp_path / "o"))
    assert "no such folder" in _one_error_line(capsys, "extract", str(tmp_path / "nope"), data, "-o",
                                               str(tmp_path / "o"))


def test_hub_id_offline_fails_clearly(tmp_path, labeled_csv, capsys):
    # HF_HUB_OFFLINE=1 for the whole test session (conftest.py)
    assert "not a local folder" in _one_error_line(capsys, "extract", "someone/not-a-local-model",
                                                   str(labeled_csv(10)), "-o", str(tmp_path / "o"))


def test_train_then_map_the_result(tiny_bert_encoder, labeled_csv, tmp_path):
    data = str(labeled_csv(80))
    model_dir = tmp_path / "clf"
    assert main(["-q", "train", str(tiny_bert_encoder), data, "-o", str(model_dir), "--epochs", "2",
                 "--batch-size", "16", "--dtype", "float32"]) == 0
    assert (model_dir / "config.json").exists() and (model_dir / "clsmap_train.json").exists()
    from transformers import AutoModelForSequenceClassification

    reloaded = AutoModelForSequenceClassification.from_pretrained(model_dir)
    assert set(reloaded.config.id2label.values()) == {"ham", "spam"}
    out = tmp_path / "map"
    assert main(["-q", "map", str(model_dir), data, "-o", str(out), "--method", "pca", "--dtype", "float32"]) == 0
    store = clsmap.open_store(out)
    assert store.has_predictions and set(store.frame["pred"]) <= {"ham", "spam"}
    assert store.frame["correct"].notna().all()
    # the training record puts the rows the model trained on and those it held out in two splits
    record = json.loads((model_dir / "clsmap_train.json").read_text())
    assert store.splits == ["train", "validation"]
    assert store.frame.loc[store.frame["split"] == "validation", "id"].tolist() == sorted(record["val_ids"], key=int)
    # the refusal to overwrite a trained model
    assert main(["-q", "train", str(tiny_bert_encoder), data, "-o", str(model_dir)]) == 2


def test_dynamics_options_give_one_line_errors(tiny_bert, labeled_csv, tmp_path, capsys):
    data = str(labeled_csv(10))
    for value in ("0", "every", "-3"):
        assert "--map-every" in _one_error_line(capsys, "train", str(tiny_bert), data, "-o", str(tmp_path / "m"),
                                                "--map-every", value)
    assert "no training dynamics here" in _one_error_line(capsys, "dynamics", str(tmp_path), "-o", str(tmp_path / "v"))
    assert not (tmp_path / "m").exists() and not (tmp_path / "v").exists()
