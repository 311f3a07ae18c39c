"""CUDA extraction (opt in: pytest -m gpu; skipped without a CUDA device)."""

from __future__ import annotations

import numpy as np
import pytest

import clsmap

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _needs_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_cuda_matches_cpu(tmp_path, tiny_bert, labeled_csv, dtype):
    data = labeled_csv(200)
    cpu = clsmap.extract(tiny_bert, data, tmp_path / "cpu", device="cpu", dtype="float32")
    gpu = clsmap.extract(tiny_bert, data, tmp_path / "gpu", device="cuda", dtype=dtype)
    assert gpu.meta["device"].startswith("cuda") and gpu.meta["extraction"]["dtype"] == dtype
    assert list(gpu.frame["id"]) == list(cpu.frame["id"])
    a, b = cpu.vectors, gpu.vectors
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= (0.99999 if dtype == "float32" else 0.99)


def test_auto_picks_cuda_and_a_half_dtype(tmp_path, tiny_bert, labeled_csv):
    store = clsmap.extract(tiny_bert, labeled_csv(20), tmp_path / "s")
    assert store.meta["device"].startswith("cuda")
    assert store.meta["extraction"]["dtype"] in ("bfloat16", "float16")
