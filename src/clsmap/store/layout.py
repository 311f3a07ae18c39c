"""Where everything of a store lives, and the version of each file's layout: the one place that names them.

Layout of a store folder::

    OUT/
      clsmap.json                    manifest (:data:`MANIFEST`): schema version, producer, model, extraction
                                     settings, dataset fingerprint, progress
      vectors/part-000000.parquet    rows [0, part_rows) in input order (:data:`VECTORS`)
      vectors/part-000001.parquet    rows [part_rows, 2 * part_rows) ...
      projections/<column>.parquet   2-D map of one vector column: id, x, y (+ parameters)
      neighbours/<column>.parquet    each row's k nearest rows in that vector space (clsmap analyze)
      analysis/analysis.json         every number clsmap analyze measured (:data:`ANALYSIS_FILE`)
      analysis/regions.json          the confusion regions (:data:`REGIONS_FILE`, :data:`REGIONS_SCHEMA`)
      analysis/keywords.json         class and region keywords (:data:`KEYWORDS_FILE`, :data:`KEYWORDS_SCHEMA`)
      analysis/dynamics.json         a dynamics store's curves (:data:`DYNAMICS_FILE`)
      analysis/cartography.parquet   a dynamics store's cartography (:data:`CARTOGRAPHY_FILE`)

A training run's output folder holds its dynamics store in :data:`DYNAMICS` and its checkpoints in
:data:`CHECKPOINTS`. The interactive map's metadata has its own version, :data:`PAGE_META_VERSION`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "SCHEMA_VERSION", "MANIFEST", "VECTORS", "PROJECTIONS", "NEIGHBOURS", "ANALYSIS", "ANALYSIS_FILE",
    "REGIONS_FILE", "REGIONS_SCHEMA", "KEYWORDS_FILE", "KEYWORDS_SCHEMA", "DYNAMICS_FILE", "CARTOGRAPHY_FILE",
    "DYNAMICS", "CHECKPOINTS", "PAGE_META_VERSION", "part_name", "projection_file", "neighbours_file",
]

#: Version of the store layout; readers refuse a store with a newer major version.
SCHEMA_VERSION = "1.1"  # 1.1: the ``split`` column, dynamics stores (SNAPSHOT_COLUMNS, Manifest.dynamics); 1.0 reads
MANIFEST = "clsmap.json"
VECTORS = "vectors"
PROJECTIONS = "projections"
NEIGHBOURS = "neighbours"
ANALYSIS = "analysis"

#: every number of ``clsmap analyze``
ANALYSIS_FILE = Path(ANALYSIS) / "analysis.json"
#: the confusion regions, and the version of their layout (2: polygons in map coordinates with their facts)
REGIONS_FILE = Path(ANALYSIS) / "regions.json"
REGIONS_SCHEMA = 2
#: the keywords of each class and region, and the version of their layout
KEYWORDS_FILE = Path(ANALYSIS) / "keywords.json"
KEYWORDS_SCHEMA = 1
#: a dynamics store's curves and its cartography
DYNAMICS_FILE = Path(ANALYSIS) / "dynamics.json"
CARTOGRAPHY_FILE = Path(ANALYSIS) / "cartography.parquet"

#: the dynamics store's folder in a training output, and the checkpoints' (``--keep-checkpoints``)
DYNAMICS = "dynamics"
CHECKPOINTS = "checkpoints"

#: version of the interactive map's metadata (the viewer reads this layout)
PAGE_META_VERSION = 2


def part_name(index: int) -> str:
    """The file name of part ``index`` of ``vectors/``."""
    return f"part-{index:06d}.parquet"


def projection_file(column: str) -> Path:
    """Where the 2-D map of ``column`` lives, relative to the store."""
    return Path(PROJECTIONS) / f"{column}.parquet"


def neighbours_file(column: str) -> Path:
    """Where the k-NN graph of ``column`` lives, relative to the store."""
    return Path(NEIGHBOURS) / f"{column}.parquet"
