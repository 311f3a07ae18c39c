"""Training that says when it failed: baselines beside every epoch, the best epoch kept, and a warning
(in the log, the train record, the map and the report) for a model that predicts one class."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from support.tiny_models import make_texts
from hypothesis import given, settings
from hypothesis import strategies as st

import clsmap
from clsmap.io import TRAIN_RECORD
from clsmap.render import map_html, render_model, report
from clsmap.store import synthetic_store
from clsmap.training import TrainOptions, split_indices
from clsmap.training.baselines import bag_of_words_baseline, majority_baseline
from clsmap.training.checks import prediction_warnings

ONE_CLASS = "predicts one class"
NO_BETTER = "no better than always answering the majority class"


def _warned(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("clsmap")]


# --------------------------------------------------------------------------- the checks themselves

def test_prediction_warnings_name_the_failure():
    labels = ["ham", "spam"] * 20
    one = prediction_warnings(["ham"] * 40, labels, what="validation texts")
    assert len(one) == 2 and "'ham'" in one[0] and "all 40 validation texts" in one[0]
    assert NO_BETTER in one[1] and "50.0%" in one[1]
    assert prediction_warnings(labels, labels) == []
    # one predicted class is no failure when every label is that class, or for a few unlabeled rows
    assert prediction_warnings(["ham"] * 40, ["ham"] * 40) == []
    assert prediction_warnings(["ham"] * 10) == []
    assert ONE_CLASS in prediction_warnings(["ham"] * 100)[0]
    # two classes predicted, but no better than the majority class of imbalanced labels
    skewed = ["ham"] * 36 + ["spam"] * 4
    worse = prediction_warnings(["spam"] * 4 + ["ham"] * 36, skewed)
    assert len(worse) == 1 and NO_BETTER in worse[0] and "'ham' (90.0%)" in worse[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("abc") | st.none()), min_size=2, max_size=60))
def test_prediction_warnings_agree_with_their_definitions(rows):
    preds = [p for p, _ in rows]
    labels = [label for _, label in rows]
    said = prediction_warnings(preds, labels)
    known = [(p, q) for p, q in rows if q is not None]
    distinct_labels = {q for _, q in known}
    one_class = len(set(preds)) == 1 and len(distinct_labels) >= 2
    assert any("predicts one class" in s for s in said) == one_class
    if len(distinct_labels) >= 2:
        accuracy = np.mean([p == q for p, q in known])
        majority = pd.Series([q for _, q in known]).value_counts(normalize=True).iloc[0]
        assert any(NO_BETTER in s for s in said) == (accuracy <= majority + 1e-12)
    else:
        assert not any(NO_BETTER in s for s in said)


def test_baselines_on_a_split():
    rng = np.random.default_rng(0)
    words = {0: "good fine great nice", 1: "bad awful poor grim"}
    y = rng.integers(0, 2, 300)
    texts = [" ".join(rng.choice(words[k].split(), 4)) + " " + " ".join(rng.choice(["the", "a", "of"], 3))
             for k in y]
    train, val = split_indices([str(k) for k in y], 0.2, 0)
    majority = majority_baseline(y[train], y[val], ["neg", "pos"])
    assert majority["class"] in ("neg", "pos") and 0.3 < majority["val_accuracy"] < 0.7
    bow = bag_of_words_baseline([texts[i] for i in train], y[train], [texts[i] for i in val], y[val])
    assert bow["val_accuracy"] >= 0.95 and bow["fit_rows"] == len(train) and bow["seconds"] >= 0
    # Korean: words carry their endings, the character n-grams still find the stems
    ko = {0: ["좋아요", "좋습니다", "좋은데"], 1: ["싫어요", "싫습니다", "싫은데"]}
    ko_texts = [f"{rng.choice(ko[k])} 오늘은 {rng.choice(['정말', '너무', '조금'])}" for k in y]
    bow_ko = bag_of_words_baseline([ko_texts[i] for i in train], y[train], [ko_texts[i] for i in val], y[val])
    assert bow_ko["val_accuracy"] >= 0.95


# --------------------------------------------------------------------------- train()

@pytest.fixture
def same_text_csv(tmp_path):
    """Every text the same, labels alternating: any model predicts one class for all of them."""
    path = tmp_path / "same.csv"
    pd.DataFrame({"text": ["the cat and the dog"] * 40, "label": ["ham", "spam"] * 20}).to_csv(path, index=False)
    return path


def test_a_model_that_predicts_one_class_is_called_out_everywhere(tiny_bert_encoder, same_text_csv, tmp_path,
                                                                  caplog):
    caplog.set_level(logging.INFO, logger="clsmap")
    result = clsmap.train(tiny_bert_encoder, same_text_csv, tmp_path / "clf", epochs=2, batch_size=8,
                          learning_rate=1e-3, validation=0.25, dtype="float32", progress=False)
    # the log: every epoch beside its baselines, then one warning line per failure
    epochs = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert len(epochs) == 2
    assert all("majority class 0.5000" in line and "bag of words" in line and ONE_CLASS in line for line in epochs)
    warned = _warned(caplog)
    assert len(warned) == 2 and ONE_CLASS in warned[0] and NO_BETTER in warned[1]
    assert all("\n" not in line for line in warned)
    # the result and the record
    assert result.warnings == warned
    record = json.loads((tmp_path / "clf" / TRAIN_RECORD).read_text())
    assert record["warnings"] == warned
    assert record["baselines"]["majority"]["val_accuracy"] == pytest.approx(0.5)
    assert record["baselines"]["bag_of_words"]["val_accuracy"] is not None
    assert record["best_epoch"] in (1, 2) and record["val_accuracy"] == pytest.approx(0.5)

    # the map and the report of that model say the same
    store = clsmap.extract(tmp_path / "clf", same_text_csv, tmp_path / "store", dtype="float32", progress=False)
    clsmap.project(store, method="pca")
    model = render_model(store)
    assert len(model.warnings) == 2 and ONE_CLASS in model.warnings[0]
    assert "all 40 rows of this map" in model.warnings[0]
    assert any(ONE_CLASS in fact for fact in model.title.facts)  # the figures' titles
    page = map_html(store)
    assert page.count('<div id="warnings" role="alert">') == 1 and "predicts one class" in page
    html = report(store).read_text(encoding="utf-8")
    assert html.count('<div class="warnings" role="alert">') == 1 and ONE_CLASS in html
    assert json.loads((store.path / "report.json").read_text())["warnings"] == model.warnings


@pytest.fixture
def keyword_csv(tmp_path):
    """Each label has its own words: a model learns it within a few epochs."""
    rng = np.random.default_rng(1)
    texts, labels = [], []
    for i in range(120):
        label = ["ham", "spam"][i % 2]
        cue = ["meeting report project team", "free money offer click win"][i % 2].split()
        texts.append(" ".join(list(rng.choice(cue, 3)) + make_texts(1, seed=i, max_words=4)))
        labels.append(label)
    path = tmp_path / "keywords.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def test_a_model_that_learns_gets_no_warning(tiny_bert_encoder, keyword_csv, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="clsmap")
    result = clsmap.train(tiny_bert_encoder, keyword_csv, tmp_path / "clf", epochs=3, batch_size=8,
                          learning_rate=2e-3, validation=0.25, dtype="float32", progress=False)
    assert result.val_accuracy >= 0.9 and result.warnings == [] and _warned(caplog) == []
    assert result.baselines["bag_of_words"]["val_accuracy"] >= 0.9
    store = clsmap.extract(result.path, keyword_csv, tmp_path / "store", dtype="float32", progress=False)
    clsmap.project(store, method="pca")
    assert render_model(store).warnings == []
    assert 'id="warnings"' not in map_html(store)


def test_the_best_epoch_is_the_one_saved(tiny_bert_encoder, keyword_csv, tmp_path):
    """Validation labels opposite to the training rule: the more the model learns, the worse it does on
    them, so an early epoch is the best; the saved weights must be that epoch's, not the last."""
    frame = pd.read_csv(keyword_csv)
    frame.loc[0, "label"] = "rare"  # one row of a third class: the split is plain random, blind to labels
    _, val = split_indices(list(frame["label"]), 0.25, 0)
    frame.loc[val, "label"] = frame.loc[val, "label"].replace({"ham": "spam", "spam": "ham"})
    assert (split_indices(list(frame["label"]), 0.25, 0)[1] == val).all()
    data = tmp_path / "flipped.csv"
    frame.to_csv(data, index=False)
    result = clsmap.train(tiny_bert_encoder, data, tmp_path / "clf", epochs=3, batch_size=8, learning_rate=4e-3,
                          validation=0.25, dtype="float32", progress=False)
    accuracies = [h["val_accuracy"] for h in result.history]
    assert accuracies[-1] < max(accuracies), accuracies  # the test means something only then
    assert result.best_epoch == int(np.argmax(accuracies)) + 1 and result.val_accuracy == max(accuracies)
    record = json.loads((tmp_path / "clf" / TRAIN_RECORD).read_text())
    assert record["best_epoch"] == result.best_epoch and record["val_accuracy"] == max(accuracies)
    # the saved model scores the best epoch's accuracy on the validation rows
    store = clsmap.extract(result.path, data, tmp_path / "store", dtype="float32", progress=False)
    held_out = store.frame.set_index("id").loc[result.val_ids]
    assert float((held_out["pred"] == held_out["label"]).mean()) == pytest.approx(max(accuracies))


def test_without_a_validation_split_nothing_is_claimed(tiny_bert_encoder, same_text_csv, tmp_path):
    result = clsmap.train(tiny_bert_encoder, same_text_csv, tmp_path / "clf", epochs=1, batch_size=8,
                          validation=0.0, dtype="float32", progress=False)
    assert result.val_accuracy is None and result.baselines == {} and result.warnings == []
    assert result.best_epoch == 1


def test_an_unknown_keyword_is_an_error_naming_it(tmp_path):
    with pytest.raises(TypeError, match="epoch_count"):  # before anything is read or loaded
        clsmap.train("no-such-model", tmp_path / "no-such.csv", tmp_path / "clf", epochs=2, epoch_count=2)
    with pytest.raises(TypeError, match="polling"):
        clsmap.extract("no-such-model", tmp_path / "no-such.csv", tmp_path / "store", polling="mean")
    with pytest.raises(ValueError, match="num_workers only apply with backend='ray'"):
        clsmap.extract("no-such-model", tmp_path / "no-such.csv", tmp_path / "store", num_workers=2)
    with pytest.raises(ValueError, match="'epochs' parameter of train"):
        clsmap.train("no-such-model", tmp_path / "no-such.csv", tmp_path / "clf", options=TrainOptions(epochs=0))


def test_options_and_keywords_are_the_same_run(tiny_bert_encoder, same_text_csv, tmp_path):
    keywords = dict(epochs=1, batch_size=8, validation=0.25, dtype="float32", progress=False)
    by_keywords = clsmap.train(tiny_bert_encoder, same_text_csv, tmp_path / "a", **keywords)
    # keywords go over the options given
    by_options = clsmap.train(tiny_bert_encoder, same_text_csv, tmp_path / "b",
                              options=TrainOptions(**{**keywords, "epochs": 3}), epochs=1)
    assert by_options.history == by_keywords.history and by_options.val_ids == by_keywords.val_ids
    assert by_options.params == by_keywords.params


# --------------------------------------------------------------------------- the map and the report

def _synthetic(folder, preds, n=60):
    rng = np.random.default_rng(0)
    labels = ["neg", "pos"] * (n // 2)
    return synthetic_store(folder, rng.normal(size=(n, 2)), [f"text {i}" for i in range(n)], labels=labels,
                           preds=preds, confidence=np.full(n, 0.6), classes=["neg", "pos"])


def test_the_banner_comes_from_the_store_predictions(tmp_path):
    collapsed = _synthetic(tmp_path / "one", ["pos"] * 60)
    model = render_model(collapsed)
    assert [ONE_CLASS in w for w in model.warnings] == [True, False] and NO_BETTER in model.warnings[1]
    assert model.title.single_class == "pos" and "⚠ predicts one class (pos)" in model.title.text
    page = map_html(collapsed)
    banner = page[page.index('<div id="warnings"'):]
    assert banner[:banner.index("</div>")].count("<p>⚠ ") == 2
    assert '"single_class"' not in page  # the title's facts carry it; the page's meta keeps its layout

    learned = _synthetic(tmp_path / "two", ["neg", "pos"] * 30)
    assert render_model(learned).warnings == [] and render_model(learned).title.single_class is None
    assert 'id="warnings"' not in map_html(learned) and "#warnings" not in map_html(learned)
