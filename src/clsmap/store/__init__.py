"""The store: a folder of Parquet files that any Parquet reader opens (stage 3 of the pipeline).

- :mod:`~clsmap.store.layout`: where each file of a store lives, and each file's layout version;
- :mod:`~clsmap.store.schema`: the one schema (columns, Arrow types, :class:`Manifest`, version);
- :mod:`~clsmap.store.files`: atomic writes and the one error for a refused write;
- :mod:`~clsmap.store.lock`: one writer per store;
- :mod:`~clsmap.store.writer`: :class:`StoreWriter` (parts, resume), :func:`write_projection` and
  :func:`write_neighbours`;
- :mod:`~clsmap.store.reader`: :func:`open_store` and :class:`Store`;
- :mod:`~clsmap.store.vectors`: :class:`Vectors`, a column of vectors read part by part;
- :mod:`~clsmap.store.synthetic`: stores made from given columns, for tests and benchmarks.
"""

from .reader import Store, open_store, read_manifest
from .layout import MANIFEST, NEIGHBOURS, PROJECTIONS, SCHEMA_VERSION, VECTORS
from .schema import Manifest
from .synthetic import synthetic_dynamics_store, synthetic_store
from .vectors import Vectors, as_vectors
from .writer import StoreWriter, write_neighbours, write_projection

__all__ = [
    "MANIFEST",
    "Manifest",
    "NEIGHBOURS",
    "PROJECTIONS",
    "SCHEMA_VERSION",
    "Store",
    "StoreWriter",
    "VECTORS",
    "Vectors",
    "as_vectors",
    "open_store",
    "read_manifest",
    "synthetic_dynamics_store",
    "synthetic_store",
    "write_neighbours",
    "write_projection",
]
