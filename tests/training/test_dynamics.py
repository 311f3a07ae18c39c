"""Training dynamics: snapshots recorded during training (the dynamics store), cartography, aligned maps."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clsmap
from clsmap.store import open_store
from clsmap.training.dynamics import probe_rows, snapshot_steps

#: three classes, each with words of its own and a few shared ones, so that a tiny model learns them
TOPICS = {
    "animal": "cat dog bird fish".split(),
    "food": "bread apple water oil food".split(),
    "mail": "money offer click win spam mail".split(),
}
SHARED = "the a of and is it".split()


def topic_frame(n: int, *, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    names = list(TOPICS)
    labels = [names[i % len(names)] for i in range(n)]
    texts = [" ".join(rng.choice(TOPICS[label] if rng.random() < 0.6 else SHARED) for _ in range(rng.randint(3, 12)))
             for label in labels]
    return pd.DataFrame({"id": [f"t{i}" for i in range(n)], "text": texts, "label": labels})


@pytest.fixture(scope="module")
def dynamics_run(tiny_bert, tmp_path_factory):
    """A tiny model trained with snapshots every 2 steps and their checkpoints (float32)."""
    folder = tmp_path_factory.mktemp("dynamics_run")
    data = folder / "topics.csv"
    topic_frame(60).to_csv(data, index=False)
    result = clsmap.train(tiny_bert, data, folder / "model", epochs=2, batch_size=8, learning_rate=2e-3,
                          max_length=32, validation=0.25, dtype="float32", map_every=2, map_train_rows=20,
                          keep_checkpoints=True, progress=False)
    return result, data


def test_snapshot_steps_and_probe():
    assert snapshot_steps("epoch", steps_per_epoch=4, epochs=3) == [0, 4, 8, 12]
    assert snapshot_steps(5, steps_per_epoch=4, epochs=3) == [0, 5, 10, 12]
    for bad in (0, -1, "2", 1.5, True):
        with pytest.raises(ValueError, match="map_every"):
            snapshot_steps(bad, steps_per_epoch=4, epochs=1)
    rows, splits = probe_rows(np.arange(0, 100, 2), np.arange(1, 20, 2), 7, seed=0)
    assert list(rows) == sorted(rows) and len(rows) == 17
    assert splits.count("validation") == 10 and splits.count("train") == 7
    assert all((r % 2 == 1) == (s == "validation") for r, s in zip(rows, splits, strict=True))


def test_dynamics_store_holds_every_snapshot(dynamics_run):
    result, _ = dynamics_run
    store = open_store(result.dynamics["path"])
    snapshots = store.dynamics["snapshots"]
    # 45 training rows in batches of 8: 6 steps an epoch, 12 in all; a snapshot at 0, 2, ..., 12
    assert [s["step"] for s in snapshots] == list(range(0, 13, 2))
    assert result.dynamics["snapshots"] == len(snapshots)
    frame = store.frame
    n_probe = sum(store.dynamics["probe"].values())
    assert store.dynamics["probe"] == {"validation": 15, "test": 0, "train": 20}
    assert len(frame) == n_probe * len(snapshots) == len(store.vectors)
    assert list(frame["row"]) == list(range(len(frame)))
    by_snapshot = frame.groupby("snapshot")
    assert (by_snapshot["step"].nunique() == 1).all() and list(by_snapshot["step"].first()) == list(range(0, 13, 2))
    # the same texts, in the same order, with the same split, in every snapshot
    ids = frame["id"].to_numpy().reshape(len(snapshots), n_probe)
    splits = frame["split"].to_numpy().reshape(len(snapshots), n_probe)
    assert (ids == ids[0]).all() and (splits == splits[0]).all()
    assert set(ids[0][splits[0] == "validation"]) == set(result.val_ids)
    assert set(ids[0][splits[0] == "train"]) <= set(result.train_ids)
    assert np.allclose(frame["epoch"], frame["step"] / 6)
    # the validation accuracy of each epoch is that of its snapshot (no second pass over the validation rows)
    for record in result.history:
        at = frame[(frame["step"] == 6 * record["epoch"]) & (frame["split"] == "validation")]
        assert record["val_accuracy"] == pytest.approx(at["correct"].astype(bool).mean())
    # training moved the vectors and the logits between the first snapshot and the last
    vectors = store.vectors.reshape(len(snapshots), n_probe, -1)
    assert np.abs(vectors[-1] - vectors[0]).max() > 1e-3


@pytest.mark.parametrize("snapshot", [0, 3])
def test_snapshot_equals_extraction_of_its_checkpoint(dynamics_run, tmp_path, snapshot):
    """A snapshot's vectors and logits are those `clsmap extract` gives for the checkpoint of its step."""
    result, data = dynamics_run
    store = open_store(result.dynamics["path"])
    step = store.dynamics["snapshots"][snapshot]["step"]
    frame = store.frame[store.frame["snapshot"] == snapshot]
    rows = frame.index.to_numpy()
    probe = pd.read_csv(data).set_index("id").loc[frame["id"]].reset_index()
    extracted = clsmap.extract(result.path / "checkpoints" / f"step-{step:06d}", probe, tmp_path / "store",
                               dtype="float32", max_length=32, progress=False)
    assert list(extracted.frame["id"]) == list(frame["id"])
    assert np.abs(extracted.vectors - store.vectors[rows]).max() <= 1e-5
    logits = np.stack(extracted.frame["logits"].to_numpy())
    assert np.abs(logits - np.stack(frame["logits"].to_numpy())).max() <= 1e-5
    assert list(extracted.frame["pred"]) == list(frame["pred"])


def test_train_options_are_checked(tiny_bert, tmp_path):
    with pytest.raises(ValueError, match="keep_checkpoints"):
        clsmap.train(tiny_bert, topic_frame(12), tmp_path / "m", keep_checkpoints=True)
    with pytest.raises(ValueError, match="map_every"):
        clsmap.train(tiny_bert, topic_frame(12), tmp_path / "m", map_every="epochs")


# --------------------------------------------------------------------------- cartography


def test_cartography_matches_the_logged_probabilities(dynamics_run):
    from clsmap.analysis.dataset_cartography import CARTOGRAPHY_FILE, GROUPS, read_cartography, store_cartography

    result, _ = dynamics_run
    store = open_store(result.dynamics["path"])
    carto = store_cartography(store)
    assert (store.path / CARTOGRAPHY_FILE).exists()
    assert read_cartography(store.path)[["id", "confidence"]].equals(carto[["id", "confidence"]])
    # directly, from the frame: each training row's probability of its label at every snapshot after step 0
    frame = store.frame
    logged = frame[(frame["split"] == "train") & (frame["step"] > 0)].copy()
    classes = store.classes
    logged["p_label"] = [p[classes.index(label)] for p, label in zip(logged["prob"], logged["label"], strict=True)]
    logged["right"] = logged["pred"] == logged["label"]
    direct = logged.groupby("id").agg(confidence=("p_label", "mean"), variability=("p_label", lambda v: v.std(ddof=0)),
                                      correctness=("right", "mean"), snapshots=("snapshot", "nunique"))
    mine = carto.set_index("id").loc[direct.index]
    assert len(mine) == store.dynamics["probe"]["train"] == 20
    assert (mine["snapshots"] == direct["snapshots"]).all() and (direct["snapshots"] == 6).all()
    for column in ("confidence", "variability", "correctness"):
        assert np.allclose(mine[column], direct[column], atol=1e-6), column
    # the groups are the paper's selections: a third each, ambiguous first
    counts = carto["group"].value_counts()
    assert set(counts.index) <= set(GROUPS) and counts.get("ambiguous") == 7
    amb = carto["group"] == "ambiguous"
    assert carto.loc[amb, "variability"].min() >= carto.loc[~amb, "variability"].max()
    hard, easy = carto["group"] == "hard-to-learn", carto["group"] == "easy-to-learn"
    assert carto.loc[hard, "confidence"].max() < carto.loc[easy, "confidence"].min()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(2, 5), st.integers(0, 2**31 - 1))
def test_cartography_invariants(n, snapshots, classes, seed):
    from clsmap.analysis.dataset_cartography import cartography

    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(classes), size=(snapshots, n))
    labels = rng.integers(0, classes, n)
    carto = cartography(labels, probs)
    gold = probs[:, np.arange(n), labels]
    assert np.allclose(carto["confidence"], gold.mean(axis=0)) and np.allclose(carto["variability"], gold.std(axis=0))
    assert carto["variability"].between(0, 0.5).all() and carto["correctness"].between(0, 1).all()
    take = int(round(n / 3))
    groups = carto["group"]
    assert (groups == "ambiguous").sum() == take
    assert (groups == "hard-to-learn").sum() <= take and (groups == "easy-to-learn").sum() <= take
    if take and (groups != "ambiguous").any():
        assert carto.loc[groups == "ambiguous", "variability"].min() >= carto.loc[groups != "ambiguous",
                                                                                   "variability"].max()


# --------------------------------------------------------------------------- aligned maps


def _blobs(n: int = 150, d: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, d)) * 4
    labels = np.arange(n) % 3
    return centres[labels] + rng.normal(size=(n, d)), labels, centres


def test_alignment_keeps_a_space_that_does_not_change_still():
    from clsmap.analysis.alignment import compare_alignments, displacement_stats, snapshot_maps

    X, _, _ = _blobs()
    same = [X, X.copy(), X.copy()]
    kept, maps, stats = compare_alignments(same)
    assert kept == "procrustes" and stats["init"]["unchanged_median"] > 0
    assert stats[kept]["n_unchanged"] == 2 * len(X) and stats[kept]["n_changed"] == 0
    assert stats[kept]["max_unchanged"] <= 1e-5
    assert np.abs(np.diff(maps, axis=0)).max() <= 1e-5
    # the measure itself: a map that moves every point moves the unchanged ones
    moved = snapshot_maps(same, align="procrustes").copy()
    moved[1] += np.random.default_rng(1).normal(size=moved[1].shape).astype(np.float32)
    assert displacement_stats(same, moved)["unchanged_median"] > 0.01


def test_alignment_shows_the_change_more_than_the_rest():
    from clsmap.analysis.alignment import compare_alignments

    X, labels, centres = _blobs()
    rng = np.random.default_rng(2)
    series = []
    for s in range(4):  # class 2 moves onto class 0; every point jitters a little
        Y = X.copy()
        Y[labels == 2] += (centres[0] - centres[2]) * s / 3
        series.append(Y + rng.normal(size=Y.shape) * 0.05)
    kept, maps, stats = compare_alignments(series)
    assert maps.shape == (4, len(X), 2)
    assert stats[kept]["n_changed"] > 0 and stats[kept]["ratio"] < 0.5
    assert stats[kept]["ratio"] == min(s["ratio"] for s in stats.values())


# --------------------------------------------------------------------------- clsmap dynamics


def _page_meta(html: str) -> dict:
    import json
    import re

    return json.loads(re.search(r'<script type="application/json" id="clsmap-meta">(.*?)</script>', html, re.S)[1])


@pytest.fixture(scope="module")
def dynamics_view(dynamics_run, tmp_path_factory):
    from clsmap.render import write_dynamics

    result, _ = dynamics_run
    out = tmp_path_factory.mktemp("dynamics_view")
    return write_dynamics(result.path, out, gif=False), out


def test_dynamics_writes_player_report_and_summary(dynamics_run, dynamics_view):
    from clsmap.analysis.dynamics import formation_steps

    result, _ = dynamics_run
    summary, out = dynamics_view
    store = open_store(result.dynamics["path"])
    count = len(store.dynamics["snapshots"])
    assert summary["snapshots"] == count and summary["alignment"]["kept"] in ("procrustes", "init")
    assert {"procrustes", "init"} <= set(summary["alignment"])
    assert len(summary["curves"]["step"]) == count and all(0 <= a <= 1 for a in summary["curves"]["accuracy"])
    assert summary["cartography"]["ambiguous"] == 7 and len(summary["hard_to_learn"]) <= 20
    # the aligned maps are the store's projection, one position per row of every snapshot
    proj = store.projection
    assert len(proj) == len(store.frame) and store.projection_meta()["align"] == summary["alignment"]["kept"]
    # the player: the viewer's page with every snapshot
    meta = _page_meta((out / "player.html").read_text(encoding="utf-8"))
    assert meta["n"] == 35 and len(meta["player"]["snapshots"]) == count
    assert [c["key"] for c in meta["player"]["curves"]] == ["accuracy", "knn_purity", "linear_probe_accuracy",
                                                            "silhouette"]
    lengths = {c["name"]: c["length"] for c in meta["columns"]}
    assert lengths["x"] == lengths["pred"] == lengths["correct"] == 35 * count
    assert lengths["label"] == lengths["train"] == lengths["cgroup"] == 35
    # the report: where the space formed, and the hard-to-learn texts
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Where the space formed" in page and "hard-to-learn texts:" in page
    assert all(row["id"] in page for row in summary["hard_to_learn"])
    assert summary["animation"] == []  # gif=False (the animation is tested on the Korean run)
    # formation: the first step at which a class's purity reached the threshold
    per_class = pd.DataFrame({"step": [0, 2, 4, 0, 2, 4], "label": list("aaabbb"),
                              "knn_purity": [0.5, 0.85, 0.7, 0.1, 0.2, 0.3]})
    assert formation_steps(per_class, formed_at=0.8) == {"a": 2, "b": None}


def test_held_out_texts_join_every_snapshot(tiny_bert, tmp_path):
    train, held = topic_frame(24, seed=1), topic_frame(9, seed=2)
    held["id"] = [f"h{i}" for i in range(len(held))]
    result = clsmap.train(tiny_bert, train, tmp_path / "m", epochs=1, batch_size=8, validation=0.0, dtype="float32",
                          map_every="epoch", map_held_out=held, progress=False)
    store = open_store(result.dynamics["path"])
    # by default, a quarter of the training rows (up to 1,000)
    assert store.dynamics["probe"] == {"validation": 0, "test": 9, "train": 6}
    frame = store.frame
    assert len(frame) == 2 * 15 and set(frame.loc[frame["split"] == "test", "id"]) == set(held["id"])
    with pytest.raises(clsmap.ClsmapError, match="shares ids"):
        clsmap.train(tiny_bert, train, tmp_path / "m2", epochs=1, validation=0.0, map_every="epoch",
                     map_held_out=train.head(3), progress=False)


KOREAN = ["동물", "음식", "메일"]


@pytest.fixture(scope="module")
def korean_store(tmp_path_factory):
    """A synthetic dynamics store in Korean (no training): 150 texts, half held out, four snapshots in which
    the classes separate."""
    from clsmap.store import synthetic_dynamics_store

    classes = KOREAN
    rng = np.random.default_rng(0)
    n, steps = 150, [0, 5, 10, 15]
    y = np.arange(n) % 3
    centres = rng.normal(size=(3, 16)) * 3
    noise = rng.normal(size=(n, 16))
    vectors = np.stack([centres[y] * k / 3 + noise for k in range(len(steps))])
    logits = np.stack([np.eye(3)[y] * 2.5 * k + rng.normal(size=(n, 3)) for k in range(len(steps))])
    texts = [f"{classes[c]}에 관한 문장 {i}번" for i, c in enumerate(y)]
    splits = ["test" if i % 2 == 0 else "train" for i in range(n)]
    return synthetic_dynamics_store(tmp_path_factory.mktemp("korean") / "dyn", vectors, logits, texts,
                                    [classes[c] for c in y], splits, classes=classes, steps=steps, steps_per_epoch=5)


def test_korean_dynamics_form_and_render(korean_store, tmp_path):
    """A synthetic run in Korean whose classes separate step by step: formation steps, cartography, and the
    player and report embed the Korean font."""
    from clsmap.analysis import analyze_dynamics
    from clsmap.render.dynamics_report import write_dynamics_report
    from clsmap.render.player import player_html

    store, classes, steps = korean_store, KOREAN, store_steps(korean_store)
    analysis = analyze_dynamics(store)
    # mixed at step 0, separated later: every class forms after the start
    assert set(analysis.formation) == set(classes)
    assert all(step is not None and step > 0 for step in analysis.formation.values()), analysis.formation
    assert analysis.curves["knn_purity"].iloc[0] < 0.5 < 0.95 < analysis.curves["knn_purity"].iloc[-1]
    carto = analysis.cartography
    assert len(carto) == 75 and carto["correctness"].between(0, 1).all()
    page = player_html(store, analysis)
    assert "font-src data:" in page and _page_meta(page)["classes"] == classes
    report = write_dynamics_report(store, analysis, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "font-src data:" in report and "동물에 관한 문장" in report
    # the animation: every snapshot held (3 frame times at 8 fps), one frame between
    from PIL import Image

    from clsmap.render.animation import write_animation

    written = write_animation(store, analysis, tmp_path / "anim", mp4=False, tweens=1, dpi=30)
    gif = Image.open(written[0])
    assert [p.name for p in written] == ["anim.gif"]
    assert gif.n_frames == len(steps) + (len(steps) - 1) and abs(gif.info["duration"] - 375) <= 10


@pytest.mark.slow
def test_animation_as_mp4(korean_store, tmp_path):
    """The video extra: the same frames as an MP4, each snapshot held for 3 frame times."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    from clsmap.analysis import analyze_dynamics
    from clsmap.render.animation import write_animation

    steps = store_steps(korean_store)
    written = write_animation(korean_store, analyze_dynamics(korean_store), tmp_path / "anim", mp4=True, tweens=1,
                              dpi=30)
    assert [p.name for p in written] == ["anim.gif", "anim.mp4"]
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(written[1]))
    assert frames == 3 * len(steps) + (len(steps) - 1)


def test_large_probe_sets_are_mapped_on_a_sample(korean_store):
    from clsmap.analysis import analyze_dynamics
    from clsmap.render.player import player_html

    store = korean_store
    before = store.projection_path().stat().st_mtime_ns if store.projection_path().exists() else None
    analysis = analyze_dynamics(store, max_rows=40)
    count = len(store.dynamics["snapshots"])
    assert analysis.maps.shape == (count, 40, 2) and analysis.summary["mapped_rows"] == 40
    frame = analysis.mapped_frame(store)
    assert len(frame) == 40 * count and (frame["id"].to_numpy().reshape(count, 40) == frame["id"][:40].to_numpy()).all()
    assert len(analysis.curves) == count and analysis.summary["probe_rows"] == 150  # the curves use every row
    after = store.projection_path().stat().st_mtime_ns if store.projection_path().exists() else None
    assert after == before  # the store's projection (of every row) is left as it was
    meta = _page_meta(player_html(store, analysis))
    assert meta["n"] == 40 and {c["name"]: c["length"] for c in meta["columns"]}["x"] == 40 * count


# --------------------------------------------------------------------------- the player in chromium


def _ring(centre, radius, points=24):
    angles = np.linspace(0, 2 * np.pi, points)
    return [(centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)) for a in angles]


def _drag(page, path, *, steps=2):
    page.mouse.move(*path[0])
    page.mouse.down()
    for point in path[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()


@pytest.fixture
def player(browser, dynamics_view):
    from support.viewer_browser import open_map

    _, out = dynamics_view
    page = open_map(browser, out / "player.html")
    yield page
    assert page.errors == [], page.errors
    page.close()


def test_player_slider_and_play(player, dynamics_view):
    summary, _ = dynamics_view
    count = summary["snapshots"]
    api = "window.clsmap.player"
    assert player.evaluate(f"() => {api}.steps()") == summary["steps"]
    assert player.evaluate(f"() => {api}.step()") == count - 1
    assert "train / held-out" in player.locator("#modes").text_content()
    last = player.evaluate("() => [...Array(window.clsmap.n).keys()].map((r) => window.clsmap.screenPosition(r))")
    # the slider: back to the first step, where the points are elsewhere
    player.evaluate("() => { const s = document.getElementById('step'); s.value = '0';"
                    " s.dispatchEvent(new Event('input')); }")
    player.wait_for_function(f"() => {api}.step() === 0")
    player.evaluate(f"() => {api}.idle()")
    player.wait_for_timeout(400)  # the transition
    first = player.evaluate("() => [...Array(window.clsmap.n).keys()].map((r) => window.clsmap.screenPosition(r))")
    assert np.abs(np.array(first) - np.array(last)).max() > 5
    assert "step 0 · epoch 0.00" in player.locator("#step-label").text_content()
    # play: through every step to the last, then it stops
    player.locator("#play").click()
    player.wait_for_function(f"() => {api}.playing()")
    player.wait_for_function(f"() => !{api}.playing() && {api}.step() === {count - 1}", timeout=30000)
    assert player.locator("#curves polyline").count() == 4


def test_player_cartography_and_map_select_the_same_texts(player):
    api = "window.clsmap.player"
    n_carto = player.evaluate(f"() => {api}.carto.n")
    assert n_carto == 20
    train_rows = [r for r in range(35) if player.evaluate(f"() => {api}.carto.screenPosition({r})") is not None]
    pos = np.array([player.evaluate(f"() => {api}.carto.screenPosition({r})") for r in train_rows])
    centre = (pos.min(axis=0) + pos.max(axis=0)) / 2
    _drag(player, _ring(centre, 12 + float(np.linalg.norm(pos - centre, axis=1).max())))
    player.wait_for_function("() => window.clsmap.selection().length > 0", timeout=5000)
    ids = player.evaluate("() => window.clsmap.selection()")
    want = [player.evaluate(f"() => window.clsmap.rowOfId('{i}')") for i in ids]
    assert sorted(want) == sorted(train_rows) and player.locator("#sel-count").text_content() == "20 selected"
    # and back: a lasso on the map around every point shows the training texts among them in the cartography
    player.locator("#sel-clear").click()
    player.wait_for_function(f"() => {api}.carto.selection().length === 0")
    box = player.locator("#canvas").bounding_box()
    player.locator("#tools button[data-tool=lasso]").click()
    x0, y0, x1, y1 = box["x"] + 5, box["y"] + 5, box["x"] + box["width"] - 5, box["y"] + box["height"] - 5
    _drag(player, [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0 + 2)], steps=8)
    player.wait_for_function("() => window.clsmap.selection().length === 35", timeout=5000)
    assert player.evaluate(f"() => {api}.carto.selection()") == sorted(train_rows)


def store_steps(store) -> list[int]:
    return [s["step"] for s in store.dynamics["snapshots"]]
