"""The interactive map's data as columnar binary: float32 coordinates, small-integer codes, UTF-8 text
blobs with lengths, each point's nearest neighbours, laid out 8-byte aligned in one buffer and gzipped
in members of at most 8 MB (compressed on every core); the page decodes each member into its range
with ``DecompressionStream``."""

from __future__ import annotations

import gzip
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .._errors import ClsmapError

__all__ = ["pack", "strings", "smallest_int", "normalise", "neighbour_columns", "similarity_codes", "similarity_of",
           "SIMILARITY_LEVELS"]

_DTYPES = {np.dtype(np.float32): "f4", np.dtype(np.int32): "i4", np.dtype(np.uint32): "u4", np.dtype(np.int16): "i2",
           np.dtype(np.uint16): "u2", np.dtype(np.int8): "i1", np.dtype(np.uint8): "u1"}
#: the largest gzip member (raw bytes); the page decodes the members side by side
MEMBER_BYTES = 8 << 20


def strings(values: Any, max_chars: int | None) -> tuple[np.ndarray, bytes, int]:
    """Lengths in UTF-16 code units (what JavaScript counts) and the UTF-8 blob of ``values``
    (nulls as ''), cut to ``max_chars`` code points; also how many were cut. Vectorised with pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values, type=pa.large_string(), from_pandas=True).fill_null("")
    cut = 0
    if max_chars is not None:
        lengths = pc.utf8_length(arr)
        cut = int(pc.sum(pc.greater(lengths, max_chars)).as_py() or 0)
        if cut:
            arr = pc.utf8_slice_codeunits(arr, 0, max_chars)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    # a code point above U+FFFF takes two UTF-16 code units
    units = pc.utf8_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    units += pc.count_substring_regex(arr, "[\\x{10000}-\\x{10FFFF}]").to_numpy(zero_copy_only=False)
    if units.sum() >= 2**32:
        raise ClsmapError("the texts are too long for one map (over 4 G characters); lower --max-text-chars")
    byte_offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    blob = arr.buffers()[2].to_pybytes()[int(byte_offsets[0]):int(byte_offsets[-1])] if len(arr) else b""
    return _smallest_uint(units), blob, cut


def _smallest_uint(values: np.ndarray) -> np.ndarray:
    top = int(values.max()) if len(values) else 0
    return values.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.uint32)


def smallest_int(codes: np.ndarray, n_names: int) -> np.ndarray:
    return codes.astype(np.int8 if n_names < 2**7 else np.int16 if n_names < 2**15 else np.int32)


#: the page carries a neighbour's cosine similarity s as the uint8 ``round(L * sqrt((1 - s) / 2))``, L this:
#: fine steps where neighbours are (about 0.0005 near s = 0.99, 0.004 near 0.75), coarse far away
SIMILARITY_LEVELS = 255


def similarity_codes(similarity: np.ndarray) -> np.ndarray:
    """Cosine similarities as the page's uint8 codes (0: identical; see :data:`SIMILARITY_LEVELS`)."""
    distance = np.clip(1.0 - np.asarray(similarity, dtype=np.float64), 0.0, 2.0)
    return np.rint(SIMILARITY_LEVELS * np.sqrt(distance / 2.0)).astype(np.int16)


def similarity_of(codes: np.ndarray) -> np.ndarray:
    """The similarities the page shows for ``codes`` (:func:`similarity_codes`)."""
    return 1.0 - 2.0 * (np.asarray(codes, dtype=np.float64) / SIMILARITY_LEVELS) ** 2


def neighbour_columns(indices: np.ndarray, similarity: np.ndarray, n_rows: int) -> dict[str, np.ndarray]:
    """Each row's neighbours ((n, k) row positions among ``n_rows``, nearest first, and their cosine
    similarities) as compact columns, row after row: the positions as byte planes ``nb0`` (lowest byte),
    ``nb1``, ... (as many as ``n_rows`` needs: random row numbers do not compress, zero high bytes do),
    and ``nb_sim``: the similarities' codes (:func:`similarity_codes`), the first of each row as it is
    and each other as its rise over the one before (small: they are sorted)."""
    indices = np.asarray(indices, dtype=np.int64)
    planes = max(1, (max(int(n_rows) - 1, 1).bit_length() + 7) // 8)
    out = {f"nb{p}": ((indices >> (8 * p)) & 0xFF).astype(np.uint8).ravel() for p in range(planes)}
    codes = similarity_codes(similarity)
    coded = codes.copy()
    coded[:, 1:] = np.maximum(codes[:, 1:] - codes[:, :-1], 0)
    out["nb_sim"] = coded.astype(np.uint8).ravel()
    return out


def pack(columns: dict[str, Any], compresslevel: int, *, after: tuple[list[dict[str, Any]], dict[str, Any], bytes]
         | None = None) -> tuple[list[dict[str, Any]], dict[str, Any], bytes]:
    """Lay the columns out 8-byte aligned in one buffer and gzip it as a series of members of at most
    8 MB, compressed on all cores (zlib releases the GIL); the page decodes each into its range.
    ``after``: an earlier result of ``pack`` that these columns continue (its members are kept as they
    are, and the new ones start at the next 8-byte boundary of the buffer)."""
    start = 0 if after is None else -(-after[1]["raw_length"] // 8) * 8
    layout, chunks, offset = [], [], start
    for name, values in columns.items():
        pad = (-offset) % 8
        if pad:
            chunks.append(b"\0" * pad)
            offset += pad
        if isinstance(values, bytes):
            dtype, length, payload = "u1", len(values), values
        else:
            values = np.ascontiguousarray(values)
            dtype, length, payload = _DTYPES[values.dtype], len(values), values.tobytes()
        layout.append({"name": name, "dtype": dtype, "offset": offset, "length": length})
        chunks.append(payload)
        offset += len(payload)
    raw = b"".join(chunks)
    pieces = [raw[i:i + MEMBER_BYTES] for i in range(0, len(raw), MEMBER_BYTES)] or [b""]
    with ThreadPoolExecutor(max_workers=min(len(pieces), os.cpu_count() or 1)) as pool:
        packed = list(pool.map(lambda piece: gzip.compress(piece, compresslevel=compresslevel, mtime=0), pieces))
    members, at = [], 0 if after is None else len(after[2])
    for k, member in enumerate(packed):
        members.append({"offset": at, "length": len(member), "raw_offset": start + k * MEMBER_BYTES})
        at += len(member)
    if after is not None:
        return (after[0] + layout, {"members": after[1]["members"] + members, "raw_length": start + len(raw)},
                after[2] + b"".join(packed))
    return layout, {"members": members, "raw_length": len(raw)}, b"".join(packed)


def normalise(xy: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Coordinates in [-1, 1] (aspect kept, a small margin); returns them, the scale and the centre."""
    xy = np.asarray(xy, dtype=np.float64)
    finite = np.isfinite(xy).all(axis=1)
    if not finite.all():
        raise ClsmapError(f"the projection has {int((~finite).sum())} non-finite coordinates; run clsmap project again")
    lo, hi = (xy.min(axis=0), xy.max(axis=0)) if len(xy) else (np.zeros(2), np.ones(2))
    centre = (lo + hi) / 2
    half = float(max((hi - lo).max() / 2, 1e-12)) * 1.04
    return ((xy - centre) / half).astype(np.float32), half, centre
