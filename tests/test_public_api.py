"""The public surface of clsmap, and what importing it costs and touches."""

from __future__ import annotations

import json
import subprocess
import sys

import clsmap

PUBLIC = {
    "ClsmapError",
    "LabeledTexts",
    "MissingExtraError",
    "Store",
    "__version__",
    "analyze",
    "capture",
    "extract",
    "load_model",
    "open_store",
    "plot",
    "project",
    "read_dataset",
    "report",
    "show",
    "train",
    "write_map",
}


def test_all_is_the_public_api():
    assert set(clsmap.__all__) == PUBLIC
    assert len(clsmap.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert hasattr(clsmap, name), name
    assert issubclass(clsmap.MissingExtraError, clsmap.ClsmapError)
    assert issubclass(clsmap.MissingExtraError, ImportError)
    assert isinstance(clsmap.__version__, str) and clsmap.__version__


# numpy adds warning filters of its own when imported; the baseline is taken after clsmap's
# import-time dependencies are loaded, so what is compared is what clsmap itself does.
_PROBE = """
import json, logging, sys, warnings
import numpy, pandas, pyarrow
root = logging.getLogger()
before = {
    "root_handlers": list(map(repr, root.handlers)),
    "root_level": root.level,
    "filters": list(map(repr, warnings.filters)),
}
import clsmap
after = {
    "root_handlers": list(map(repr, root.handlers)),
    "root_level": root.level,
    "filters": list(map(repr, warnings.filters)),
}
heavy = ["torch", "transformers", "matplotlib", "pacmap", "umap", "openTSNE", "sklearn", "numba", "ray"]
print(json.dumps({
    "before": before,
    "after": after,
    "loaded": [m for m in heavy if m in sys.modules],
    "clsmap_handlers": [repr(h) for name in list(logging.root.manager.loggerDict)
                        if name.startswith("clsmap")
                        for h in getattr(logging.getLogger(name), "handlers", [])],
    "clsmap_levels": {name: logging.getLogger(name).level for name in list(logging.root.manager.loggerDict)
                      if name.startswith("clsmap")},
}))
"""


def _probe():
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_is_light_and_side_effect_free():
    result = _probe()
    assert result["loaded"] == [], f"importing clsmap imported {result['loaded']}"
    assert result["after"] == result["before"]
    assert result["clsmap_handlers"] == []
    assert set(result["clsmap_levels"].values()) <= {0}  # NOTSET: the application decides
