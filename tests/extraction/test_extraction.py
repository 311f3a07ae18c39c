"""Correctness invariants of clsmap.extract: every vector is the one a plain forward pass gives."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from clsmap import ClsmapError, capture, extract, open_store
from clsmap.store import schema
from clsmap.extraction import models, runner
from clsmap.extraction.batches import plan_batches
from clsmap.extraction.runner import pool
from clsmap.extraction.models import load_model

from support.tiny_models import make_texts

ATOL = 1e-5
LAYER_NORM = {
    "bert": "bert.encoder.layer[-1].output.LayerNorm",
    "electra": "electra.encoder.layer[-1].output.LayerNorm",
}


# --------------------------------------------------------------------------- reference


@functools.cache
def _reference(folder: str):
    """The checkpoint loaded independently of clsmap, in eval mode."""
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    config = AutoConfig.from_pretrained(folder)
    with_head = any(a.endswith("ForSequenceClassification") for a in config.architectures or [])
    model = (AutoModelForSequenceClassification if with_head else AutoModel).from_pretrained(folder)
    return model.eval(), AutoTokenizer.from_pretrained(folder)


def forward_one(folder, text: str):
    """Forward pass of a single, unpadded text."""
    model, tokenizer = _reference(str(folder))
    encoded = tokenizer(text, return_tensors="pt", truncation=True, max_length=128)
    with torch.no_grad():
        return model(**encoded, output_hidden_states=True, return_dict=True)


def reference_vectors(folder, texts, *, layer: int = -1, pooling: str = "cls") -> np.ndarray:
    rows = []
    for text in texts:
        hidden = forward_one(folder, text).hidden_states[layer][0]  # (t, h), no padding
        if pooling == "cls":
            rows.append(hidden[0])
        elif pooling == "mean":
            rows.append(hidden.mean(dim=0))
        elif pooling == "max":
            rows.append(hidden.max(dim=0).values)
        else:
            raise AssertionError(pooling)
    return torch.stack(rows).numpy()


def max_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    return float(np.abs(a - b).max())


def run(model, data, out, **kwargs):
    kwargs.setdefault("dtype", "float32")
    kwargs.setdefault("device", "cpu")
    kwargs.setdefault("progress", False)
    return extract(model, data, out, **kwargs)


def frame_of(texts, labels=None, ids=None) -> pd.DataFrame:
    frame = pd.DataFrame({"text": texts})
    if labels is not None:
        frame["label"] = labels
    if ids is not None:
        frame.insert(0, "id", ids)
    return frame



# --------------------------------------------------------------------------- dtypes


def cosines(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize("kind", ["bert", "electra"])
def test_float32_equals_the_plain_forward_pass(request, tmp_path, kind):
    folder = request.getfixturevalue(f"tiny_{kind}")
    texts = make_texts(50, seed=11)
    store = run(folder, frame_of(texts), tmp_path / "s", dtype="float32")
    assert store.meta["extraction"]["dtype"] == "float32"
    assert max_diff(store.vectors, reference_vectors(folder, texts)) <= 1e-4
    logits = np.stack([forward_one(folder, text).logits[0].numpy() for text in texts])
    assert max_diff(np.stack(store.frame["logits"]), logits) <= 1e-4


@pytest.mark.parametrize("kind", ["bert", "electra"])
@pytest.mark.parametrize("dtype", ["auto", "bfloat16"])
def test_bfloat16_stays_within_cosine_0999_of_the_plain_forward_pass(request, tmp_path, monkeypatch, kind, dtype):
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: True)  # auto: bf16, on any test machine
    folder = request.getfixturevalue(f"tiny_{kind}")
    texts = make_texts(50, seed=12)
    store = run(folder, frame_of(texts), tmp_path / "s", dtype=dtype)
    assert store.meta["extraction"]["dtype"] == "bfloat16"
    reference = reference_vectors(folder, texts)
    assert not np.array_equal(store.vectors, reference)  # it did run in bf16
    assert cosines(store.vectors, reference).min() >= 0.999


def test_bfloat16_runs_a_bf16_copy_of_the_weights_and_leaves_the_model_alone(tiny_bert):
    loaded = load_model(tiny_bert, device="cpu")

    def prepared(**options):
        live = options.pop("live", False)
        return runner.prepare(loaded, runner.Options(**options), classes=None, label_lookup=None, live=live)

    bf16 = prepared(dtype="bfloat16")
    assert {p.dtype for p in bf16.net.parameters()} == {torch.bfloat16} and not bf16.autocast
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}
    # a model that goes on training (the snapshots of clsmap.train) runs as it is, under autocast
    live = prepared(dtype="bfloat16", live=True)
    assert live.net is loaded.model and live.autocast
    assert prepared(dtype="bfloat16", quantize="int8").autocast
    exact = prepared(dtype="float32")
    assert exact.net is loaded.model and not exact.autocast

# --------------------------------------------------------------------------- hooks vs hidden states


@pytest.mark.parametrize("kind", ["bert", "electra"])
@pytest.mark.parametrize("variant", ["plain", "module_prefix", "data_parallel", "data_parallel_prefixed"])
def test_hooked_layernorm_token0_equals_last_hidden_state(request, kind, variant):
    model, tokenizer = _reference(str(request.getfixturevalue(f"tiny_{kind}")))
    path = LAYER_NORM[kind]
    net = model
    if variant in ("module_prefix", "data_parallel_prefixed"):
        path = "module." + path
    if variant.startswith("data_parallel"):
        net = torch.nn.DataParallel(model)
    encoded = tokenizer(make_texts(6, seed=3), padding=True, return_tensors="pt")
    with capture(net, path) as hooked, torch.no_grad():
        out = net(**encoded, output_hidden_states=True, return_dict=True)
        assert hooked.calls == 1
        hooked_cls = hooked.output[:, 0].clone()
    assert max_diff(hooked_cls, out.hidden_states[-1][:, 0]) <= ATOL


@pytest.mark.parametrize("kind", ["bert", "electra"])
@pytest.mark.parametrize("prefix", ["", "module."])
def test_extract_module_equals_extract_last_layer(request, tmp_path, labeled_csv, kind, prefix):
    folder = request.getfixturevalue(f"tiny_{kind}")
    data = labeled_csv(30)
    by_module = run(folder, data, tmp_path / "module", module=prefix + LAYER_NORM[kind])
    by_layer = run(folder, data, tmp_path / "layer", layer=-1)
    assert by_module.meta["extraction"]["module"] == prefix + LAYER_NORM[kind]
    assert by_module.vectors.shape == by_layer.vectors.shape == (30, 32)
    assert max_diff(by_module.vectors, by_layer.vectors) <= ATOL


# --------------------------------------------------------------------------- batch invariance


def test_vector_does_not_depend_on_batch_neighbours_or_budget(tmp_path, tiny_bert):
    target = " ".join(make_texts(1, seed=11, min_words=12, max_words=12))
    short = make_texts(30, seed=12, min_words=1, max_words=3)
    long = make_texts(30, seed=13, min_words=50, max_words=60)
    vectors = {}
    for name, others in (("short", short), ("long", long)):
        texts = others[:15] + [target] + others[15:]
        ids = [f"{name}-{i}" for i in range(len(texts))]
        ids[15] = "target"
        for budget in (64, 4096):
            store = run(tiny_bert, frame_of(texts, ids=ids), tmp_path / f"{name}-{budget}", batch_tokens=budget)
            row = int(np.flatnonzero(store.frame["id"].to_numpy() == "target")[0])
            assert store.frame["text"][row] == target
            vectors[name, budget] = store.vectors[row]
    reference = reference_vectors(tiny_bert, [target])[0]
    for key, vector in vectors.items():
        assert max_diff(vector, reference) <= ATOL, key


# --------------------------------------------------------------------------- order and values


@pytest.mark.parametrize("budget", [128, 4096])
def test_rows_keep_input_order_and_match_one_text_at_a_time(tmp_path, tiny_bert, labeled_csv, budget):
    data = labeled_csv(50, seed=5, with_id=True)
    source = pd.read_csv(data, dtype=str, keep_default_na=False)
    store = run(tiny_bert, data, tmp_path / "store", batch_tokens=budget)
    frame = store.frame
    assert frame["id"].tolist() == source["id"].tolist()
    assert frame["text"].tolist() == source["text"].tolist()
    assert frame["label"].tolist() == source["label"].tolist()
    assert frame["row"].tolist() == list(range(len(source)))
    expected = reference_vectors(tiny_bert, source["text"].tolist())
    assert max_diff(store.vectors, expected) <= ATOL
    logits = np.stack([forward_one(tiny_bert, t).logits[0].numpy() for t in source["text"]])
    assert max_diff(np.stack(frame["logits"].to_numpy()), logits) <= ATOL


def test_layer_all_equals_single_layer_runs(tmp_path, tiny_electra, labeled_csv):
    data = labeled_csv(24, seed=6)
    every = run(tiny_electra, data, tmp_path / "all", layer="all", batch_tokens=256)
    n_states = tiny_config(tiny_electra).num_hidden_layers + 1
    assert every.vector_columns == [f"layer_{i}" for i in range(n_states)]
    assert every.default_vector == f"layer_{n_states - 1}"
    texts = every.frame["text"].tolist()
    for i in range(n_states):
        single = run(tiny_electra, data, tmp_path / f"layer{i}", layer=i)
        assert single.vector_columns == ["vector"]
        assert single.meta["extraction"]["layer"] == i
        assert max_diff(every.vectors_of(f"layer_{i}"), single.vectors) <= ATOL
        assert max_diff(single.vectors, reference_vectors(tiny_electra, texts, layer=i)) <= ATOL


def tiny_config(folder):
    return _reference(str(folder))[0].config


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_mean_and_max_pooling_ignore_padding(tmp_path, tiny_bert, labeled_csv, pooling):
    data = labeled_csv(30, seed=7)
    store = run(tiny_bert, data, tmp_path / pooling, pooling=pooling)
    assert store.meta["extraction"]["pooling"] == pooling
    expected = reference_vectors(tiny_bert, store.frame["text"].tolist(), pooling=pooling)
    assert max_diff(store.vectors, expected) <= ATOL


@pytest.mark.parametrize("fixture", ["tiny_bert", "tiny_bert_encoder"])
def test_pooler_equals_bert_pooler_output(request, tmp_path, labeled_csv, fixture):
    folder = request.getfixturevalue(fixture)
    data = labeled_csv(20, seed=8)
    store = run(folder, data, tmp_path / "pooler", pooling="pooler")
    model, tokenizer = _reference(str(folder))
    bert = model.base_model
    expected = []
    for text in store.frame["text"]:
        with torch.no_grad():
            expected.append(bert(**tokenizer(text, return_tensors="pt")).pooler_output[0].numpy())
    assert max_diff(store.vectors, np.stack(expected)) <= ATOL


def test_pooler_on_electra_is_a_clear_error(tmp_path, tiny_electra, labeled_csv):
    out = tmp_path / "pooler"
    with pytest.raises(ClsmapError, match="pooler"):
        run(tiny_electra, labeled_csv(10), out, pooling="pooler")
    assert not out.exists()


# --------------------------------------------------------------------------- predictions


def test_probabilities_predictions_and_correctness(tmp_path, tiny_bert, labeled_csv):
    store = run(tiny_bert, labeled_csv(40, seed=9), tmp_path / "store")
    frame = store.frame
    assert store.classes == ["ham", "spam"]
    prob = np.stack(frame["prob"].to_numpy())
    logits = np.stack(frame["logits"].to_numpy())
    assert prob.shape == logits.shape == (40, 2)
    assert np.all(prob >= 0)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, atol=1e-6)
    assert (frame["pred_id"].to_numpy() == logits.argmax(axis=1)).all()
    assert (frame["pred_id"].to_numpy() == prob.argmax(axis=1)).all()
    assert frame["pred"].tolist() == [store.classes[i] for i in logits.argmax(axis=1)]
    np.testing.assert_allclose(frame["confidence"].to_numpy(dtype=np.float64), prob.max(axis=1), atol=1e-6)
    assert frame["correct"].notna().all()
    assert frame["correct"].astype(bool).tolist() == (frame["pred"] == frame["label"]).tolist()
    assert store.accuracy == pytest.approx((frame["pred"] == frame["label"]).mean())


def test_encoder_without_head_keeps_labels_and_has_no_predictions(tmp_path, tiny_bert_encoder, labeled_csv):
    data = labeled_csv(20, seed=10)
    store = run(tiny_bert_encoder, data, tmp_path / "store")
    frame = store.frame
    assert store.classes is None
    assert frame["label"].tolist() == pd.read_csv(data)["label"].tolist()
    for column in ("pred", "pred_id", "confidence", "correct", "prob", "logits"):
        assert frame[column].isna().all(), column
    assert not store.has_predictions and store.has_labels
    assert store.accuracy is None
    assert max_diff(store.vectors, reference_vectors(tiny_bert_encoder, frame["text"].tolist())) <= ATOL


@pytest.mark.parametrize("fixture, classes", [("tiny_electra", ["0", "1"]), ("tiny_bert", ["ham", "spam"])])
def test_integer_labels_compare_by_class_index(request, tmp_path, fixture, classes):
    folder = request.getfixturevalue(fixture)
    labels = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0]
    data = frame_of(make_texts(len(labels), seed=14), labels=labels)
    store = run(folder, data, tmp_path / "store")
    frame = store.frame
    assert store.classes == classes
    assert frame["label"].tolist() == [str(x) for x in labels]
    assert set(frame["pred"]) <= set(classes)
    assert frame["correct"].notna().all()
    expected = frame["pred_id"].to_numpy() == np.asarray(labels)
    assert frame["correct"].astype(bool).tolist() == expected.tolist()


def test_labels_unknown_to_the_model_leave_correct_empty(tmp_path, tiny_bert):
    data = frame_of(make_texts(6, seed=15), labels=["ham", "spam", "eggs", "ham", "eggs", "spam"])
    frame = run(tiny_bert, data, tmp_path / "store").frame
    unknown = frame["label"] == "eggs"
    assert frame.loc[unknown, "correct"].isna().all()
    assert frame.loc[~unknown, "correct"].notna().all()
    assert frame["pred"].notna().all()


# --------------------------------------------------------------------------- resume


def _parts(out):
    return sorted(p.name for p in (out / "vectors").iterdir())


def test_interrupted_run_resumes_to_the_same_store(tmp_path, tiny_bert, labeled_csv, monkeypatch):
    monkeypatch.setattr(schema, "PART_BYTES", 1)  # parts of the minimum 256 rows
    data = labeled_csv(700, seed=16, max_words=20, with_id=True)
    out = tmp_path / "resumed"
    real_part_table = runner.part_table
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args[0].column("row")[0].as_py())  # the first row of the part
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_part_table(*args, **kwargs)

    monkeypatch.setattr(runner, "part_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_bert, data, out, batch_tokens=512)
    assert _parts(out) == ["part-000000.parquet"]  # no half-written part, no temporary file
    with pytest.raises(ClsmapError, match="incomplete"):
        open_store(out)
    partial = open_store(out, allow_partial=True)
    source_ids = pd.read_csv(data, dtype=str)["id"].tolist()
    assert partial.meta["part_rows"] == 256
    assert partial.frame["id"].tolist() == source_ids[:256]
    first = out / "vectors" / "part-000000.parquet"
    first_bytes, first_stat = first.read_bytes(), first.stat()

    calls.clear()
    monkeypatch.setattr(runner, "part_table",
                        lambda *a, **k: (calls.append(a[0].column("row")[0].as_py()), real_part_table(*a, **k))[1])
    resumed = run(tiny_bert, data, out, batch_tokens=512)
    assert calls == [256, 512]  # only the missing parts were extracted
    assert first.read_bytes() == first_bytes
    assert (first.stat().st_ino, first.stat().st_mtime_ns) == (first_stat.st_ino, first_stat.st_mtime_ns)
    assert _parts(out) == [f"part-{k:06d}.parquet" for k in range(3)]

    whole = run(tiny_bert, data, tmp_path / "whole", batch_tokens=512)
    assert resumed.meta["complete"] is True
    assert resumed.frame["id"].tolist() == source_ids == whole.frame["id"].tolist()
    assert not resumed.frame["id"].duplicated().any()
    assert resumed.frame["row"].tolist() == list(range(700))
    assert max_diff(resumed.vectors, whole.vectors) <= ATOL
    assert resumed.frame["pred"].tolist() == whole.frame["pred"].tolist()


def test_rerun_of_a_finished_store_changes_nothing(tmp_path, tiny_bert, labeled_csv):
    data = labeled_csv(20)
    out = tmp_path / "store"
    first = run(tiny_bert, data, out)
    stats = {p.name: p.stat().st_mtime_ns for p in (out / "vectors").iterdir()}
    again = run(tiny_bert, data, out)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "vectors").iterdir()} == stats
    assert again.meta["created"] == first.meta["created"]
    assert max_diff(again.vectors, first.vectors) == 0


def test_rerun_with_other_settings_needs_overwrite(tmp_path, tiny_bert, labeled_csv):
    data = labeled_csv(20)
    out = tmp_path / "store"
    cls_store = run(tiny_bert, data, out)
    with pytest.raises(ClsmapError, match="--overwrite") as info:
        run(tiny_bert, data, out, pooling="mean")
    assert "pooling" in str(info.value)
    kept = open_store(out)
    assert kept.meta["extraction"]["pooling"] == "cls"
    assert max_diff(kept.vectors, cls_store.vectors) == 0

    replaced = run(tiny_bert, data, out, pooling="mean", overwrite=True)
    assert replaced.meta["extraction"]["pooling"] == "mean"
    assert open_store(out).meta["extraction"]["pooling"] == "mean"
    expected = reference_vectors(tiny_bert, replaced.frame["text"].tolist(), pooling="mean")
    assert max_diff(replaced.vectors, expected) <= ATOL


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("layer", [3, 7, -4])
def test_layer_out_of_range_names_the_range(tmp_path, tiny_bert, labeled_csv, layer):
    with pytest.raises(ClsmapError, match=r"out of range") as info:
        run(tiny_bert, labeled_csv(5), tmp_path / "store", layer=layer)
    message = str(info.value)
    assert "3 hidden states" in message and "1-2" in message
    assert "\n" not in message


def test_bad_module_path_lists_nearest_names(tmp_path, tiny_bert, labeled_csv):
    with pytest.raises(ClsmapError, match="nearest valid names") as info:
        run(tiny_bert, labeled_csv(5), tmp_path / "store", module="bert.encoder.layer[-1].output.LayerNrom")
    assert "bert.encoder.layer.1.output.LayerNorm" in str(info.value)


def test_bad_module_path_leaves_no_store_in_the_way(tmp_path, tiny_bert, labeled_csv):
    """A typo in --module must not leave a store behind that blocks the corrected command."""
    data, out = labeled_csv(5), tmp_path / "store"
    with pytest.raises(ClsmapError):
        run(tiny_bert, data, out, module="bert.encoder.layer[-1].output.LayerNrom")
    store = run(tiny_bert, data, out, module=LAYER_NORM["bert"])
    assert len(store) == 5


def test_unknown_pooling_lists_the_allowed_set(tmp_path, tiny_bert, labeled_csv):
    with pytest.raises(ValueError, match="pooling") as info:
        run(tiny_bert, labeled_csv(5), tmp_path / "store", pooling="avg")
    for name in runner.POOLINGS:
        assert repr(name) in str(info.value)
    assert not (tmp_path / "store").exists()


# --------------------------------------------------------------------------- pure helpers


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 600), max_size=300),
    budget=st.integers(1, 5000),
    max_batch=st.integers(1, 600),
)
def test_plan_batches_partitions_rows_within_budget(lengths, budget, max_batch):
    batches = plan_batches(lengths, token_budget=budget, max_batch_size=max_batch)
    flat = np.concatenate(batches) if batches else np.array([], dtype=np.int64)
    assert sorted(flat.tolist()) == list(range(len(lengths)))  # every row exactly once
    assert all(len(b) >= 1 for b in batches)
    ordered = [lengths[i] for i in flat]
    assert ordered == sorted(ordered, reverse=True)  # longest first
    for batch in batches:
        assert len(batch) <= max_batch
        padded = len(batch) * max(max(lengths[i] for i in batch), 1)
        assert padded <= budget or len(batch) == 1


@st.composite
def hidden_and_mask(draw):
    b, t, h = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 5))
    hidden = draw(hnp.arrays(np.float32, (b, t, h), elements=st.floats(-1e3, 1e3, width=32)))
    real = draw(st.lists(st.integers(1, t), min_size=b, max_size=b))
    mask = np.array([[1] * n + [0] * (t - n) for n in real], dtype=np.int64)
    return hidden, mask


@settings(max_examples=100, deadline=None)
@given(case=hidden_and_mask(), junk=st.floats(-1e4, 1e4, width=32))
def test_pool_matches_a_per_row_computation_and_ignores_padding(case, junk):
    hidden, mask = case
    h, m = torch.from_numpy(hidden), torch.from_numpy(mask)
    scrambled = h.masked_fill(~m.bool().unsqueeze(-1), junk)  # padding values must not matter
    for how in ("cls", "mean", "max"):
        got = pool(h, m, how).numpy()
        assert got.shape == (hidden.shape[0], hidden.shape[2])
        assert max_diff(got, pool(scrambled, m, how).numpy()) <= 1e-6 * (1 + np.abs(hidden).max())
        for i, row in enumerate(hidden):
            real = row[mask[i] == 1]
            expected = {"cls": row[0], "mean": real.astype(np.float64).mean(axis=0), "max": real.max(axis=0)}[how]
            assert max_diff(got[i], expected) <= 1e-5 * (1 + np.abs(real).max())


def test_pool_passes_2d_through_and_rejects_unknown():
    flat = torch.randn(3, 4)
    assert pool(flat, torch.ones(3, 1), "mean") is flat
    with pytest.raises(ValueError):
        pool(torch.randn(2, 3, 4), torch.ones(2, 3), "pooler")
