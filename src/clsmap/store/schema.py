"""The one schema of a store: file layout, columns, Arrow types, the manifest and the version.

Every writer builds its tables here: the local and the Ray extraction, projections, and the
synthetic stores of tests and benchmarks. The columns of ``vectors/``:

=================  ===============================  ==================================================
column             type                             meaning
=================  ===============================  ==================================================
``row``            int64                            position in the input
``id``             string                           the data's id column, or the row number
``text``           string                           the text as read
``label``          string                           the given label (null without labels)
``split``          string                           the split a row belongs to (``train``, ``test``,
                                                    ...; null when the input names none)
``pred``           string                           predicted class name (null for a bare encoder)
``pred_id``        int32                            predicted class index
``confidence``     float32                          top softmax probability
``correct``        bool                             ``pred == label`` (null where unknown)
``prob``           list<float32>                    softmax, one entry per class, in ``classes`` order
``logits``         list<float32>                    the logits, same order
``vector`` or      fixed_size_list<float32, d>      the pooled vectors: one column, or ``layer_0`` ...
``layer_N``                                         ``layer_L`` for ``layer="all"``
=================  ===============================  ==================================================

``neighbours/<column>.parquet`` (written by ``clsmap analyze``) holds each row's ``k`` nearest other
rows in the vector space of ``column`` (cosine), nearest first: ``id`` (string, the row's id),
``neighbours`` (``fixed_size_list<int32, k>``, row positions) and ``similarity``
(``fixed_size_list<float32, k>``, cosine similarity), aligned with the rows; its metadata says
``column``, ``k``, ``metric`` and ``n_rows``.

A dynamics store (snapshots of a probe set recorded during training, ``clsmap train --map-every``)
has the same columns, one part per snapshot, and three more (:data:`SNAPSHOT_COLUMNS`): ``snapshot``
(int32, its index), ``step`` (int64, optimisation steps done) and ``epoch`` (float32, epochs done:
``step`` / steps per epoch); its ``split`` says ``train``, ``validation`` or ``test`` (texts kept out of
training). Its ``row`` numbers the rows of the whole store (snapshot after snapshot); ``id`` names the
text, the same in every snapshot. The manifest's ``dynamics`` describes the run and its snapshots.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .._errors import ClsmapError
from .._version import __version__
from .layout import SCHEMA_VERSION

__all__ = [
    "META_KEY", "INPUT_COLUMNS", "SCALAR_COLUMNS", "RESUME_KEYS", "Manifest", "input_table", "part_table",
    "projection_table", "neighbour_table", "vector_array", "vectors_to_numpy", "part_rows_for", "SNAPSHOT_COLUMNS",
    "snapshot_table",
]

#: key of the manifest in the key-value metadata of every Parquet file a store holds
META_KEY = b"clsmap"

#: what the reader gives for every row: the first five columns of a store
INPUT_COLUMNS = ("row", "id", "text", "label", "split")
#: what the model adds for every row
OUTPUT_COLUMNS = ("pred", "pred_id", "confidence", "correct", "prob", "logits")
#: every column but the vectors
SCALAR_COLUMNS = INPUT_COLUMNS + OUTPUT_COLUMNS
#: what a dynamics store adds to every row: which snapshot, after how many steps and epochs, which split
SNAPSHOT_COLUMNS = ("snapshot", "step", "epoch")

#: Manifest keys that must match for a re-run to resume an existing store.
RESUME_KEYS = ("model", "extraction", "dataset", "part_rows", "n_rows")

#: upper bound on the memory of one part's vectors; parts are also at most 8,192 rows
PART_BYTES = 64 << 20
MAX_PART_ROWS = 8192
MIN_PART_ROWS = 256


def part_rows_for(width: int, columns: int) -> int:
    """Rows per part, so that one part's vectors (``columns`` of ``width`` float32) stay under
    :data:`PART_BYTES`, between :data:`MIN_PART_ROWS` and :data:`MAX_PART_ROWS`."""
    return int(min(MAX_PART_ROWS, max(MIN_PART_ROWS, PART_BYTES // (max(width, 1) * max(columns, 1) * 4))))


@dataclass
class Manifest:
    """What a store records about itself (``clsmap.json``, and the metadata of every Parquet file).

    ``model``: ``name_or_path``, ``config_hash``, ``architecture``, ``model_type``, ``hidden_size``.
    ``extraction``: ``layer``, ``module``, ``pooling``, ``max_length``, ``dtype`` (and ``quantize``
    when not ``none``). ``dataset``: ``source``, ``sha256`` of the content, the column names.
    Keys written by another clsmap version and not known here are kept in ``extra`` and written back.
    """

    n_rows: int
    part_rows: int
    vector_columns: list[str]
    default_vector: str
    model: dict[str, Any] = field(default_factory=dict)
    extraction: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    classes: list[str] | None = None
    device: str | None = None
    clsmap_version: str = __version__
    schema_version: str = SCHEMA_VERSION
    created: str | None = None
    finished: str | None = None
    complete: bool = False
    #: only in a dynamics store: ``base_model``, ``map_every``, ``steps_per_epoch``, ``probe`` (rows per
    #: split) and ``snapshots`` (``snapshot``, ``step``, ``epoch`` of each)
    dynamics: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field, ``finished`` only once the store is, ``dynamics`` only in a
        dynamics store, and ``extra`` merged in."""
        record = {k: v for k, v in asdict(self).items() if k != "extra"}
        for optional in ("finished", "dynamics"):
            if record[optional] is None:
                del record[optional]
        return {**self.extra, **record}

    def file_metadata(self) -> bytes:
        """The manifest as written into each Parquet file (without the progress flag)."""
        record = self.to_dict()
        record.pop("complete", None)
        return json.dumps(record, sort_keys=True).encode()

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Manifest:
        missing = [k for k in ("n_rows", "part_rows") if k not in record]
        if missing:
            raise ClsmapError(f"not a clsmap store manifest: it has no {', '.join(missing)}")
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in record.items() if k in known}
        values.setdefault("vector_columns", ["vector"])
        values.setdefault("default_vector", values["vector_columns"][-1])
        return cls(**values, extra={k: v for k, v in record.items() if k not in known})

    def resume_key(self) -> dict[str, Any]:
        """The fields that must be equal for a run to continue this store."""
        record = self.to_dict()
        return {k: record.get(k) for k in RESUME_KEYS}

    def expected_rows(self, index: int) -> int:
        """How many rows part ``index`` holds when complete."""
        return max(0, min(self.part_rows, self.n_rows - index * self.part_rows))

    @property
    def n_parts(self) -> int:
        return -(-self.n_rows // self.part_rows)


# --------------------------------------------------------------------------- tables


def input_table(rows: Any, ids: Sequence[str], texts: Sequence[str], labels: Sequence[str | None] | None,
                splits: Sequence[str | None] | str | None = None) -> Any:
    """The reader's output and the first five columns of a store: ``row``, ``id``, ``text``, ``label``,
    ``split`` (``splits``: one name per row, one name for every row, or ``None``)."""
    import pyarrow as pa

    n = len(texts)
    return pa.table({
        "row": pa.array(np.asarray(rows, dtype=np.int64)),
        "id": pa.array(list(ids), type=pa.string()),
        "text": pa.array(list(texts), type=pa.string()),
        "label": pa.array(list(labels) if labels is not None else [None] * n, type=pa.string()),
        "split": pa.array([splits] * n if splits is None or isinstance(splits, str) else list(splits),
                          type=pa.string()),
    })


def vector_array(matrix: np.ndarray) -> Any:
    """An (n, d) matrix as a ``fixed_size_list<float32, d>`` array."""
    import pyarrow as pa

    flat = pa.array(np.ascontiguousarray(matrix, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1])


def vectors_to_numpy(column: Any) -> np.ndarray:
    """A ``fixed_size_list<float>`` column (chunked or not) as a float32 (n, d) array."""
    import pyarrow as pa

    chunked = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = chunked.type.list_size
    return chunked.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, width)


def _list_column(matrix: np.ndarray | None, n: int) -> Any:
    import pyarrow as pa

    if matrix is None:
        return pa.nulls(n, type=pa.list_(pa.float32()))
    offsets = pa.array(np.arange(0, matrix.size + 1, matrix.shape[1], dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1).astype(np.float32)))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def part_table(
    inputs: Any, vectors: dict[str, np.ndarray], *, logits: np.ndarray | None = None,
    classes: Sequence[str] | None = None, label_index: np.ndarray | None = None,
    preds: Sequence[str | None] | None = None, confidence: np.ndarray | None = None,
) -> Any:
    """A store part: the ``inputs`` (an :func:`input_table`) with the model's outputs and the vectors.

    With ``logits`` and ``classes``, the predictions, confidences and probabilities are computed
    from the logits, and ``correct`` compares the prediction with ``label_index`` (the class index of
    each row's label, -1 where the label is not a class of the model). Without logits, ``preds`` and
    ``confidence`` may be given as they are (synthetic stores); ``correct`` is then ``pred == label``
    where both are known and the label is one of ``classes``.
    """
    import pyarrow as pa

    n = inputs.num_rows
    columns = {name: inputs.column(name) for name in INPUT_COLUMNS}
    probs = None
    if logits is not None and classes is not None:
        probs = _softmax(logits.astype(np.float64)).astype(np.float32)
        pred_id = probs.argmax(axis=1).astype(np.int32)
        columns["pred"] = pa.array([classes[i] for i in pred_id], type=pa.string())
        columns["pred_id"] = pa.array(pred_id, type=pa.int32())
        columns["confidence"] = pa.array(probs.max(axis=1), type=pa.float32())
        if label_index is not None:
            known = label_index >= 0
            columns["correct"] = pa.array(pred_id == label_index, mask=~known, type=pa.bool_())
        else:
            columns["correct"] = pa.nulls(n, type=pa.bool_())
    elif preds is not None:
        index = {c: k for k, c in enumerate(classes or [])}
        labels = inputs.column("label").to_pylist()
        columns["pred"] = pa.array(list(preds), type=pa.string())
        columns["pred_id"] = pa.array([index.get(p) if p is not None else None for p in preds], type=pa.int32())
        columns["confidence"] = (pa.nulls(n, type=pa.float32()) if confidence is None
                                 else pa.array(np.asarray(confidence, dtype=np.float32), type=pa.float32()))
        columns["correct"] = pa.array([None if a is None or b is None or a not in index else a == b
                                       for a, b in zip(labels, preds, strict=True)], type=pa.bool_())
    else:
        columns["pred"] = pa.nulls(n, type=pa.string())
        columns["pred_id"] = pa.nulls(n, type=pa.int32())
        columns["confidence"] = pa.nulls(n, type=pa.float32())
        columns["correct"] = pa.nulls(n, type=pa.bool_())
    columns["prob"] = _list_column(probs, n)
    columns["logits"] = _list_column(logits, n)
    for name, matrix in vectors.items():
        columns[name] = vector_array(matrix)
    return pa.table(columns)


def snapshot_table(part: Any, *, snapshot: int, step: int, epoch: float, splits: Sequence[str]) -> Any:
    """A store ``part`` (a :func:`part_table`) as the part of snapshot ``snapshot`` of a dynamics store:
    ``row`` numbered on from ``snapshot * len(part)``, ``split`` set to ``splits``, and the
    :data:`SNAPSHOT_COLUMNS` added."""
    import pyarrow as pa

    n = part.num_rows
    if len(splits) != n:
        raise ValueError(f"snapshot_table: {n} rows but {len(splits)} splits")
    part = part.set_column(0, "row", pa.array(np.arange(snapshot * n, (snapshot + 1) * n, dtype=np.int64)))
    at = part.schema.get_field_index("split")
    part = part.set_column(at, "split", pa.array(list(splits), type=pa.string()))
    for name, array in (
        ("snapshot", pa.array(np.full(n, snapshot, dtype=np.int32))),
        ("step", pa.array(np.full(n, step, dtype=np.int64))),
        ("epoch", pa.array(np.full(n, epoch, dtype=np.float32))),
    ):
        part = part.append_column(name, array)
    return part


def projection_table(ids: Sequence[str], xy: np.ndarray) -> Any:
    """A 2-D map: ``id``, ``x``, ``y`` (float32), aligned with the store's rows."""
    import pyarrow as pa

    return pa.table({
        "id": pa.array(list(ids), type=pa.string()),
        "x": pa.array(np.asarray(xy[:, 0], dtype=np.float32), type=pa.float32()),
        "y": pa.array(np.asarray(xy[:, 1], dtype=np.float32), type=pa.float32()),
    })


def neighbour_table(ids: Sequence[str], indices: np.ndarray, similarity: np.ndarray) -> Any:
    """The k-NN graph of a vector column: ``id``, ``neighbours`` (int32 row positions, nearest first)
    and ``similarity`` (float32), one fixed-size list of ``k`` per row."""
    import pyarrow as pa

    indices, similarity = np.asarray(indices), np.asarray(similarity)
    if indices.shape != similarity.shape or indices.ndim != 2 or len(indices) != len(ids):
        raise ValueError(f"neighbour_table: {len(ids)} ids, indices {indices.shape}, similarity {similarity.shape}")
    k = indices.shape[1]
    flat = pa.array(np.ascontiguousarray(indices, dtype=np.int32).reshape(-1))
    return pa.table({
        "id": pa.array(list(ids), type=pa.string()),
        "neighbours": pa.FixedSizeListArray.from_arrays(flat, k),
        "similarity": vector_array(similarity),
    })
