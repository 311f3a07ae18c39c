"""Fault injection for the Ray tests (test code only): the ``ray_instance`` fixture of ``tests/extraction/test_ray.py``
installs :func:`install` in every Ray worker of its job (``worker_process_setup_hook``).

While the JSON file named by ``CLSMAP_TEST_FAULTS`` exists and says ``{"row": R, "marker": M}``, the
actor that gets the batch holding row ``R`` ends its process (as on an out-of-memory kill), once:
it creates the file ``M`` first, so the batch's retry goes through.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def install() -> None:
    control = os.environ.get("CLSMAP_TEST_FAULTS")
    if not control:
        return
    from clsmap.extraction.ray import tasks

    real = tasks.ExtractActor.__call__

    def call(self, batch):
        path = Path(control)
        if path.exists():
            fault = json.loads(path.read_text(encoding="utf-8"))
            marker = Path(fault["marker"])
            if fault["row"] in batch.column("row").to_numpy() and not marker.exists():
                marker.touch()
                os._exit(1)
        return real(self, batch)

    tasks.ExtractActor.__call__ = call
