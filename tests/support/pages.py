"""The map page's payload decoded the way the browser decodes it (the viewer's ``decode.js``), for tests that
check what a page carries without a browser."""

from __future__ import annotations

import base64
import gzip
import json
import re

import numpy as np

DTYPES = {"f4": np.float32, "i4": np.int32, "u4": np.uint32, "i2": np.int16, "u2": np.uint16, "i1": np.int8,
          "u1": np.uint8}


def page_parts(page: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, columns by name) decoded from the page the way the browser does; the ``text`` and ``id``
    columns come with their offsets (``text_off``, ``id_off``) as :func:`utf16_strings` takes them."""
    meta_json = re.search(r'<script type="application/json" id="clsmap-meta">(.*?)</script>', page, re.S).group(1)
    meta = json.loads(meta_json)
    b64 = re.search(r'<script type="application/octet-stream" id="clsmap-data">(.*?)</script>', page, re.S).group(1)
    packed = base64.b64decode(b64)
    raw = bytearray(meta["raw_length"])
    for m in meta["members"]:
        part = gzip.decompress(packed[m["offset"]:m["offset"] + m["length"]])
        raw[m["raw_offset"]:m["raw_offset"] + len(part)] = part
    raw = bytes(raw)
    cols = {c["name"]: np.frombuffer(raw, dtype=DTYPES[c["dtype"]], count=c["length"], offset=c["offset"])
            for c in meta["columns"]}
    for name in ("text", "id"):
        cols[f"{name}_off"] = np.concatenate([[0], np.cumsum(cols[f"{name}_len"], dtype=np.int64)])
    return meta, cols


def utf16_strings(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    """Split like JavaScript does: offsets count UTF-16 code units."""
    whole = blob.tobytes().decode("utf-8").encode("utf-16-le")
    return [whole[2 * a:2 * b].decode("utf-16-le") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
