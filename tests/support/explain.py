"""The store the tests of what explains a point and a region share (analysis/test_explain.py,
render/test_explain_page.py, browser/test_explain_browser.py), and scikit-learn's neighbours to check against."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ["animal", "plant", "food", "body"]
PLANTED = "quokka"
WORDS = ["river", "stone", "leaf", "cloud", "engine", "paper", "window", "garden", "silver", "music", "bridge",
         "candle", "forest", "mirror", "button", "ladder"]
HOT = np.array([3.0, 0.0])  # the disc where the errors are, and every text says the planted word


def sklearn_neighbours(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest other rows by cosine distance, from scikit-learn (brute force), nearest first."""
    from sklearn.neighbors import NearestNeighbors

    distance, found = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(X).kneighbors(X)
    return found[:, 1:], 1.0 - distance[:, 1:]


def explain_store(folder: Path):
    """(store, analysis, hot) for 1,500 rows in four clusters, 5 % errors plus a disc with 60 % errors whose texts
    all hold PLANTED (``hot`` marks the disc); 16-d vectors of their own (class centre + noise), so the [CLS]
    neighbours are not the map's; row 0 sits alone at the map's corner (to be clicked). Analysed."""
    import clsmap
    from clsmap.store import synthetic_store

    rng = np.random.default_rng(4)
    n = 1500
    lab = rng.integers(0, 4, n)
    xy = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])[lab] + rng.normal(scale=0.9, size=(n, 2))
    xy[0] = [-7.0, 7.0]
    hot = np.linalg.norm(xy - HOT, axis=1) < 0.6
    wrong = rng.random(n) < np.where(hot, 0.6, 0.05)
    pred = np.where(wrong, (lab + 1) % 4, lab)
    vectors = 2.0 * np.eye(16)[lab] + rng.normal(size=(n, 16))
    texts = [" ".join(rng.choice(WORDS, size=6)) + (f" the {PLANTED}" if h else "") for h in hot]
    store = synthetic_store(folder, xy, texts, vectors=vectors, labels=[CLASSES[k] for k in lab],
                            preds=[CLASSES[k] for k in pred], classes=CLASSES, ids=[f"doc-{i}" for i in range(n)])
    return store, clsmap.analyze(store, layers=False), hot
